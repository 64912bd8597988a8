"""Convolution by a channels-last column matrix: for small planes and strided convs.

The caffe-layout column matrix of ``kernels.conv`` has one row per weight tap and one
column per output pixel; filling a row copies runs of ``OW`` pixels (4 on a 4x4 plane)
or, with a stride, every other pixel, so on small planes and strided convs the copy
costs as much as the GEMM.  Here the input is first copied to a zero-padded
channels-last array ``xp[n, h, w, c]`` (one pass over the input), and the column matrix
is its transpose::

    cols_t[(n, oh, ow), (i * kw + j) * C + c] = xp[n, oh*sh + i*dh, ow*sw + j*dw, c]

so every (pixel, tap) is one contiguous run of ``C`` values, whatever the stride or
the plane size.  The forward is ``res = cols_t @ w_t`` with ``w_t[(i, j, c), oc] =
w[oc, c, i, j]``, a ``(pixels, K) @ (K, OC)`` GEMM (its long side is the pixels, which
OpenBLAS runs faster than the caffe layout's ``(OC, K) @ (K, pixels)`` when ``OC`` is
small: 190 against 110 GFLOP/s for 32 channels, measured on the AVX-512 EPYC), then
``res`` is transposed into the NCHW output.  The backward is the adjoint, step by step:
``g_t`` = grad_out as ``(pixels, OC)`` (summing grad_bias), ``grad_w_rows += g_t.T @
cols_t`` and ``grad_cols_t = g_t @ w_rows`` with ``w_rows = w_t.T`` (both kept as
``(OC, K)`` rows), added back run by run into a padded
channels-last gradient, which is transposed into ``grad_x``.

Lanes hold whole samples (consecutive, by the shapes alone) and run single-threaded
on all cores (``_threads.run_chunks``); the weight gradient's lane partials are added
in lane order, so results are the same with any thread count.  ``kernels.conv``
decides which convs take this path (``_use_channels_last``).

Example: ``channels_last_forward(x, w, b, geo)`` equals ``conv2d_forward(x, w, b,
stride, padding)`` for the geometry ``geo`` of those arguments.
"""

from __future__ import annotations

import numpy as np

from ._cache import kernel
from ._indexing import _u
from ._partials import OrderedSum, sum_in_lane_order
from ._threads import run_chunks, sample_lanes

__all__ = ["channels_last_forward", "channels_last_backward", "padded_extent", "plan",
           "workspace_per_sample"]

#: One chunk's workspace (padded input, column matrix, GEMM result): about one core's
#: L2 share, as ``kernels.conv.CHUNK_BYTES``, but never under ``MIN_COLUMNS`` columns.
CHUNK_BYTES = 1024 * 1024
#: Fewest output pixels a lane gets, and a chunk's GEMM in the backward (when its lane
#: has them), as ``kernels.conv.MIN_GEMM_COLUMNS`` ...
MIN_COLUMNS = 256
#: ... and in the forward, as ``kernels.conv.FORWARD_MIN_GEMM_COLUMNS``: ResNet-18 w16's
#: 4x4 layers run at the end of the forward, at the step's memory peak (16-sample
#: chunks of 1.6 MiB per lane raised it by 1 MiB).
FORWARD_MIN_COLUMNS = 128
#: At most this many lanes: a constant (never the core count), so the weight
#: gradient's partials and their order depend on the shapes alone.
LANES = 8
#: The copies between NCHW and channels-last walk the channels by blocks of this many
#: (here and in ``conv_depthwise``): for one row, a block's reads are that many runs of
#: one row each, one per channel plane, and its writes fill whole cache lines of the
#: channels-last rows.  Channel by channel, one row at a time, every read starts a new
#: plane (4 KiB apart on 32x32 planes, so a new page); a whole plane at a time, every
#: write lands on another cache line.  Copying 32 samples of 64 channels 32x32 (one
#: thread, Zen 4 EPYC): 1.6-5.6 ms row by row (over runs), 2.0 plane by plane,
#: 1.05-1.2 by blocks of 16 (8 and 4: 1.1-1.5; 32: 1.3-4.7, probably more lines 4 KiB
#: apart than the L1 cache has ways for).  Copies only: the block changes no sum.
COPY_CHANNEL_BLOCK = 16
#: Between NCHW and ``(pixels, channels)`` rows, a channel block goes by runs of this
#: many pixels (a flattened plane has no rows to go by).  32 samples of 64 channels
#: 32x32, one thread: 1.75 -> 1.00 ms to rows, 1.36 -> 0.83 back, against a whole
#: plane at a time.
COPY_PIXEL_RUN = 32


