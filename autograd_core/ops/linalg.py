"""Matrix products: matmul (with NumPy's batching and 1-D rules) and a fused linear layer.

For Y = A B with A: (n, k), B: (k, m) and upstream gradient G = dL/dY: (n, m),

    dL/dA = G B^T   (n, m) @ (m, k) -> (n, k)
    dL/dB = A^T G   (k, n) @ (n, m) -> (k, m)

Batched operands broadcast over their leading dims; the engine sums the gradient over
the batch dims an operand was broadcast along. 1-D operands are promoted to matrices
(a row on the left, a column on the right) and the promoted axis is dropped again.

>>> from autograd_core import Tensor
>>> a = Tensor([[1.0, 2.0]], requires_grad=True); b = Tensor([[3.0], [4.0]])
>>> (a @ b).backward(); a.grad.tolist()
[[3.0, 4.0]]
"""

import numpy as np

from autograd_core.errors import ShapeError
from autograd_core.function import Function
from autograd_core.ops._formula import Custom
from autograd_core.ops._registry import public

__all__ = ["MatMul", "Linear", "check_matmul_shapes"]


def check_matmul_shapes(a_shape: tuple, b_shape: tuple, op: str = "matmul"):
    """Raise a ShapeError naming both shapes when ``a @ b`` is not defined."""
    if len(a_shape) == 0 or len(b_shape) == 0:
        raise ShapeError(
            f"{op}: both operands need at least 1 dimension, got shapes {a_shape} and {b_shape}"
        )
    inner_a = a_shape[-1]
    inner_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if inner_a != inner_b:
        raise ShapeError(
            f"{op}: shapes {a_shape} and {b_shape} are not aligned: the last dim of the "
            f"first ({inner_a}) must equal the {'first' if len(b_shape) == 1 else 'second-to-last'}"
            f" dim of the second ({inner_b})"
        )
    batch_a, batch_b = a_shape[:-2], b_shape[:-2]
    try:
        np.broadcast_shapes(batch_a, batch_b)
    except ValueError:
        raise ShapeError(
            f"{op}: the batch dims of {a_shape} and {b_shape} do not broadcast "
            f"({batch_a} vs {batch_b})"
        ) from None


def _matmul_backward(v, i):
    a, b, g = v.args[0], v.args[1], v.g
    a1, b1 = v.ndim(0) == 1, v.ndim(1) == 1
    if not a1 and not b1 and v.ndim(0) == 2 and v.ndim(1) == 2:
        return f"{g} @ {b}.T" if i == 0 else f"{a}.T @ {g}"
    g2 = g  # the promoted axes put back: the column of a 1-D b first, then the row
    if b1:
        g2 = f"np.expand_dims({g2}, -1)"
    if a1:
        g2 = f"np.expand_dims({g2}, -2)"
    if i == 0:
        b2 = f"{b}[:, np.newaxis]" if b1 else b
        code = f"np.matmul({g2}, np.swapaxes({b2}, -1, -2))"
        return f"np.squeeze({code}, -2)" if a1 else code
    a2 = f"{a}[np.newaxis, :]" if a1 else a
    code = f"np.matmul(np.swapaxes({a2}, -1, -2), {g2})"
    return f"np.squeeze({code}, -1)" if b1 else code


class MatMul(Function):
    """Y = A @ B;  dL/dA = G B^T, dL/dB = A^T G (see the module docstring)."""

    twice_differentiable = True

    formula = Custom(
        "@", lambda v: [f"{v.out} = {v.args[0]} @ {v.args[1]}"], _matmul_backward,
        ["G·{1}ᵀ", "{0}ᵀ·G"])

    @staticmethod
    def forward(ctx, a, b):
        check_matmul_shapes(np.shape(a), np.shape(b))
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        a2 = a[np.newaxis, :] if a.ndim == 1 else a
        b2 = b[:, np.newaxis] if b.ndim == 1 else b
        # Re-insert the promoted axes: the column of a 1-D right operand first, so that
        # for 1-D @ 1-D the 0-d gradient becomes (1,) and then (1, 1).
        g2 = grad
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        grad_a = grad_b = None
        if need_a:
            grad_a = np.matmul(g2, np.swapaxes(b2, -1, -2))
            if a.ndim == 1:
                grad_a = np.squeeze(grad_a, -2)
        if need_b:
            grad_b = np.matmul(np.swapaxes(a2, -1, -2), g2)
            if b.ndim == 1:
                grad_b = np.squeeze(grad_b, -1)
        return grad_a, grad_b


