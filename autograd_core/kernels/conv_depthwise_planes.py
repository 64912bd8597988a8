"""Depthwise convolution at stride 1 on 'same'-width planes: every tap is one flat loop.

For a depthwise conv (``groups == C == OC``) whose output is as wide as its input
(stride 1, ``OW == W``: 'same' padding), tap ``(i, j)`` shifts the whole input plane
by ``(di, dj) = (i*dh - ph, j*dw - pw)``, which on the flattened plane is the single
offset ``di * W + dj``::

    out[n, c].flat[k] = bias[c] + sum_{i, j} w[c, 0, i, j] * x[n, c].flat[k + di*W + dj]

summed in tap order over the positions ``k`` where the input row exists.  A shift of
``dj != 0`` columns would read through a row's end into its neighbour; those reads
go to a copy of the plane with the ``|dj|`` columns on that side zeroed (the padding
they stand for), so each tap is one contiguous loop of about ``OH * W`` multiply-adds
instead of ``OH`` loops of ``OW`` with their boundaries (``kernels.conv``'s direct
kernels; on MobileNet's 16x16 and 32x32 planes at batch 32, fwd+bwd 0.62-0.66x their
time).  The sums and their order are the direct kernels', so the forward's bits are
theirs.

The backward: ``grad_x`` is the same kind of conv of ``grad_out`` with the flipped
filters and offsets ``d * (k - 1) - p`` (its output as wide as ``grad_out`` again);
``grad_w[c, 0, i, j] = sum_n sum_k grad_out[n, c].flat[k] * x[n, c].flat[k + off]``, one
partial per plane summed over the batch in order.

Planes run through ``_threads.run_planes`` (contiguous plane ranges, by the shapes
alone), so results are the same with any thread count.

Example: ``same_width_forward(x, w, b, geo)`` equals ``conv2d_forward(x, w, b, 1,
padding, groups=C)`` for the geometry ``geo`` of those arguments.
"""

from __future__ import annotations

import numpy as np

from ._cache import kernel
from ._indexing import _u
from ._threads import run_planes
from .conv_depthwise import is_depthwise

__all__ = ["same_width", "same_width_backward", "same_width_forward"]


@kernel(nogil=True)
def _masked_columns(xf, base, H, W, mf, kw, dw, pw):
    # mf[j * H * W:][:H * W] = the plane at xf[base:] with the columns zeroed that tap
    # column j must not see through a row's end: the last -dj columns (dj < 0) or the
    # first dj (dj > 0), dj = j * dw - pw.  Taps with dj = 0 read the plane itself.
    HW = H * W
    for j in range(kw):
        dj = j * dw - pw
        if dj == 0:
            continue
        m = j * HW
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
def _same_width_forward(x, w, bias, out, ph, pw, dh, dw, p0, p1):
    # out[n, c] = bias[c] + sum over taps (i, j) in order of w[c, 0, i, j] times the
    # input plane shifted by (di, dj) = (i*dh - ph, j*dw - pw): with OW == W the shift is
    # one flat offset, so each tap is one contiguous loop over the output plane.
    N, C, H, W = x.shape
    OH = out.shape[2]
    kh, kw = w.shape[2], w.shape[3]
    HW = H * W
    xf = x.ravel()
    of = out.ravel()
    wf = w.ravel()
    mf = np.empty(kw * HW, dtype=x.dtype)  # this call's masked planes
    for plane in range(p0, p1):
        c = plane % C
        base = plane * HW
        _masked_columns(xf, base, H, W, mf, kw, dw, pw)
        o = plane * OH * W
        bv = bias[c]
        for t in range(OH * W):
            of[_u(o + t)] = bv
        for i in range(kh):
            di = i * dh - ph
            for j in range(kw):
                dj = j * dw - pw
                k0, k1, off = _tap_span(H, W, OH, di, dj)
                wv = wf[_u((c * kh + i) * kw + j)]
                if dj == 0:
                    s = base + off
                    for k in range(k0, k1):
                        of[_u(o + k)] += wv * xf[_u(s + k)]
                else:
                    s = j * HW + off
                    for k in range(k0, k1):
                        of[_u(o + k)] += wv * mf[_u(s + k)]


