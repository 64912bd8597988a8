"""autograd_core: a reverse-mode autograd engine on NumPy, fast where it counts.

The engine (``Tensor``, ``Function``, ``autograd``), grad mode, gradcheck, graph drawing
for teaching (``autograd_core.viz``) and the Numba conv/pool kernels
(``autograd_core.kernels``). Its namespace is PyTorch's: after
``import autograd_core as torch``, ``torch.nn``, ``torch.optim``, ``torch.utils.data``
and ``torch.autograd`` load on first use.

>>> import autograd_core as ag
>>> x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x ** 2).sum().backward()
>>> x.grad.tolist()
[2.0, 4.0, 6.0]
"""

import importlib

import numpy as np

from autograd_core.tensor import Size, Tensor, as_tensor, from_numpy, tensor  # isort: skip
from autograd_core import autograd, ops
from autograd_core.creation import (
    arange,
    empty,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    zeros,
    zeros_like,
)
from autograd_core.device import device
from autograd_core.errors import DimensionError, DTypeError, GradcheckError, ShapeError
from autograd_core.function import Context, Function
from autograd_core.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from autograd_core.gradcheck import gradcheck
from autograd_core.ops.reduce import return_types
from autograd_core.random import get_generator, manual_seed, seed

grad = autograd.grad

# dtype names as PyTorch users spell them (they are NumPy's dtypes).
float32 = float = np.float32  # noqa: A001 - torch's names
float64 = double = np.float64
float16 = half = np.float16
int32 = int = np.int32  # noqa: A001
int64 = long = np.int64
int16, int8, uint8 = np.int16, np.int8, np.uint8
bool_ = bool = np.bool_  # noqa: A001

__version__ = "0.1.0"

_LAZY_MODULES = {"nn": "nn", "optim": "optim", "viz": "autograd_core.viz",
                 "kernels": "autograd_core.kernels", "utils": "autograd_core.utils"}


def __getattr__(name):
    # The ops' functional forms (torch.exp, torch.sum, ...) and the PyTorch namespace's
    # sub-packages, loaded on first use (PEP 562).
    if name in ops.FUNCTIONS:
        return ops.FUNCTIONS[name]
    if name in _LAZY_MODULES:
        return importlib.import_module(_LAZY_MODULES[name])
    raise AttributeError(f"module 'autograd_core' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(ops.FUNCTIONS) | set(_LAZY_MODULES))
