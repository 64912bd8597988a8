"""Winograd F(2x2, 3x3): 3x3 stride-1 convolutions with 2.25x fewer multiplications.

An output tile of 2x2 pixels needs a 4x4 input tile ``d`` (the tiles overlap by two
pixels).  With the transforms (Lavin & Gray, 2015)::

    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G   = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]

one channel's tile of ``y = x (*) g`` (cross-correlation) is ``A^T [(G g G^T) . (B^T d
B)] A``, ``.`` the elementwise product.  Summed over channels, the 16 elementwise
products become 16 GEMMs: with ``U[k] = (G g G^T)[k]`` as an ``(OC, C)`` matrix and
``V[k] = (B^T d B)[k]`` as ``(C, tiles)``, ``M[k] = U[k] @ V[k]`` and every output tile is
``A^T M A``.  Per output pixel that is ``16 / 4 = 4`` multiply-adds per channel pair
instead of 9, and the transformed input is 4x the input instead of im2col's 9x.

The input gradient of a stride-1 convolution is itself a stride-1 convolution of
``grad_out`` with the flipped, transposed filters (``w[o, c, i, j]`` -> ``w[c, o, 2-i,
2-j]``) and top/left padding ``2 - p``, so it runs through the same kernels.  The weight
gradient uses the same tiles (:func:`winograd_grad_weight3x3`); ``kernels.conv`` decides
which convs take which (``_use_winograd`` and its siblings).

Chunks hold whole samples (a lane holds consecutive samples, the plan depends on the
shapes alone), so every output is computed by the same operations in the same order
whatever the thread count.  Rounding differs from im2col's (float32 results agree
with PyTorch to about 1e-6 relative to the output's scale; the transforms only use
0.5, 1 and -1).

Example: ``winograd_conv3x3(x, w, None, 1, 1, H, W)`` equals
``conv2d_forward(x, w, None, 1, 1)`` for a (N, C, H, W) ``x`` and (OC, C, 3, 3) ``w``.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._cache import kernel
from ._indexing import _u
from ._partials import OrderedSum
from ._threads import run_chunks, sample_lanes

__all__ = ["winograd_conv3x3", "winograd_grad_weight3x3", "filter_transform", "CHUNK_BYTES"]

#: One chunk's workspace (its transformed input and its 16 products): L2-sized, as
#: ``kernels.conv.CHUNK_BYTES`` (not tuned separately), but see ``MIN_TILES``.
CHUNK_BYTES = 1024 * 1024


def filter_transform(w, input_grad=False):
    """``U[k] = (G g G^T)`` of every (OC, C) filter pair, as a ``(16, OC, C)`` array.

    ``input_grad``: the filters of the input gradient instead, ``g = w[o, c, ::-1,
    ::-1]`` for every (C, OC) pair, as a ``(16, C, OC)`` array (the flip and the
    transpose are done in the same pass, with no flipped copy of ``w``).

    >>> float(filter_transform(np.ones((1, 1, 3, 3)))[:, 0, 0].reshape(4, 4)[1, 1])
    2.25
    """
    OC, C = w.shape[0], w.shape[1]
    w = np.ascontiguousarray(w)
    u = np.empty((16, C, OC) if input_grad else (16, OC, C), dtype=w.dtype)
    _filter_transform(w, u, input_grad)
    return u


@kernel(nogil=True)
def _filter_transform(w, u, input_grad):
    # u[k, p, q] = (G g G^T)[k], g = w[p, q] (input_grad: g = w[q, p] flipped).  Row
    # by row p: the 9 taps of its Q filters are gathered into `taps` (tap-major, so the
    # rest are loops along q, which vectorise), then each of the 16 entries is written
    # as one contiguous run of u.  By 0.5 * (a + b + c), not the sum of halves: halving
    # is exact, so the bits are those of the matrix products G g and (G g) G^T.
    # Single-threaded: it runs between the conv's lanes, and a parallel kernel here
    # made the small convs' lanes after it 10 % slower (Numba's idle workers).
    # Measured (one thread, float32): 256 x 256 filters 0.2 ms, against 2.4 for NumPy's
    # tensordot and transposed copy; 64 x 32 filters 0.017 against 0.076.
    OC, C = w.shape[0], w.shape[1]
    P, Q = (C, OC) if input_grad else (OC, C)
    wf = w.ravel()
    uf = u.ravel()
    S = P * Q
    h = w.dtype.type(0.5)
    taps = np.empty(9 * Q, dtype=w.dtype)
    rows = np.empty(12 * Q, dtype=w.dtype)  # rows[(a * 3 + j) * Q + q]: row a of G g
    for p in range(P):
        for q in range(Q):
            if input_grad:
                src = (q * C + p) * 9
                for t in range(9):
                    taps[_u(t * Q + q)] = wf[_u(src + 8 - t)]
            else:
                src = (p * Q + q) * 9
                for t in range(9):
                    taps[_u(t * Q + q)] = wf[_u(src + t)]
        # rows a of G g, one column j at a time, then the 4 entries (a, b) of each
        for j in range(3):
            for q in range(Q):
                g0 = taps[_u(j * Q + q)]
                g1 = taps[_u((3 + j) * Q + q)]
                g2 = taps[_u((6 + j) * Q + q)]
                rows[_u(j * Q + q)] = g0
                rows[_u((3 + j) * Q + q)] = h * (g0 + g1 + g2)
                rows[_u((6 + j) * Q + q)] = h * (g0 - g1 + g2)
                rows[_u((9 + j) * Q + q)] = g2
        for a in range(4):
            d = p * Q
            r = a * 3 * Q
            for q in range(Q):
                t0 = rows[_u(r + q)]
                t1 = rows[_u(r + Q + q)]
                t2 = rows[_u(r + 2 * Q + q)]
                uf[_u(4 * a * S + d + q)] = t0
                uf[_u((4 * a + 1) * S + d + q)] = h * (t0 + t1 + t2)
                uf[_u((4 * a + 2) * S + d + q)] = h * (t0 - t1 + t2)
                uf[_u((4 * a + 3) * S + d + q)] = t2


@kernel(nogil=True)
def _filter_gradient(dU, gw):
    # gw[o, c, i, j] = (G^T dU G)[i, j] of dU = the 16 entries dU[:, o, c]: the adjoint
    # of _filter_transform.  Output channel by output channel: its 16 rows of C entries
    # are combined along c (vectorised) into `taps` (tap-major), then written out
    # filter by filter (256 x 256 filters: 0.25 ms, against 2.8 for two tensordots).
    # G^T's rows are [1, 1/2, 1/2, 0], [0, 1/2, -1/2, 0] and [0, 1/2, 1/2, 1].
    OC, C = gw.shape[0], gw.shape[1]
    S = OC * C
    df = dU.ravel()
    gf = gw.ravel()
    h = dU.dtype.type(0.5)
    rows = np.empty(12 * C, dtype=dU.dtype)  # (G^T dU)[i, b]: rows[(i * 4 + b) * C + c]
    taps = np.empty(9 * C, dtype=dU.dtype)  # taps[(i * 3 + j) * C + c]
    for o in range(OC):
        for b in range(4):
            for c in range(C):
                e = o * C + c
                d0 = df[_u(b * S + e)]
                d1 = df[_u((4 + b) * S + e)]
                d2 = df[_u((8 + b) * S + e)]
                d3 = df[_u((12 + b) * S + e)]
                rows[_u(b * C + c)] = d0 + h * (d1 + d2)
                rows[_u((4 + b) * C + c)] = h * (d1 - d2)
                rows[_u((8 + b) * C + c)] = h * (d1 + d2) + d3
        for i in range(3):
            r = i * 4 * C
            for c in range(C):
                m0 = rows[_u(r + c)]
                m1 = rows[_u(r + C + c)]
                m2 = rows[_u(r + 2 * C + c)]
                m3 = rows[_u(r + 3 * C + c)]
                taps[_u(i * 3 * C + c)] = m0 + h * (m1 + m2)
                taps[_u((i * 3 + 1) * C + c)] = h * (m1 - m2)
                taps[_u((i * 3 + 2) * C + c)] = h * (m1 + m2) + m3
        for c in range(C):
            d = (o * C + c) * 9
            for t in range(9):
                gf[_u(d + t)] = taps[_u(t * C + c)]


def _stack(C, T, dtype):
    """16 matrices of shape ``(C, T)`` in one buffer: ``(base, view)``.

    ``base`` is ``(16, S)`` with ``view[k, c, t] == base[k, c * T + t]``; the kernels take
    ``base``, the GEMMs ``view``.  The row stride ``S`` is ``C * T`` rounded up to 4 KiB
    plus one cache line.  Why: every transform reads or writes all 16 matrices at one
    offset per step; with a stride that is a multiple of 4 KiB (``C * T`` is, for the
    usual power-of-two channels and planes) the 16 streams share the same L1 sets and
    evict each other (measured at 16-64 channels on 8x8 to 64x64 planes: the input
    transform 1.2-3.3x slower, the output transform up to 2x).
    """
    isz = np.dtype(dtype).itemsize
    row = (-(-C * T * isz // 4096) * 4096 + 64) // isz
    base = np.empty((16, row), dtype=dtype)
    return base, base[:, : C * T].reshape(16, C, T)


@kernel(nogil=True, parallel=True)
def _input_transform(x, V, n0, n1, ph, pw, TH, TW):
    # V[k, c * T + t] = (B^T d B)[k] for the 4x4 tile d of input channel c at tile t =
    # ((n - n0) * TH + th) * TW + tw, whose top-left pixel is (2*th - ph, 2*tw - pw);
    # pixels outside the input are zero (V: a _stack base).  One task per channel:
    # disjoint columns of V.  A tile row at a time: its four padded input rows are
    # copied to `rows`, then one loop over the row's tiles computes each tile's 16
    # values (B^T on the columns, then B along the row) and stores them to the 16
    # matrices, vectors along t.
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    T = (n1 - n0) * TH * TW
    S = V.shape[1]
    xf = x.ravel()
    vf = V.ravel()
    Wb = 2 * TW + 2
    lo = min(pw, Wb)  # the padded row's first and last input pixel
    hi = min(pw + W, Wb)
    for c in prange(C):
        rows = np.zeros(4 * Wb, dtype=x.dtype)  # flat, _u-indexed: vectorises
        for n in range(n0, n1):
            base = (n * C + c) * H * W
            for th in range(TH):
                h0 = 2 * th - ph
                for a in range(4):
                    h = h0 + a
                    if 0 <= h < H:
                        s = base + h * W - pw
                        for w in range(lo, hi):
                            rows[_u(a * Wb + w)] = xf[_u(s + w)]
                    else:
                        for w in range(lo, hi):
                            rows[_u(a * Wb + w)] = 0.0
                o = c * T + ((n - n0) * TH + th) * TW
                for tw in range(TW):
                    j = 2 * tw
                    d00, d01 = rows[_u(j)], rows[_u(j + 1)]
                    d02, d03 = rows[_u(j + 2)], rows[_u(j + 3)]
                    d10, d11 = rows[_u(Wb + j)], rows[_u(Wb + j + 1)]
                    d12, d13 = rows[_u(Wb + j + 2)], rows[_u(Wb + j + 3)]
                    d20, d21 = rows[_u(2 * Wb + j)], rows[_u(2 * Wb + j + 1)]
                    d22, d23 = rows[_u(2 * Wb + j + 2)], rows[_u(2 * Wb + j + 3)]
                    d30, d31 = rows[_u(3 * Wb + j)], rows[_u(3 * Wb + j + 1)]
                    d32, d33 = rows[_u(3 * Wb + j + 2)], rows[_u(3 * Wb + j + 3)]
                    # B^T d: row a of the tile's R, column by column
                    r00, r01, r02, r03 = d00 - d20, d01 - d21, d02 - d22, d03 - d23
                    r10, r11, r12, r13 = d10 + d20, d11 + d21, d12 + d22, d13 + d23
                    r20, r21, r22, r23 = d20 - d10, d21 - d11, d22 - d12, d23 - d13
                    r30, r31, r32, r33 = d10 - d30, d11 - d31, d12 - d32, d13 - d33
                    # (B^T d) B: k = 4 * a + b
                    p = o + tw
                    vf[_u(p)] = r00 - r02
                    vf[_u(p + S)] = r01 + r02
                    vf[_u(p + 2 * S)] = r02 - r01
                    vf[_u(p + 3 * S)] = r01 - r03
                    vf[_u(p + 4 * S)] = r10 - r12
                    vf[_u(p + 5 * S)] = r11 + r12
                    vf[_u(p + 6 * S)] = r12 - r11
                    vf[_u(p + 7 * S)] = r11 - r13
                    vf[_u(p + 8 * S)] = r20 - r22
                    vf[_u(p + 9 * S)] = r21 + r22
                    vf[_u(p + 10 * S)] = r22 - r21
                    vf[_u(p + 11 * S)] = r21 - r23
                    vf[_u(p + 12 * S)] = r30 - r32
                    vf[_u(p + 13 * S)] = r31 + r32
                    vf[_u(p + 14 * S)] = r32 - r31
                    vf[_u(p + 15 * S)] = r31 - r33


@kernel(nogil=True, parallel=True)
def _output_transform(M, out, bias, n0, n1, TH, TW):
    # out[n, oc, 2*th + i, 2*tw + j] = bias[oc] + (A^T m A)[i, j] for m = M[:, oc * T + t]
    # (M: a _stack base); the last tile row/column is cut where OH or OW is odd.  One
    # task per channel; a tile row at a time: one loop over its tiles (vectors along t)
    # writes the two output rows to `row`, which is then copied to the output.
    OC, OH, OW = out.shape[1], out.shape[2], out.shape[3]
    T = (n1 - n0) * TH * TW
    S = M.shape[1]
    mf = M.ravel()
    of = out.ravel()
    for oc in prange(OC):
        row = np.empty(4 * TW, dtype=M.dtype)
        bv = bias[oc]
        for n in range(n0, n1):
            base = (n * OC + oc) * OH * OW
            for th in range(TH):
                o = oc * T + ((n - n0) * TH + th) * TW
                for tw in range(TW):
                    p = o + tw
                    m0, m1 = mf[_u(p)], mf[_u(p + S)]
                    m2, m3 = mf[_u(p + 2 * S)], mf[_u(p + 3 * S)]
                    m4, m5 = mf[_u(p + 4 * S)], mf[_u(p + 5 * S)]
                    m6, m7 = mf[_u(p + 6 * S)], mf[_u(p + 7 * S)]
                    m8, m9 = mf[_u(p + 8 * S)], mf[_u(p + 9 * S)]
                    m10, m11 = mf[_u(p + 10 * S)], mf[_u(p + 11 * S)]
                    m12, m13 = mf[_u(p + 12 * S)], mf[_u(p + 13 * S)]
                    m14, m15 = mf[_u(p + 14 * S)], mf[_u(p + 15 * S)]
                    # A^T m: the two rows, column b = k % 4
                    s00, s01 = m0 + m4 + m8, m1 + m5 + m9
                    s02, s03 = m2 + m6 + m10, m3 + m7 + m11
                    s10, s11 = m4 - m8 - m12, m5 - m9 - m13
                    s12, s13 = m6 - m10 - m14, m7 - m11 - m15
                    # (A^T m) A along the row
                    j = 2 * tw
                    row[_u(j)] = bv + s00 + s01 + s02
                    row[_u(j + 1)] = bv + s01 - s02 - s03
                    row[_u(2 * TW + j)] = bv + s10 + s11 + s12
                    row[_u(2 * TW + j + 1)] = bv + s11 - s12 - s13
                for i in range(min(2, OH - 2 * th)):
                    d = base + (2 * th + i) * OW
                    for w in range(OW):
                        of[_u(d + w)] = row[_u(i * 2 * TW + w)]


@kernel(nogil=True, parallel=True)
def _grad_out_transform(go, Z, n0, n1, TH, TW):
    # Z[k, oc * T + t] = (A g A^T)[k] for the 2x2 tile g of grad_out[n, oc] at tile t
    # (entries past OH or OW are zero; Z: a _stack base), A = (A^T)^T the 4x2 matrix
    # [[1, 0], [1, 1], [1, -1], [0, -1]].  One task per channel; a tile row at a time:
    # its two rows copied to `rows`, then one loop over the tiles (vectors along t).
    OC, OH, OW = go.shape[1], go.shape[2], go.shape[3]
    T = (n1 - n0) * TH * TW
    S = Z.shape[1]
    gf = go.ravel()
    zf = Z.ravel()
    Wb = 2 * TW
    for oc in prange(OC):
        rows = np.zeros(2 * Wb, dtype=go.dtype)
        for n in range(n0, n1):
            base = (n * OC + oc) * OH * OW
            for th in range(TH):
                for i in range(2):
                    h = 2 * th + i
                    if h < OH:
                        for w in range(OW):
                            rows[_u(i * Wb + w)] = gf[_u(base + h * OW + w)]
                    else:
                        for w in range(OW):
                            rows[_u(i * Wb + w)] = 0.0
                o = oc * T + ((n - n0) * TH + th) * TW
                for tw in range(TW):
                    j = 2 * tw
                    g00, g01 = rows[_u(j)], rows[_u(j + 1)]
                    g10, g11 = rows[_u(Wb + j)], rows[_u(Wb + j + 1)]
                    # A g: the four rows, columns 0 and 1
                    q00, q01 = g00, g01
                    q10, q11 = g00 + g10, g01 + g11
                    q20, q21 = g00 - g10, g01 - g11
                    q30, q31 = -g10, -g11
                    # (A g) A^T: k = 4 * a + b
                    p = o + tw
                    zf[_u(p)] = q00
                    zf[_u(p + S)] = q00 + q01
                    zf[_u(p + 2 * S)] = q00 - q01
                    zf[_u(p + 3 * S)] = -q01
                    zf[_u(p + 4 * S)] = q10
                    zf[_u(p + 5 * S)] = q10 + q11
                    zf[_u(p + 6 * S)] = q10 - q11
                    zf[_u(p + 7 * S)] = -q11
                    zf[_u(p + 8 * S)] = q20
                    zf[_u(p + 9 * S)] = q20 + q21
                    zf[_u(p + 10 * S)] = q20 - q21
                    zf[_u(p + 11 * S)] = -q21
                    zf[_u(p + 12 * S)] = q30
                    zf[_u(p + 13 * S)] = q30 + q31
                    zf[_u(p + 14 * S)] = q30 - q31
                    zf[_u(p + 15 * S)] = -q31


#: Fewest tiles (GEMM columns) a chunk gets when its lane has them: thinner GEMMs
#: (a 512-channel 4x4 layer's chunks had 16 tiles) ran at a fraction of BLAS's speed.
MIN_TILES = 256


def _plan(N, per_sample, tiles_per_sample, lanes_wanted, chunk_bytes):
    """Lanes of consecutive samples, each cut into chunks of whole samples."""
    n_lanes = max(1, min(lanes_wanted, N))
    fit = max(1, chunk_bytes // max(per_sample, 1), -(-MIN_TILES // tiles_per_sample))
    return sample_lanes(N, n_lanes, fit)


def winograd_conv3x3(x, w, bias, ph, pw, OH, OW, lanes_wanted=8, chunk_bytes=CHUNK_BYTES):
    """``y = conv2d(x, w) + bias`` for a 3x3 stride-1, dilation-1, ungrouped ``w``.

    ``ph``/``pw``: top/left padding (0, 1 or 2; the bottom/right one is implied by the
    output size ``OH, OW``).  Arrays are contiguous and of one float dtype (unchecked:
    the conv kernels validated them).  ``w`` may also be already transformed, a
    ``(16, OC, C)`` array from :func:`filter_transform` (the input gradient's filters).
    """
    N, C = x.shape[0], x.shape[1]
    u = w if w.ndim == 3 else filter_transform(w)
    OC = u.shape[1]
    dtype = x.dtype
    b = bias if bias is not None else np.zeros(OC, dtype=dtype)
    out = np.empty((N, OC, OH, OW), dtype=dtype)
    TH, TW = -(-OH // 2), -(-OW // 2)
    per_sample = 16 * (C + OC) * TH * TW * dtype.itemsize
    lanes = _plan(N, per_sample, TH * TW, lanes_wanted, chunk_bytes)

    def lane(i):
        for n0, n1 in lanes[i]:
            T = (n1 - n0) * TH * TW
            V, v = _stack(C, T, dtype)
            _input_transform(x, V, n0, n1, ph, pw, TH, TW)
            M, m = _stack(OC, T, dtype)
            np.matmul(u, v, out=m)  # 16 GEMMs (OC, C) @ (C, T)
            del V, v
            _output_transform(M, out, b, n0, n1, TH, TW)

    run_chunks(lane, len(lanes))
    return out


def winograd_grad_weight3x3(go, x, ph, pw, lanes_wanted=8, chunk_bytes=CHUNK_BYTES):
    """``grad_weight`` of :func:`winograd_conv3x3` (same tiles), shape ``(OC, C, 3, 3)``.

    With ``Z_t = A g_t A^T`` (the grad_out tile) and ``V_t = B^T d_t B`` (the input
    tile), ``dL/dU[k] = sum_t Z_t[k] V_t[k]^T`` as 16 GEMMs ``(OC, T) @ (T, C)``, and
    ``dL/dw = G^T (dL/dU) G`` per filter.  Each lane sums its chunks into its own
    ``(16, OC, C)`` partial; partials are added in lane order (any thread count: the
    same sums).
    """
    N, OC, OH, OW = go.shape
    C = x.shape[1]
    dtype = x.dtype
    TH, TW = -(-OH // 2), -(-OW // 2)
    per_sample = 16 * (C + OC) * TH * TW * dtype.itemsize
    lanes = _plan(N, per_sample, TH * TW, lanes_wanted, chunk_bytes)
    acc = OrderedSum((16, OC, C), dtype)  # lane order, few partials alive at once

    def lane(i):
        part, scratch = acc.start(i), None
        for j, (n0, n1) in enumerate(lanes[i]):
            T = (n1 - n0) * TH * TW
            V, v = _stack(C, T, dtype)
            _input_transform(x, V, n0, n1, ph, pw, TH, TW)
            Z, z = _stack(OC, T, dtype)
            _grad_out_transform(go, Z, n0, n1, TH, TW)
            vt = v.transpose(0, 2, 1)
            if j == 0:
                np.matmul(z, vt, out=part)
            else:
                if scratch is None:
                    scratch = np.empty_like(part)
                part += np.matmul(z, vt, out=scratch)
            del V, v, vt, Z, z
        if not lanes[i]:
            part[...] = 0
        del part, scratch
        acc.done(i)

    run_chunks(lane, len(lanes))
    total = acc.result(len(lanes))
    gw = np.empty((OC, C, 3, 3), dtype=dtype)
    _filter_gradient(total, gw)  # G^T (dL/dU) G per filter
    return gw
