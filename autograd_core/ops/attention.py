"""Scaled dot-product attention as one node.

With q (..., L, E), k (..., S, E), v (..., S, Ev), an additive bias B (..., L, S) (the
mask: 0 where allowed, -inf where not, or any float) and a dropout mask M (0 or
1 / (1 - p), or None):

    s = q k^T * scale + B,   P = softmax(s) over S,   Pd = P M,   y = Pd v

Backward (g = dL/dy):

    dL/dv = Pd^T g,   dPd = g v^T,   dP = dPd M,
    ds = P (dP - sum_S(dP P)),   dL/dq = ds k * scale,   dL/dk = ds^T q * scale,
    dL/dB = ds

A row whose every key is masked has P = 0/0 = NaN, as in PyTorch.

Gradients of gradients (``create_graph``) replay the forward as a composite of matmul,
softmax and products (``_composite``) and differentiate that.

>>> import numpy as np
>>> from autograd_core import Tensor
>>> q = k = v = Tensor(np.eye(2)[None])
>>> y = ScaledDotProductAttention.apply(q, k, v, None, None, scale=1.0)
>>> np.round(y.numpy(), 3).tolist()
[[[0.731, 0.269], [0.269, 0.731]]]
"""

import numpy as np

from autograd_core.function import Function
from autograd_core.ops._formula import Custom

__all__ = ["ScaledDotProductAttention"]


def _swap(a):
    return np.swapaxes(a, -1, -2)


def _composite(q, k, v, bias, dropout_mask, *, scale):
    """The forward on Tensors, of twice differentiable ops (for ``create_graph``)."""
    from autograd_core.ops.reduce import softmax

    s = (q @ k.transpose(-1, -2)) * scale
    if bias is not None:
        s = s + bias
    p = softmax(s, -1)
    if dropout_mask is not None:
        p = p * dropout_mask
    return p @ v


class ScaledDotProductAttention(Function):
    """softmax(q k^T scale + bias) (dropped out) v in one node (module docstring)."""

    formula = Custom(
        "attention",
        local=lambda v, i: ["ds k·scale", "dsᵀ q·scale", "Pdᵀ", "ds", None][i])
    composite = staticmethod(_composite)

    @staticmethod
    def forward(ctx, q, k, v, bias, dropout_mask, *, scale):
        s = (q @ _swap(k)) * scale
        if bias is not None:
            s = s + bias
        m = np.max(s, axis=-1, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        e = np.exp(s - m)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = e / np.sum(e, axis=-1, keepdims=True)
        pd = p if dropout_mask is None else p * dropout_mask
        ctx.save_for_backward(q, k, v, p, dropout_mask)
        return (pd @ v).astype(q.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        q, k, v, p, mask = ctx.saved_tensors
        scale = ctx.options["scale"]
        pd = p if mask is None else p * mask
        grad_v = _swap(pd) @ grad
        dp = grad @ _swap(v)
        if mask is not None:
            dp = dp * mask
        ds = p * (dp - np.sum(dp * p, axis=-1, keepdims=True))
        grad_q = (ds @ k) * scale
        grad_k = (_swap(ds) @ q) * scale
        grad_bias = ds if ctx.needs_input_grad[3] else None
        return grad_q, grad_k, grad_v, grad_bias, None
