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
from ._threads import run_chunks

__all__ = ["winograd_conv3x3", "winograd_grad_weight3x3", "filter_transform", "CHUNK_BYTES"]

#: One chunk's workspace (its transformed input and its 16 products): L2-sized, as
#: ``kernels.conv.CHUNK_BYTES`` (not tuned separately), but see ``MIN_TILES``.
CHUNK_BYTES = 1024 * 1024
#: The filter transform G (its entries are exact in float32 and float64).
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def filter_transform(w):
    """``U[k] = (G g G^T)`` of every (OC, C) filter pair, as a ``(16, OC, C)`` array.

    >>> float(filter_transform(np.ones((1, 1, 3, 3)))[:, 0, 0].reshape(4, 4)[1, 1])
    2.25
    """
    G = _G.astype(w.dtype)
    # G g first, then (G g) G^T, each as one GEMM over every filter (tensordot): the
    # same sums in the same order as a matmul per filter, which made 4x3 @ 3x3 products
    # one at a time (measured 1.57 -> 0.35 ms for 64 x 64 filters, same bits)
    t = np.tensordot(G, w, axes=([1], [2]))  # (4, OC, C, 3)
    u = np.tensordot(t, G, axes=([3], [1]))  # (4, OC, C, 4)
    return np.ascontiguousarray(u.transpose(0, 3, 1, 2).reshape(16, w.shape[0], w.shape[1]))


@kernel(nogil=True, parallel=True)
def _input_transform(x, V, n0, n1, ph, pw, TH, TW):
    # V[k, c, t] = (B^T d B)[k] for the 4x4 tile d of input channel c at tile t =
    # ((n - n0) * TH + th) * TW + tw, whose top-left pixel is (2*th - ph, 2*tw - pw);
    # pixels outside the input are zero.  One task per channel: disjoint rows of V.
    # A tile row at a time: B^T on four padded input rows at once (vectors along w),
    # then B along w, written as runs of consecutive tiles (vectors along t).
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    T = V.shape[2]
    xf = x.ravel()
    vf = V.ravel()
    CT = C * T
    Wb = 2 * TW + 2
    lo = min(pw, Wb)  # the padded row's first and last input pixel
    hi = min(pw + W, Wb)
    for c in prange(C):
        rows = np.zeros(4 * Wb, dtype=x.dtype)  # flat, _u-indexed: vectorises
        R = np.empty(4 * Wb, dtype=x.dtype)
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
                for w in range(Wb):
                    r0 = rows[_u(w)]
                    r1 = rows[_u(Wb + w)]
                    r2 = rows[_u(2 * Wb + w)]
                    r3 = rows[_u(3 * Wb + w)]
                    R[_u(w)] = r0 - r2
                    R[_u(1 * Wb + w)] = r1 + r2
                    R[_u(2 * Wb + w)] = r2 - r1
                    R[_u(3 * Wb + w)] = r1 - r3
                o = c * T + ((n - n0) * TH + th) * TW
                for a in range(4):
                    d0 = (4 * a) * CT + o
                    d1 = d0 + CT
                    d2 = d1 + CT
                    d3 = d2 + CT
                    for tw in range(TW):
                        q0 = R[_u(a * Wb + 2 * tw)]
                        q1 = R[_u(a * Wb + 2 * tw + 1)]
                        q2 = R[_u(a * Wb + 2 * tw + 2)]
                        q3 = R[_u(a * Wb + 2 * tw + 3)]
                        vf[_u(d0 + tw)] = q0 - q2
                        vf[_u(d1 + tw)] = q1 + q2
                        vf[_u(d2 + tw)] = q2 - q1
                        vf[_u(d3 + tw)] = q1 - q3


@kernel(nogil=True, parallel=True)
def _output_transform(M, out, bias, n0, n1, TH, TW):
    # out[n, oc, 2*th + i, 2*tw + j] = bias[oc] + (A^T m A)[i, j] for m = M[:, oc, t];
    # the last tile row/column is cut where OH or OW is odd.  One task per channel; a
    # tile row at a time (vectors along t, then along the output row).
    OC, OH, OW = out.shape[1], out.shape[2], out.shape[3]
    T = M.shape[2]
    mf = M.ravel()
    of = out.ravel()
    OCT = OC * T
    for oc in prange(OC):
        S = np.empty(8 * TW, dtype=M.dtype)
        row = np.empty(4 * TW, dtype=M.dtype)
        bv = bias[oc]
        for n in range(n0, n1):
            base = (n * OC + oc) * OH * OW
            for th in range(TH):
                o = oc * T + ((n - n0) * TH + th) * TW
                for b in range(4):  # A^T m: column b of the two rows
                    k0 = b * OCT + o
                    k1 = k0 + 4 * OCT
                    k2 = k1 + 4 * OCT
                    k3 = k2 + 4 * OCT
                    for tw in range(TW):
                        m1 = mf[_u(k1 + tw)]
                        m2 = mf[_u(k2 + tw)]
                        S[_u((0 * 4 + b) * TW + tw)] = mf[_u(k0 + tw)] + m1 + m2
                        S[_u((1 * 4 + b) * TW + tw)] = m1 - m2 - mf[_u(k3 + tw)]
                for i in range(2):  # (A^T m) A along the row
                    for tw in range(TW):
                        s1 = S[_u((i * 4 + 1) * TW + tw)]
                        s2 = S[_u((i * 4 + 2) * TW + tw)]
                        s0 = S[_u(i * 4 * TW + tw)]
                        s3 = S[_u((i * 4 + 3) * TW + tw)]
                        row[_u(i * 2 * TW + 2 * tw)] = bv + s0 + s1 + s2
                        row[_u(i * 2 * TW + 2 * tw + 1)] = bv + s1 - s2 - s3
                for i in range(min(2, OH - 2 * th)):
                    d = base + (2 * th + i) * OW
                    for w in range(OW):
                        of[_u(d + w)] = row[_u(i * 2 * TW + w)]


