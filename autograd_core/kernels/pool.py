"""Pooling kernels: direct loops, one thread per (n, c) plane.

Geometry (PyTorch's ``pooling_output_shape``): for an input side ``N``, padding ``P``,
kernel ``F``, stride ``S`` and dilation ``d`` (max pooling only; the window's taps are
``d`` apart, spanning ``E = d(F - 1) + 1`` pixels)::

    out = floor((N + 2P - E) / S) + 1                       (ceil_mode=False)
    out = ceil((N + 2P - E) / S) + 1, minus 1 if the last window would start at or
          beyond N + P (i.e. entirely in the right padding)  (ceil_mode=True)

``P`` must be at most ``F // 2``, as PyTorch requires.

Every kernel loops over a range of ``(n, c)`` planes, and a plane's writes (the forward
output, or the scatter of the backward into ``grad_x``) come from one thread in a fixed
order: results are bit-identical for any thread count, with no atomics.  The ranges
are handed to the worker threads of ``_threads.run_planes`` (no OpenMP barrier; tiny
calls stay on the calling thread).

* max pool stores the argmax of every window as a plane-local flat index
  ``h * W + w`` (int32) for the backward, which scatters ``grad_out`` there.  Ties go
  to the first maximum in row-major order; NaN counts as the maximum (PyTorch's rule).
* avg pool divides by the window area clipped to the padded input
  (``count_include_pad=True``) or to the input itself (``False``); windows that
  ``ceil_mode`` adds are clipped at the padded border, as in PyTorch; a
  ``divisor_override`` d replaces every window's divisor by d (sums are unchanged).
* adaptive avg (and max) pool uses PyTorch's bins ``start = floor(i*H/OH)``,
  ``end = ceil((i+1)*H/OH)``; bins may overlap.  Adaptive max stores its argmax as
  max pooling does (max pooling's backward scatters the gradient there).
* max unpooling writes each input value at its plane-local index of the output
  (``out[plane][index] = x``, in row-major order of the input: a repeated index keeps
  the last value); its adjoint gathers ``grad[plane][index]``.  Both take int32 or
  int64 indices and run one plane per task, like the others.

Example: ``max_pool2d_forward(x, (2, 2), (2, 2), (0, 0), False)`` returns ``(out,
argmax)`` for an ``(N, C, H, W)`` array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import prange

from autograd_core.errors import ShapeError

from ._cache import kernel
from ._indexing import _u, _valid_range, pair, shape4
from ._threads import run_planes

__all__ = [
    "PoolGeometry",
    "pool_geometry",
    "pool_output_size",
    "adaptive_output_size",
    "max_pool2d_forward",
    "max_pool2d_backward",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
    "adaptive_avg_pool2d_forward",
    "adaptive_avg_pool2d_backward",
    "adaptive_max_pool2d_forward",
    "max_unpool2d_forward",
    "gather_planes",
]

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_INDEX_DTYPE = np.int32


# --------------------------------------------------------------------------- geometry


def pool_output_size(size, kernel, stride, pad, ceil_mode, dilation=1):
    """Pooled side length, PyTorch's rule (see the module docstring).

    >>> pool_output_size(5, 2, 2, 0, False), pool_output_size(5, 2, 2, 0, True)
    (2, 3)
    """
    span = dilation * (kernel - 1) + 1
    numerator = size + 2 * pad - span + (stride - 1 if ceil_mode else 0)
    out = numerator // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


@dataclass(frozen=True)
class PoolGeometry:
    """A validated pooling window placement over an ``(N, C, H, W)`` input."""

    N: int
    C: int
    H: int
    W: int
    kernel: tuple
    stride: tuple
    pad: tuple
    OH: int
    OW: int
    dilation: tuple = (1, 1)


def _default_stride(stride) -> bool:
    """Whether PyTorch takes ``kernel_size`` as the stride: None, also spelled ``[]``."""
    return stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)


def pool_geometry(x_shape, kernel_size, stride=None, padding=0, ceil_mode=False, dilation=1):
    """Validate pooling arguments for a 4-D shape; ``stride=None`` means ``kernel_size``.

    >>> pool_geometry((1, 1, 5, 5), 2).OH
    2
    """
    N, C, H, W = _input_shape(x_shape, "pooling")
    kh, kw = pair(kernel_size, "kernel_size", minimum=1)
    if _default_stride(stride):
        sh, sw = kh, kw
    else:
        sh, sw = pair(stride, "stride", minimum=1)
    ph, pw = pair(padding, "padding", minimum=0)
    dh, dw = pair(dilation, "dilation", minimum=1)
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(f"padding {(ph, pw)} must be at most half the kernel size {(kh, kw)}")
    OH = pool_output_size(H, kh, sh, ph, bool(ceil_mode), dh)
    OW = pool_output_size(W, kw, sw, pw, bool(ceil_mode), dw)
    if OH <= 0 or OW <= 0:
        dilated = f", dilation {(dh, dw)}" if (dh, dw) != (1, 1) else ""
        raise ValueError(
            f"pooling output would be empty: input {(H, W)}, kernel {(kh, kw)}, "
            f"stride {(sh, sw)}, padding {(ph, pw)}{dilated} give {(OH, OW)}"
        )
    return PoolGeometry(N, C, H, W, (kh, kw), (sh, sw), (ph, pw), OH, OW, (dh, dw))


def adaptive_output_size(x_shape, output_size):
    """Resolve ``output_size`` (int, or pair whose ``None`` entries keep the input size).

    >>> adaptive_output_size((1, 3, 7, 9), (None, 2))
    (7, 2)
    """
    x_shape = _input_shape(x_shape, "adaptive pooling")
    OH, OW = pair(output_size, "output_size", minimum=1, allow_none=True)
    OH = x_shape[2] if OH is None else OH
    OW = x_shape[3] if OW is None else OW
    return OH, OW


def _input_shape(x_shape, op):
    if len(x_shape) != 4:
        raise ShapeError(f"{op} expects a 4-D input (N, C, H, W), got shape {tuple(x_shape)}")
    if min(x_shape) <= 0:
        raise ShapeError(f"{op} input has an empty dimension: shape {tuple(x_shape)}")
    return shape4(x_shape, f"{op} input shape")


def _check_input(x, name="x"):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(x).__name__}")
    if x.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got dtype {x.dtype}")
    if x.ndim != 4:
        raise ValueError(f"{name} must be 4-D (N, C, H, W), got shape {x.shape}")
    return np.ascontiguousarray(x)


def _check_grad(grad_out, like_dtype, shape):
    grad_out = _check_input(grad_out, "grad_out")
    if grad_out.dtype != like_dtype:
        raise TypeError(f"grad_out has dtype {grad_out.dtype}, expected {like_dtype}")
    if grad_out.shape != tuple(shape):
        raise ValueError(f"grad_out must have shape {tuple(shape)}, got {grad_out.shape}")
    return grad_out


# ---------------------------------------------------------------------------- kernels


@kernel(nogil=True, parallel=True)
def _max_pool_forward(x, out, argmax, kh, kw, sh, sw, ph, pw, p0, p1):
    # Separable: first the max of every input row's horizontal windows, then the max of
    # kh of those down each output column.  The vertical pass runs along contiguous rows
    # (branch-free selects, vectorised); the horizontal one is short scalar chains.
    # Row-major "first maximum wins" survives the split: each row keeps its first
    # maximum, rows are merged top to bottom with a strict '>'.  A NaN always wins
    # (PyTorch's rule), the last one in row-major order, in both passes.
    N, C, H, W = x.shape
    OH, OW = out.shape[2], out.shape[3]
    xf = x.ravel()
    of = out.ravel()
    af = argmax.ravel()
    for plane in prange(p0, p1):
        row_max = np.empty(H * OW, dtype=x.dtype)
        row_arg = np.empty(H * OW, dtype=np.int32)
        x0 = plane * H * W
        for h in range(H):
            src = x0 + h * W
            dst = h * OW
            for ow in range(OW):
                w_start = ow * sw - pw
                w_end = min(w_start + kw, W)
                w_start = max(w_start, 0)
                best = xf[_u(src + w_start)]
                best_at = w_start
                for w in range(w_start + 1, w_end):
                    v = xf[_u(src + w)]
                    take = (v > best) | (v != v)
                    best = v if take else best
                    best_at = w if take else best_at
                row_max[_u(dst + ow)] = best
                row_arg[_u(dst + ow)] = best_at
        o0 = plane * OH * OW
        for oh in range(OH):
            h_start = oh * sh - ph
            h_end = min(h_start + kh, H)
            h_start = max(h_start, 0)
            d = o0 + oh * OW
            s = h_start * OW
            for ow in range(OW):
                of[_u(d + ow)] = row_max[_u(s + ow)]
                af[_u(d + ow)] = h_start * W + row_arg[_u(s + ow)]
            for h in range(h_start + 1, h_end):
                s = h * OW
                for ow in range(OW):
                    v = row_max[_u(s + ow)]
                    cur = of[_u(d + ow)]
                    take = (v > cur) | (v != v)
                    of[_u(d + ow)] = v if take else cur
                    af[_u(d + ow)] = h * W + row_arg[_u(s + ow)] if take else af[_u(d + ow)]


@kernel(nogil=True, parallel=True)
def _max_pool_2x2_forward(x, out, argmax, p0, p1):
    # The common kernel 2, stride 2, no padding: unrolled, no bounds arithmetic.
    N, C, H, W = x.shape
    OH, OW = out.shape[2], out.shape[3]
    xf = x.ravel()
    of = out.ravel()
    af = argmax.ravel()
    for plane in prange(p0, p1):
        x0 = plane * H * W
        o0 = plane * OH * OW
        for oh in range(OH):
            r0 = 2 * oh * W
            r1 = r0 + W
            for ow in range(OW):
                c0 = 2 * ow
                best = xf[_u(x0 + r0 + c0)]
                best_at = r0 + c0
                v = xf[_u(x0 + r0 + c0 + 1)]
                if v > best or v != v:
                    best = v
                    best_at = r0 + c0 + 1
                v = xf[_u(x0 + r1 + c0)]
                if v > best or v != v:
                    best = v
                    best_at = r1 + c0
                v = xf[_u(x0 + r1 + c0 + 1)]
                if v > best or v != v:
                    best = v
                    best_at = r1 + c0 + 1
                of[_u(o0 + oh * OW + ow)] = best
                af[_u(o0 + oh * OW + ow)] = best_at


@kernel(nogil=True, parallel=True)
def _max_pool_dilated_forward(x, out, argmax, kh, kw, sh, sw, ph, pw, dh, dw, p0, p1):
    # Dilated windows: taps d apart, so no shared row maxima to reuse; a direct loop
    # over the taps inside the input.  PyTorch's rules: the max starts at -inf with the
    # first tap inside the input as its index (a window of padding only keeps both),
    # then '>' keeps the first maximum in row-major order and a NaN always wins.
    N, C, H, W = x.shape
    OH, OW = out.shape[2], out.shape[3]
    xf = x.ravel()
    of = out.ravel()
    af = argmax.ravel()
    for plane in prange(p0, p1):
        x0 = plane * H * W
        o0 = plane * OH * OW
        for oh in range(OH):
            h0 = oh * sh - ph
            h1 = min(h0 + (kh - 1) * dh + 1, H)
            while h0 < 0:
                h0 += dh
            for ow in range(OW):
                w0 = ow * sw - pw
                w1 = min(w0 + (kw - 1) * dw + 1, W)
                while w0 < 0:
                    w0 += dw
                best = -np.inf
                best_at = h0 * W + w0
                for h in range(h0, h1, dh):
                    for w in range(w0, w1, dw):
                        v = xf[_u(x0 + h * W + w)]
                        if v > best or v != v:
                            best = v
                            best_at = h * W + w
                of[_u(o0 + oh * OW + ow)] = best
                af[_u(o0 + oh * OW + ow)] = best_at


@kernel(nogil=True, parallel=True)
def _max_pool_backward(grad_out, argmax, grad_x, p0, p1):
    # Also the scatter-add of max pooling's double backward and of the adjoint of a
    # gather. An index outside the plane (PyTorch's index of a window lying wholly in
    # the padding, possible only with dilation) receives nothing.
    N, C, H, W = grad_x.shape
    OH, OW = grad_out.shape[2], grad_out.shape[3]
    gf = grad_out.ravel()
    af = argmax.ravel()
    xf = grad_x.ravel()
    HW = H * W
    for plane in prange(p0, p1):
        x0 = plane * HW
        o0 = plane * OH * OW
        for t in range(HW):
            xf[_u(x0 + t)] = 0.0
        for t in range(OH * OW):
            a = af[_u(o0 + t)]
            if a >= 0 and a < HW:
                xf[_u(x0 + a)] += gf[_u(o0 + t)]


@kernel(nogil=True, parallel=True)
def _unpool_forward(x, index, out, p0, p1):
    # out[plane][index] = x, in the input's row-major order (the last write wins).
    IH, IW = x.shape[2], x.shape[3]
    OH, OW = out.shape[2], out.shape[3]
    xf = x.ravel()
    idx = index.ravel()
    of = out.ravel()
    for plane in prange(p0, p1):
        i0 = plane * IH * IW
        o0 = plane * OH * OW
        for t in range(OH * OW):
            of[_u(o0 + t)] = 0.0
        for t in range(IH * IW):
            of[_u(o0 + idx[_u(i0 + t)])] = xf[_u(i0 + t)]


@kernel(nogil=True, parallel=True)
def _gather_planes(values, index, out, p0, p1):
    # out[plane][t] = values[plane][index[plane][t]]: unpooling's adjoint.
    VH, VW = values.shape[2], values.shape[3]
    OH, OW = out.shape[2], out.shape[3]
    vf = values.ravel()
    idx = index.ravel()
    of = out.ravel()
    for plane in prange(p0, p1):
        v0 = plane * VH * VW
        o0 = plane * OH * OW
        for t in range(OH * OW):
            of[_u(o0 + t)] = vf[_u(v0 + idx[_u(o0 + t)])]


@kernel()
def _avg_window(oh, ow, kh, kw, sh, sw, ph, pw, H, W, count_include_pad, divisor):
    # PyTorch's window: the divisor counts the part inside the *padded* input (or only
    # the real input when count_include_pad is False); sums cover the real input.
    h_start = oh * sh - ph
    w_start = ow * sw - pw
    h_end = min(h_start + kh, H + ph)
    w_end = min(w_start + kw, W + pw)
    size = (h_end - h_start) * (w_end - w_start)
    h_start = max(h_start, 0)
    w_start = max(w_start, 0)
    h_end = min(h_end, H)
    w_end = min(w_end, W)
    if not count_include_pad:
        size = (h_end - h_start) * (w_end - w_start)
    if divisor != 0:  # divisor_override: one fixed divisor for every window
        size = divisor
    return h_start, h_end, w_start, w_end, size


@kernel(nogil=True, parallel=True)
def _avg_pool_forward(x, out, kh, kw, sh, sw, ph, pw, count_include_pad, divisor, p0, p1):
    # Row-at-a-time like max pooling; sums in float64 (PyTorch's CPU accumulator type).
    N, C, H, W = x.shape
    OH, OW = out.shape[2], out.shape[3]
    xf = x.ravel()
    of = out.ravel()
    for plane in prange(p0, p1):
        acc = np.empty(OW, dtype=np.float64)
        x0 = plane * H * W
        for oh in range(OH):
            o0 = (plane * OH + oh) * OW
            acc[:] = 0.0
            h_start = oh * sh - ph
            for i in range(kh):
                h = h_start + i
                if h < 0 or h >= H:
                    continue
                for j in range(kw):
                    lo, hi = _valid_range(OW, W, j - pw, sw)
                    base = x0 + h * W + j - pw
                    for ow in range(lo, hi):
                        acc[ow] += xf[_u(base + ow * sw)]
            for ow in range(OW):
                hs, he, ws, we, size = _avg_window(
                    oh, ow, kh, kw, sh, sw, ph, pw, H, W, count_include_pad, divisor
                )
                of[_u(o0 + ow)] = acc[ow] / size if he > hs and we > ws else 0.0


@kernel(nogil=True, parallel=True)
def _avg_pool_backward(grad_out, grad_x, kh, kw, sh, sw, ph, pw, count_include_pad, divisor,
                       p0, p1):
    N, C, H, W = grad_x.shape
    OH, OW = grad_out.shape[2], grad_out.shape[3]
    gf = grad_out.ravel()
    xf = grad_x.ravel()
    for plane in prange(p0, p1):
        share = np.empty(OW, dtype=grad_x.dtype)
        x0 = plane * H * W
        for t in range(H * W):
            xf[_u(x0 + t)] = 0.0
        for oh in range(OH):
            o0 = (plane * OH + oh) * OW
            for ow in range(OW):
                hs, he, ws, we, size = _avg_window(
                    oh, ow, kh, kw, sh, sw, ph, pw, H, W, count_include_pad, divisor
                )
                share[ow] = gf[_u(o0 + ow)] / size if he > hs and we > ws else 0.0
            h_start = oh * sh - ph
            for i in range(kh):
                h = h_start + i
                if h < 0 or h >= H:
                    continue
                for j in range(kw):
                    lo, hi = _valid_range(OW, W, j - pw, sw)
                    base = x0 + h * W + j - pw
                    for ow in range(lo, hi):
                        xf[_u(base + ow * sw)] += share[ow]


@kernel()
def _bin(i, size, n_out):
    # Adaptive bin i of n_out over size: floor(i size / n_out) .. ceil((i+1) size / n_out).
    return (i * size) // n_out, ((i + 1) * size + n_out - 1) // n_out


@kernel(nogil=True, parallel=True)
def _adaptive_avg_forward(x, out, p0, p1):
    N, C, H, W = x.shape
    OH, OW = out.shape[2], out.shape[3]
    xf = x.ravel()
    of = out.ravel()
    for plane in prange(p0, p1):
        x0 = plane * H * W
        o0 = plane * OH * OW
        for oh in range(OH):
            hs, he = _bin(oh, H, OH)
            for ow in range(OW):
                ws, we = _bin(ow, W, OW)
                total = 0.0
                for h in range(hs, he):
                    for w in range(ws, we):
                        total += xf[_u(x0 + h * W + w)]
                of[_u(o0 + oh * OW + ow)] = total / ((he - hs) * (we - ws))


@kernel(nogil=True, parallel=True)
def _adaptive_avg_backward(grad_out, grad_x, p0, p1):
    N, C, H, W = grad_x.shape
    OH, OW = grad_out.shape[2], grad_out.shape[3]
    gf = grad_out.ravel()
    xf = grad_x.ravel()
    for plane in prange(p0, p1):
        x0 = plane * H * W
        o0 = plane * OH * OW
        for t in range(H * W):
            xf[_u(x0 + t)] = 0.0
        for oh in range(OH):
            hs, he = _bin(oh, H, OH)
            for ow in range(OW):
                ws, we = _bin(ow, W, OW)
                g = gf[_u(o0 + oh * OW + ow)] / ((he - hs) * (we - ws))
                for h in range(hs, he):
                    for w in range(ws, we):
                        xf[_u(x0 + h * W + w)] += g


@kernel(nogil=True, parallel=True)
def _adaptive_max_forward(x, out, argmax, p0, p1):
    # The adaptive bins of _adaptive_avg_forward; max pooling's rules inside a bin: the
    # first maximum in row-major order, a NaN always wins (the last NaN, as PyTorch's
    # '>'-or-isnan test gives).
    N, C, H, W = x.shape
    OH, OW = out.shape[2], out.shape[3]
    xf = x.ravel()
    of = out.ravel()
    af = argmax.ravel()
    for plane in prange(p0, p1):
        x0 = plane * H * W
        o0 = plane * OH * OW
        for oh in range(OH):
            hs, he = _bin(oh, H, OH)
            for ow in range(OW):
                ws, we = _bin(ow, W, OW)
                best = -np.inf
                where = hs * W + ws
                for h in range(hs, he):
                    for w in range(ws, we):
                        v = xf[_u(x0 + h * W + w)]
                        if v > best or np.isnan(v):
                            best = v
                            where = h * W + w
                of[_u(o0 + oh * OW + ow)] = best
                af[_u(o0 + oh * OW + ow)] = where


# ------------------------------------------------------------------ Python wrappers
#
# Each public function validates its arguments and calls the private entry point of
# the same name (leading underscore), which trusts them: the ops validate once, when
# they compute the geometry, and call the private ones.


def _planes(geo):
    return geo.N * geo.C


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False, dilation=1):
    """Max pooling of an NCHW array: ``(out, argmax)``.

    ``out[n, c, i, j] = max over the window x_pad[n, c, i*sh : i*sh + kh, j*sw : j*sw + kw]``
    (padding never wins: it is -inf); ``argmax`` (int32, same shape) holds the winner's
    plane-local index ``h * W + w``.  With ``dilation`` d the window's taps are d apart.

    >>> out, idx = max_pool2d_forward(np.arange(16.0).reshape(1, 1, 4, 4), 2)
    >>> out[0, 0].tolist(), idx[0, 0].tolist()
    ([[5.0, 7.0], [13.0, 15.0]], [[5, 7], [13, 15]])
    """
    x = _check_input(x)
    geo = pool_geometry(x.shape, kernel_size, stride, padding, ceil_mode, dilation)
    return _max_pool2d_forward(x, geo)


def _max_pool2d_forward(x, geo):
    if geo.H * geo.W > np.iinfo(_INDEX_DTYPE).max:
        raise ShapeError(f"plane {(geo.H, geo.W)} too large for int32 argmax indices")
    x = np.ascontiguousarray(x)
    out = np.empty((geo.N, geo.C, geo.OH, geo.OW), dtype=x.dtype)
    argmax = np.empty(out.shape, dtype=_INDEX_DTYPE)
    if (geo.kernel == (2, 2) and geo.stride == (2, 2) and geo.pad == (0, 0)
            and geo.dilation == (1, 1)):
        # No ceil_mode window can reach past the input here unless a side is odd.
        if geo.OH * 2 <= geo.H and geo.OW * 2 <= geo.W:
            run_planes(_max_pool_2x2_forward, _planes(geo), (x, out, argmax), x.size)
            return out, argmax
    (kh, kw), (sh, sw), (ph, pw) = geo.kernel, geo.stride, geo.pad
    if geo.dilation != (1, 1):
        args = (x, out, argmax, kh, kw, sh, sw, ph, pw) + tuple(geo.dilation)
        run_planes(_max_pool_dilated_forward, _planes(geo), args, x.size + out.size * kh * kw)
        return out, argmax
    args = (x, out, argmax, kh, kw, sh, sw, ph, pw)
    run_planes(_max_pool_forward, _planes(geo), args, x.size + out.size * kh * kw)
    return out, argmax


def max_pool2d_backward(grad_out, argmax, x_shape):
    """Scatter ``grad_out`` to the stored argmax positions; returns ``grad_x``.

    A pixel that wins several (overlapping) windows receives the sum of their grads.
    ``argmax`` must be int32 with ``grad_out``'s shape and hold plane-local indices
    ``0 <= h * W + w < H * W`` of ``x_shape``'s planes (checked: the kernel writes
    there).

    >>> max_pool2d_backward(np.ones((1, 1, 1, 1)), np.array([[[[3]]]], np.int32),
    ...                     (1, 1, 2, 2))[0, 0].tolist()
    [[0.0, 0.0], [0.0, 1.0]]
    """
    if not isinstance(argmax, np.ndarray) or argmax.dtype != _INDEX_DTYPE:
        raise TypeError("argmax must be the int32 array returned by max_pool2d_forward")
    grad_out = _check_input(grad_out, "grad_out")
    if argmax.shape != grad_out.shape:
        raise ShapeError(f"argmax shape {argmax.shape} differs from grad_out {grad_out.shape}")
    x_shape = shape4(x_shape, "x_shape")
    if x_shape[:2] != grad_out.shape[:2]:
        raise ShapeError(f"x_shape {x_shape} does not match grad_out {grad_out.shape}")
    plane = x_shape[2] * x_shape[3]
    if argmax.size:
        low, high = int(argmax.min()), int(argmax.max())
        if low < 0 or high >= plane:
            raise ValueError(
                f"argmax holds indices in [{low}, {high}], outside the planes of x_shape "
                f"{x_shape} (0 <= h * W + w < {plane})"
            )
    return _max_pool2d_backward(grad_out, argmax, x_shape)


def _max_pool2d_backward(grad_out, argmax, x_shape):
    grad_out, argmax = np.ascontiguousarray(grad_out), np.ascontiguousarray(argmax)
    grad_x = np.empty(tuple(x_shape), dtype=grad_out.dtype)
    run_planes(
        _max_pool_backward,
        grad_x.shape[0] * grad_x.shape[1],
        (grad_out, argmax, grad_x),
        grad_x.size,
    )
    return grad_x


def avg_pool2d_forward(
    x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
    divisor_override=None,
):
    """Average pooling of an NCHW array (PyTorch's divisor rules, module docstring).

    >>> avg_pool2d_forward(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0].tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    """
    x = _check_input(x)
    geo = pool_geometry(x.shape, kernel_size, stride, padding, ceil_mode)
    return _avg_pool2d_forward(x, geo, count_include_pad, divisor_override)


def _divisor(divisor_override) -> int:
    """The kernels' divisor argument: 0 means PyTorch's window rule (which, like
    PyTorch, refuses an override of 0; a negative one is allowed, as there)."""
    if divisor_override is None:
        return 0
    if isinstance(divisor_override, bool) or not isinstance(divisor_override, (int, np.integer)):
        raise ValueError(f"divisor_override must be an integer, got {divisor_override!r}")
    if divisor_override == 0:
        raise ValueError("divisor_override must be non-zero, got 0")
    return int(divisor_override)


def _avg_pool2d_forward(x, geo, count_include_pad, divisor_override=None):
    x = np.ascontiguousarray(x)
    out = np.empty((geo.N, geo.C, geo.OH, geo.OW), dtype=x.dtype)
    (kh, kw), (sh, sw), (ph, pw) = geo.kernel, geo.stride, geo.pad
    args = (x, out, kh, kw, sh, sw, ph, pw, bool(count_include_pad), _divisor(divisor_override))
    run_planes(_avg_pool_forward, _planes(geo), args, x.size + out.size * kh * kw)
    return out


def avg_pool2d_backward(
    grad_out, x_shape, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
    divisor_override=None,
):
    """Gradient of :func:`avg_pool2d_forward`: each window spreads ``g / divisor``.

    >>> avg_pool2d_backward(np.ones((1, 1, 1, 1)), (1, 1, 2, 2), 2)[0, 0].tolist()
    [[0.25, 0.25], [0.25, 0.25]]
    """
    grad_out = _check_input(grad_out, "grad_out")
    geo = pool_geometry(shape4(x_shape, "x_shape"), kernel_size, stride, padding, ceil_mode)
    grad_out = _check_grad(grad_out, grad_out.dtype, (geo.N, geo.C, geo.OH, geo.OW))
    return _avg_pool2d_backward(grad_out, geo, count_include_pad, divisor_override)


def _avg_pool2d_backward(grad_out, geo, count_include_pad, divisor_override=None):
    grad_out = np.ascontiguousarray(grad_out)
    grad_x = np.empty((geo.N, geo.C, geo.H, geo.W), dtype=grad_out.dtype)
    (kh, kw), (sh, sw), (ph, pw) = geo.kernel, geo.stride, geo.pad
    args = (grad_out, grad_x, kh, kw, sh, sw, ph, pw, bool(count_include_pad),
            _divisor(divisor_override))
    run_planes(_avg_pool_backward, _planes(geo), args, grad_x.size + grad_out.size * kh * kw)
    return grad_x


def adaptive_avg_pool2d_forward(x, output_size):
    """Adaptive average pooling to ``output_size`` (bins ``floor(i*H/OH)..ceil((i+1)*H/OH)``).

    >>> adaptive_avg_pool2d_forward(np.arange(6.0).reshape(1, 1, 2, 3), 1).ravel().tolist()
    [2.5]
    """
    x = _check_input(x)
    return _adaptive_avg_pool2d_forward(x, adaptive_output_size(x.shape, output_size))


def _adaptive_avg_pool2d_forward(x, output_size):
    x = np.ascontiguousarray(x)
    out = np.empty(x.shape[:2] + tuple(output_size), dtype=x.dtype)
    run_planes(_adaptive_avg_forward, x.shape[0] * x.shape[1], (x, out), x.size + out.size)
    return out


def adaptive_avg_pool2d_backward(grad_out, x_shape):
    """Gradient of :func:`adaptive_avg_pool2d_forward` (``output_size`` is grad_out's).

    >>> adaptive_avg_pool2d_backward(np.ones((1, 1, 1, 1)), (1, 1, 1, 2))[0, 0].tolist()
    [[0.5, 0.5]]
    """
    grad_out = _check_input(grad_out, "grad_out")
    x_shape = shape4(x_shape, "x_shape")
    if x_shape[:2] != grad_out.shape[:2]:
        raise ShapeError(f"x_shape {x_shape} does not match grad_out {grad_out.shape}")
    if min(grad_out.shape) <= 0:
        raise ShapeError(f"grad_out has an empty dimension: {grad_out.shape}")
    return _adaptive_avg_pool2d_backward(grad_out, x_shape)


def _adaptive_avg_pool2d_backward(grad_out, x_shape):
    grad_out = np.ascontiguousarray(grad_out)
    grad_x = np.empty(tuple(x_shape), dtype=grad_out.dtype)
    run_planes(
        _adaptive_avg_backward,
        grad_x.shape[0] * grad_x.shape[1],
        (grad_out, grad_x),
        grad_x.size + grad_out.size,
    )
    return grad_x


def _index_array(indices, name="indices"):
    if not isinstance(indices, np.ndarray) or indices.dtype not in (np.int32, np.int64):
        raise TypeError(f"{name} must be an int32 or int64 NumPy array")
    if indices.ndim != 4:
        raise ValueError(f"{name} must be 4-D (N, C, H, W), got shape {indices.shape}")
    return np.ascontiguousarray(indices)


def _check_plane_indices(indices, plane, what):
    if indices.size:
        low, high = int(indices.min()), int(indices.max())
        if low < 0 or high >= plane:
            raise ValueError(f"{what}: indices hold values in [{low}, {high}], outside the "
                             f"output planes of {plane} elements (0 <= index < {plane})")


def max_unpool2d_forward(x, indices, output_hw):
    """Max unpooling of an NCHW array: zeros of ``(N, C) + output_hw`` with
    ``out[n, c].flat[indices[n, c, i, j]] = x[n, c, i, j]`` (indices as max pooling
    returns them; checked to lie in the plane).

    >>> max_unpool2d_forward(np.array([[[[7.0]]]]), np.array([[[[2]]]]), (2, 2))[0, 0].tolist()
    [[0.0, 0.0], [7.0, 0.0]]
    """
    x = _check_input(x)
    indices = _index_array(indices)
    if indices.shape != x.shape:
        raise ShapeError(f"indices shape {indices.shape} differs from x {x.shape}")
    OH, OW = pair(output_hw, "output_hw", minimum=1)
    _check_plane_indices(indices, OH * OW, "max_unpool2d")
    return _max_unpool2d_forward(x, indices, (OH, OW))


def _max_unpool2d_forward(x, indices, output_hw):
    x, indices = np.ascontiguousarray(x), np.ascontiguousarray(indices)
    out = np.empty(x.shape[:2] + tuple(output_hw), dtype=x.dtype)
    run_planes(_unpool_forward, x.shape[0] * x.shape[1], (x, indices, out),
               x.size + out.size)
    return out


def gather_planes(values, indices):
    """``out[n, c, i, j] = values[n, c].flat[indices[n, c, i, j]]``: the adjoint of
    :func:`max_unpool2d_forward` (and of the max pooling backward's scatter).

    >>> gather_planes(np.arange(4.0).reshape(1, 1, 2, 2), np.array([[[[3, 0]]]])).tolist()
    [[[[3.0, 0.0]]]]
    """
    values = _check_input(values, "values")
    indices = _index_array(indices)
    if indices.shape[:2] != values.shape[:2]:
        raise ShapeError(f"indices shape {indices.shape} does not match values {values.shape}")
    _check_plane_indices(indices, values.shape[2] * values.shape[3], "gather_planes")
    return _gather_planes_of(values, indices)


def _gather_planes_of(values, indices):
    values, indices = np.ascontiguousarray(values), np.ascontiguousarray(indices)
    out = np.empty(indices.shape, dtype=values.dtype)
    run_planes(_gather_planes, values.shape[0] * values.shape[1], (values, indices, out),
               out.size)
    return out


def adaptive_max_pool2d_forward(x, output_size):
    """Adaptive max pooling to ``output_size``: ``(out, argmax)``, the bins of
    :func:`adaptive_avg_pool2d_forward` and max pooling's argmax (plane-local, int32).

    >>> out, argmax = adaptive_max_pool2d_forward(np.arange(6.0).reshape(1, 1, 2, 3), 1)
    >>> out.ravel().tolist(), argmax.ravel().tolist()
    ([5.0], [5])
    """
    x = _check_input(x)
    return _adaptive_max_pool2d_forward(x, adaptive_output_size(x.shape, output_size))


def _adaptive_max_pool2d_forward(x, output_size):
    x = np.ascontiguousarray(x)
    shape = (x.shape[0], x.shape[1]) + tuple(output_size)
    out = np.empty(shape, dtype=x.dtype)
    argmax = np.empty(shape, dtype=_INDEX_DTYPE)
    run_planes(_adaptive_max_forward, x.shape[0] * x.shape[1], (x, out, argmax),
               x.size + out.size)
    return out, argmax
