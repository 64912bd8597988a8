"""Fused optimizer updates: one pass over a parameter instead of four NumPy calls.

SGD with momentum, for a parameter theta, its (effective) gradient d and momentum
buffer b, is, elementwise and in this order (``optim.sgd`` documents the algorithm)::

    b     <- b * momentum + d * (1 - dampening)    (+ d when dampening is 0)
    dir   <- d + b * momentum  (Nesterov)   or   b
    theta <- theta - dir * lr

As NumPy calls that is four to six passes over parameter-sized arrays (and a scratch
array for ``dir * lr``); fused it is one, reading theta, d and b and writing theta and
b. The operations and their order are those of the NumPy form, each rounded to the
parameters' dtype and without fused multiply-adds, so both give the same bits.
Measured on the MLP 3072-1024-1024-10 (16.8M float32 parameters, 2-core Zen 3):
``optimizer.step()`` 5.1 ms as NumPy calls, 2.2 ms for PyTorch's.

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

__all__ = ["sgd_momentum_step"]


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


def sgd_momentum_step(theta, d, b, *, lr, momentum, dampening, nesterov) -> bool:
    """Update ``theta`` and the momentum buffer ``b`` in place from the gradient ``d``
    (module docstring); True when done, False when the arrays do not suit the kernel
    (not C-contiguous float32/float64 arrays of one dtype and size): the caller then
    runs the NumPy form."""
    arrays = (theta, d, b)
    dtype = theta.dtype
    if not all(type(a) is np.ndarray and a.dtype == dtype and a.flags.c_contiguous
               and a.size == theta.size for a in arrays) or \
            dtype not in (np.float32, np.float64) or not theta.flags.writeable:
        return False
    scalar = dtype.type
    _sgd_momentum(theta.reshape(-1), d.reshape(-1), b.reshape(-1), scalar(lr),
                  scalar(momentum), scalar(1 - dampening), dampening != 0, bool(nesterov))
    return True
