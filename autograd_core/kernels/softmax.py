"""Softmax over the last axis in one pass per row, with a vectorisable float32 exp.

For a row ``s`` (length S) the kernel computes, in place::

    m = max_j s_j          (0 when the maximum is not finite: a row of -inf, or +inf)
    e_j = exp(s_j - m),    total = sum_j e_j,    s_j <- e_j / total

and returns ``m`` and ``total`` ((..., 1) each), from which a second call rebuilds the
very same ``s`` (the attention op keeps only these, not P). A row of only -inf gives
0/0 = NaN, as in PyTorch.  :func:`log_softmax_last_axis` computes ``(z - m) -
log(total)`` into a new array the same way (the cross entropy's and ``LogSoftmax``'s
float32 rows of 16K elements or more).

Why a kernel: NumPy's float32 ``exp`` is scalar libm on machines without AVX-512
(measured on a 2-core Zen 3, AVX2: 3.5 ns per element; 0.3 ns with AVX-512), and the
NumPy softmax makes five passes over the (..., L, S) scores. The kernel uses the
vectorisable ``transcendental.exp32`` (at most 1 ulp off) and one pass per row
(measured on (128, 64, 64) causal scores: 0.8 ms against NumPy's 2.4 ms).
float64 stays on NumPy (``softmax_last_axis`` falls back), where gradient checks need
it exact.

Rows are split over the worker threads (``_threads.run_planes``): each row is reduced
by one thread in one fixed order, so results do not depend on the thread count.

>>> import numpy as np
>>> s = np.log(np.array([[1.0, 3.0]], dtype=np.float32))
>>> p, m, total = softmax_last_axis(s)
>>> np.round(p, 6).tolist(), round(float(total[0, 0]), 6)
([[0.25, 0.75]], 1.333333)
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._cache import kernel
from ._indexing import _u
from ._threads import SMALL_WORK, run_planes
from .transcendental import exp32

__all__ = ["softmax_applies", "softmax_last_axis", "log_softmax_last_axis"]

#: Rows of a softmax call at least this large (elements) are split over the threads:
#: the exp makes the pass compute-bound (about 1.3 ns per element on one core).
THREADED_ELEMENTS = 1 << 17
#: ... and of a log-softmax call (about 1 ns per element on one core; two threads cost
#: 0.05-0.12 ms more to start, measured: (2048, 65) 0.14 ms on one thread, 0.18 on
#: two; (2048, 1000) 2.2 and 1.2 ms).
LOG_SOFTMAX_THREADED_ELEMENTS = 1 << 18
#: Smaller log-softmax calls keep NumPy's formula: there it costs microseconds (a
#: CIFAR batch's (32, 10) logits: 21 us, the kernel 7), and its bits are those of the
#: flat code (``viz.flat_code``), which reproduces a small model bit for bit.
LOG_SOFTMAX_MIN_ELEMENTS = 1 << 14
# Reductions may be reassociated (vectorised sums); each row is still summed by one
# thread in one fixed order. "contract" allows FMAs in the polynomial.
_FAST = {"reassoc", "nsz", "contract"}


# error_model="numpy": no zero check (and branch) on the division; 0/0 is NaN.
@kernel(nogil=True, parallel=True, fastmath=_FAST, error_model="numpy")
def _softmax_rows(s, m, total, have_stats, r0, r1):
    width = s.shape[1]
    for r in prange(r0, r1):
        if have_stats:
            top = m[r]
        else:
            top = s[r, 0]
            for j in range(1, width):
                top = max(top, s[r, j])
            if not np.isfinite(top):
                top = np.float32(0.0)
            m[r] = top
        acc = np.float32(0.0)
        for j in range(width):
            e = exp32(s[r, j] - top)
            s[r, j] = e
            acc += e
        if have_stats:
            acc = total[r]
        else:
            total[r] = acc
        for j in range(width):
            s[r, j] = s[r, j] / acc


def _float32_rows(a) -> bool:
    """A C-contiguous float32 NumPy array with a non-empty last axis: rows the kernels
    take."""
    return (type(a) is np.ndarray and a.dtype == np.float32 and a.ndim >= 1
            and a.flags.c_contiguous and a.size > 0 and a.shape[-1] > 0)


def softmax_applies(s) -> bool:
    """Whether :func:`softmax_last_axis` runs the kernel on ``s`` (a C-contiguous
    float32 array with a non-empty last axis); otherwise it computes with NumPy."""
    return _float32_rows(s) and s.flags.writeable


def softmax_last_axis(s, m=None, total=None):
    """Softmax of ``s`` over its last axis, **in place** where the kernel applies:
    ``(p, m, total)`` with ``m``, ``total`` of shape ``s.shape[:-1] + (1,)``.

    Given the ``m`` and ``total`` of an earlier call on equal scores, returns the very
    same ``p``. Other dtypes and layouts compute the same formula with NumPy (in place
    too where the array allows).
    """
    if (m is None) != (total is None):
        raise ValueError("softmax_last_axis: pass both m and total, or neither")
    if not softmax_applies(s):
        return _numpy_softmax(s, m, total)
    rows = s.reshape(-1, s.shape[-1])
    have_stats = m is not None
    if have_stats:
        m_rows = np.ascontiguousarray(m, dtype=np.float32).reshape(-1)
        t_rows = np.ascontiguousarray(total, dtype=np.float32).reshape(-1)
        if m_rows.size != rows.shape[0] or t_rows.size != rows.shape[0]:
            raise ValueError(f"softmax_last_axis: m and total need {rows.shape[0]} rows, "
                             f"got {m_rows.size} and {t_rows.size}")
    else:
        m_rows = np.empty(rows.shape[0], np.float32)
        t_rows = np.empty(rows.shape[0], np.float32)
    # Compute-bound rows: let moderately large calls use the threads too.
    work = s.size * (SMALL_WORK // THREADED_ELEMENTS)
    run_planes(_softmax_rows, rows.shape[0], (rows, m_rows, t_rows, have_stats), work)
    stats = s.shape[:-1] + (1,)
    return s, m_rows.reshape(stats), t_rows.reshape(stats)


@kernel(nogil=True, fastmath=_FAST, error_model="numpy")
def _exp_sum(zf, base, width, top):
    # sum_j exp32(zf[base + j] - top): the one loop of _log_softmax_rows that may be
    # reassociated (a vectorised sum).  A function of its own, so its fastmath flags
    # stay on its own instructions when LLVM inlines it.
    acc = np.float32(0.0)
    for j in range(width):
        acc += exp32(zf[_u(base + j)] - top)
    return acc


# Not _FAST: with "reassoc" LLVM rewrote (z - m) - lse as z - (m + lse), which rounds
# m + lse to the row maximum's precision (a row [1e4, 1e4 - 10] gave [0, -10] instead
# of [-4.54e-5, -10.000045]).  The sum's reassociation lives in _exp_sum alone.
@kernel(nogil=True, parallel=True, fastmath={"nsz", "contract"}, error_model="numpy")
def _log_softmax_rows(z, out, r0, r1):
    # out[r, j] = (z[r, j] - m) - log(sum_k exp(z[r, k] - m)), m = the row's maximum (0
    # when it is not finite), as the NumPy formula of ops.loss.log_softmax; three loops
    # over the row (flat unsigned indices) instead of NumPy's six passes.
    width = z.shape[1]
    zf = z.ravel()
    of = out.ravel()
    for r in prange(r0, r1):
        base = r * width
        top = zf[_u(base)]
        for j in range(1, width):
            top = max(top, zf[_u(base + j)])
        if not np.isfinite(top):
            top = np.float32(0.0)
        lse = np.float32(np.log(_exp_sum(zf, base, width, top)))
        for j in range(width):
            k = _u(base + j)
            of[k] = (zf[k] - top) - lse


def log_softmax_last_axis(z, min_elements=None):
    """``log softmax(z)`` over the last axis, a new array, or ``None`` where the kernel
    does not apply: not a C-contiguous float32 array with a non-empty last axis, or
    fewer than ``min_elements`` elements (default ``LOG_SOFTMAX_MIN_ELEMENTS``).  ``z``
    itself is not written.

    One row at a time: the maximum, the sum of ``exp32(z - max)``, then ``(z - max) -
    log(sum)``, which keeps the accuracy of NumPy's formula for rows far from 0 (a
    shared offset of 1e4: 2.4e-7 relative against float64).  Measured on logits of
    (2048, 65), the cross entropy of a character LM, one thread: 0.29-0.36 ms as
    NumPy's six passes, 0.13-0.14 ms here (the maximum's loop stays scalar: a
    vectorised float maximum would need fastmath's no-NaN promise).

    >>> z = np.log(np.array([[1.0, 3.0]], dtype=np.float32))
    >>> np.round(np.exp(log_softmax_last_axis(z, min_elements=0)), 6).tolist()
    [[0.25, 0.75]]
    """
    if min_elements is None:
        min_elements = LOG_SOFTMAX_MIN_ELEMENTS
    if not (_float32_rows(z) and z.size >= min_elements):
        return None
    rows = z.reshape(-1, z.shape[-1])
    out = np.empty_like(rows)
    work = z.size * (SMALL_WORK // LOG_SOFTMAX_THREADED_ELEMENTS)
    run_planes(_log_softmax_rows, rows.shape[0], (rows, out), work)
    return out.reshape(z.shape)


def _numpy_softmax(s, m, total):
    if not (isinstance(s, np.ndarray) and s.flags.writeable):
        s = np.array(s)
    if m is None and s.size == 0:  # no keys (or no rows): nothing to normalise
        m = np.zeros(s.shape[:-1] + (1,), s.dtype)
    elif m is None:
        m = np.max(s, axis=-1, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
    s -= m
    np.exp(s, out=s)
    if total is None:
        total = np.sum(s, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        s /= total
    return s, m, total
