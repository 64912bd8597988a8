"""Depthwise convolution on channels-last copies: every tap is one run over channels.

A depthwise conv (``groups == C == OC``: one filter per channel) has only ``kh * kw``
products per output, so there is no GEMM to run; the plane-by-plane direct kernels of
``kernels.conv`` vectorise along an output row, which on MobileNet's strided layers is
8-16 pixels with a gather and a boundary at each end.  Here each sample is first
copied to a zero-padded channels-last array in which padded column ``q`` is stored at
``[q % S, q // S]`` for the column stride ``S`` (so ``xp[m, r, phase, u, c]``).  Output
pixel ``ow`` of tap column ``j`` reads padded column ``ow * S + j * dw``, i.e. phase
``j * dw % S`` at ``u = ow + j * dw // S``: for one output row and one tap, the inputs
of all ``OW`` pixels are one contiguous run of ``L = OW * C`` values, and so::

    row[ow * C + c] = sum_{i, j} w_rep[i * kw + j, ow * C + c] * xp[m, oh*sh + i*dh, ...]

with ``w_rep`` each tap's ``C`` weights repeated ``OW`` times, then the row is written
into the NCHW output.  The backward is the adjoint: ``g_t`` is grad_out
channels-last, and

* ``grad_xp`` (zeroed) ``+= w_rep[tap] * g_t[row]`` run by run, then its interior is
  copied into ``grad_x``;
* ``grad_w[c, 0, i, j] = sum_{n, oh, ow} g_t[(oh, ow), c] * xp[...]``: per sample, the
  runs summed over output rows and then over the row's pixels in the input's dtype,
  then into a float64 partial per lane.

Measured at batch 32 on the AVX-512 EPYC (2 threads), fwd+bwd against the direct
kernels: 128 channels on 16x16 at stride 2 0.72x their time, 64 on 32x32 stride 2
0.89x; 128 on 8x8 stride 1 0.29x, 512 on 4x4 0.15x (``kernels.conv``'s
``_depthwise_kernels`` has the rule).  Copying between the layouts is most of the
time; the copies go by blocks of channels (``conv_channels_last.COPY_CHANNEL_BLOCK``),
which took 64 channels on 32x32 at stride 2 from 1.2-3.9 to 0.9-2.1 ms forward and
from 4.8-7.0 to 2.6-4.6 backward (batch 32, Zen 4 EPYC, three paired runs in one
process).

Lanes hold whole consecutive samples (``_threads.sample_lanes``, a constant lane
count), run single-threaded on all cores; the weight gradient's lane partials are
added in lane order, so results are the same with any thread count.

Example: ``depthwise_forward(x, w, b, geo)`` equals ``conv2d_forward(x, w, b, stride,
padding, groups=C)`` for the geometry ``geo`` of those arguments.
"""

from __future__ import annotations

import numpy as np

from ._cache import kernel
from ._indexing import _u
from ._partials import sum_in_lane_order
from ._threads import run_chunks, sample_lanes
from .conv_channels_last import (
    COPY_CHANNEL_BLOCK,
    _channels_last_to_planes,
    _column_offsets,
    _nchw_to_rows_t,
    padded_extent,
)

__all__ = ["depthwise_backward", "depthwise_forward", "is_depthwise", "plan",
           "workspace_per_sample"]

#: One chunk's workspace (padded input, result and gradient copies): about one core's
#: L2 share, as ``kernels.conv.CHUNK_BYTES``; a chunk is never under one sample.
CHUNK_BYTES = 1024 * 1024
#: At most this many lanes: a constant (never the core count), so the weight
#: gradient's partials and their order depend on the shapes alone ...
LANES = 8
#: ... and a lane gets at least this many output values (pixels x channels), so tiny
#: convs run on one lane.
MIN_LANE_OUTPUTS = 8192


