"""Fused optimizer updates: one pass over a parameter instead of a chain of NumPy calls.

SGD with momentum, for a parameter theta, its (effective) gradient d and momentum
buffer b, is, elementwise and in this order (``optim.sgd`` documents the algorithm)::

    b     <- b * momentum + d * (1 - dampening)    (+ d when dampening is 0)
    dir   <- d + b * momentum  (Nesterov)   or   b
    theta <- theta - dir * lr

As NumPy calls that is four to six passes over parameter-sized arrays (and a scratch
array for ``dir * lr``); fused it is one, reading theta, d and b and writing theta and
b. The operations and their order are those of the NumPy form, each rounded to the
parameters' dtype and without fused multiply-adds, so both give the same bits.
Measured on the MLP 3072-1024-1024-10 (4.2M float32 parameters, 2-core Zen 3):
``optimizer.step()`` 5.1 ms as NumPy calls, 1.7 ms fused, 1.75 ms for PyTorch's.

Adam (``optim.adam``), likewise one pass with the NumPy form's operations in its
order: the first moment by ``lerp`` from the nearer end, the second moment, the
AMSGrad maximum, then ``theta -= (m / (sqrt(v) / bc2 + eps)) * step_size``.

>>> import numpy as np
>>> theta, d, b = np.ones(2), np.full(2, 2.0), np.zeros(2)
>>> sgd_momentum_step(theta, d, b, lr=0.1, momentum=0.9, dampening=0.0, nesterov=False)
True
>>> theta.tolist(), b.tolist()
([0.8, 0.8], [2.0, 2.0])
"""

from __future__ import annotations

import numpy as np

from ._cache import kernel

__all__ = ["sgd_momentum_step", "adam_step"]


@kernel(nogil=True)
def _sgd_momentum(theta, d, b, lr, momentum, keep, damped, nesterov):
    # The branches test loop invariants: LLVM moves them out of the loop.
    for i in range(theta.size):
        bi = b[i] * momentum
        if damped:
            bi = bi + d[i] * keep
        else:
            bi = bi + d[i]
        b[i] = bi
        if nesterov:
            direction = d[i] + bi * momentum
        else:
            direction = bi
        theta[i] = theta[i] - direction * lr


def _suits(theta, *others) -> bool:
    """Whether the kernels take these: C-contiguous float32/float64 arrays of one dtype
    and size, ``theta`` writeable."""
    if type(theta) is not np.ndarray:
        return False
    dtype = theta.dtype
    return (dtype in (np.float32, np.float64) and theta.flags.writeable
            and all(type(a) is np.ndarray and a.dtype == dtype and a.flags.c_contiguous
                    and a.size == theta.size for a in (theta,) + others))


def sgd_momentum_step(theta, d, b, *, lr, momentum, dampening, nesterov) -> bool:
    """Update ``theta`` and the momentum buffer ``b`` in place from the gradient ``d``
    (module docstring); True when done, False when the arrays do not suit the kernel
    (not C-contiguous float32/float64 arrays of one dtype and size): the caller then
    runs the NumPy form."""
    if not _suits(theta, d, b):
        return False
    dtype = theta.dtype
    scalar = dtype.type
    _sgd_momentum(theta.reshape(-1), d.reshape(-1), b.reshape(-1), scalar(lr),
                  scalar(momentum), scalar(1 - dampening), dampening != 0, bool(nesterov))
    return True


@kernel(inline="always", error_model="numpy")
def _moments(gi, mi, vi, weight, near_new, keep, beta2, fresh):
    """(m, v) after one step: m + weight (g - m) from the nearer end (optim.lerp_),
    then beta2 v + ((1 - beta2) g) g."""
    w = gi - mi
    if near_new:
        mi = gi - w * keep
    else:
        mi = mi + w * weight
    return mi, vi * beta2 + gi * fresh * gi


# error_model="numpy": a division by zero gives inf or NaN as in NumPy, and without
# Numba's zero test (a branch per division) the loops vectorise.
@kernel(nogil=True, error_model="numpy")
def _adam(theta, g, m, v, weight, near_new, keep, beta2, fresh, bc2_sqrt, eps, step_size):
    # Vectorised, sqrt and division included (measured, 4 x 262k float32 parameters:
    # 0.65 ms against 2.5 ms for the NumPy form; 4.4 ms with Numba's default error
    # model, whose zero test before each division kept the loop scalar).
    for i in range(theta.size):
        mi, vi = _moments(g[i], m[i], v[i], weight, near_new, keep, beta2, fresh)
        m[i] = mi
        v[i] = vi
        theta[i] = theta[i] - mi / (np.sqrt(vi) / bc2_sqrt + eps) * step_size


@kernel(nogil=True, error_model="numpy")
def _adam_amsgrad(theta, g, m, v, vmax, weight, near_new, keep, beta2, fresh, bc2_sqrt, eps,
                  step_size):
    for i in range(theta.size):
        mi, vi = _moments(g[i], m[i], v[i], weight, near_new, keep, beta2, fresh)
        m[i] = mi
        v[i] = vi
        top = vmax[i]
        if vi > top or vi != vi:  # np.maximum: a NaN on either side wins
            top = vi
        vmax[i] = top
        theta[i] = theta[i] - mi / (np.sqrt(top) / bc2_sqrt + eps) * step_size


def adam_step(theta, g, m, v, vmax, *, beta1, beta2, eps, bias_correction2_sqrt,
              step_size) -> bool:
    """One Adam update of ``theta`` and its moments ``m``, ``v`` (and the AMSGrad
    maximum ``vmax``, or None) in place from the gradient ``g``; False, with nothing
    changed, when the arrays do not suit the kernel (as :func:`sgd_momentum_step`)."""
    arrays = (theta, g, m, v) + (() if vmax is None else (vmax,))
    if not _suits(*arrays):
        return False
    dtype = theta.dtype
    scalar = dtype.type
    weight = 1.0 - beta1
    constants = (scalar(weight), weight >= 0.5, scalar(1.0 - weight), scalar(beta2),
                 scalar(1.0 - beta2), scalar(bias_correction2_sqrt), scalar(eps),
                 scalar(step_size))
    flat = [a.reshape(-1) for a in arrays]
    if vmax is None:
        _adam(*flat, *constants)
    else:
        _adam_amsgrad(*flat, *constants)
    return True
