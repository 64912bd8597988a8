"""Constructors: zeros, ones, full, randn, rand, arange, eye, linspace and the *_like forms.

Floating-point results default to float32 (PyTorch's default dtype); random ones draw
from the generator that ``manual_seed`` seeds.

>>> from autograd_core import zeros, arange
>>> zeros(2, 3).shape, arange(3).tolist()
(torch.Size([2, 3]), [0, 1, 2])
"""

import numpy as np

from autograd_core.device import check_device as _check_device
from autograd_core.ops._shapes import shape_arg as _shape_arg
from autograd_core.random import generator_of
from autograd_core.tensor import Tensor

__all__ = [
    "zeros", "ones", "full", "empty", "randn", "rand", "randint", "randperm", "arange",
    "linspace", "eye", "zeros_like", "ones_like", "full_like", "randn_like", "rand_like",
    "empty_like", "randint_like", "normal", "bernoulli", "multinomial", "poisson",
    "logspace", "set_default_dtype", "get_default_dtype",
]

def get_default_dtype():
    """The dtype of floats made without a dtype (float32 unless set otherwise)."""
    from autograd_core.ops import _dtypes

    return _dtypes.default_float().type


def set_default_dtype(dtype) -> None:
    """Make ``dtype`` (float32 or float64; float16 is refused: this library does no
    float16 arithmetic) the dtype of Python floats and of float constructors."""
    from autograd_core.ops import _dtypes

    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"set_default_dtype: only float32 and float64 are supported, got "
                        f"{dtype}")
    _dtypes.set_default_float(dtype)


def _float_dtype(dtype):
    if dtype is None:
        return np.dtype(get_default_dtype())
    return np.dtype(dtype)


def _finish(array: np.ndarray, requires_grad: bool, name=None, device=None) -> Tensor:
    if device is not None:
        _check_device(device)
    t = Tensor._make(array)
    t.name = name
    if requires_grad:
        t.requires_grad_(True)
    return t


def _check_shape(shape, op):
    if any(s < 0 for s in shape):
        raise ValueError(f"{op}: sizes must be non-negative, got shape {shape}")
    return shape


def zeros(*shape, dtype=None, requires_grad=False, device=None, out=None, layout=None,
          pin_memory=False, size=None) -> Tensor:
    """A tensor of zeros; ``zeros(2, 3)`` and ``zeros((2, 3))`` are the same."""
    shape = _check_shape(_shape_arg(shape if size is None else (size,)), "zeros")
    return _finish(np.zeros(shape, dtype=_float_dtype(dtype)), requires_grad, device=device)


def ones(*shape, dtype=None, requires_grad=False, device=None, out=None, layout=None,
         pin_memory=False, size=None) -> Tensor:
    shape = _check_shape(_shape_arg(shape if size is None else (size,)), "ones")
    return _finish(np.ones(shape, dtype=_float_dtype(dtype)), requires_grad, device=device)


def empty(*shape, dtype=None, requires_grad=False, device=None, size=None, **unused) -> Tensor:
    """Uninitialised memory in PyTorch; here it is zero-filled for reproducibility."""
    return zeros(*shape, dtype=dtype, requires_grad=requires_grad, device=device, size=size)


def full(shape, fill_value, dtype=None, requires_grad=False, device=None, **unused) -> Tensor:
    """A tensor filled with ``fill_value`` (float32 for floats, int64 for ints, bool)."""
    shape = _check_shape(_shape_arg((shape,) if isinstance(shape, int) else (shape,)), "full")
    if dtype is None:
        if isinstance(fill_value, (bool, np.bool_)):
            dtype = np.bool_
        elif isinstance(fill_value, (int, np.integer)):
            dtype = np.int64
        else:
            dtype = get_default_dtype()
    return _finish(np.full(shape, fill_value, dtype=dtype), requires_grad, device=device)


def randn(*shape, dtype=None, requires_grad=False, generator=None, device=None, size=None,
          **unused) -> Tensor:
    """Samples of the standard normal distribution N(0, 1)."""
    shape = _check_shape(_shape_arg(shape if size is None else (size,)), "randn")
    dtype = _float_dtype(dtype)
    data = generator_of(generator).standard_normal(shape, dtype=np.float64).astype(
        dtype, copy=False)
    return _finish(data, requires_grad, device=device)


def rand(*shape, dtype=None, requires_grad=False, generator=None, device=None, size=None,
         **unused) -> Tensor:
    """Samples of the uniform distribution on [0, 1)."""
    shape = _check_shape(_shape_arg(shape if size is None else (size,)), "rand")
    dtype = _float_dtype(dtype)
    data = generator_of(generator).random(shape, dtype=np.float64).astype(dtype, copy=False)
    return _finish(data, requires_grad, device=device)


def randint(low, high=None, size=None, dtype=np.int64, *, generator=None, device=None,
            requires_grad=False, **unused) -> Tensor:
    """Random integers in [low, high) (``randint(high, size)`` starts at 0)."""
    if device is not None:
        _check_device(device)
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high  # randint(high, size)
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    size = _shape_arg((size,) if isinstance(size, int) else (size,))
    data = generator_of(generator).integers(low, high, size=size).astype(dtype or np.int64)
    return _finish(data, requires_grad)


def randperm(n, dtype=np.int64, *, generator=None, device=None, **unused) -> Tensor:
    """A random permutation of 0 .. n-1."""
    if n < 0:
        raise ValueError(f"randperm: n must be non-negative, got {n}")
    return _finish(generator_of(generator).permutation(n).astype(dtype), False, device=device)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None,
           **unused) -> Tensor:
    """Values from ``start`` (default 0) up to, not including, ``end``, by ``step``.

    Integer arguments give int64, any float gives float32 (as PyTorch).
    """
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if dtype is None:
        all_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if all_int else get_default_dtype()
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    return _finish(np.arange(start, end, step).astype(dtype), requires_grad, device=device)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None,
             **unused) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    data = np.linspace(start, end, steps).astype(_float_dtype(dtype))
    return _finish(data, requires_grad, device=device)


