"""Convolution at stride 1 on 'same'-width planes: every tap is one flat loop.

When a conv's output is as wide as its input (stride 1, ``OW == W``: 'same' padding),
tap ``(i, j)`` shifts a whole input plane by ``(di, dj) = (i*dh - ph, j*dw - pw)``, which
on the flattened plane is the single offset ``di * W + dj``::

    out[n, o].flat[k] = bias[o] + sum_{c, i, j} w[o, c, i, j] * x[n, g*Cg + c].flat[k + di*W + dj]

summed in that order over the positions ``k`` where the input row exists (``g`` the
group of ``o``).  A shift of ``dj != 0`` columns would read through a row's end into
its neighbour; those reads go to a copy of the plane with the ``|dj|`` columns on that
side zeroed (the padding they stand for), made once per (sample, group) and read by
all the group's output channels.  So each tap is one contiguous loop of about
``OH * W`` multiply-adds instead of ``OH`` loops of ``OW`` with their boundaries (the
direct kernels of ``kernels.conv``; on MobileNet's depthwise 16x16 and 32x32 planes at
batch 32, fwd+bwd 0.62-0.66x their time) or an im2col copy of ``Cg*kh*kw`` rows per
pixel (first layers; ``kernels.conv._use_same_width_planes`` has the numbers).  A
3x3 kernel with 'same' padding on planes at least ``FUSED_3X3_MIN_WIDTH`` wide adds
its nine taps in one loop over the rows all of them reach (one load and store of the
output per input channel there, not nine), the taps' own loops doing the first and
last rows.  For depthwise convs the sums and their order are the direct kernels', so
are the bits.

The backward: ``grad_x`` is the same kind of conv of ``grad_out`` with the flipped
filters, each group's input and output channels swapped (:func:`_adjoint_weight`),
and offsets ``d * (k - 1) - p`` (its output as wide as ``grad_out`` again);
``grad_w[o, c, i, j] = sum_n sum_k grad_out[n, o].flat[k] * x[n, g*Cg + c].flat[k + off]``,
one partial per output plane, summed over the batch in order.

Units of work are (sample, group) pairs, run through ``_threads.run_planes``
(contiguous ranges, by the shapes alone), so results are the same with any thread
count.

Example: ``same_width_forward(x, w, b, geo)`` equals ``conv2d_forward(x, w, b, 1,
padding, dilation, groups)`` for the geometry ``geo`` of those arguments.
"""

from __future__ import annotations

import numpy as np

from ._cache import kernel
from ._indexing import _u
from ._threads import run_planes

__all__ = ["same_width", "same_width_backward", "same_width_forward"]


@kernel(nogil=True)
def _masked_columns(xf, base, H, W, mf, m0, kw, dw, pw):
    # mf[m0 + j * H * W:][:H * W] = the plane at xf[base:] with the columns zeroed that
    # tap column j must not see through a row's end: the last -dj columns (dj < 0) or
    # the first dj (dj > 0), dj = j * dw - pw.  Taps with dj = 0 read the plane itself.
    HW = H * W
    for j in range(kw):
        dj = j * dw - pw
        if dj == 0:
            continue
        m = m0 + j * HW
        for t in range(HW):
            mf[_u(m + t)] = xf[_u(base + t)]
        lo, hi = (W + dj, W) if dj < 0 else (0, dj)
        lo, hi = max(0, lo), min(W, hi)
        for h in range(H):
            for w in range(lo, hi):
                mf[_u(m + h * W + w)] = 0.0


@kernel(nogil=True)
def _tap_span(H, W, OH, di, dj):
    # The flat output positions [k0, k1) tap (di, dj) reaches: output rows whose input
    # row oh + di exists, cut where the flat input index k + di * W + dj leaves the
    # plane (those positions are padding, as are the columns the masks zero).
    off = di * W + dj
    k0 = max(0, -di) * W
    k1 = min(OH, H - di) * W
    return max(k0, -off), min(k1, H * W - off), off


@kernel(nogil=True)
def _unit_masks(xf, mf, unit, groups, C, Cg, H, W, kw, dw, pw):
    # The masked planes of a (sample, group) unit's Cg input planes, written to
    # mf[cl * kw * H * W:]; returns (n, g, where the unit's first input plane starts).
    n = unit // groups
    g = unit - n * groups
    x0 = (n * C + g * Cg) * H * W
    for cl in range(Cg):
        _masked_columns(xf, x0 + cl * H * W, H, W, mf, cl * kw * H * W, kw, dw, pw)
    return n, g, x0


#: The forward adds a 3x3 kernel's nine taps in one loop (``_same_width_forward``) on
#: planes at least this wide.  Measured against nine loops (2 threads, Zen 4 EPYC,
#: float32): depthwise at batch 32, 64 channels 16x16 0.91-1.10x their time, 128
#: channels 16x16 1.05-1.33x, 64 on 24x24 0.88-0.99x, 32 on 32x32 0.74-0.91x, batch 8
#: 32 on 56x56 0.74-0.83x, 16 on 112x112 0.68-0.72x; 3 -> 16 channels at batch 32 on
#: 24x24 0.85x, 32x32 0.72x.  On narrow planes the taps' own loops over the first and
#: last rows are a large share.  Either way the sums and their order are the same.
FUSED_3X3_MIN_WIDTH = 24


