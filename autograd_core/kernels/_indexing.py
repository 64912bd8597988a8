"""Index arithmetic and argument pairs shared by the conv and pooling kernels.

Kept in one place because the two must agree on which output positions a kernel tap
reaches and on how a size is given. (Numba caches each kernel by its own file: after
editing this module, clear the ``__pycache__`` next to the kernels so callers are
recompiled.)
"""

import numpy as np
from numba import njit

#: Unsigned flat indices: the kernels compute every index non-negative, and an unsigned
#: one spares a wraparound test per array access (measured 3-4x on the copy loops).
_u = np.uintp


@njit(cache=True)
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


def _pair(value, name, allow_none=False):
    """An int, a 1-tuple or a pair of ints (or None entries when allowed) as a pair.

    >>> _pair(3, "stride"), _pair((2,), "stride"), _pair([1, 2], "padding")
    ((3, 3), (2, 2), (1, 2))
    """
    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))

    if is_int(value):
        return int(value), int(value)
    try:
        items = tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}") from None
    if len(items) == 1:
        items = items * 2  # PyTorch accepts (k,) for (k, k)
    if len(items) != 2 or not all(is_int(v) or (allow_none and v is None) for v in items):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return tuple(None if v is None else int(v) for v in items)
