"""Slow, obviously correct pooling (PyTorch semantics): plain loops over every output.

Written from PyTorch's documented rules, independently of the kernels: the output size
formula with its ceil_mode correction, the padding limit, the -inf padding and
first-maximum/NaN tie rule of max pooling, the divisors of average pooling, and the
floor/ceil bins of adaptive average pooling.
"""

import math

import numpy as np


def out_size(size, k, s, p, ceil_mode, d=1):
    span = d * (k - 1) + 1  # a dilated window's extent
    if ceil_mode:
        o = math.ceil((size + 2 * p - span) / s) + 1
        if (o - 1) * s >= size + p:  # the last window must start inside input or left pad
            o -= 1
    else:
        o = math.floor((size + 2 * p - span) / s) + 1
    return o


def _windows(H, W, k, s, p, ceil_mode):
    kh, kw = k
    sh, sw = s
    ph, pw = p
    for oh in range(out_size(H, kh, sh, ph, ceil_mode)):
        for ow in range(out_size(W, kw, sw, pw, ceil_mode)):
            yield oh, ow, oh * sh - ph, ow * sw - pw


def max_pool2d_ref(x, k, s, p, ceil_mode=False, d=(1, 1)):
    """(out, argmax) with argmax the plane-local index h*W + w of the window's winner.

    Window (oh, ow) holds the taps (oh*s - p + i*d, ow*s - p + j*d) inside the input;
    with none inside, -inf and the index of its first tap past the top/left edge.
    """
    N, C, H, W = x.shape
    OH = out_size(H, k[0], s[0], p[0], ceil_mode, d[0])
    OW = out_size(W, k[1], s[1], p[1], ceil_mode, d[1])
    out = np.empty((N, C, OH, OW), x.dtype)
    idx = np.empty((N, C, OH, OW), np.int64)
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    rows = [oh * s[0] - p[0] + i * d[0] for i in range(k[0])]
                    cols = [ow * s[1] - p[1] + j * d[1] for j in range(k[1])]
                    first_h = next(h for h in rows if h >= 0)
                    first_w = next(w for w in cols if w >= 0)
                    best, best_at = -np.inf, first_h * W + first_w
                    for h in (h for h in rows if 0 <= h < H):
                        for w in (w for w in cols if 0 <= w < W):
                            v = x[n, c, h, w]
                            if v > best or np.isnan(v):
                                best, best_at = v, h * W + w
                    out[n, c, oh, ow] = best
                    idx[n, c, oh, ow] = best_at
    return out, idx


def max_pool2d_backward_ref(grad_out, idx, x_shape):
    N, C, H, W = x_shape
    gx = np.zeros((N, C, H * W), grad_out.dtype)
    for n in range(N):
        for c in range(C):
            for g, i in zip(grad_out[n, c].ravel(), idx[n, c].ravel()):
                gx[n, c, i] += g
    return gx.reshape(x_shape)


def _avg_divisor(h0, w0, k, p, H, W, count_include_pad):
    h1 = min(h0 + k[0], H + p[0])
    w1 = min(w0 + k[1], W + p[1])
    if count_include_pad:
        return (h1 - h0) * (w1 - w0)
    return (min(h1, H) - max(h0, 0)) * (min(w1, W) - max(w0, 0))


def avg_pool2d_ref(x, k, s, p, ceil_mode=False, count_include_pad=True):
    N, C, H, W = x.shape
    OH = out_size(H, k[0], s[0], p[0], ceil_mode)
    OW = out_size(W, k[1], s[1], p[1], ceil_mode)
    out = np.empty((N, C, OH, OW), x.dtype)
    for n in range(N):
        for c in range(C):
            for oh, ow, h0, w0 in _windows(H, W, k, s, p, ceil_mode):
                window = x[n, c, max(h0, 0) : min(h0 + k[0], H), max(w0, 0) : min(w0 + k[1], W)]
                div = _avg_divisor(h0, w0, k, p, H, W, count_include_pad)
                out[n, c, oh, ow] = window.astype(np.float64).sum() / div
    return out


def avg_pool2d_backward_ref(grad_out, x_shape, k, s, p, ceil_mode=False, count_include_pad=True):
    N, C, H, W = x_shape
    gx = np.zeros(x_shape, grad_out.dtype)
    for n in range(N):
        for c in range(C):
            for oh, ow, h0, w0 in _windows(H, W, k, s, p, ceil_mode):
                div = _avg_divisor(h0, w0, k, p, H, W, count_include_pad)
                gx[n, c, max(h0, 0) : min(h0 + k[0], H), max(w0, 0) : min(w0 + k[1], W)] += (
                    grad_out[n, c, oh, ow] / div
                )
    return gx


def _bins(size, out):
    return [(math.floor(i * size / out), math.ceil((i + 1) * size / out)) for i in range(out)]


def adaptive_avg_pool2d_ref(x, output_size):
    N, C, H, W = x.shape
    OH, OW = output_size
    out = np.empty((N, C, OH, OW), x.dtype)
    for oh, (h0, h1) in enumerate(_bins(H, OH)):
        for ow, (w0, w1) in enumerate(_bins(W, OW)):
            out[:, :, oh, ow] = x[:, :, h0:h1, w0:w1].astype(np.float64).mean(axis=(2, 3))
    return out


def adaptive_avg_pool2d_backward_ref(grad_out, x_shape):
    N, C, H, W = x_shape
    OH, OW = grad_out.shape[2:]
    gx = np.zeros(x_shape, grad_out.dtype)
    for oh, (h0, h1) in enumerate(_bins(H, OH)):
        for ow, (w0, w1) in enumerate(_bins(W, OW)):
            area = (h1 - h0) * (w1 - w0)
            gx[:, :, h0:h1, w0:w1] += grad_out[:, :, oh, ow][:, :, None, None] / area
    return gx