@kernel(nogil=True)
def _interior_3x3(H, W, OH, ph, pw, dh, dw):
    # The flat output positions [K0, K1) that all nine taps of a 3x3 kernel reach, for
    # 'same' padding (ph == dh, pw == dw: the middle tap column reads the plane itself).
    K0, K1 = 0, OH * W
    for i in range(3):
        for j in range(3):
            k0, k1, _ = _tap_span(H, W, OH, i * dh - ph, j * dw - pw)
            K0, K1 = max(K0, k0), min(K1, k1)
    return (K0, K1) if K0 < K1 else (0, 0)


@kernel(nogil=True)
def _same_width_forward(x, w, bias, out, groups, ph, pw, dh, dw, u0, u1):
    # For each (sample, group) unit: out[n, oc] = bias[oc] + sum over the group's input
    # channels c, then taps (i, j), in order, of w[oc, c, i, j] times the input plane
    # shifted by (di, dj) = (i*dh - ph, j*dw - pw): with OW == W the shift is one flat
    # offset, so each tap is one contiguous loop over the output plane.  The group's
    # masked planes are made once and read by all its output channels.
    # A 3x3 kernel with 'same' padding adds its nine taps in one loop over the
    # positions all of them reach ([K0, K1): the rows whose three input rows exist),
    # in the same order, so the same bits; one load and store of the output per input
    # channel there instead of nine.  The taps' own loops do the rest of the plane.
    N, C, H, W = x.shape
    OC, OH = out.shape[1], out.shape[2]
    Cg, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    OCg = OC // groups
    HW = H * W
    L = OH * W
    xf = x.ravel()
    of = out.ravel()
    wf = w.ravel()
    mf = np.empty(Cg * kw * HW, dtype=x.dtype)  # this call's masked planes
    K0, K1 = 0, 0
    if kh == 3 and kw == 3 and ph == dh and pw == dw and W >= FUSED_3X3_MIN_WIDTH:
        K0, K1 = _interior_3x3(H, W, OH, ph, pw, dh, dw)
    for unit in range(u0, u1):
        n, g, x0 = _unit_masks(xf, mf, unit, groups, C, Cg, H, W, kw, dw, pw)
        for m in range(OCg):
            oc = g * OCg + m
            o = (n * OC + oc) * L
            bv = bias[oc]
            for t in range(L):
                of[_u(o + t)] = bv
            for cl in range(Cg):
                xb = x0 + cl * HW
                for i in range(kh):
                    di = i * dh - ph
                    for j in range(kw):
                        dj = j * dw - pw
                        k0, k1, off = _tap_span(H, W, OH, di, dj)
                        wv = wf[_u(((oc * Cg + cl) * kh + i) * kw + j)]
                        # [k0, k1) outside [K0, K1): before it and after it
                        a1, b0 = min(k1, K0), max(k0, K1)
                        if dj == 0:
                            s = xb + off
                            for k in range(k0, a1):
                                of[_u(o + k)] += wv * xf[_u(s + k)]
                            for k in range(b0, k1):
                                of[_u(o + k)] += wv * xf[_u(s + k)]
                        else:
                            s = (cl * kw + j) * HW + off
                            for k in range(k0, a1):
                                of[_u(o + k)] += wv * mf[_u(s + k)]
                            for k in range(b0, k1):
                                of[_u(o + k)] += wv * mf[_u(s + k)]
                if K1 > K0:
                    t = (oc * Cg + cl) * 9
                    w00, w01, w02 = wf[_u(t)], wf[_u(t + 1)], wf[_u(t + 2)]
                    w10, w11, w12 = wf[_u(t + 3)], wf[_u(t + 4)], wf[_u(t + 5)]
                    w20, w21, w22 = wf[_u(t + 6)], wf[_u(t + 7)], wf[_u(t + 8)]
                    # taps (i, 0) and (i, 2) read the masked planes, shifted by -dw
                    # and +dw; (i, 1) the plane itself; row i starts (i*dh - ph) * W on
                    ml = cl * 3 * HW - dw
                    mr = (cl * 3 + 2) * HW + dw
                    r1 = (dh - ph) * W
                    r2 = (2 * dh - ph) * W
                    for k in range(K0, K1):
                        v = of[_u(o + k)]
                        v += w00 * mf[_u(ml - ph * W + k)]
                        v += w01 * xf[_u(xb - ph * W + k)]
                        v += w02 * mf[_u(mr - ph * W + k)]
                        v += w10 * mf[_u(ml + r1 + k)]
                        v += w11 * xf[_u(xb + r1 + k)]
                        v += w12 * mf[_u(mr + r1 + k)]
                        v += w20 * mf[_u(ml + r2 + k)]
                        v += w21 * xf[_u(xb + r2 + k)]
                        v += w22 * mf[_u(mr + r2 + k)]
                        of[_u(o + k)] = v


