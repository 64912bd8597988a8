"""Where the measured code lives: the project's public ops, found by name.

The suite measures what a user calls: ``autograd_core.ops.conv.conv2d`` and
``autograd_core.ops.pool.max_pool2d``/``avg_pool2d`` on Tensors (Tensor wrapping and
graph recording included), the array kernels of ``autograd_core.kernels`` for the
im2col/col2im section, and ``nn``/``optim`` for the training steps.  A piece that is
not importable yet is reported as a skipped section with the reason, never as an error.
"""

from __future__ import annotations

import importlib

__all__ = ["conv_ops", "pool_ops", "kernels", "training_api", "Missing"]


class Missing(Exception):
    """A measured piece is not available; the message says which and why."""


def _load(module: str, *names: str):
    try:
        mod = importlib.import_module(module)
    except Exception as error:  # ImportError, or an error inside a half-built module
        raise Missing(f"{module} is not importable ({type(error).__name__}: {error})") from None
    missing = [n for n in names if not hasattr(mod, n)]
    if missing:
        raise Missing(f"{module} has no {', '.join(missing)}")
    return [getattr(mod, n) for n in names]


def conv_ops():
    """``conv2d(x, weight, bias, stride, padding, dilation, groups)`` on Tensors."""
    (conv2d,) = _load("autograd_core.ops.conv", "conv2d")
    return conv2d


def pool_ops():
    """``(max_pool2d, avg_pool2d)`` on Tensors."""
    return tuple(_load("autograd_core.ops.pool", "max_pool2d", "avg_pool2d"))


def kernels():
    """``(im2col, col2im)`` on NumPy arrays."""
    return tuple(_load("autograd_core.kernels", "im2col", "col2im"))


def training_api():
    """The ``nn`` and ``optim`` packages with what a LeNet/MLP step needs."""
    nn, optim = importlib.import_module("nn"), importlib.import_module("optim")
    needed = ["Module", "Conv2d", "Linear", "MaxPool2d", "ReLU", "Flatten", "Sequential",
              "CrossEntropyLoss"]
    missing = [n for n in needed if not hasattr(nn, n)] + \
        [f"optim.{n}" for n in ("SGD",) if not hasattr(optim, n)]
    if missing:
        raise Missing(f"nn/optim lack {', '.join(missing)}")
    return nn, optim
