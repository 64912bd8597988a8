"""Constructors: zeros, ones, full, randn, rand, arange, eye, linspace and the *_like forms.

Floating-point results default to float32 (PyTorch's default dtype); random ones draw
from the generator that ``manual_seed`` seeds.

>>> from autograd_core import zeros, arange
>>> zeros(2, 3).shape, arange(3).tolist()
(torch.Size([2, 3]), [0, 1, 2])
"""

import numpy as np

from autograd_core.ops._shapes import shape_arg as _shape_arg
from autograd_core.random import get_generator
from autograd_core.tensor import Tensor

__all__ = [
    "zeros", "ones", "full", "empty", "randn", "rand", "randint", "randperm", "arange",
    "linspace", "eye", "zeros_like", "ones_like", "full_like", "randn_like", "rand_like",
]

_DEFAULT_FLOAT = np.float32


def _float_dtype(dtype):
    dtype = np.dtype(_DEFAULT_FLOAT if dtype is None else dtype)
    return dtype


def _finish(array: np.ndarray, requires_grad: bool, name=None) -> Tensor:
    t = Tensor._make(array)
    t.name = name
    if requires_grad:
        t.requires_grad_(True)
    return t


def _check_shape(shape, op):
    if any(s < 0 for s in shape):
        raise ValueError(f"{op}: sizes must be non-negative, got shape {shape}")
    return shape


def zeros(*shape, dtype=None, requires_grad=False) -> Tensor:
    """A tensor of zeros; ``zeros(2, 3)`` and ``zeros((2, 3))`` are the same."""
    shape = _check_shape(_shape_arg(shape), "zeros")
    return _finish(np.zeros(shape, dtype=_float_dtype(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad=False) -> Tensor:
    shape = _check_shape(_shape_arg(shape), "ones")
    return _finish(np.ones(shape, dtype=_float_dtype(dtype)), requires_grad)


def empty(*shape, dtype=None, requires_grad=False) -> Tensor:
    """Uninitialised memory in NumPy; here it is zero-filled for reproducibility."""
    return zeros(*shape, dtype=dtype, requires_grad=requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False) -> Tensor:
    """A tensor filled with ``fill_value`` (float32 for floats, int64 for ints, bool)."""
    shape = _check_shape(_shape_arg((shape,) if isinstance(shape, int) else (shape,)), "full")
    if dtype is None:
        if isinstance(fill_value, (bool, np.bool_)):
            dtype = np.bool_
        elif isinstance(fill_value, (int, np.integer)):
            dtype = np.int64
        else:
            dtype = _DEFAULT_FLOAT
    return _finish(np.full(shape, fill_value, dtype=dtype), requires_grad)


def randn(*shape, dtype=None, requires_grad=False) -> Tensor:
    """Samples of the standard normal distribution N(0, 1)."""
    shape = _check_shape(_shape_arg(shape), "randn")
    dtype = _float_dtype(dtype)
    data = get_generator().standard_normal(shape, dtype=np.float64).astype(dtype, copy=False)
    return _finish(data, requires_grad)


def rand(*shape, dtype=None, requires_grad=False) -> Tensor:
    """Samples of the uniform distribution on [0, 1)."""
    shape = _check_shape(_shape_arg(shape), "rand")
    dtype = _float_dtype(dtype)
    data = get_generator().random(shape, dtype=np.float64).astype(dtype, copy=False)
    return _finish(data, requires_grad)


def randint(low, high=None, size=(), dtype=np.int64) -> Tensor:
    """Random integers in [low, high) (``randint(high, size=...)`` starts at 0)."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    size = _shape_arg((size,) if isinstance(size, int) else (size,))
    return Tensor._make(get_generator().integers(low, high, size=size, dtype=dtype))


def randperm(n, dtype=np.int64) -> Tensor:
    """A random permutation of 0 .. n-1."""
    if n < 0:
        raise ValueError(f"randperm: n must be non-negative, got {n}")
    return Tensor._make(get_generator().permutation(n).astype(dtype))


def arange(start, end=None, step=1, dtype=None, requires_grad=False) -> Tensor:
    """Values from ``start`` (default 0) up to, not including, ``end``, by ``step``.

    Integer arguments give int64, any float gives float32 (as PyTorch).
    """
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if dtype is None:
        all_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if all_int else _DEFAULT_FLOAT
    return _finish(np.arange(start, end, step).astype(dtype), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    data = np.linspace(start, end, steps).astype(_float_dtype(dtype))
    return _finish(data, requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False) -> Tensor:
    """The identity matrix (n x m)."""
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def _like(t, dtype):
    data = t._data if isinstance(t, Tensor) else np.asarray(t)
    return data.shape, np.dtype(dtype) if dtype is not None else data.dtype


def zeros_like(t, dtype=None, requires_grad=False) -> Tensor:
    shape, dtype = _like(t, dtype)
    return _finish(np.zeros(shape, dtype=dtype), requires_grad)


def ones_like(t, dtype=None, requires_grad=False) -> Tensor:
    shape, dtype = _like(t, dtype)
    return _finish(np.ones(shape, dtype=dtype), requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False) -> Tensor:
    shape, dtype = _like(t, dtype)
    return _finish(np.full(shape, fill_value, dtype=dtype), requires_grad)


def randn_like(t, dtype=None, requires_grad=False) -> Tensor:
    shape, dtype = _like(t, dtype)
    return randn(*shape, dtype=dtype, requires_grad=requires_grad)


def rand_like(t, dtype=None, requires_grad=False) -> Tensor:
    shape, dtype = _like(t, dtype)
    return rand(*shape, dtype=dtype, requires_grad=requires_grad)
