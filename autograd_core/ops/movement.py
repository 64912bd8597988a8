"""Movement ops: reshape, permute, expand, indexing, cat, stack.

None of these does arithmetic: each moves elements, so backward moves the gradient
back the same way: reshape it back, apply the inverse permutation, sum the copies
an expand made, scatter-add into the indexed positions (a repeated index receives the
sum of its gradients), split at the concatenation offsets.

>>> from autograd_core import Tensor
>>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> x[[0, 0, 2]].sum().backward()
>>> x.grad.tolist()
[2.0, 0.0, 1.0]
"""

import numpy as np

from autograd_core.function import Function
from autograd_core.ops._shapes import unbroadcast

__all__ = ["Reshape", "Permute", "Expand", "GetItem", "SetItem", "Cat", "Stack",
           "is_basic_index"]


class Reshape(Function):
    """y = x viewed with another shape (same elements);  dL/dx = dL/dy reshaped back."""

    @staticmethod
    def forward(ctx, x, *, shape):
        ctx.input_shape = x.shape
        return np.reshape(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return np.reshape(grad, ctx.input_shape)


class Permute(Function):
    """y = x with its axes reordered by ``dims``;  dL/dx = dL/dy with the inverse order."""

    @staticmethod
    def forward(ctx, x, *, dims):
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx, grad):
        return np.transpose(grad, np.argsort(ctx.options["dims"]))


class Expand(Function):
    """y = x broadcast to ``shape`` (a view);  dL/dx = sum of dL/dy over the copies."""

    @staticmethod
    def forward(ctx, x, *, shape):
        ctx.input_shape = x.shape
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.input_shape, "Expand")


def is_basic_index(index) -> bool:
    """True for NumPy basic indexing (ints, slices, None, Ellipsis): a view, no repeats."""
    items = index if isinstance(index, tuple) else (index,)
    return all(
        item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice))
        for item in items
    )


class GetItem(Function):
    """y = x[index];  dL/dx = zeros with dL/dy added at the indexed positions.

    Integer-array indexing may repeat a position; ``np.add.at`` sums the repeats (a plain
    assignment would keep only the last). Basic indexing never repeats, so it assigns.
    """

    @staticmethod
    def forward(ctx, x, *, index):
        ctx.input_shape = x.shape
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        index = ctx.options["index"]
        grad_x = np.zeros(ctx.input_shape, dtype=grad.dtype)
        if is_basic_index(index):
            grad_x[index] = grad
        else:
            np.add.at(grad_x, index, grad)
        return grad_x


class SetItem(Function):
    """y = x with y[index] = v (``x[index] = v`` on a tensor in a graph).

    dL/dx = dL/dy with zeros at ``index`` (those elements were overwritten);
    dL/dv = dL/dy[index] (summed back to v's shape where v was broadcast).
    """

    @staticmethod
    def forward(ctx, x, value, *, index):
        out = np.array(x, copy=True)  # never the saved array: other nodes may hold it
        out[index] = value
        return out

    @staticmethod
    def backward(ctx, grad):
        index = ctx.options["index"]
        need_x, need_value = ctx.needs_input_grad
        grad_x = None
        if need_x:
            grad_x = np.array(grad, copy=True)
            grad_x[index] = 0
        return grad_x, (grad[index] if need_value else None)


class Cat(Function):
    """y = concatenation of the inputs along ``dim``;  dL/dx_i = the slice of dL/dy for x_i."""

    @staticmethod
    def forward(ctx, *xs, dim):
        ctx.sizes = [x.shape[dim] for x in xs]
        return np.concatenate(xs, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        offsets = np.cumsum(ctx.sizes)[:-1]
        return tuple(np.split(grad, offsets, axis=ctx.options["dim"]))


class Stack(Function):
    """y = the inputs stacked along a new axis ``dim``;  dL/dx_i = dL/dy taken at i."""

    @staticmethod
    def forward(ctx, *xs, dim):
        return np.stack(xs, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.moveaxis(grad, ctx.options["dim"], 0))
