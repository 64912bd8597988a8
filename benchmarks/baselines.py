"""The baselines the kernels are measured against: plain NumPy and naive loops.

**Plain-NumPy im2col** is what a careful NumPy programmer writes without a compiler:
the column matrix is filled by one strided slice per kernel tap (``kh*kw`` vectorised
copies, not a loop over pixels), the convolution is one batched ``np.matmul`` (one GEMM
per group), and col2im adds the taps back with the same slices.  Its column layout is
the kernels' own (``cols[(c*kh + i)*kw + j, (n*OH + oh)*OW + ow]``), so im2col/col2im
can be cross-checked entry by entry.  As a NumPy layer would, its forward returns the
column matrix as the cache its backward uses.

**Naive loops** are the textbook definition in pure Python (nested lists, one
multiply-add per innermost iteration): the speed of the formula itself, measured on
small shapes only.

Pooling gets the same two: a NumPy version (one strided slice per window tap, argmax
as the tap index) and naive loops.  Geometry is PyTorch's throughout (padding on both
sides, floor mode).
"""

from __future__ import annotations

import numpy as np

from autograd_core.kernels import pair

__all__ = [
    "conv_out_size", "numpy_im2col", "numpy_col2im", "numpy_conv2d_forward",
    "numpy_conv2d_backward", "naive_conv2d_forward", "naive_conv2d_backward",
    "numpy_pool2d_forward", "numpy_pool2d_backward", "naive_max_pool2d_forward",
    "naive_max_pool2d_backward",
]


def conv_out_size(size: int, k: int, s: int, p: int, d: int = 1) -> int:
    """PyTorch's output side: ``floor((size + 2p - d(k-1) - 1) / s) + 1``."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _geometry(x_shape, kh, kw, stride, padding, dilation):
    N, C, H, W = x_shape
    sh, sw = pair(stride, "stride", minimum=1)
    ph, pw = pair(padding, "padding", minimum=0)
    dh, dw = pair(dilation, "dilation", minimum=1)
    OH = conv_out_size(H, kh, sh, ph, dh)
    OW = conv_out_size(W, kw, sw, pw, dw)
    return N, C, H, W, sh, sw, ph, pw, dh, dw, OH, OW


def _tap(i, j, sh, sw, dh, dw, OH, OW):
    """The strided window of tap (i, j) in the padded input: one slice per axis."""
    return (slice(i * dh, i * dh + sh * (OH - 1) + 1, sh),
            slice(j * dw, j * dw + sw * (OW - 1) + 1, sw))


# ------------------------------------------------------------------ NumPy im2col


def numpy_im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    """Column matrix ``(C*kh*kw, N*OH*OW)`` by strided slicing, one copy per tap."""
    kh, kw = pair(kernel_size, "kernel_size", minimum=1)
    N, C, H, W, sh, sw, ph, pw, dh, dw, OH, OW = _geometry(
        x.shape, kh, kw, stride, padding, dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
    cols = np.empty((C, kh, kw, N, OH, OW), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            rows, columns = _tap(i, j, sh, sw, dh, dw, OH, OW)
            cols[:, i, j] = xp[:, :, rows, columns].transpose(1, 0, 2, 3)
    return cols.reshape(C * kh * kw, N * OH * OW)


def numpy_col2im(cols, x_shape, kernel_size, stride=1, padding=0, dilation=1):
    """Adjoint of :func:`numpy_im2col`: add every tap's slice back into the input."""
    kh, kw = pair(kernel_size, "kernel_size", minimum=1)
    N, C, H, W, sh, sw, ph, pw, dh, dw, OH, OW = _geometry(
        x_shape, kh, kw, stride, padding, dilation)
    c6 = cols.reshape(C, kh, kw, N, OH, OW)
    gxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            rows, columns = _tap(i, j, sh, sw, dh, dw, OH, OW)
            gxp[:, :, rows, columns] += c6[:, i, j].transpose(1, 0, 2, 3)
    if ph or pw:
        return np.ascontiguousarray(gxp[:, :, ph:ph + H, pw:pw + W])
    return gxp


