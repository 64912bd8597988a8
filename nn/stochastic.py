"""Regularisers from the lectures beyond ``torch.nn``: stochastic depth and fractional
max pooling ("Regularization: a common pattern": randomness in training, averaged out
at test).

* :class:`StochasticDepth` (Huang et al. 2016; torchvision's ``StochasticDepth``):
  in training, a residual branch's output is dropped with probability ``p``, per
  sample (``mode='row'``) or for the whole batch (``'batch'``), the kept ones scaled by
  1 / (1 - p); at test the branch is always used (the identity here: the training-time
  scaling already matches the expectation, which is what scaling at test does in the
  paper's formulation). Use as ``x + sd(branch(x))``.
* :class:`FractionalMaxPool2d` (Graham 2014), PyTorch's: random pooling regions per
  sample and channel, drawn from the global generator (``manual_seed``) or given as
  ``_random_samples``.

>>> import nn
>>> from autograd_core import ones, manual_seed
>>> _ = manual_seed(0)
>>> sd = nn.StochasticDepth(p=0.5, mode="row")
>>> sorted(set(sd(ones(8, 3)).numpy()[:, 0].tolist()))
[0.0, 2.0]
>>> nn.FractionalMaxPool2d(2, output_size=3)(ones(1, 2, 7, 7)).shape
torch.Size([1, 2, 3, 3])
"""

import numpy as np

from autograd_core.errors import ShapeError
from autograd_core.ops.fractional_pool import FractionalMaxPool2d as _FractionalMaxPool2d
from autograd_core.random import get_generator
from autograd_core.tensor import Tensor
from nn import functional as F
from nn.module import Module

__all__ = ["StochasticDepth", "FractionalMaxPool2d", "fractional_max_pool2d"]


class StochasticDepth(Module):
    """Drop a residual branch with probability ``p`` in training (see module docstring)."""

    def __init__(self, p: float, mode: str):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"StochasticDepth: drop probability has to be between 0 and 1, "
                             f"but got {p}")
        if mode not in ("batch", "row"):
            raise ValueError(f"StochasticDepth: mode has to be either 'batch' or 'row', but "
                             f"got {mode}")
        self.p, self.mode = float(p), mode

    def forward(self, input):
        return F.stochastic_depth(input, self.p, self.mode, self.training)

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p}, mode={self.mode})"


def _pair(value, name):
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"fractional_max_pool2d: {name} must be one value or a pair, got "
                             f"{value!r}")
        return tuple(value)
    return (value, value)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    """Fractional max pooling of (N, C, H, W) or (C, H, W) with ``output_size`` or
    ``output_ratio`` (in (0, 1)); returns (y, indices) with ``return_indices``."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    if x.ndim not in (3, 4):
        raise ShapeError(f"fractional_max_pool2d: expected a 3-D or 4-D input, got shape "
                         f"{tuple(x.shape)}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    kh, kw = (int(k) for k in _pair(kernel_size, "kernel_size"))
    height, width = x.shape[2], x.shape[3]
    if output_size is None:
        if output_ratio is None:
            raise ValueError("fractional_max_pool2d requires specifying either an output_size "
                             "or an output_ratio")
        rh, rw = _pair(output_ratio, "output_ratio")
        if not (0 < rh < 1 and 0 < rw < 1):
            raise ValueError(f"fractional_max_pool2d: output_ratio must be between 0 and 1 "
                             f"(got {output_ratio})")
        output_size = (int(height * rh), int(width * rw))
    oh, ow = (int(s) for s in _pair(output_size, "output_size"))
    if oh + kh - 1 > height or ow + kw - 1 > width or oh < 1 or ow < 1 or kh < 1 or kw < 1:
        raise ValueError(
            f"fractional_max_pool2d: output_size {(oh, ow)} with kernel_size {(kh, kw)} does "
            f"not fit the input's {height}x{width} (need output + kernel - 1 <= input)")
    n, c = x.shape[0], x.shape[1]
    if _random_samples is None:
        samples = get_generator().random((n, c, 2)).astype(x.dtype)
    else:
        samples = np.asarray(_random_samples._data if isinstance(_random_samples, Tensor)
                             else _random_samples)
        if unbatched and samples.ndim == 2:
            samples = samples[None]
        if samples.shape != (n, c, 2):
            raise ShapeError(f"fractional_max_pool2d: _random_samples must have shape "
                             f"{(n, c, 2)}, got {samples.shape}")
    out = _FractionalMaxPool2d.apply(x, samples, kernel_size=(kh, kw), output_size=(oh, ow))
    indices = None
    if return_indices:
        from autograd_core.ops.fractional_pool import windows_argmax

        indices = Tensor._make(windows_argmax(x._data, samples.astype(x.dtype), (kh, kw),
                                              (oh, ow))[1])
    if unbatched:
        out = out.squeeze(0)
        indices = indices.squeeze(0) if indices is not None else None
    return (out, indices) if return_indices else out


class FractionalMaxPool2d(Module):
    """PyTorch's ``FractionalMaxPool2d(kernel_size, output_size=None, output_ratio=None,
    return_indices=False, _random_samples=None)``."""

    def __init__(self, kernel_size, output_size=None, output_ratio=None,
                 return_indices: bool = False, _random_samples=None):
        super().__init__()
        if output_size is None and output_ratio is None:
            raise ValueError("FractionalMaxPool2d requires specifying either an output size, "
                             "or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        self.kernel_size = kernel_size
        self.output_size = output_size
        self.output_ratio = output_ratio
        self.return_indices = return_indices
        self._random_samples = _random_samples

    def forward(self, input):
        return fractional_max_pool2d(input, self.kernel_size, self.output_size,
                                     self.output_ratio, self.return_indices,
                                     self._random_samples)
