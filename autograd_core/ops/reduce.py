"""Reductions: sum, mean, max, min, var, logsumexp, softmax and log_softmax.

A reduction over axes R copies nothing forward, so backward spreads the gradient back
over R: it re-inserts the reduced axes (size 1) and broadcasts to the input's shape.

    sum:        dL/dx = broadcast(dL/dy)
    mean:       dL/dx = broadcast(dL/dy) / |R|
    max:        dL/dx = broadcast(dL/dy) at the maximum (shared evenly between ties)
    var:        dL/dx = broadcast(dL/dy) * 2 (x - mean) / (|R| - correction)
    logsumexp:  dL/dx = broadcast(dL/dy) * exp(x - y)       (= softmax(x))

``dim`` is None (all axes), an int, or a tuple of ints; negative dims count from the end.

>>> from autograd_core import Tensor
>>> x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> x.mean(dim=0).tolist()
[2.0, 3.0]
"""

import numpy as np

from autograd_core.function import Function

__all__ = ["Sum", "Mean", "Max", "Min", "Var", "LogSumExp", "Softmax", "LogSoftmax"]


def _expand_reduced(grad: np.ndarray, axes, keepdim: bool, shape: tuple) -> np.ndarray:
    """Put the reduced axes back (size 1) and broadcast ``grad`` to ``shape`` (a view)."""
    if not keepdim and axes is not None:
        grad = np.expand_dims(grad, axes)
    return np.broadcast_to(grad, shape)


def _count(shape: tuple, axes) -> int:
    if axes is None:
        return int(np.prod(shape))
    return int(np.prod([shape[a] for a in axes]))


