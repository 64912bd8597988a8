"""Index arithmetic shared by the conv and pooling kernels.

Kept in one place because the two must agree on which output positions a kernel tap
reaches. (Numba caches each kernel by its own file: after editing this module, clear
the ``__pycache__`` next to the kernels so callers are recompiled.)
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