def eye(n, m=None, dtype=None, requires_grad=False, device=None, **unused) -> Tensor:
    """The identity matrix (n x m)."""
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad, device=device)


def _like(t, dtype):
    data = t._data if isinstance(t, Tensor) else np.asarray(t)
    return data.shape, np.dtype(dtype) if dtype is not None else data.dtype


def zeros_like(t, dtype=None, requires_grad=False, device=None, **unused) -> Tensor:
    shape, dtype = _like(t, dtype)
    return _finish(np.zeros(shape, dtype=dtype), requires_grad, device=device)


def ones_like(t, dtype=None, requires_grad=False, device=None, **unused) -> Tensor:
    shape, dtype = _like(t, dtype)
    return _finish(np.ones(shape, dtype=dtype), requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False, device=None, **unused) -> Tensor:
    shape, dtype = _like(t, dtype)
    return _finish(np.full(shape, fill_value, dtype=dtype), requires_grad)


def randn_like(t, dtype=None, requires_grad=False, device=None, **unused) -> Tensor:
    shape, dtype = _like(t, dtype)
    return randn(*shape, dtype=dtype, requires_grad=requires_grad)


def rand_like(t, dtype=None, requires_grad=False, device=None, **unused) -> Tensor:
    shape, dtype = _like(t, dtype)
    return rand(*shape, dtype=dtype, requires_grad=requires_grad)


def empty_like(t, dtype=None, requires_grad=False, device=None, **unused) -> Tensor:
    """As :func:`zeros_like` (memory is never left uninitialised here)."""
    return zeros_like(t, dtype=dtype, requires_grad=requires_grad, device=device)


def randint_like(t, low=0, high=None, dtype=None, *, generator=None, **unused) -> Tensor:
    shape, like_dtype = _like(t, dtype)
    if high is None:
        low, high = 0, low
    return randint(low, high, shape, dtype=like_dtype, generator=generator)


def logspace(start, end, steps, base=10.0, dtype=None, requires_grad=False, device=None,
             **unused) -> Tensor:
    """``steps`` values from base^start to base^end, evenly spaced in the exponent."""
    data = np.logspace(start, end, steps, base=base).astype(_float_dtype(dtype))
    return _finish(data, requires_grad, device=device)


def _value(x):
    return x._data if isinstance(x, Tensor) else x


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, requires_grad=False,
           device=None, out=None) -> Tensor:
    """Samples of N(mean, std^2): ``mean`` and ``std`` may be tensors (broadcast, one
    sample each) or numbers with a ``size``."""
    if device is not None:
        _check_device(device)
    m, s = _value(mean), _value(std)
    if np.any(np.asarray(s) < 0):
        raise ValueError(f"normal: std must be non-negative, got {std!r}")
    if size is None:
        if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
            raise TypeError("normal: give a size, or mean/std as tensors")
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    else:
        shape = _shape_arg((size,) if isinstance(size, int) else (size,), "normal")
    kind = dtype or next((x.dtype for x in (mean, std) if isinstance(x, Tensor)
                          and x.dtype.kind == "f"), None)
    data = generator_of(generator).normal(m, s, size=shape).astype(_float_dtype(kind))
    return _finish(data, requires_grad)


def bernoulli(input, p=None, *, generator=None, out=None) -> Tensor:
    """1 with probability ``input`` (elementwise, in [0, 1]), else 0; same dtype."""
    probs = np.asarray(_value(input) if p is None else np.full(np.shape(_value(input)), p))
    if probs.size and (np.nanmin(probs) < 0 or np.nanmax(probs) > 1 or np.isnan(probs).any()):
        raise ValueError("bernoulli: probabilities must be in [0, 1]")
    dtype = probs.dtype if probs.dtype.kind == "f" else np.dtype(get_default_dtype())
    return Tensor._make((generator_of(generator).random(probs.shape) < probs).astype(dtype))


def poisson(input, generator=None) -> Tensor:
    """Samples of the Poisson distribution with rates ``input``."""
    rates = np.asarray(_value(input))
    return Tensor._make(generator_of(generator).poisson(rates).astype(rates.dtype))


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None) -> Tensor:
    """``num_samples`` indices per row, drawn with probabilities proportional to the
    row's (non-negative) weights, with or without replacement: int64, (rows, n)."""
    weights = np.asarray(_value(input), dtype=np.float64)
    if weights.ndim not in (1, 2):
        raise ValueError(f"multinomial: expects a 1-D or 2-D tensor, got shape {weights.shape}")
    rows = weights.reshape(-1, weights.shape[-1])
    if np.any(rows < 0) or not np.all(np.isfinite(rows)):
        raise ValueError("multinomial: weights must be finite and non-negative")
    totals = rows.sum(axis=1)
    if np.any(totals <= 0):
        raise ValueError("multinomial: each row needs a positive total weight")
    if not replacement and num_samples > rows.shape[1]:
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without "
                         f"replacement from {rows.shape[1]} categories")
    if not replacement and num_samples > int(np.min(np.sum(rows > 0, axis=1))):
        raise ValueError("multinomial: fewer categories with nonzero weight than samples "
                         "(without replacement)")
    rng = generator_of(generator)
    draws = np.stack([rng.choice(rows.shape[1], size=num_samples, replace=replacement,
                                 p=row / total) for row, total in zip(rows, totals)])
    result = draws.astype(np.int64)
    return Tensor._make(result[0] if weights.ndim == 1 else result)
