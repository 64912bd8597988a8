"""Fused float32 scaled dot-product attention: one pass per query row, forward and back.

For one batch entry b with q (L, E), k (S, E), v (S, Ev) and an optional additive
bias B (L, S), each query row i is computed whole before the next::

    s_j = (q_i . k_j) * scale + B_ij,   m = max_j s_j (0 if not finite),
    e_j = exp(s_j - m),   total = sum_j e_j,   p_j = e_j / total,   y_i = sum_j p_j v_j

and the row's m and total are kept, so backward rebuilds the very same p_j (the same
operations in the same order) and, with g_i = dL/dy_i::

    dv_j += p_j g_i,   dp_j = g_i . v_j,   ds_j = p_j (dp_j - sum_l dp_l p_l),
    dq_i = scale sum_j ds_j k_j,   dk_j = scale sum_i ds_j q_i

Why: the same computation as batched NumPy products is five or six passes over the
(B, L, S) scores, with a BLAS call per (L, E) x (E, S) product (a Transformer LM of
head size 16 makes 128 of them per call, each a few microseconds of overhead for
65k multiply-adds). Here a row's scores live in a buffer of S floats, k and v are
transposed once per batch entry so every inner loop runs over a contiguous axis and
vectorises, and exp is ``transcendental.exp32``. Loops that update a row of S
accumulators take four features (forward) or four query rows (backward's dk and dv)
per pass, so each accumulator is loaded and stored once for four multiply-adds
(measured on a Transformer LM's (128, 64, 16) heads, causal, old and new kernels
alternated in one process: forward 0.81x and backward 0.89x the time, medians).

A row stops at its last key whose bias is not -inf (``_live_keys``): the keys after
it have p_j = 0 and add nothing, so a causal row i computes i + 1 keys, not S, and
right-padded keys take no part in any row's result (a NaN stored there stays out of
it, where the full computation would spread it to every row). A row whose every key
is -inf has no keys: its output, dq and share of dk and dv are 0, as in PyTorch's
``scaled_dot_product_attention`` (whose softmax there gives 0, not 0/0). Measured on
the LM's (128, 64, 16) heads, causal, old and new kernels alternated: forward
0.92-0.95x, backward 0.85-0.9x the time (the per-row loop overheads, not the keys, are
most of a 64-key row's cost).

Batch entries are independent (each one's dk and dv are accumulated by the thread that
owns it, in row order), split over the worker threads by ``_threads.run_planes``: the
results do not depend on the thread count.

``bias_mode``: 0 no bias, 1 one (L, S) bias shared by every batch entry, 2 a (B, L, S)
bias. The caller (``ops.attention``) passes float32 arrays of shapes (B, L, E),
(B, S, E), (B, S, Ev), of any strides (multi-head attention's are transposed views);
other cases stay on its NumPy path.

>>> import numpy as np
>>> q = k = v = np.eye(2, dtype=np.float32)[None]
>>> y, m, total = attention_forward(q, k, v, None, 1.0)
>>> np.round(y.astype(float), 3).tolist()
[[[0.731, 0.269], [0.269, 0.731]]]
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._cache import kernel
from ._indexing import _u
from ._threads import run_planes
from .transcendental import exp32

__all__ = ["attention_forward", "attention_backward"]

_FAST = {"reassoc", "nsz", "contract"}
_NO_BIAS = np.zeros((1, 1, 1), np.float32)
#: Multiply-adds per score and feature of forward (q.k and p v) and backward (five
#: products): the work estimate run_planes compares with ``_threads.SMALL_WORK``.
_FORWARD_WORK, _BACKWARD_WORK = 2, 5


@kernel(inline="always", fastmath=_FAST, error_model="numpy")
def _live_keys(bias, bias_row, S):
    """How many of a query row's keys it uses: all S but a run of keys at the end of
    the row whose bias is -inf (a causal mask's upper triangle, right padding).

    Those keys' scores are -inf, so their exp is 0 and they add nothing to the row's
    sum, output or gradients: a causal row i of S keys computes i + 1 of them. A row
    whose every key is -inf uses none: its output and gradients are 0.
    """
    if bias_row < 0:
        return S
    n = S
    while n > 0 and bias[_u(bias_row + n - 1)] == -np.inf:
        n -= 1
    return n


@kernel(inline="always", fastmath=_FAST, error_model="numpy")
def _scores(qi, kt, S, n, bias, bias_row, scale, s):
    """s_j = (qi . k_j) * scale (+ bias[bias_row + j] when bias_row >= 0) for the first
    n keys, with kt = k^T flattened (E, S).  Four features per pass over s (one load
    and store of s_j for four multiply-adds)."""
    E = qi.size
    for j in range(n):
        s[j] = np.float32(0.0)
    e = 0
    while e + 4 <= E:
        q0, q1, q2, q3 = qi[e], qi[e + 1], qi[e + 2], qi[e + 3]
        b0 = e * S
        for j in range(n):
            s[j] += (q0 * kt[_u(b0 + j)] + q1 * kt[_u(b0 + S + j)]) + \
                (q2 * kt[_u(b0 + 2 * S + j)] + q3 * kt[_u(b0 + 3 * S + j)])
        e += 4
    while e < E:
        qe = qi[e]
        base = e * S
        for j in range(n):
            s[j] += qe * kt[_u(base + j)]
        e += 1
    for j in range(n):
        s[j] *= scale
    if bias_row >= 0:
        for j in range(n):
            s[j] += bias[_u(bias_row + j)]


@kernel(inline="always", fastmath=_FAST, error_model="numpy")
def _transposed(a):
    """a (rows, cols) transposed into a new flat (cols * rows) array."""
    rows, cols = a.shape
    t = np.empty(rows * cols, np.float32)
    for r in range(rows):
        for c in range(cols):
            t[_u(c * rows + r)] = a[r, c]
    return t


@kernel(inline="always", fastmath=_FAST, error_model="numpy")
def _row_products(row, mt, S, n, factor, dest):
    """dest[c] = factor * sum_(j < n) row[j] mt[c * S + j] for every c (mt a flat (C, S)
    matrix of rows over the S keys), four outputs per pass over ``row``."""
    C = dest.size
    c = 0
    while c + 4 <= C:
        base = c * S
        y0 = y1 = y2 = y3 = np.float32(0.0)
        for j in range(n):
            rj = row[j]
            y0 += rj * mt[_u(base + j)]
            y1 += rj * mt[_u(base + S + j)]
            y2 += rj * mt[_u(base + 2 * S + j)]
            y3 += rj * mt[_u(base + 3 * S + j)]
        dest[c] = y0 * factor
        dest[c + 1] = y1 * factor
        dest[c + 2] = y2 * factor
        dest[c + 3] = y3 * factor
        c += 4
    while c < C:
        base = c * S
        y = np.float32(0.0)
        for j in range(n):
            y += row[j] * mt[_u(base + j)]
        dest[c] = y * factor
        c += 1


@kernel(inline="always", fastmath=_FAST, error_model="numpy")
def _bias_row(bias_mode, b, i, L, S):
    """Flat offset of bias row (b, i) in the 3-D bias, -1 without a bias."""
    if bias_mode == 0:
        return -1
    bb = b if bias_mode == 2 else 0
    return (bb * L + i) * S


@kernel(nogil=True, parallel=True, fastmath=_FAST, error_model="numpy")
def _forward_rows(q, k, v, bias, bias_mode, scale, out, m, total, b0, b1):
    # Every inner loop runs over the S keys of a contiguous row (k and v transposed
    # once per batch entry): S is the long axis, E and Ev are a head's 16-64 features.
    L = q.shape[1]
    S = k.shape[1]
    flat_bias = bias.reshape(-1)
    for b in prange(b0, b1):
        kt = _transposed(k[b])
        vt = _transposed(v[b])
        s = np.empty(S, np.float32)
        for i in range(L):
            bias_row = _bias_row(bias_mode, b, i, L, S)
            n = _live_keys(flat_bias, bias_row, S)
            _scores(q[b, i], kt, S, n, flat_bias, bias_row, scale, s)
            top = -np.inf
            for j in range(n):
                top = max(top, s[j])
            if not np.isfinite(top):
                top = np.float32(0.0)
            acc = np.float32(0.0)
            for j in range(n):
                e = exp32(s[j] - top)
                s[j] = e
                acc += e
            m[b, i] = top
            total[b, i] = acc
            for j in range(n):
                s[j] = s[j] / acc
            _row_products(s, vt, S, n, np.float32(1.0), out[b, i])


@kernel(inline="always", fastmath=_FAST, error_model="numpy")
def _row_gradients(qi, gi, kt, vt, S, n, flat_bias, bias_row, scale, top, acc, p, ds,
                   gq_row):
    """One query row's backward over its first n keys (:func:`_live_keys`): its p
    (rebuilt as the forward made it), ds, and dq (written to ``gq_row``); the caller
    adds the row's share of dk and dv."""
    Ev = gi.size
    _scores(qi, kt, S, n, flat_bias, bias_row, scale, p)
    for j in range(n):
        p[j] = exp32(p[j] - top) / acc
    for j in range(n):
        ds[j] = np.float32(0.0)
    c = 0
    while c + 4 <= Ev:  # dp_j = g . v_j, four features per pass over ds
        g0, g1, g2, g3 = gi[c], gi[c + 1], gi[c + 2], gi[c + 3]
        base = c * S
        for j in range(n):
            ds[j] += (g0 * vt[_u(base + j)] + g1 * vt[_u(base + S + j)]) + \
                (g2 * vt[_u(base + 2 * S + j)] + g3 * vt[_u(base + 3 * S + j)])
        c += 4
    while c < Ev:
        gc, base = gi[c], c * S
        for j in range(n):
            ds[j] += gc * vt[_u(base + j)]
        c += 1
    r = np.float32(0.0)
    for j in range(n):
        r += ds[j] * p[j]
    for j in range(n):
        ds[j] = p[j] * (ds[j] - r)
    _row_products(ds, kt, S, n, scale, gq_row)  # dq_e = scale sum_j ds_j k_je


@kernel(nogil=True, parallel=True, fastmath=_FAST, error_model="numpy")
def _backward_rows(q, k, v, bias, bias_mode, scale, m, total, g, gq, gk, gv, b0, b1):
    # Query rows in blocks of four: each row's p, ds and dq first (_row_gradients), then
    # the block's shares of dk^T and dv^T in one pass over each of their rows (one load
    # and store of an accumulator for four multiply-adds, not one), over the keys of the
    # block's widest row.
    L, E = q.shape[1], q.shape[2]
    S, Ev = k.shape[1], v.shape[2]
    flat_bias = bias.reshape(-1)
    for b in prange(b0, b1):
        kt = _transposed(k[b])
        vt = _transposed(v[b])
        dkt = np.zeros(E * S, np.float32)   # dk^T and dv^T: rows over the S keys
        dvt = np.zeros(Ev * S, np.float32)
        p = np.empty(4 * S, np.float32)     # the block's rows of P and dS
        ds = np.empty(4 * S, np.float32)
        live = np.empty(4, np.int64)        # the block's rows' live keys
        i = 0
        while i < L:
            rows = min(4, L - i)
            widest = 0
            for t in range(rows):
                bias_row = _bias_row(bias_mode, b, i + t, L, S)
                n = _live_keys(flat_bias, bias_row, S)
                live[t] = n
                widest = max(widest, n)
                _row_gradients(q[b, i + t], g[b, i + t], kt, vt, S, n, flat_bias, bias_row,
                               scale, m[b, i + t], total[b, i + t], p[t * S:(t + 1) * S],
                               ds[t * S:(t + 1) * S], gq[b, i + t])
            if rows == 4:
                # keys past a row's own live ones have p = ds = 0 there: the block's
                # passes run over the widest row's keys
                for t in range(4):
                    for j in range(live[t], widest):
                        p[t * S + j] = np.float32(0.0)
                        ds[t * S + j] = np.float32(0.0)
                for c in range(Ev):
                    g0, g1, g2, g3 = g[b, i, c], g[b, i + 1, c], g[b, i + 2, c], g[b, i + 3, c]
                    row = c * S
                    for j in range(widest):
                        dvt[_u(row + j)] += (g0 * p[j] + g1 * p[S + j]) + \
                            (g2 * p[2 * S + j] + g3 * p[3 * S + j])
                for e in range(E):
                    q0, q1, q2, q3 = q[b, i, e], q[b, i + 1, e], q[b, i + 2, e], q[b, i + 3, e]
                    row = e * S
                    for j in range(widest):
                        dkt[_u(row + j)] += (q0 * ds[j] + q1 * ds[S + j]) + \
                            (q2 * ds[2 * S + j] + q3 * ds[3 * S + j])
            else:
                for t in range(rows):
                    for c in range(Ev):
                        gc, row = g[b, i + t, c], c * S
                        for j in range(live[t]):
                            dvt[_u(row + j)] += gc * p[t * S + j]
                    for e in range(E):
                        qe, row = q[b, i + t, e], e * S
                        for j in range(live[t]):
                            dkt[_u(row + j)] += qe * ds[t * S + j]
            i += rows
        for j in range(S):
            for e in range(E):
                gk[b, j, e] = dkt[_u(e * S + j)] * scale
            for c in range(Ev):
                gv[b, j, c] = dvt[_u(c * S + j)]


def _bias_args(bias):
    """(3-D array, mode) for the kernels: see the module docstring."""
    if bias is None:
        return _NO_BIAS, 0
    if bias.ndim == 2:
        return bias[None], 1
    return bias, (1 if bias.shape[0] == 1 else 2)


def _rows_major(batch, rows, width):
    """A (batch, rows, width) float32 array laid out as (rows, batch, width): the layout
    of PyTorch's multi-head attention, (L, N * heads, head size), so its reshapes and
    transposes around the call are views, not copies."""
    return np.empty((rows, batch, width), np.float32).transpose(1, 0, 2)


def _check(q, k, v, bias, **more):
    """ValueError naming the shapes unless the arrays fit the kernels (which index
    without bounds checks): float32 (B, L, E), (B, S, E), (B, S, Ev), a bias of (L, S),
    (1, L, S) or (B, L, S), and ``more`` arrays of the shapes given with them."""
    ok = all(type(a) is np.ndarray and a.dtype == np.float32 and a.ndim == 3
             for a in (q, k, v))
    if ok:
        (B, L, E), S = q.shape, v.shape[1]
        ok = k.shape == (B, S, E) and v.shape[0] == B
        if bias is not None:
            ok = ok and type(bias) is np.ndarray and bias.dtype == np.float32 and \
                bias.flags.c_contiguous and bias.shape in ((L, S), (1, L, S), (B, L, S))
        for array, shape in more.values():
            ok = ok and type(array) is np.ndarray and array.dtype == np.float32 and \
                array.shape == shape
    if not ok:
        described = {"q": q, "k": k, "v": v, "bias": bias} | {n: a for n, (a, _) in more.items()}
        raise ValueError("attention kernels: expected float32 q (B, L, E), k (B, S, E), "
                         "v (B, S, Ev), bias (L, S) or (B, L, S); got " + ", ".join(
                             f"{n} {getattr(a, 'shape', a)} {getattr(a, 'dtype', '')}".rstrip()
                             for n, a in described.items() if a is not None))


def attention_forward(q, k, v, bias, scale):
    """(y (B, L, Ev), m (B, L), total (B, L)) of the module docstring's forward; q, k,
    v may have any strides, y is laid out as (L, B, Ev) (:func:`_rows_major`)."""
    _check(q, k, v, bias)
    batch, length = q.shape[0], q.shape[1]
    out = _rows_major(batch, length, v.shape[2])
    m = np.empty((batch, length), np.float32)
    total = np.empty((batch, length), np.float32)
    array, mode = _bias_args(bias)
    work = batch * length * k.shape[1] * (q.shape[2] + v.shape[2]) * _FORWARD_WORK
    run_planes(_forward_rows, batch,
               (q, k, v, array, mode, np.float32(scale), out, m, total), work)
    return out, m, total


def attention_backward(q, k, v, bias, scale, m, total, grad):
    """(dL/dq, dL/dk, dL/dv) from the forward's m and total and dL/dy ``grad`` (any
    strides), each laid out as (rows, B, features) like the forward's y."""
    B, L = q.shape[:2] if getattr(q, "ndim", 0) == 3 else (0, 0)
    _check(q, k, v, bias, m=(m, (B, L)), total=(total, (B, L)),
           grad=(grad, (B, L) + tuple(v.shape[2:])))
    gq, gk, gv = (_rows_major(*a.shape) for a in (q, k, v))
    array, mode = _bias_args(bias)
    work = q.shape[0] * q.shape[1] * k.shape[1] * (q.shape[2] + v.shape[2]) * _BACKWARD_WORK
    run_planes(_backward_rows, q.shape[0],
               (q, k, v, array, mode, np.float32(scale), m, total, grad, gq, gk, gv), work)
    return gq, gk, gv
