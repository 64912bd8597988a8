"""Elementwise kernels where NumPy is slow: ReLU's forward and backward, and a bias
added to every row.

``relu_forward(a)`` is ``np.maximum(a, 0)`` (NaN passes through, -0 gives +0), one
vectorised pass: NumPy's float32 ``maximum`` runs at about a quarter of a copy's
speed (measured on a Zen 3: 128 us against 31 us for a copy of (2048, 128)), the
kernel at about a copy's.

``relu_backward(grad, out)`` is ``dL/dx = grad where out > 0, else 0`` (``out`` the
saved ReLU output; 0 at 0, as PyTorch) in one pass over the two arrays, where NumPy's
``grad * (out > 0)`` makes a boolean temporary and a second pass (measured 0.57-0.67x
its time on the ResNet-18 CIFAR shapes, float32, one thread).  Where ``out <= 0`` the
result is +0 even when ``grad`` is -0, inf or NaN there (PyTorch's
``threshold_backward`` does the same; the product gives -0 or NaN).  A NaN output
gets 0, as in the NumPy formula (PyTorch passes ``grad`` through there).

``add_to_rows(out, bias)`` is ``out += bias`` for a bias of ``out``'s last dimension (a
linear layer's ``x W^T + b``): the same single rounding per element, so the same bits,
where NumPy's broadcast add runs short inner loops (measured on the Zen 4, (2048, 192)
float32: 67 us against 26; (128, 1024): 24 against 11).

The loops run on the calling thread: it is memory-bound, and on the shared two-core
machine a second thread made it slower (0.98-1.35x the one-thread time).  Results do
not depend on threads at all.

Example::

    >>> import numpy as np
    >>> relu_backward(np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.5, 2.0])).tolist()
    [0.0, 2.0, 3.0]
"""

from __future__ import annotations

import numpy as np

from ._cache import kernel
from ._indexing import _u

__all__ = ["relu_backward_applies", "relu_backward", "relu_forward", "add_to_rows"]


def relu_backward_applies(grad, out) -> bool:
    """Whether :func:`relu_backward` takes these: NumPy arrays (not Tensors) of one
    shape and float dtype, both C-contiguous (a broadcast grad is left to NumPy)."""
    return (type(grad) is np.ndarray and type(out) is np.ndarray
            and grad.shape == out.shape and grad.dtype == out.dtype
            and grad.dtype.char in "fd" and grad.flags.c_contiguous
            and out.flags.c_contiguous)


@kernel(nogil=True)
def _relu_forward_flat(a, out):
    for i in range(a.size):
        x = a[i]
        # "x <= 0", not "not x > 0": NaN must pass through, as in NumPy
        out[i] = 0.0 if x <= 0 else x


def relu_forward(a):
    """``np.maximum(a, 0)``, in one kernel pass for a C-contiguous float32/float64 array
    (a new array either way)."""
    if type(a) is np.ndarray and a.dtype.char in "fd" and a.flags.c_contiguous:
        out = np.empty_like(a)
        _relu_forward_flat(a.reshape(-1), out.reshape(-1))
        return out
    return np.maximum(a, 0)


@kernel(nogil=True)
def _relu_backward_flat(g, out, gx):
    for i in range(g.size):
        gx[i] = g[i] if out[i] > 0 else 0.0


def _relu_backward(grad, out):
    # relu_backward after relu_backward_applies() said yes
    gx = np.empty_like(grad)
    _relu_backward_flat(grad.reshape(-1), out.reshape(-1), gx.reshape(-1))
    return gx


def relu_backward(grad, out):
    """``grad`` where ``out > 0``, else 0 (see the module docstring)."""
    if not relu_backward_applies(grad, out):
        raise TypeError(
            f"relu_backward: expected C-contiguous float32/float64 arrays of one shape and "
            f"dtype, got grad {getattr(grad, 'shape', type(grad).__name__)} "
            f"{getattr(grad, 'dtype', '')}, out {getattr(out, 'shape', type(out).__name__)} "
            f"{getattr(out, 'dtype', '')}"
        )
    return _relu_backward(grad, out)


@kernel(nogil=True)
def _add_to_rows(out, bias):
    rows, width = out.shape
    flat = out.ravel()
    for r in range(rows):
        base = r * width
        for j in range(width):
            flat[_u(base + j)] += bias[j]


def add_to_rows(out, bias) -> bool:
    """``out += bias`` in place for a 1-D ``bias`` as long as ``out``'s last dimension,
    when both are NumPy arrays of one float dtype, ``out`` C-contiguous; returns whether
    it did (the caller adds with NumPy otherwise).  ``bias`` must not share memory with
    ``out`` (unchecked: Linear's output is a fresh GEMM result)."""
    if not (type(out) is np.ndarray and type(bias) is np.ndarray and out.ndim >= 1
            and bias.ndim == 1 and out.dtype == bias.dtype and out.dtype.char in "fd"
            and out.shape[-1] == bias.shape[0] and out.flags.c_contiguous
            and out.flags.writeable and bias.flags.c_contiguous and out.size > 0):
        return False
    _add_to_rows(out.reshape(-1, bias.shape[0]), bias)
    return True