@kernel(nogil=True, parallel=True)
def _grad_out_transform(go, Z, n0, n1, TH, TW):
    # Z[k, oc, t] = (A g A^T)[k] for the 2x2 tile g of grad_out[n, oc] at tile t (entries
    # past OH or OW are zero), A = (A^T)^T the 4x2 matrix [[1, 0], [1, 1], [1, -1], [0, -1]].
    # One task per channel; a tile row at a time, vectors along w then along t.
    OC, OH, OW = go.shape[1], go.shape[2], go.shape[3]
    T = Z.shape[2]
    gf = go.ravel()
    zf = Z.ravel()
    OCT = OC * T
    Wb = 2 * TW
    for oc in prange(OC):
        rows = np.zeros(2 * Wb, dtype=go.dtype)
        P = np.empty(4 * Wb, dtype=go.dtype)
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
                for w in range(Wb):
                    g0, g1 = rows[_u(w)], rows[_u(1 * Wb + w)]
                    P[_u(w)] = g0
                    P[_u(1 * Wb + w)] = g0 + g1
                    P[_u(2 * Wb + w)] = g0 - g1
                    P[_u(3 * Wb + w)] = -g1
                o = oc * T + ((n - n0) * TH + th) * TW
                for a in range(4):
                    d0 = (4 * a) * OCT + o
                    d1 = d0 + OCT
                    d2 = d1 + OCT
                    d3 = d2 + OCT
                    for tw in range(TW):
                        q0 = P[_u(a * Wb + 2 * tw)]
                        q1 = P[_u(a * Wb + 2 * tw + 1)]
                        zf[_u(d0 + tw)] = q0
                        zf[_u(d1 + tw)] = q0 + q1
                        zf[_u(d2 + tw)] = q0 - q1
                        zf[_u(d3 + tw)] = -q1


#: Fewest tiles (GEMM columns) a chunk gets when its lane has them: thinner GEMMs
#: (a 512-channel 4x4 layer's chunks had 16 tiles) ran at a fraction of BLAS's speed.
MIN_TILES = 256


def _plan(N, per_sample, tiles_per_sample, lanes_wanted, chunk_bytes):
    """Lanes of consecutive samples, each cut into chunks of whole samples."""
    n_lanes = max(1, min(lanes_wanted, N))
    cuts = [N * i // n_lanes for i in range(n_lanes + 1)]
    fit = max(1, chunk_bytes // max(per_sample, 1), -(-MIN_TILES // tiles_per_sample))
    lanes = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        count = -(-(b - a) // -(-(b - a) // fit))  # balanced chunks of at most `fit`
        lanes.append([(n, min(n + count, b)) for n in range(a, b, count)])
    return lanes


def winograd_conv3x3(x, w, bias, ph, pw, OH, OW, lanes_wanted=8, chunk_bytes=CHUNK_BYTES):
    """``y = conv2d(x, w) + bias`` for a 3x3 stride-1, dilation-1, ungrouped ``w``.

    ``ph``/``pw``: top/left padding (0, 1 or 2; the bottom/right one is implied by the
    output size ``OH, OW``).  Arrays are contiguous and of one float dtype (unchecked:
    the conv kernels validated them).
    """
    N, C = x.shape[0], x.shape[1]
    OC = w.shape[0]
    dtype = x.dtype
    u = filter_transform(w)
    b = bias if bias is not None else np.zeros(OC, dtype=dtype)
    out = np.empty((N, OC, OH, OW), dtype=dtype)
    TH, TW = -(-OH // 2), -(-OW // 2)
    per_sample = 16 * (C + OC) * TH * TW * dtype.itemsize
    lanes = _plan(N, per_sample, TH * TW, lanes_wanted, chunk_bytes)

    def lane(i):
        for n0, n1 in lanes[i]:
            T = (n1 - n0) * TH * TW
            V = np.empty((16, C, T), dtype=dtype)
            _input_transform(x, V, n0, n1, ph, pw, TH, TW)
            M = np.matmul(u, V)  # 16 GEMMs (OC, C) @ (C, T)
            del V
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
            V = np.empty((16, C, T), dtype=dtype)
            _input_transform(x, V, n0, n1, ph, pw, TH, TW)
            Z = np.empty((16, OC, T), dtype=dtype)
            _grad_out_transform(go, Z, n0, n1, TH, TW)
            Vt = V.transpose(0, 2, 1)
            if j == 0:
                np.matmul(Z, Vt, out=part)
            else:
                if scratch is None:
                    scratch = np.empty_like(part)
                part += np.matmul(Z, Vt, out=scratch)
            del V, Vt, Z
        if not lanes[i]:
            part[...] = 0
        del part, scratch
        acc.done(i)

    run_chunks(lane, len(lanes))
    total = acc.result(len(lanes))
    G = _G.astype(dtype)
    # G^T (dL/dU) G per filter, as two GEMMs over every filter (see filter_transform)
    t = np.tensordot(G.T, total.reshape(4, 4, OC, C), axes=([1], [0]))  # (3, 4, OC, C)
    r = np.tensordot(t, G, axes=([1], [0]))  # (3, OC, C, 3)
    return np.ascontiguousarray(r.transpose(1, 2, 0, 3))
