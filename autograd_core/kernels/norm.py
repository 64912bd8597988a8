"""Batch-norm kernels: per-channel statistics, the output and all three gradients,
each in as few passes over the data as the maths allows.

For an input viewed as ``(N, C, L)`` (``L = H * W`` for images, 1-D signals as they
are), channel ``c`` holds ``M = N * L`` values ``x``; with ``eps > 0``::

    mu = sum(x) / M,   var = sum((x - mu)^2) / M   (biased),   r = 1 / sqrt(var + eps)
    xhat = (x - mu) r,   y = w xhat + b

    backward, g = dL/dy:   dL/db = sum(g),   dL/dw = sum(g xhat)
    training (mu, var depend on x):  dL/dx = w r (g - sum(g)/M - xhat sum(g xhat)/M)
    eval (running mu, var constant):  dL/dx = w r g

Passes over the data, over a range of channels at a time (a ``run_planes`` task),
sample-major: for each sample, the range's channels are one contiguous span, read one
channel's block after the other. (One channel's ``N`` blocks at a time, strided by
``C * L``, left the hardware prefetcher restarting at every block. Measured against
that order on a Zen 4 with the caches flushed before each call, as in a model, two
threads, ms:

=================  ===============  ===============
float32 input      forward          backward
=================  ===============  ===============
32 x 16 x 32x32    0.54 -> 0.40     0.81 -> 0.59
32 x 64 x 32x32    2.42 -> 1.51     1.81 -> 1.81
32 x 128 x 16x16   1.93 -> 0.85     1.62 -> 0.91
32 x 256 x 8x8     1.15 -> 0.68     0.91 -> 0.51
64 x 32 x 32x32    3.57 -> 2.27     1.87 -> 1.83
=================  ===============  ===============

PyTorch's took 0.79, 2.61, 1.55, 0.87, 2.92 forward and 0.73, 1.93, 1.16, 0.73, 2.03
backward there. Training steps, both orders swapped in one process: ResNet-18 w16
0.93x and VGG 0.94x their time, ResNet-18 w64 0.99x.)

* training forward: the sum, then the sum of squared deviations from the mean (two
  passes, as NumPy's ``var``: no cancellation of ``sum(x^2) - M mu^2``), then one pass
  writing ``y`` and, when a graph is recorded, ``xhat`` for the backward;
* backward: one pass for ``sum(g)`` and ``sum(g xhat)``, one writing ``grad_x``
  (eval: a single pass for all three);
* eval forward: one pass.

Planes shorter than ``SMALL_PLANE`` (the 4x4 maps of a CIFAR ResNet's last stage) make
inner loops too short to vectorise; the training kernels then run their loops over a
sample's whole span of channels, with one float64 accumulator per position.

Sums run in float64 for float32 input too (PyTorch's CPU accumulator type); the
elementwise passes compute in the input's dtype, with the per-channel constants
rounded to it first, as the NumPy code of ``ops.normalization`` does.  The reductions
are compiled with reassociation allowed so they vectorise; one channel is always
summed by one thread in one fixed order, so results are bit-identical for any thread
count.  Channels are the planes of ``_threads.run_planes`` (no OpenMP barrier; small
calls stay on the calling thread).

What is saved for the backward is ``xhat`` (not ``x`` with ``mu`` and ``r``): the
same arrays the NumPy path saves, so a backward that runs on Tensors (``create_graph``)
reads the same values whichever forward ran.  Saving ``x`` instead would spare the
forward one write (measured on 32x16x32x32 float32, one thread: 0.26 ms against
0.35 ms for the kernel) at no extra memory when ``x`` is dropped otherwise, and less
when it is kept anyway; it needs that Tensor backward to rebuild ``xhat``.

Example::

    >>> import numpy as np
    >>> x = np.arange(8, dtype=np.float32).reshape(2, 2, 2)
    >>> y, xhat, invstd, mean, var = batch_norm_forward(x, None, None, None, None,
    ...                                                 training=True, eps=0.0)
    >>> mean.tolist(), var.tolist()
    ([2.5, 4.5], [4.25, 4.25])
"""

from __future__ import annotations

import numpy as np

from ._cache import kernel
from ._indexing import _u
from ._threads import run_planes

__all__ = ["fusable", "fusable_grad", "batch_norm_forward", "batch_norm_backward"]