class Sum(Function):
    """y = sum over ``dim`` of x;  dy/dx = 1 for every summed element."""

    @staticmethod
    def forward(ctx, x, *, dim=None, keepdim=False):
        ctx.shape = x.shape
        return np.sum(x, axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        return _expand_reduced(grad, ctx.options["dim"], ctx.options["keepdim"], ctx.shape)


class Mean(Function):
    """y = mean over ``dim`` of x;  dy/dx = 1 / n for the n averaged elements."""

    @staticmethod
    def forward(ctx, x, *, dim=None, keepdim=False):
        ctx.shape = x.shape
        return np.mean(x, axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        dim, keepdim = ctx.options["dim"], ctx.options["keepdim"]
        scaled = grad / _count(ctx.shape, dim)
        return _expand_reduced(scaled, dim, keepdim, ctx.shape)


def _extreme_backward(ctx, grad, pick):
    """Route the gradient of max/min to the extreme element(s).

    For a single ``dim`` the gradient goes to the first extreme along it (PyTorch's
    ``max(dim)``); for all axes or several it is shared evenly between ties (``amax``).
    """
    x, out_keep = ctx.saved_tensors
    dim, keepdim = ctx.options["dim"], ctx.options["keepdim"]
    grad_keep = grad if keepdim or dim is None else np.expand_dims(grad, dim)
    if dim is not None and len(dim) == 1:
        axis = dim[0]
        index = pick(x, axis=axis, keepdims=True)
        grad_x = np.zeros(x.shape, dtype=grad.dtype)
        np.put_along_axis(grad_x, index, grad_keep, axis=axis)
        return grad_x
    # A NaN is the maximum of anything it is in (as in PyTorch): it gets the gradient.
    hits = (x == out_keep) | (np.isnan(x) & np.isnan(out_keep))
    counts = np.sum(hits, axis=dim, keepdims=True)
    return grad_keep * hits / counts


class _Extreme(Function):
    """max or min over ``dim``: the gradient goes to the extreme element(s)."""

    reduce_fn = staticmethod(np.max)
    pick_fn = staticmethod(np.argmax)

    @classmethod
    def forward(cls, ctx, x, *, dim=None, keepdim=False):
        if x.size == 0:
            raise ValueError(f"{cls.__name__.lower()}: cannot reduce an empty tensor")
        out_keep = cls.reduce_fn(x, axis=dim, keepdims=True)
        ctx.save_for_backward(x, out_keep)
        return out_keep if keepdim else np.squeeze(out_keep, axis=dim)

    @classmethod
    def backward(cls, ctx, grad):
        return _extreme_backward(ctx, grad, cls.pick_fn)


class Max(_Extreme):
    """y = max over ``dim`` of x;  dy/dx = 1 at the maximum, 0 elsewhere."""

    reduce_fn = staticmethod(np.max)
    pick_fn = staticmethod(np.argmax)


class Min(_Extreme):
    """y = min over ``dim`` of x;  dy/dx = 1 at the minimum, 0 elsewhere."""

    reduce_fn = staticmethod(np.min)
    pick_fn = staticmethod(np.argmin)


class Var(Function):
    """y = sum (x - mean)^2 / (n - correction);  dy/dx = 2 (x - mean) / (n - correction).

    ``correction=1`` is the unbiased estimate (PyTorch's default), 0 the biased one.
    """

    @staticmethod
    def forward(ctx, x, *, dim=None, keepdim=False, correction=1):
        centered = x - np.mean(x, axis=dim, keepdims=True)
        dof = max(_count(x.shape, dim) - correction, 0)
        ctx.save_for_backward(centered)
        ctx.dof = dof
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(centered * centered, axis=dim, keepdims=keepdim) / dof

    @staticmethod
    def backward(ctx, grad):
        (centered,) = ctx.saved_tensors
        dim, keepdim = ctx.options["dim"], ctx.options["keepdim"]
        grad = grad if keepdim or dim is None else np.expand_dims(grad, dim)
        # n - correction = 0 (one value, unbiased): nan, as PyTorch, not ZeroDivisionError
        scale = 2 / ctx.dof if ctx.dof else np.nan
        return grad * scale * centered


def _stable_max(x: np.ndarray, dim) -> np.ndarray:
    """max over ``dim`` (kept), with infinite maxima replaced by 0 so x - m stays finite."""
    m = np.max(x, axis=dim, keepdims=True)
    return np.where(np.isfinite(m), m, 0)


class LogSumExp(Function):
    """y = log sum exp(x) = m + log sum exp(x - m) with m = max x;  dy/dx = exp(x - y)."""

    @staticmethod
    def forward(ctx, x, *, dim=None, keepdim=False):
        m = _stable_max(x, dim)
        with np.errstate(divide="ignore"):
            out_keep = m + np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True))
        ctx.save_for_backward(x, out_keep)
        return out_keep if keepdim else np.squeeze(out_keep, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        x, out_keep = ctx.saved_tensors
        dim, keepdim = ctx.options["dim"], ctx.options["keepdim"]
        grad = grad if keepdim or dim is None else np.expand_dims(grad, dim)
        # a slice of only -inf has logsumexp -inf and weights exp(-inf - -inf) = nan;
        # its elements have no influence, so their gradient is 0 (as PyTorch)
        with np.errstate(invalid="ignore"):
            weights = np.exp(x - out_keep)
        return grad * np.where(np.isneginf(out_keep), 0, weights)


class Softmax(Function):
    """y_i = exp(x_i - m) / sum_j exp(x_j - m) along ``dim``;  dL/dx = y (g - sum(g y))."""

    @staticmethod
    def forward(ctx, x, *, dim):
        e = np.exp(x - _stable_max(x, dim))
        out = e / np.sum(e, axis=dim, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        dim = ctx.options["dim"]
        return out * (grad - np.sum(grad * out, axis=dim, keepdims=True))


class LogSoftmax(Function):
    """y = x - logsumexp(x) along ``dim``;  dL/dx = g - softmax(x) sum(g)."""

    @staticmethod
    def forward(ctx, x, *, dim):
        shifted = x - _stable_max(x, dim)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        dim = ctx.options["dim"]
        return grad - np.exp(out) * np.sum(grad, axis=dim, keepdims=True)