def numpy_conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """conv2d as im2col + one batched GEMM; returns ``(out, cols)`` (cols: the cache)."""
    OC, Cg, kh, kw = w.shape
    N, _, _, _, _, _, _, _, _, _, OH, OW = _geometry(x.shape, kh, kw, stride, padding, dilation)
    cols = numpy_im2col(x, (kh, kw), stride, padding, dilation)
    G, K, M = groups, Cg * kh * kw, N * OH * OW
    out = np.matmul(w.reshape(G, OC // G, K), cols.reshape(G, K, M))
    out = out.reshape(OC, N, OH, OW).transpose(1, 0, 2, 3)
    out = out + b.reshape(1, OC, 1, 1) if b is not None else np.ascontiguousarray(out)
    return out, cols


def numpy_conv2d_backward(grad_out, x, w, cols, stride=1, padding=0, dilation=1, groups=1):
    """Gradients ``(grad_x, grad_w, grad_b)`` from the forward's column matrix."""
    OC, Cg, kh, kw = w.shape
    G, K = groups, Cg * kh * kw
    g_rows = grad_out.transpose(1, 0, 2, 3).reshape(G, OC // G, -1)
    grad_w = np.matmul(g_rows, cols.reshape(G, K, -1).transpose(0, 2, 1)).reshape(w.shape)
    grad_b = grad_out.sum(axis=(0, 2, 3))
    grad_cols = np.matmul(w.reshape(G, OC // G, K).transpose(0, 2, 1), g_rows)
    grad_x = numpy_col2im(grad_cols.reshape(G * K, -1), x.shape, (kh, kw), stride, padding,
                          dilation)
    return grad_x, grad_w, grad_b


# ------------------------------------------------------------------- naive loops


def naive_conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """The definition, one multiply-add per Python iteration (small shapes only)."""
    OC, Cg, kh, kw = w.shape
    N, C, H, W, sh, sw, ph, pw, dh, dw, OH, OW = _geometry(
        x.shape, kh, kw, stride, padding, dilation)
    xl, wl = x.tolist(), w.tolist()
    bl = b.tolist() if b is not None else [0.0] * OC
    OCg = OC // groups
    out = []
    for n in range(N):
        planes = []
        for oc in range(OC):
            c0 = (oc // OCg) * Cg
            plane = []
            for oh in range(OH):
                row = []
                for ow in range(OW):
                    s = bl[oc]
                    for c in range(Cg):
                        xc, wc = xl[n][c0 + c], wl[oc][c]
                        for i in range(kh):
                            ih = oh * sh - ph + i * dh
                            if 0 <= ih < H:
                                for j in range(kw):
                                    iw = ow * sw - pw + j * dw
                                    if 0 <= iw < W:
                                        s += xc[ih][iw] * wc[i][j]
                    row.append(s)
                plane.append(row)
            planes.append(plane)
        out.append(planes)
    return np.array(out, dtype=x.dtype).reshape(N, OC, OH, OW)


def naive_conv2d_backward(grad_out, x, w, stride=1, padding=0, dilation=1, groups=1):
    """Gradients by the chain rule, looped exactly like the forward."""
    OC, Cg, kh, kw = w.shape
    N, C, H, W, sh, sw, ph, pw, dh, dw, OH, OW = _geometry(
        x.shape, kh, kw, stride, padding, dilation)
    xl, wl, gl = x.tolist(), w.tolist(), grad_out.tolist()
    gx = [[[[0.0] * W for _ in range(H)] for _ in range(C)] for _ in range(N)]
    gw = [[[[0.0] * kw for _ in range(kh)] for _ in range(Cg)] for _ in range(OC)]
    gb = [0.0] * OC
    OCg = OC // groups
    for n in range(N):
        for oc in range(OC):
            c0 = (oc // OCg) * Cg
            for oh in range(OH):
                for ow in range(OW):
                    g = gl[n][oc][oh][ow]
                    gb[oc] += g
                    for c in range(Cg):
                        xc, gxc, wc, gwc = xl[n][c0 + c], gx[n][c0 + c], wl[oc][c], gw[oc][c]
                        for i in range(kh):
                            ih = oh * sh - ph + i * dh
                            if 0 <= ih < H:
                                for j in range(kw):
                                    iw = ow * sw - pw + j * dw
                                    if 0 <= iw < W:
                                        gxc[ih][iw] += g * wc[i][j]
                                        gwc[i][j] += g * xc[ih][iw]
    dt = x.dtype
    return np.array(gx, dtype=dt), np.array(gw, dtype=dt), np.array(gb, dtype=dt)


# ----------------------------------------------------------------------- pooling


def numpy_pool2d_forward(x, kernel_size, stride=None, padding=0, mode="max"):
    """Max or average pooling by strided slicing; returns ``(out, argmax_tap)``.

    ``argmax_tap`` holds, per output, the index ``i*kw + j`` of the first maximal tap
    (None for ``mode="avg"``, which divides by ``kh*kw``: count_include_pad=True).
    """
    kh, kw = pair(kernel_size, "kernel_size", minimum=1)
    stride = pair(stride if stride is not None else (kh, kw), "stride", minimum=1)
    N, C, H, W, sh, sw, ph, pw, _, _, OH, OW = _geometry(x.shape, kh, kw, stride, padding, 1)
    fill = -np.inf if mode == "max" else 0.0
    xp = (np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
          if ph or pw else x)
    out = None
    arg = np.zeros((N, C, OH, OW), dtype=np.int32) if mode == "max" else None
    for i in range(kh):
        for j in range(kw):
            v = xp[(slice(None), slice(None)) + _tap(i, j, sh, sw, 1, 1, OH, OW)]
            if out is None:
                out = v.copy()
            elif mode == "max":
                better = v > out
                np.copyto(out, v, where=better)
                arg[better] = i * kw + j
            else:
                out += v
    if mode == "avg":
        out /= kh * kw
    return out, arg


def numpy_pool2d_backward(grad_out, x_shape, arg, kernel_size, stride=None, padding=0,
                          mode="max"):
    """Gradient of :func:`numpy_pool2d_forward`: each tap's slice gets its share."""
    kh, kw = pair(kernel_size, "kernel_size", minimum=1)
    stride = pair(stride if stride is not None else (kh, kw), "stride", minimum=1)
    N, C, H, W, sh, sw, ph, pw, _, _, OH, OW = _geometry(x_shape, kh, kw, stride, padding, 1)
    gxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=grad_out.dtype)
    share = grad_out / (kh * kw) if mode == "avg" else None
    for i in range(kh):
        for j in range(kw):
            window = (slice(None), slice(None)) + _tap(i, j, sh, sw, 1, 1, OH, OW)
            if mode == "max":
                gxp[window] += np.where(arg == i * kw + j, grad_out, 0)
            else:
                gxp[window] += share
    if ph or pw:
        return np.ascontiguousarray(gxp[:, :, ph:ph + H, pw:pw + W])
    return gxp


def naive_max_pool2d_forward(x, kernel_size, stride=None, padding=0):
    """Max pooling by the definition (pure Python); returns ``(out, argmax_flat)``."""
    kh, kw = pair(kernel_size, "kernel_size", minimum=1)
    stride = pair(stride if stride is not None else (kh, kw), "stride", minimum=1)
    N, C, H, W, sh, sw, ph, pw, _, _, OH, OW = _geometry(x.shape, kh, kw, stride, padding, 1)
    xl = x.tolist()
    out, arg = [], []
    for n in range(N):
        for c in range(C):
            plane = xl[n][c]
            for oh in range(OH):
                for ow in range(OW):
                    best, where = -float("inf"), -1
                    for i in range(kh):
                        ih = oh * sh - ph + i
                        if 0 <= ih < H:
                            for j in range(kw):
                                iw = ow * sw - pw + j
                                if 0 <= iw < W and plane[ih][iw] > best:
                                    best, where = plane[ih][iw], ih * W + iw
                    out.append(best)
                    arg.append(where)
    return (np.array(out, dtype=x.dtype).reshape(N, C, OH, OW),
            np.array(arg, dtype=np.int64).reshape(N, C, OH, OW))


def naive_max_pool2d_backward(grad_out, x_shape, arg):
    """Route each output gradient to its argmax pixel (pure Python)."""
    N, C, H, W = x_shape
    gx = np.zeros(N * C * H * W, dtype=grad_out.dtype).tolist()
    gl, al = grad_out.reshape(N * C, -1).tolist(), arg.reshape(N * C, -1).tolist()
    for p in range(N * C):
        base = p * H * W
        for g, a in zip(gl[p], al[p]):
            gx[base + a] += g
    return np.array(gx, dtype=grad_out.dtype).reshape(x_shape)