#: Reassociation only: the sums vectorise; no NaN/Inf assumptions, no contractions.
_REDUCE = {"reassoc"}
#: Planes (H * W, or L) shorter than this are too short for a vectorised loop of their
#: own: the training kernels then loop over a sample's span of channels at once
#: (measured on 32x128x4x4: 0.6x the time forward, 0.75x backward; slower from 8x8 on).
SMALL_PLANE = 32


def fusable(x, *params) -> bool:
    """Whether the kernels take ``x`` (and its per-channel ``params``, None allowed).

    ``x``: a non-empty C-contiguous float32/float64 array of rank 3 or 4; every param
    None or a ``(C,)`` array of ``x``'s dtype.  Anything else is left to NumPy.
    """
    if type(x) is not np.ndarray or x.ndim not in (3, 4):
        return False
    dtype = x.dtype
    if dtype.char not in "fd" or dtype.byteorder == ">" or not x.flags.c_contiguous:
        return False
    if x.size == 0:
        return False
    channels = x.shape[1]
    for p in params:
        if p is not None and (type(p) is not np.ndarray or p.dtype is not dtype
                              and p.dtype != dtype or p.shape != (channels,)):
            return False
    return True


def _flat3(x):
    n, c = x.shape[0], x.shape[1]
    return x.reshape(n, c, x.size // (n * c))


def _vector(p, channels, dtype, fill):
    """A parameter as a contiguous vector, or ``fill`` repeated when it is None."""
    return np.full(channels, fill, dtype) if p is None else np.ascontiguousarray(p).reshape(-1)


# ---------------------------------------------------------------------------- kernels


# The kernels below walk the channels [p0, p1) sample-major: for each sample, the
# inner loops run over the range's contiguous span, one channel's block after the
# other. Walking one channel's N blocks (strided by C * L) at a time left the hardware
# prefetcher restarting at every block: measured with the caches flushed, as in a
# model, 1.3-2.3x the time on the ResNet and VGG shapes (table in the module docstring).
# Each block's sums are added into its channel's sums in sample order, so a channel's
# result does not depend on the range it is in (nor on the thread count).


@kernel(nogil=True, fastmath=_REDUCE)
def _train_forward(x, weight, bias, eps, y, xhat, mean, var, invstd, p0, p1):
    N, C, L = x.shape
    xf = x.ravel()
    yf = y.ravel()
    hf = xhat.ravel()
    save = hf.size > 0
    count = N * L
    acc = np.zeros(p1 - p0)
    for n in range(N):
        for c in range(p0, p1):
            base = (n * C + c) * L
            s = 0.0
            for i in range(L):
                s += xf[_u(base + i)]
            acc[c - p0] += s
    mus = acc / count
    acc[:] = 0.0
    for n in range(N):
        for c in range(p0, p1):
            base = (n * C + c) * L
            mu = mus[c - p0]
            ss = 0.0
            for i in range(L):
                d = xf[_u(base + i)] - mu
                ss += d * d
            acc[c - p0] += ss
    for c in range(p0, p1):
        v = acc[c - p0] / count
        mean[c] = mus[c - p0]
        var[c] = v
        invstd[c] = 1.0 / np.sqrt(v + eps)
    for n in range(N):
        for c in range(p0, p1):
            base = (n * C + c) * L
            # the constants in the input's dtype (read back from the dtype's arrays)
            m, r, w, b = mean[c], invstd[c], weight[c], bias[c]
            for i in range(L):
                h = (xf[_u(base + i)] - m) * r
                if save:  # loop-invariant: compiled as two loops (measured, same speed)
                    hf[_u(base + i)] = h
                yf[_u(base + i)] = h * w + b


@kernel(nogil=True)
def _eval_forward(x, weight, bias, mean, invstd, y, xhat, p0, p1):
    N, C, L = x.shape
    xf = x.ravel()
    yf = y.ravel()
    hf = xhat.ravel()
    save = hf.size > 0
    for n in range(N):
        for c in range(p0, p1):
            base = (n * C + c) * L
            m, r, w, b = mean[c], invstd[c], weight[c], bias[c]
            for i in range(L):
                h = (xf[_u(base + i)] - m) * r
                if save:  # loop-invariant: compiled as two loops (measured, same speed)
                    hf[_u(base + i)] = h
                yf[_u(base + i)] = h * w + b


@kernel(nogil=True, fastmath=_REDUCE)
def _train_backward(g, xhat, invstd, weight, gx, sum_g, sum_gh, mean_g, mean_gh, p0, p1):
    N, C, L = g.shape
    gf = g.ravel()
    hf = xhat.ravel()
    xf = gx.ravel()
    count = N * L
    acc_g = np.zeros(p1 - p0)
    acc_gh = np.zeros(p1 - p0)
    for n in range(N):
        for c in range(p0, p1):
            base = (n * C + c) * L
            sg = 0.0
            sgh = 0.0
            for i in range(L):
                gv = np.float64(gf[_u(base + i)])
                sg += gv
                sgh += gv * hf[_u(base + i)]
            acc_g[c - p0] += sg
            acc_gh[c - p0] += sgh
    for c in range(p0, p1):
        sum_g[c] = acc_g[c - p0]
        sum_gh[c] = acc_gh[c - p0]
        mean_g[c] = acc_g[c - p0] / count
        mean_gh[c] = acc_gh[c - p0] / count
    if xf.size > 0:
        for n in range(N):
            for c in range(p0, p1):
                base = (n * C + c) * L
                mg, mgh = mean_g[c], mean_gh[c]
                scale = invstd[c] * weight[c]
                for i in range(L):
                    xf[_u(base + i)] = scale * (gf[_u(base + i)] - mg - hf[_u(base + i)] * mgh)


@kernel(nogil=True, fastmath=_REDUCE)
def _eval_backward(g, xhat, invstd, weight, gx, sum_g, sum_gh, p0, p1):
    N, C, L = g.shape
    gf = g.ravel()
    hf = xhat.ravel()
    xf = gx.ravel()
    save = xf.size > 0
    acc_g = np.zeros(p1 - p0)
    acc_gh = np.zeros(p1 - p0)
    for n in range(N):
        for c in range(p0, p1):
            base = (n * C + c) * L
            scale = invstd[c] * weight[c]
            sg = 0.0
            sgh = 0.0
            for i in range(L):
                gv = gf[_u(base + i)]
                sg += gv
                sgh += np.float64(gv) * hf[_u(base + i)]
                if save:
                    xf[_u(base + i)] = gv * scale
            acc_g[c - p0] += sg
            acc_gh[c - p0] += sgh
    for c in range(p0, p1):
        sum_g[c] = acc_g[c - p0]
        sum_gh[c] = acc_gh[c - p0]


@kernel(nogil=True, fastmath=_REDUCE)
def _train_forward_small(x, weight, bias, eps, y, xhat, mean, var, invstd, p0, p1):
    # _train_forward for small L: the inner loops run over the contiguous span of the
    # channels [p0, p1) of one sample (long enough to vectorise), summing into one
    # float64 accumulator per position; a channel's sum is then taken over its L
    # accumulators.  Each channel is still summed in one fixed order.
    N, C, L = x.shape
    xf = x.ravel()
    yf = y.ravel()
    hf = xhat.ravel()
    save = hf.size > 0
    count = N * L
    lo = p0 * L
    span = (p1 - p0) * L
    acc = np.zeros(span, np.float64)
    for n in range(N):
        base = n * C * L + lo
        for j in range(span):
            acc[j] += xf[_u(base + j)]
    mexp = np.empty(span, np.float64)
    for c in range(p0, p1):
        o = (c - p0) * L
        s = 0.0
        for i in range(L):
            s += acc[o + i]
        mu = s / count
        mean[c] = mu
        for i in range(L):
            mexp[o + i] = mu
    acc[:] = 0.0
    for n in range(N):
        base = n * C * L + lo
        for j in range(span):
            d = xf[_u(base + j)] - mexp[j]
            acc[j] += d * d
    me = np.empty(span, x.dtype)
    re = np.empty(span, x.dtype)
    we = np.empty(span, x.dtype)
    be = np.empty(span, x.dtype)
    for c in range(p0, p1):
        o = (c - p0) * L
        s = 0.0
        for i in range(L):
            s += acc[o + i]
        v = s / count
        var[c] = v
        invstd[c] = 1.0 / np.sqrt(v + eps)
        for i in range(L):
            me[o + i] = mean[c]
            re[o + i] = invstd[c]
            we[o + i] = weight[c]
            be[o + i] = bias[c]
    for n in range(N):
        base = n * C * L + lo
        for j in range(span):
            h = (xf[_u(base + j)] - me[j]) * re[j]
            if save:
                hf[_u(base + j)] = h
            yf[_u(base + j)] = h * we[j] + be[j]


@kernel(nogil=True, fastmath=_REDUCE)
def _train_backward_small(g, xhat, invstd, weight, gx, sum_g, sum_gh, mean_g, mean_gh, p0, p1):
    N, C, L = g.shape
    gf = g.ravel()
    hf = xhat.ravel()
    xf = gx.ravel()
    count = N * L
    lo = p0 * L
    span = (p1 - p0) * L
    ag = np.zeros(span, np.float64)
    agh = np.zeros(span, np.float64)
    for n in range(N):
        base = n * C * L + lo
        for j in range(span):
            gv = np.float64(gf[_u(base + j)])
            ag[j] += gv
            agh[j] += gv * hf[_u(base + j)]
    mg = np.empty(span, g.dtype)
    mgh = np.empty(span, g.dtype)
    sc = np.empty(span, g.dtype)
    for c in range(p0, p1):
        o = (c - p0) * L
        sg = 0.0
        sgh = 0.0
        for i in range(L):
            sg += ag[o + i]
            sgh += agh[o + i]
        sum_g[c] = sg
        sum_gh[c] = sgh
        mean_g[c] = sg / count
        mean_gh[c] = sgh / count
        s = invstd[c] * weight[c]
        for i in range(L):
            mg[o + i] = mean_g[c]
            mgh[o + i] = mean_gh[c]
            sc[o + i] = s
    if xf.size > 0:
        for n in range(N):
            base = n * C * L + lo
            for j in range(span):
                xf[_u(base + j)] = sc[j] * (gf[_u(base + j)] - mg[j] - hf[_u(base + j)] * mgh[j])


# ------------------------------------------------------------------------ entry points


def batch_norm_forward(x, weight, bias, running_mean, running_var, *, training, eps,
                       save=True):
    """``(y, xhat, invstd, mean, var)`` of batch norm over every axis but axis 1.

    ``x``: ``(N, C, L)`` or ``(N, C, H, W)``, C-contiguous float32/float64 (see
    :func:`fusable`); ``weight``, ``bias``: ``(C,)`` or None.  Training: the batch
    statistics normalise and ``mean``, ``var`` (biased) are returned with shape
    ``(C,)``; otherwise ``running_mean``/``running_var`` do (``mean``, ``var`` are
    None).  ``invstd`` has shape ``(1, C, 1[, 1])``; ``xhat`` (``x``'s shape) is None
    when ``save`` is False.  All in ``x``'s dtype.
    """
    params = (weight, bias) + ((running_mean, running_var) if not training else ())
    if not fusable(x, *params):
        raise TypeError(
            f"batch_norm_forward: expected a C-contiguous float32/float64 array of rank 3 or "
            f"4 with (C,) parameters of its dtype, got {type(x).__name__} "
            f"{getattr(x, 'shape', '')} {getattr(x, 'dtype', '')}"
        )
    if training and x.size // x.shape[1] <= 1:
        raise ValueError(f"batch_norm_forward: expected more than 1 value per channel "
                         f"when training, got shape {x.shape}")
    return _batch_norm_forward(x, weight, bias, running_mean, running_var, training, eps, save)


def _batch_norm_forward(x, weight, bias, running_mean, running_var, training, eps, save):
    # batch_norm_forward after validation (the op checks with fusable() itself)
    dtype, channels = x.dtype, x.shape[1]
    x3 = _flat3(x)
    w = _vector(weight, channels, dtype, 1.0)
    b = _vector(bias, channels, dtype, 0.0)
    y = np.empty_like(x3)
    xhat = np.empty_like(x3) if save else np.empty((0, 0, 0), dtype)
    invstd = np.empty(channels, dtype)
    work = 3 * x.size if training else x.size
    if training:
        mean, var = np.empty(channels, dtype), np.empty(channels, dtype)
        run_planes(_train_forward_small if x3.shape[2] < SMALL_PLANE else _train_forward,
                   channels, (x3, w, b, float(eps), y, xhat, mean, var, invstd), work)
    else:
        mean = var = None
        invstd[:] = 1.0 / np.sqrt(running_var + eps)
        run_planes(_eval_forward, channels,
                   (x3, w, b, np.ascontiguousarray(running_mean), invstd, y, xhat), work)
    shape = (1, channels) + (1,) * (x.ndim - 2)
    return (y.reshape(x.shape), xhat.reshape(x.shape) if save else None,
            invstd.reshape(shape), mean, var)


def batch_norm_backward(grad, xhat, invstd, weight, *, training, need_x=True):
    """``(grad_x, grad_weight, grad_bias)`` of :func:`batch_norm_forward`.

    ``grad`` and ``xhat``: ``x``'s shape and dtype (``grad`` may be any layout; it is
    made contiguous); ``invstd``: what the forward returned (any shape of C values);
    ``weight``: C values or None.  ``grad_x`` is None when ``need_x`` is False; the
    parameter gradients have shape ``(C,)`` (returned whether or not there are
    parameters: they cost nothing extra).
    """
    channels = xhat.shape[1] if getattr(xhat, "ndim", 0) >= 2 else 0
    invstd_c = np.asarray(invstd).reshape(-1) if invstd is not None else None
    weight_c = None if weight is None else np.asarray(weight).reshape(-1)
    if not fusable(xhat, invstd_c, weight_c) or type(grad) is not np.ndarray \
            or grad.shape != xhat.shape or grad.dtype != xhat.dtype:
        raise TypeError(
            f"batch_norm_backward: expected grad and xhat of one shape and float dtype "
            f"(xhat C-contiguous, rank 3 or 4) with {channels} per-channel values, got "
            f"grad {getattr(grad, 'shape', type(grad).__name__)} "
            f"{getattr(grad, 'dtype', '')}, xhat {getattr(xhat, 'shape', '')} "
            f"{getattr(xhat, 'dtype', '')}"
        )
    return _batch_norm_backward(grad, xhat, invstd_c, weight_c, training, need_x)


def _batch_norm_backward(grad, xhat, invstd, weight, training, need_x):
    # batch_norm_backward after validation (the op checks with fusable_grad() itself)
    dtype, channels = xhat.dtype, xhat.shape[1]
    weight_c = None if weight is None else weight.reshape(-1)
    invstd_c = invstd.reshape(-1)
    g3 = _flat3(np.ascontiguousarray(grad))
    h3 = _flat3(xhat)
    w = _vector(weight_c, channels, dtype, 1.0)
    r = np.ascontiguousarray(invstd_c)
    gx = np.empty_like(h3) if need_x else np.empty((0, 0, 0), dtype)
    sum_g, sum_gh = np.empty(channels, np.float64), np.empty(channels, np.float64)
    if training:
        scratch = np.empty(channels, dtype), np.empty(channels, dtype)
        fn = _train_backward_small if h3.shape[2] < SMALL_PLANE else _train_backward
        run_planes(fn, channels, (g3, h3, r, w, gx, sum_g, sum_gh, *scratch),
                   (5 if need_x else 2) * xhat.size)
    else:
        run_planes(_eval_backward, channels, (g3, h3, r, w, gx, sum_g, sum_gh),
                   (3 if need_x else 2) * xhat.size)
    grad_x = gx.reshape(xhat.shape) if need_x else None
    return grad_x, sum_gh.astype(dtype), sum_g.astype(dtype)


def fusable_grad(grad, xhat, invstd, weight) -> bool:
    """Whether :func:`batch_norm_backward` takes ``grad`` (an array, not a Tensor) for
    the saved ``xhat``, ``invstd`` and ``weight`` (C values each, or None for weight):
    one shape and dtype for grad and xhat, xhat as :func:`fusable` wants it."""
    if type(grad) is not np.ndarray or type(xhat) is not np.ndarray:
        return False
    if grad.shape != xhat.shape or grad.dtype != xhat.dtype or xhat.ndim not in (3, 4):
        return False
    params = [invstd] + ([] if weight is None else [weight])
    if any(type(p) is not np.ndarray or p.size != xhat.shape[1] for p in params):
        return False
    return fusable(xhat, *(p.reshape(-1) for p in params))