@kernel(nogil=True, fastmath={"reassoc", "nsz"})
def _same_width_grad_weight(go, x, partial, ph, pw, dh, dw, p0, p1):
    # partial[n, c, i, j] = sum over the output plane of go[n, c] times the input plane
    # shifted by tap (i, j) (the forward's spans); one writer per (n, c).
    N, C, H, W = x.shape
    OH = go.shape[2]
    kh, kw = partial.shape[2], partial.shape[3]
    HW = H * W
    gf = go.ravel()
    xf = x.ravel()
    pf = partial.ravel()
    mf = np.empty(kw * HW, dtype=x.dtype)  # this call's masked planes
    for plane in range(p0, p1):
        base = plane * HW
        _masked_columns(xf, base, H, W, mf, kw, dw, pw)
        o = plane * OH * W
        for i in range(kh):
            di = i * dh - ph
            for j in range(kw):
                dj = j * dw - pw
                k0, k1, off = _tap_span(H, W, OH, di, dj)
                acc = 0.0
                if dj == 0:
                    s = base + off
                    for k in range(k0, k1):
                        acc += gf[_u(o + k)] * xf[_u(s + k)]
                else:
                    s = j * HW + off
                    for k in range(k0, k1):
                        acc += gf[_u(o + k)] * mf[_u(s + k)]
                pf[_u((plane * kh + i) * kw + j)] = acc


#: A call's masked copies (``kw`` planes per thread) stay under this many bytes.
MAX_MASKED_BYTES = 64 * 1024 * 1024


def same_width(geo):
    """A depthwise conv these plane kernels take: stride 1, output as wide as the input
    (and planes whose masked copies fit :data:`MAX_MASKED_BYTES`, float64 counted)."""
    return (is_depthwise(geo) and geo.stride == (1, 1) and geo.OW == geo.W
            and geo.kw * geo.H * geo.W * 8 <= MAX_MASKED_BYTES)


def _plane_work(geo):
    """Elements the plane kernels touch (as ``kernels.conv._direct_work`` counts them),
    which keeps small calls on the calling thread."""
    return geo.N * geo.C * (geo.H * geo.W + geo.OH * geo.OW) * geo.kh * geo.kw


def same_width_forward(x, weight, bias, geo):
    """``conv2d(x, weight, groups=C) + bias`` for a :func:`same_width` ``geo``."""
    out = np.empty((geo.N, geo.OC, geo.OH, geo.OW), dtype=x.dtype)
    args = (x, weight, bias, out, *geo.pad, *geo.dilation)
    run_planes(_same_width_forward, geo.N * geo.C, args, _plane_work(geo))
    return out


def same_width_backward(grad_out, x, weight, geo, need_input, need_weight, need_bias):
    """Gradients of :func:`same_width_forward`.  ``grad_x`` is the same kind of conv of
    ``grad_out`` with the flipped filters, shifted by ``d * (k - 1) - p``: its output
    is as wide as ``grad_out`` again."""
    gx = gw = gb = None
    (ph, pw), (dh, dw) = geo.pad, geo.dilation
    if need_input:
        flipped = np.ascontiguousarray(weight[:, :, ::-1, ::-1])
        gx = np.empty(x.shape, dtype=x.dtype)
        args = (grad_out, flipped, np.zeros(geo.C, dtype=x.dtype), gx,
                dh * (geo.kh - 1) - ph, dw * (geo.kw - 1) - pw, dh, dw)
        run_planes(_same_width_forward, geo.N * geo.C, args, _plane_work(geo))
    if need_weight:
        partial = np.empty((geo.N,) + weight.shape, dtype=x.dtype)
        args = (grad_out, x, partial.reshape(geo.N, geo.C, geo.kh, geo.kw), ph, pw, dh, dw)
        run_planes(_same_width_grad_weight, geo.N * geo.C, args, _plane_work(geo))
        gw = partial.sum(axis=0)
    if need_bias:
        gb = grad_out.sum(axis=(0, 2, 3), dtype=np.float64).astype(x.dtype)
    return gx, gw, gb