def padded_extent(geo):
    """``(Hp, Wp)``: the rows and columns of the padded input the taps read."""
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    return (geo.OH - 1) * sh + (geo.kh - 1) * dh + 1, (geo.OW - 1) * sw + (geo.kw - 1) * dw + 1


def workspace_per_sample(geo, itemsize):
    """Bytes one sample's chunk takes: its padded input, column matrix and GEMM result."""
    Hp, Wp = padded_extent(geo)
    P = geo.OH * geo.OW
    return (Hp * Wp * geo.C + P * (geo.C * geo.kh * geo.kw + geo.OC)) * itemsize


def plan(geo, itemsize, min_columns=MIN_COLUMNS):
    """Lanes of consecutive samples, each a list of chunks ``(n0, n1)`` of whole samples
    (chunks of at least ``min_columns`` output pixels where the workspace allows)."""
    P = geo.OH * geo.OW
    fit = max(1, CHUNK_BYTES // workspace_per_sample(geo, itemsize), -(-min_columns // P))
    n_lanes = max(1, min(LANES, geo.N, geo.N * P // MIN_COLUMNS))
    return sample_lanes(geo.N, n_lanes, fit)


@kernel(nogil=True)
def _to_padded_nhwc(x, xp, n0, n1, ph, pw):
    # xp[n - n0, h + ph, w + pw, c] = x[n, c, h, w]; the border (padding, and rows or
    # columns past the input) is zero.  Input rows/columns the taps never read (past
    # the padded extent) are left out.  The interior goes by channel blocks
    # (COPY_CHANNEL_BLOCK).
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    Hp, Wp = xp.shape[1], xp.shape[2]
    xf = x.ravel()
    pf = xp.ravel()
    # padded columns [lo, hi) hold input columns [lo - pw, hi - pw); the padding may
    # be wider than the extent the taps read (then no input column is copied)
    lo = min(pw, Wp)
    hi = min(pw + W, Wp)
    for m in range(n1 - n0):
        base = m * Hp * Wp * C
        for r in range(Hp):
            h = r - ph
            row = base + r * Wp * C
            if h < 0 or h >= H:
                for t in range(Wp * C):
                    pf[_u(row + t)] = 0.0
                continue
            for t in range(lo * C):
                pf[_u(row + t)] = 0.0
            for t in range(hi * C, Wp * C):
                pf[_u(row + t)] = 0.0
        for c0 in range(0, C, COPY_CHANNEL_BLOCK):
            for r in range(ph, min(Hp, ph + H)):
                row = base + r * Wp * C
                src = ((n0 + m) * C * H + r - ph) * W + lo - pw
                for c in range(c0, min(C, c0 + COPY_CHANNEL_BLOCK)):
                    s = src + c * H * W
                    d = row + lo * C + c
                    for w in range(hi - lo):
                        pf[_u(d + w * C)] = xf[_u(s + w)]


@kernel(inline="always")
def _tap_row_runs(kw, dw, C):
    # (runs, length) of one tap row (i fixed) in a pixel's row of cols_t: its kw taps'
    # runs of C channels, which without dilation are one run of kw * C values in xp as
    # in cols_t (a 3-channel 7x7 stem copies runs of 21, not 3); run j starts j * dw * C
    # after the row's first in xp and j * length after it in cols_t.
    if dw == 1:
        return 1, kw * C
    return kw, C


@kernel(nogil=True)
def _im2col_t(xp, cols_t, kh, kw, sh, sw, dh, dw, OH, OW):
    # cols_t[(m, oh, ow), (i * kw + j) * C + c] = xp[m, oh*sh + i*dh, ow*sw + j*dw, c]
    M, Hp, Wp, C = xp.shape
    K = kh * kw * C
    pf = xp.ravel()
    cf = cols_t.ravel()
    runs, run = _tap_row_runs(kw, dw, C)
    for m in range(M):
        for oh in range(OH):
            for ow in range(OW):
                d = ((m * OH + oh) * OW + ow) * K
                for i in range(kh):
                    s = ((m * Hp + oh * sh + i * dh) * Wp + ow * sw) * C
                    dd = d + i * kw * C
                    for j in range(runs):
                        for t in range(run):
                            cf[_u(dd + j * run + t)] = pf[_u(s + j * dw * C + t)]


@kernel(nogil=True)
def _col2im_t(cols_t, gxp, kh, kw, sh, sw, dh, dw, OH, OW):
    # Adjoint of _im2col_t: gxp (zeroed here) += every (pixel, tap) run, pixels in
    # order, taps in (i, j) order (one thread: the order is fixed).
    # (By the runs of _tap_row_runs: within one pixel and tap row the kw taps add
    # into different columns, so every sum's order is the same as tap by tap.)
    M, Hp, Wp, C = gxp.shape
    K = kh * kw * C
    gf = gxp.ravel()
    cf = cols_t.ravel()
    runs, run = _tap_row_runs(kw, dw, C)
    for t in range(M * Hp * Wp * C):
        gf[_u(t)] = 0.0
    for m in range(M):
        for oh in range(OH):
            for ow in range(OW):
                s0 = ((m * OH + oh) * OW + ow) * K
                for i in range(kh):
                    d = ((m * Hp + oh * sh + i * dh) * Wp + ow * sw) * C
                    s = s0 + i * kw * C
                    for j in range(runs):
                        for t in range(run):
                            gf[_u(d + j * dw * C + t)] += cf[_u(s + j * run + t)]


@kernel(nogil=True)
def _column_offsets(W, pw, S, Wq, C):
    # offs[w] = where input column w goes in a padded channels-last row of S phases
    # of Wq columns (-1: the taps never read it): padded column q = w + pw at
    # [q % S, q // S]; S = 1 is the plain padded layout.
    # Returns (offs, w_hi): input columns from w_hi on are never read.
    offs = np.empty(W, dtype=np.int64)
    for w in range(W):
        q = w + pw
        offs[w] = ((q % S) * Wq + q // S) * C if q < S * Wq else -1
    w_hi = W
    while w_hi > 0 and offs[w_hi - 1] < 0:
        w_hi -= 1
    return offs, w_hi


@kernel(nogil=True)
def _channels_last_to_planes(gf, M, Hp, row_len, offs, w_hi, gx, n0, ph):
    # gx[n0 + m, c, h, w] = gf[(m * Hp + h + ph) * row_len + offs[w] + c] for the input
    # columns w < w_hi, zero for the others and for rows past Hp (pixels the taps never
    # read): a padded channels-last layout of M samples, Hp rows of row_len values
    # each, whose input column w starts at offs[w] in a row.  By channel blocks
    # (COPY_CHANNEL_BLOCK).  Shared with conv_depthwise, whose rows hold their columns
    # in phases.
    C, H, W = gx.shape[1], gx.shape[2], gx.shape[3]
    xf = gx.ravel()
    for m in range(M):
        for c0 in range(0, C, COPY_CHANNEL_BLOCK):
            for h in range(H):
                r = h + ph
                for c in range(c0, min(C, c0 + COPY_CHANNEL_BLOCK)):
                    d = (((n0 + m) * C + c) * H + h) * W
                    if r >= Hp:
                        for w in range(W):
                            xf[_u(d + w)] = 0.0
                        continue
                    s = (m * Hp + r) * row_len + c
                    for w in range(w_hi):
                        xf[_u(d + w)] = gf[_u(s + offs[w])]
                    for w in range(w_hi, W):
                        xf[_u(d + w)] = 0.0


@kernel(nogil=True)
def _from_padded_nhwc(gxp, gx, n0, ph, pw):
    # gx[n0 + m, c, h, w] = gxp[m, h + ph, w + pw, c]; zero where the taps never read.
    M, Hp, Wp, C = gxp.shape
    offs, w_hi = _column_offsets(gx.shape[3], pw, 1, Wp, C)
    _channels_last_to_planes(gxp.ravel(), M, Hp, Wp * C, offs, w_hi, gx, n0, ph)


@kernel(nogil=True)
def _rows_t_to_nchw(res, out, bias, n0):
    # out[n0 + m, oc, p] = res[m * P + p, oc] + bias[oc]; by blocks of COPY_CHANNEL_BLOCK
    # channels and runs of COPY_PIXEL_RUN pixels.
    OC = out.shape[1]
    P = out.shape[2] * out.shape[3]
    M = res.shape[0] // P
    rf = res.ravel()
    of = out.ravel()
    for m in range(M):
        for c0 in range(0, OC, COPY_CHANNEL_BLOCK):
            for p0 in range(0, P, COPY_PIXEL_RUN):
                p1 = min(P, p0 + COPY_PIXEL_RUN)
                for oc in range(c0, min(OC, c0 + COPY_CHANNEL_BLOCK)):
                    bv = bias[oc]
                    d = ((n0 + m) * OC + oc) * P
                    for p in range(p0, p1):
                        of[_u(d + p)] = rf[_u((m * P + p) * OC + oc)] + bv


@kernel(nogil=True)
def _nchw_to_rows_t(go, g_t, bias_acc, n0):
    # g_t[m * P + p, oc] = go[n0 + m, oc, p]; bias_acc[oc] += the same values (float64,
    # pixels in order) when bias_acc has OC entries.  By blocks of COPY_CHANNEL_BLOCK
    # channels and runs of COPY_PIXEL_RUN pixels, as _rows_t_to_nchw.
    OC = go.shape[1]
    P = go.shape[2] * go.shape[3]
    M = g_t.shape[0] // P
    gf = go.ravel()
    tf = g_t.ravel()
    want_sum = bias_acc.shape[0] == OC
    totals = np.empty(COPY_CHANNEL_BLOCK)
    for m in range(M):
        for c0 in range(0, OC, COPY_CHANNEL_BLOCK):
            c1 = min(OC, c0 + COPY_CHANNEL_BLOCK)
            for k in range(COPY_CHANNEL_BLOCK):
                totals[k] = 0.0
            for p0 in range(0, P, COPY_PIXEL_RUN):
                p1 = min(P, p0 + COPY_PIXEL_RUN)
                for oc in range(c0, c1):
                    s = ((n0 + m) * OC + oc) * P
                    total = totals[oc - c0]
                    for p in range(p0, p1):
                        v = gf[_u(s + p)]
                        tf[_u((m * P + p) * OC + oc)] = v
                        total += v
                    totals[oc - c0] = total
            if want_sum:
                for oc in range(c0, c1):
                    bias_acc[oc] += totals[oc - c0]


def _weight_t(weight):
    """``w_t[(i * kw + j) * C + c, oc] = w[oc, c, i, j]``, contiguous: the forward's
    ``cols_t @ w_t``, which OpenBLAS runs 15 % faster than ``cols_t @ _weight_rows(w).T``
    (128->128 3x3, 128 pixels, one thread: 0.41 against 0.47 ms)."""
    OC, C, kh, kw = weight.shape
    return np.ascontiguousarray(weight.transpose(2, 3, 1, 0).reshape(kh * kw * C, OC))


def _weight_rows(weight):
    """``w_rows[oc, (i * kw + j) * C + c] = w[oc, c, i, j]``, contiguous: the backward's
    layout.  Each filter is a small (C, kh*kw) -> (kh*kw, C) transpose, half the time of
    :func:`_weight_t`'s (0.06 against 0.12 ms at 128->128 3x3); and ``g_t @ w_rows``
    runs faster than ``g_t @ w_t.T`` (0.43 against 0.48 ms at 128 pixels)."""
    OC, C, kh, kw = weight.shape
    return np.ascontiguousarray(weight.transpose(0, 2, 3, 1).reshape(OC, kh * kw * C))


def _cols_t(x, geo, n0, n1):
    Hp, Wp = padded_extent(geo)
    xp = np.empty((n1 - n0, Hp, Wp, geo.C), dtype=x.dtype)
    _to_padded_nhwc(x, xp, n0, n1, geo.pad[0], geo.pad[1])
    cols_t = np.empty(((n1 - n0) * geo.OH * geo.OW, geo.C * geo.kh * geo.kw), dtype=x.dtype)
    _im2col_t(xp, cols_t, geo.kh, geo.kw, *geo.stride, *geo.dilation, geo.OH, geo.OW)
    return cols_t


def channels_last_forward(x, weight, bias, geo):
    """``conv2d(x, weight) + bias`` (NCHW arrays of one float dtype, ungrouped; ``bias``
    an array of ``OC`` entries), through channels-last column matrices."""
    w_t = _weight_t(weight)
    out = np.empty((geo.N, geo.OC, geo.OH, geo.OW), dtype=x.dtype)
    lanes = plan(geo, x.dtype.itemsize, FORWARD_MIN_COLUMNS)

    def lane(i):
        for n0, n1 in lanes[i]:
            cols_t = _cols_t(x, geo, n0, n1)
            res = cols_t @ w_t
            del cols_t
            _rows_t_to_nchw(res, out, bias, n0)

    run_chunks(lane, len(lanes))
    return out


_NO_SUM = np.empty(0, dtype=np.float64)


def channels_last_backward(grad_out, x, weight, geo, need_input, need_weight, need_bias):
    """``(grad_x, grad_weight, grad_bias)`` of :func:`channels_last_forward` (``None``
    for those not asked for)."""
    dtype = x.dtype
    w_rows = _weight_rows(weight) if need_input else None
    lanes = plan(geo, dtype.itemsize)
    K = geo.C * geo.kh * geo.kw
    gx = np.empty(x.shape, dtype=dtype) if need_input else None
    # the weight gradient as (oc, (i, j, c)) rows: back to (OC, C, kh, kw) by a small
    # transpose per filter (0.12 ms at 128->128 3x3 against 0.17 from ((i, j, c), oc))
    acc = OrderedSum((geo.OC, K), dtype) if need_weight else None
    gb_parts = [np.zeros(geo.OC if need_bias else 0, dtype=np.float64) for _ in lanes]
    Hp, Wp = padded_extent(geo)

    def lane(i):
        part = acc.start(i) if need_weight else None
        scratch = None
        for k, (n0, n1) in enumerate(lanes[i]):
            g_t = np.empty(((n1 - n0) * geo.OH * geo.OW, geo.OC), dtype=dtype)
            _nchw_to_rows_t(grad_out, g_t, gb_parts[i] if need_bias else _NO_SUM, n0)
            if need_weight:
                cols_t = _cols_t(x, geo, n0, n1)
                if k == 0:
                    np.matmul(g_t.T, cols_t, out=part)
                else:
                    if scratch is None:
                        scratch = np.empty_like(part)
                    part += np.matmul(g_t.T, cols_t, out=scratch)
                del cols_t
            if need_input:
                gcols_t = g_t @ w_rows
                gxp = np.empty((n1 - n0, Hp, Wp, geo.C), dtype=dtype)
                _col2im_t(gcols_t, gxp, geo.kh, geo.kw, *geo.stride, *geo.dilation,
                          geo.OH, geo.OW)
                del gcols_t
                _from_padded_nhwc(gxp, gx, n0, geo.pad[0], geo.pad[1])
        if need_weight:
            if not lanes[i]:
                part[...] = 0
            del part
            acc.done(i)

    run_chunks(lane, len(lanes))
    gw = gb = None
    if need_weight:
        total = acc.result(len(lanes))  # (oc, (i, j, c))
        gw = np.ascontiguousarray(
            total.reshape(geo.OC, geo.kh, geo.kw, geo.C).transpose(0, 3, 1, 2))
    if need_bias:
        gb = sum_in_lane_order(gb_parts, dtype)
    return gx, gw, gb