def _linear_forward(v):
    x, w, b = v.args
    if v.inputs[2] is None:
        return [f"{v.out} = {x} @ {w}.T"]
    product = np.result_type(v.dtype(0), v.dtype(1))
    if np.result_type(product, v.dtype(2)) != product:
        return None  # the engine adds in place (keeping the dtype): use the fallback
    return [f"{v.out} = {x} @ {w}.T + {b}"]


def _linear_backward(v, i):
    x, w = v.args[0], v.args[1]
    n_out, n_in = v.shape(1)
    if i == 0:
        return f"{v.g} @ {w}"
    if i == 1:
        return f"{v.g}.reshape(-1, {n_out}).T @ {x}.reshape(-1, {n_in})"
    return f"{v.g}.reshape(-1, {n_out}).sum(axis=0)"


class Linear(Function):
    """y = x W^T + b with W: (out, in), as ``torch.nn.functional.linear``.

    One node instead of three (transpose, matmul, add). With x flattened to (n, in):
    dL/dx = G W,  dL/dW = G^T x,  dL/db = sum over n of G.
    """

    twice_differentiable = True

    formula = Custom(
        "y = x·Wᵀ + b", _linear_forward, _linear_backward, ["G·{1}", "Gᵀ·{0}", "Σₙ G"])

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        check_matmul_shapes(np.shape(x), np.shape(weight)[::-1], "linear")
        ctx.save_for_backward(x, weight)
        out = np.matmul(x, weight.T)
        if bias is not None:
            # in place when the dtypes agree (the common case); else promote as x W^T + b
            out = np.add(out, bias, out=out) if np.result_type(out, bias) == out.dtype \
                else out + bias
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        grad_2d = grad.reshape(-1, grad.shape[-1])
        grad_x = np.matmul(grad, weight) if need_x else None
        grad_w = np.matmul(grad_2d.T, x.reshape(-1, x.shape[-1])) if need_w else None
        grad_b = grad_2d.sum(axis=0) if need_b else None
        return grad_x, grad_w, grad_b


# --------------------------------------------------------------------- functional forms
@public(numpy=(np.matmul,), ops=(MatMul,))
def matmul(input, other):
    """The matrix product with NumPy's batching and 1-D rules."""
    return MatMul.apply(input, other)


def _require_dims(x, ndim, op, what):
    if np.ndim(x) != ndim:
        raise ShapeError(f"{op}: {what} must be {ndim}-D, got shape {np.shape(x)}")


@public(ops=(MatMul,))
def mm(input, mat2):
    """The product of two matrices (both 2-D)."""
    _require_dims(input, 2, "mm", "input")
    _require_dims(mat2, 2, "mm", "mat2")
    return MatMul.apply(input, mat2)


@public(ops=(MatMul,))
def mv(input, vec):
    """A matrix times a vector."""
    _require_dims(input, 2, "mv", "input")
    _require_dims(vec, 1, "mv", "vec")
    return MatMul.apply(input, vec)


@public(numpy=(np.dot,), ops=(MatMul,))
def dot(input, other):
    """The inner product of two 1-D tensors of the same length."""
    _require_dims(input, 1, "dot", "input")
    _require_dims(other, 1, "dot", "other")
    return MatMul.apply(input, other)


@public(method=False, ops=(Linear,))
def linear(input, weight, bias=None):
    """y = x W^T + b in one node (``torch.nn.functional.linear``)."""
    return Linear.apply(input, weight, bias)