@kernel(nogil=True, fastmath={"reassoc", "nsz"})
def _same_width_grad_weight(go, x, partial, groups, ph, pw, dh, dw, u0, u1):
    # partial[n, oc, c, i, j] = sum over the output plane of go[n, oc] times input plane
    # c of its group shifted by tap (i, j) (the forward's spans); one writer per
    # (n, oc), units of (sample, group) as in the forward.
    N, C, H, W = x.shape
    OC, OH = go.shape[1], go.shape[2]
    Cg, kh, kw = partial.shape[2], partial.shape[3], partial.shape[4]
    OCg = OC // groups
    HW = H * W
    L = OH * W
    gf = go.ravel()
    xf = x.ravel()
    pf = partial.ravel()
    mf = np.empty(Cg * kw * HW, dtype=x.dtype)  # this call's masked planes
    for unit in range(u0, u1):
        n, g, x0 = _unit_masks(xf, mf, unit, groups, C, Cg, H, W, kw, dw, pw)
        for m in range(OCg):
            oc = g * OCg + m
            o = (n * OC + oc) * L
            for cl in range(Cg):
                xb = x0 + cl * HW
                for i in range(kh):
                    di = i * dh - ph
                    for j in range(kw):
                        dj = j * dw - pw
                        k0, k1, off = _tap_span(H, W, OH, di, dj)
                        acc = 0.0
                        if dj == 0:
                            s = xb + off
                            for k in range(k0, k1):
                                acc += gf[_u(o + k)] * xf[_u(s + k)]
                        else:
                            s = (cl * kw + j) * HW + off
                            for k in range(k0, k1):
                                acc += gf[_u(o + k)] * mf[_u(s + k)]
                        pf[_u((((n * OC + oc) * Cg + cl) * kh + i) * kw + j)] = acc


#: A call's masked copies (``Cg * kw`` planes per thread) stay under this many bytes.
MAX_MASKED_BYTES = 64 * 1024 * 1024


def same_width(geo):
    """A conv these plane kernels can take: stride 1, output as wide as the input, and
    masked copies under :data:`MAX_MASKED_BYTES` (float64 counted)."""
    Cg = geo.C // geo.groups
    return (geo.stride == (1, 1) and geo.OW == geo.W
            and Cg * geo.kw * geo.H * geo.W * 8 <= MAX_MASKED_BYTES)


def same_width_forward(x, weight, bias, geo):
    """``conv2d(x, weight, groups) + bias`` for a :func:`same_width` ``geo``."""
    out = np.empty((geo.N, geo.OC, geo.OH, geo.OW), dtype=x.dtype)
    args = (x, weight, bias, out, geo.groups, *geo.pad, *geo.dilation)
    run_planes(_same_width_forward, geo.N * geo.groups, args, geo.tap_work)
    return out


def _adjoint_weight(weight, groups):
    """The weight of grad_x's conv: ``w_adj[g*Cg + c, m, i, j] = w[g*OCg + m, c, kh-1-i,
    kw-1-j]`` (flipped taps, each group's in and out channels swapped)."""
    OC, Cg, kh, kw = weight.shape
    OCg = OC // groups
    w = weight.reshape(groups, OCg, Cg, kh, kw)[:, :, :, ::-1, ::-1]
    return np.ascontiguousarray(w.transpose(0, 2, 1, 3, 4).reshape(groups * Cg, OCg, kh, kw))


def same_width_backward(grad_out, x, weight, geo, need_input, need_weight, need_bias):
    """Gradients of :func:`same_width_forward`.  ``grad_x`` is the same kind of conv of
    ``grad_out`` with :func:`_adjoint_weight`, shifted by ``d * (k - 1) - p``: its
    output is as wide as ``grad_out`` again."""
    gx = gw = gb = None
    (ph, pw), (dh, dw) = geo.pad, geo.dilation
    if need_input:
        gx = np.empty(x.shape, dtype=x.dtype)
        args = (grad_out, _adjoint_weight(weight, geo.groups), np.zeros(geo.C, dtype=x.dtype),
                gx, geo.groups, dh * (geo.kh - 1) - ph, dw * (geo.kw - 1) - pw, dh, dw)
        run_planes(_same_width_forward, geo.N * geo.groups, args, geo.tap_work)
    if need_weight:
        partial = np.empty((geo.N,) + weight.shape, dtype=x.dtype)
        args = (grad_out, x, partial, geo.groups, ph, pw, dh, dw)
        run_planes(_same_width_grad_weight, geo.N * geo.groups, args, geo.tap_work)
        gw = partial.sum(axis=0)
    if need_bias:
        gb = grad_out.sum(axis=(0, 2, 3), dtype=np.float64).astype(x.dtype)
    return gx, gw, gb
