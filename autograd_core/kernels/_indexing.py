"""Index arithmetic shared by the conv and pooling kernels, and the project's one
int-or-pair argument parser (:func:`pair`, exported as ``autograd_core.kernels.pair``).

Kept in one place because the kernels must agree on which output positions a kernel
tap reaches, and every layer on how a size is given and which values are refused.
(Numba caches each kernel by its own file: after editing this module, clear the
``__pycache__`` next to the kernels so callers are recompiled.)
"""

import numpy as np

from autograd_core.errors import ShapeError

from ._cache import kernel

#: Unsigned flat indices: the kernels compute every index non-negative, and an unsigned
#: one spares a wraparound test per array access (measured 3-4x on the copy loops).
_u = np.uintp


@kernel()
def _valid_range(out_size, in_size, offset, stride):
    """The outputs o with 0 <= o * stride + offset < in_size, as a range [lo, hi).

    For output o of a window tap at ``offset`` (tap index times dilation minus padding)
    the input position is o * stride + offset; outside [0, in_size) it reads padding.
    """
    lo = 0
    if offset < 0:
        lo = (-offset + stride - 1) // stride
    hi = 0
    if in_size - offset > 0:
        hi = (in_size - offset + stride - 1) // stride
    if hi > out_size:
        hi = out_size
    if lo > hi:
        lo = hi
    return lo, hi


#: Largest stride, padding, dilation or size the kernels accept: their index arithmetic
#: runs in int64, and products of a few of these must not overflow it.
MAX_ARGUMENT = 2**31 - 1


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def pair(value, name, minimum=None, allow_none=False):
    """An int, a 1-tuple or a pair of ints (or None entries when allowed) as a pair.

    The project's one int-or-pair parser (conv and pooling arguments, layers, transforms,
    benchmarks).  Bools, floats and strings are refused; so is any entry below
    ``minimum`` (when given) or above :data:`MAX_ARGUMENT`.  Errors are ``ValueError``
    naming ``name``.

    >>> pair(3, "stride"), pair((2,), "stride"), pair([1, 2], "padding", minimum=0)
    ((3, 3), (2, 2), (1, 2))
    """
    if _is_int(value):
        items = (value, value)
    else:
        # Sequences only: a str, bytes, set or dict would iterate into something else.
        if not isinstance(value, (tuple, list, np.ndarray)):
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        items = tuple(value.tolist() if isinstance(value, np.ndarray) else value)
        if len(items) == 1:
            items = items * 2  # PyTorch accepts (k,) for (k, k)
        if len(items) != 2 or not all(_is_int(v) or (allow_none and v is None) for v in items):
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    out = tuple(None if v is None else int(v) for v in items)
    ints = [v for v in out if v is not None]
    if minimum is not None and any(v < minimum for v in ints):
        rule = {0: "non-negative", 1: "positive"}.get(minimum, f"at least {minimum}")
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    if any(abs(v) > MAX_ARGUMENT for v in ints):
        raise ValueError(f"{name} must be at most {MAX_ARGUMENT} (2**31 - 1), got {value!r}")
    return out


def shape4(shape, name):
    """A 4-D shape of positive ints, each at most :data:`MAX_ARGUMENT`, as a tuple.

    Raises ``ShapeError`` (a ``ValueError``) naming ``name``.

    >>> shape4([1, 3, 8, 8], "x_shape")
    (1, 3, 8, 8)
    """
    try:
        items = tuple(shape)
    except TypeError:
        raise ShapeError(f"{name} must be a 4-D shape (N, C, H, W), got {shape!r}") from None
    if len(items) != 4 or not all(_is_int(v) for v in items):
        raise ShapeError(f"{name} must be 4 ints (N, C, H, W), got {shape!r}")
    items = tuple(int(v) for v in items)
    if min(items) <= 0 or max(items) > MAX_ARGUMENT:
        raise ShapeError(
            f"{name} entries must be between 1 and {MAX_ARGUMENT}, got {items}"
        )
    return items