def _phase_shape(geo, samples):
    """The padded channels-last layout of ``samples`` samples: ``(M, Hp, S, Wq, C)``,
    padded column ``q`` at ``[q % S, q // S]`` for the column stride ``S``."""
    Hp, Wp = padded_extent(geo)
    S = geo.stride[1]
    return samples, Hp, S, -(-Wp // S), geo.C


def workspace_per_sample(geo, itemsize):
    """Bytes one sample's chunk takes in the backward (more than in the forward): the
    padded input and its gradient, grad_out channels-last, and the weight gradient's
    row sums."""
    _, Hp, S, Wq, C = _phase_shape(geo, 1)
    rows = geo.kh * geo.kw * geo.OW
    return (2 * Hp * S * Wq + geo.OH * geo.OW + rows) * C * itemsize


def plan(geo, itemsize):
    """Lanes of consecutive samples, each a list of chunks ``(n0, n1)`` of whole samples."""
    fit = max(1, CHUNK_BYTES // workspace_per_sample(geo, itemsize))
    outputs = geo.N * geo.OH * geo.OW * geo.C
    n_lanes = max(1, min(LANES, geo.N, outputs // MIN_LANE_OUTPUTS))
    return sample_lanes(geo.N, n_lanes, fit)


def is_depthwise(geo):
    """One filter per channel: ``groups == C == OC`` (and more than one group)."""
    return geo.groups == geo.C == geo.OC and geo.groups > 1


@kernel(nogil=True)
def _to_phases(x, xp, n0, ph, pw):
    # xp[m, r, q % S, q // S, c] = x[n0 + m, c, r - ph, q - pw] for the padded rows r and
    # columns q the taps read (S = the column stride); zero elsewhere.  The walk goes by
    # blocks of COPY_CHANNEL_BLOCK channels (see conv_channels_last): for one input row, a
    # block's reads are that many short runs, and its writes fill whole cache lines.
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    M, Hp, S, Wq = xp.shape[0], xp.shape[1], xp.shape[2], xp.shape[3]
    Wp = S * Wq
    xf = x.ravel()
    pf = xp.ravel()
    offs, w_hi = _column_offsets(W, pw, S, Wq, C)
    for t in range(M * Hp * Wp * C):
        pf[_u(t)] = 0.0
    for m in range(M):
        for c0 in range(0, C, COPY_CHANNEL_BLOCK):
            for h in range(min(H, Hp - ph)):
                row = (m * Hp + h + ph) * Wp * C
                for c in range(c0, min(C, c0 + COPY_CHANNEL_BLOCK)):
                    s = (((n0 + m) * C + c) * H + h) * W
                    for w in range(w_hi):
                        pf[_u(row + offs[w] + c)] = xf[_u(s + w)]


@kernel(nogil=True)
def _from_phases(gxp, gx, n0, ph, pw):
    # Adjoint of _to_phases' copy: gx[n0 + m, c, h, w] = gxp[m, h + ph, ..., c], and
    # zero for input pixels the taps never read.
    M, Hp, S, Wq, C = gxp.shape
    offs, w_hi = _column_offsets(gx.shape[3], pw, S, Wq, C)
    _channels_last_to_planes(gxp.ravel(), M, Hp, S * Wq * C, offs, w_hi, gx, n0, ph)


@kernel(nogil=True)
def _taps_forward(xp, w_rep, bias, out, n0, kh, kw, sh, dh, dw, row):
    # out[n0 + m, c, oh, ow] = bias[c] + sum over taps (i, j) in order of
    # w_rep[tap, ow * C + c] * xp[m, ...]: for an output row and a tap, the inputs of
    # all its pixels are one contiguous run of L = OW * C values in the phase layout;
    # the row is summed in ``row`` (L1-resident), then written out channel by channel.
    M, Hp, S, Wq, C = xp.shape
    OH, OW = out.shape[2], out.shape[3]
    L = OW * C
    pf = xp.ravel()
    wf = w_rep.ravel()
    of = out.ravel()
    for m in range(M):
        for oh in range(OH):
            for k in range(L):
                row[k] = 0.0
            for i in range(kh):
                for j in range(kw):
                    q = j * dw
                    s = (((m * Hp + oh * sh + i * dh) * S + q % S) * Wq + q // S) * C
                    t = (i * kw + j) * L
                    for k in range(L):
                        row[_u(k)] += wf[_u(t + k)] * pf[_u(s + k)]
            for c in range(C):
                bv = bias[c]
                d = (((n0 + m) * C + c) * OH + oh) * OW
                for ow in range(OW):
                    of[_u(d + ow)] = row[_u(ow * C + c)] + bv


@kernel(nogil=True)
def _taps_grad_input(g_t, w_rep, gxp, kh, kw, sh, dh, dw, OH):
    # gxp (zeroed here) += w_rep[tap, k] * g_t[(m, oh), k] at each run's input
    # position: rows in order, taps in (i, j) order.
    M, Hp, S, Wq, C = gxp.shape
    L = w_rep.shape[1]
    gf = gxp.ravel()
    wf = w_rep.ravel()
    tf = g_t.ravel()
    for t in range(gf.size):
        gf[_u(t)] = 0.0
    for m in range(M):
        for oh in range(OH):
            s = (m * OH + oh) * L
            for i in range(kh):
                for j in range(kw):
                    q = j * dw
                    d = (((m * Hp + oh * sh + i * dh) * S + q % S) * Wq + q // S) * C
                    t = (i * kw + j) * L
                    for k in range(L):
                        gf[_u(d + k)] += wf[_u(t + k)] * tf[_u(s + k)]


@kernel(nogil=True)
def _taps_grad_weight(xp, g_t, part, kh, kw, sh, dh, dw, OH, OW):
    # part[tap, c] (float64) += sum over a sample's pixels of g_t[pixel, c] * xp[...]:
    # per sample, runs summed over output rows (in order) into acc[tap, k], then over
    # the OW pixels of k (in order), in the input's dtype; then added into ``part``.
    M, Hp, S, Wq, C = xp.shape
    L = OW * C
    T = kh * kw
    pf = xp.ravel()
    tf = g_t.ravel()
    af = part.ravel()
    acc = np.empty(T * L, dtype=xp.dtype)
    total = np.empty(C, dtype=xp.dtype)
    for m in range(M):
        for k in range(T * L):
            acc[k] = 0.0
        for oh in range(OH):
            s = (m * OH + oh) * L
            for i in range(kh):
                for j in range(kw):
                    q = j * dw
                    d = (((m * Hp + oh * sh + i * dh) * S + q % S) * Wq + q // S) * C
                    t = (i * kw + j) * L
                    for k in range(L):
                        acc[_u(t + k)] += tf[_u(s + k)] * pf[_u(d + k)]
        for t in range(T):
            for c in range(C):
                total[c] = acc[_u(t * L + c)]
            for ow in range(1, OW):
                for c in range(C):
                    total[c] += acc[_u(t * L + ow * C + c)]
            for c in range(C):
                af[_u(t * C + c)] += total[c]


@kernel(nogil=True)
def _forward_lane(x, w_rep, bias, out, chunks, xp_all, row, ph, pw, kh, kw, sh, dh, dw):
    # One lane's chunks (rows (n0, n1) of ``chunks``) in one call: a call per chunk
    # would hand the GIL between the lanes' threads every few microseconds.
    for k in range(chunks.shape[0]):
        n0, n1 = chunks[k, 0], chunks[k, 1]
        xp = xp_all[: n1 - n0]
        _to_phases(x, xp, n0, ph, pw)
        _taps_forward(xp, w_rep, bias, out, n0, kh, kw, sh, dh, dw, row)


@kernel(nogil=True)
def _backward_lane(grad_out, x, w_rep, gx, gw_part, gb_part, chunks, g_all, xp_all,
                   gxp_all, ph, pw, kh, kw, sh, dh, dw, need_input, need_weight):
    # One lane's chunks of the backward in one call (as _forward_lane); gb_part has
    # C entries when grad_bias is wanted, none otherwise.
    OH, OW = grad_out.shape[2], grad_out.shape[3]
    P = OH * OW
    for k in range(chunks.shape[0]):
        n0, n1 = chunks[k, 0], chunks[k, 1]
        m = n1 - n0
        g_t = g_all[: m * P]
        _nchw_to_rows_t(grad_out, g_t, gb_part, n0)
        if need_weight:
            xp = xp_all[:m]
            _to_phases(x, xp, n0, ph, pw)
            _taps_grad_weight(xp, g_t, gw_part, kh, kw, sh, dh, dw, OH, OW)
        if need_input:
            gxp = gxp_all[:m]
            _taps_grad_input(g_t, w_rep, gxp, kh, kw, sh, dh, dw, OH)
            _from_phases(gxp, gx, n0, ph, pw)


def _weight_rows(weight, OW):
    """``w_rep[i * kw + j, ow * C + c] = w[c, 0, i, j]``: each tap's weights repeated for
    the ``OW`` pixels of an output row, contiguous."""
    C, _, kh, kw = weight.shape
    return np.ascontiguousarray(np.tile(weight.reshape(C, kh * kw).T, (1, OW)))


def _lane_args(geo):
    return (*geo.pad, geo.kh, geo.kw, geo.stride[0], *geo.dilation)


def _chunk_array(lane):
    return np.array(lane, dtype=np.int64).reshape(len(lane), 2)


def _scratch(geo, lane, dtype, wanted=True):
    """A phase-layout buffer for the lane's largest chunk (an empty one if not wanted)."""
    most = max(n1 - n0 for n0, n1 in lane) if wanted else 0
    return np.empty(_phase_shape(geo, most), dtype=dtype)


def depthwise_forward(x, weight, bias, geo):
    """``conv2d(x, weight, groups=C) + bias`` for a depthwise ``geo`` (NCHW arrays of one
    float dtype, ``weight`` of shape ``(C, 1, kh, kw)``, ``bias`` an array of ``C``)."""
    w_rep = _weight_rows(weight, geo.OW)
    out = np.empty((geo.N, geo.OC, geo.OH, geo.OW), dtype=x.dtype)
    lanes = [lane for lane in plan(geo, x.dtype.itemsize) if lane]

    def lane(i):
        row = np.empty(geo.OW * geo.C, dtype=x.dtype)
        _forward_lane(x, w_rep, bias, out, _chunk_array(lanes[i]),
                      _scratch(geo, lanes[i], x.dtype), row, *_lane_args(geo))

    run_chunks(lane, len(lanes), uses_blas=False)
    return out


def depthwise_backward(grad_out, x, weight, geo, need_input, need_weight, need_bias):
    """``(grad_x, grad_weight, grad_bias)`` of :func:`depthwise_forward` (``None`` for
    those not asked for)."""
    dtype = x.dtype
    w_rep = _weight_rows(weight, geo.OW) if need_input else np.empty((0, 0), dtype)
    lanes = [lane for lane in plan(geo, dtype.itemsize) if lane]
    P = geo.OH * geo.OW
    gx = np.empty(x.shape if need_input else (0, 0, 0, 0), dtype=dtype)
    gw_parts = [np.zeros((geo.kh * geo.kw, geo.C) if need_weight else (0, 0)) for _ in lanes]
    gb_parts = [np.zeros(geo.OC if need_bias else 0) for _ in lanes]

    def lane(i):
        most = max(n1 - n0 for n0, n1 in lanes[i])
        _backward_lane(
            grad_out, x, w_rep, gx, gw_parts[i], gb_parts[i], _chunk_array(lanes[i]),
            np.empty((most * P, geo.C), dtype=dtype),
            _scratch(geo, lanes[i], dtype, need_weight),
            _scratch(geo, lanes[i], dtype, need_input), *_lane_args(geo),
            need_input, need_weight,
        )

    run_chunks(lane, len(lanes), uses_blas=False)
    gw = gb = None
    if need_weight:
        total = sum_in_lane_order(gw_parts, dtype)  # (tap, c)
        gw = np.ascontiguousarray(total.T.reshape(weight.shape))
    if need_bias:
        gb = sum_in_lane_order(gb_parts, dtype)
    return (gx if need_input else None), gw, gb
