"""Slow, obviously correct conv2d (cross-correlation, PyTorch semantics): plain loops.

Used only by the tests, as the ground truth for the Numba kernels.  Every output is
one explicit window times the weight; the backward pass walks the same windows and
adds each output's gradient back into them, so it is the forward's transpose by
construction.  Padding is given per side (top, bottom, left, right).
"""

import numpy as np


def pads_for(padding, kernel_size, dilation):
    """(top, bottom, left, right) for an int, a pair, 'valid' or 'same'."""
    kh, kw = kernel_size
    dh, dw = dilation
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        th, tw = dh * (kh - 1), dw * (kw - 1)
        return th // 2, th - th // 2, tw // 2, tw - tw // 2
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    return ph, ph, pw, pw


def _pad(x, pads):
    top, bottom, left, right = pads
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))


def _out_size(size, k, s, pad_total, d):
    return (size + pad_total - d * (k - 1) - 1) // s + 1


def conv2d_ref(x, w, b=None, stride=(1, 1), padding=0, dilation=(1, 1), groups=1):
    N, C, H, W = x.shape
    OC, Cg, kh, kw = w.shape
    sh, sw = stride
    dh, dw = dilation
    pads = pads_for(padding, (kh, kw), dilation)
    xp = _pad(x, pads)
    OH = _out_size(H, kh, sh, pads[0] + pads[1], dh)
    OW = _out_size(W, kw, sw, pads[2] + pads[3], dw)
    ocg = OC // groups
    out = np.zeros((N, OC, OH, OW), dtype=x.dtype)
    for n in range(N):
        for o in range(OC):
            g = o // ocg
            for p in range(OH):
                for q in range(OW):
                    window = xp[
                        n,
                        g * Cg : (g + 1) * Cg,
                        p * sh : p * sh + dh * (kh - 1) + 1 : dh,
                        q * sw : q * sw + dw * (kw - 1) + 1 : dw,
                    ]
                    out[n, o, p, q] = np.sum(window * w[o]) + (b[o] if b is not None else 0)
    return out


def conv2d_backward_ref(grad_out, x, w, stride=(1, 1), padding=0, dilation=(1, 1), groups=1):
    """(grad_x, grad_w, grad_b) by walking the forward's windows again."""
    N, C, H, W = x.shape
    OC, Cg, kh, kw = w.shape
    sh, sw = stride
    dh, dw = dilation
    pads = pads_for(padding, (kh, kw), dilation)
    xp = _pad(x, pads)
    gxp = np.zeros_like(xp)
    gw = np.zeros_like(w)
    ocg = OC // groups
    OH, OW = grad_out.shape[2:]
    for n in range(N):
        for o in range(OC):
            g = o // ocg
            for p in range(OH):
                for q in range(OW):
                    sl = (
                        n,
                        slice(g * Cg, (g + 1) * Cg),
                        slice(p * sh, p * sh + dh * (kh - 1) + 1, dh),
                        slice(q * sw, q * sw + dw * (kw - 1) + 1, dw),
                    )
                    go = grad_out[n, o, p, q]
                    gxp[sl] += go * w[o]
                    gw[o] += go * xp[sl]
    top, _, left, _ = pads
    gx = gxp[:, :, top : top + H, left : left + W]
    gb = grad_out.sum(axis=(0, 2, 3))
    return gx, gw, gb
