"""Embedding lookups as one node: rows of a weight table picked by integer indices.

    embedding      y[..., :] = W[idx[...], :]
                   dL/dW[k] = sum of dL/dy over the positions where idx == k
                   (0 for k = padding_idx; divided by k's count in the batch with
                   scale_grad_by_freq)
    embedding_bag  y[b] = reduce over the bag b of w_j W[idx_j]  (sum, mean or max;
                   w_j = per_sample_weights, 1 when absent; padding_idx entries left out)

Both backwards are linear in dL/dy (scatter-adds at the indices; EmbeddingBag's also
multiplies by W and w); on a Tensor gradient (``create_graph``) they record as
scatter-add, gather and product nodes, so they can be differentiated again. With
``scale_grad_by_freq`` the recorded rule keeps its division by the counts, so its
derivative is exact (PyTorch's double backward gathers without the division).

The indices are validated before NumPy sees them (``check_indices``): an index outside
[0, num_embeddings) raises an IndexError naming it, never NumPy's own.

>>> from autograd_core import Tensor
>>> import numpy as np
>>> w = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
>>> Embedding.apply(w, np.array([2, 0, 2]), padding_idx=None, scale_grad_by_freq=False).tolist()
[[4.0, 5.0], [0.0, 1.0], [4.0, 5.0]]
"""

import numpy as np

from autograd_core.errors import DTypeError
from autograd_core.function import Function
from autograd_core.kernels import scatter as _scatter
from autograd_core.ops._formula import Custom
from autograd_core.ops.movement import _ScatterAdd
from autograd_core.tensor import Tensor

__all__ = ["Embedding", "EmbeddingBag", "check_indices"]


def check_indices(indices, num_embeddings: int, op: str) -> np.ndarray:
    """``indices`` as an int64 array, every value in [0, num_embeddings)."""
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise DTypeError(
            f"{op}: expected integer indices (int64 or int32), got {idx.dtype}; use .long()")
    idx = idx.astype(np.int64, copy=False)
    if idx.size:
        low, high = int(idx.min()), int(idx.max())
        if low < 0 or high >= num_embeddings:
            bad = low if low < 0 else high
            raise IndexError(
                f"{op}: index out of range in self: index {bad} is not in [0, "
                f"{num_embeddings}) (num_embeddings={num_embeddings})")
    return idx


def _scatter_rows(grad_rows, idx, num_embeddings, dtype):
    """sum of grad_rows[j] into row idx[j] of a (num_embeddings, D) zero table.

    Sorting the indices once and summing runs with np.add.reduceat is several times
    faster than np.add.at for the repeated indices of a language model's batch;
    ``kernels.scatter`` gives the same sums in one pass for float32/float64 rows.
    """
    if grad_rows.dtype == dtype and _scatter.scatter_rows_applies(grad_rows, idx,
                                                                  num_embeddings):
        return _scatter.scatter_rows(grad_rows, idx, num_embeddings)
    table = np.zeros((num_embeddings, grad_rows.shape[-1]), dtype=dtype)
    if idx.size == 0:
        return table
    order = np.argsort(idx, kind="stable")
    sorted_idx = idx[order]
    starts = np.flatnonzero(np.r_[True, sorted_idx[1:] != sorted_idx[:-1]])
    table[sorted_idx[starts]] = np.add.reduceat(grad_rows[order], starts, axis=0)
    return table


def _array(value):
    """A saved constant (indices, counts) as its array: create_graph hands out Tensors."""
    return value._data if isinstance(value, Tensor) else value


def _tensor(grad):
    return grad if isinstance(grad, Tensor) else Tensor._make(np.asarray(grad))


class Embedding(Function):
    """y = W[idx] (see the module docstring); ``idx`` is a constant input."""

    formula = Custom(
        "embedding", lambda v: [f"{v.out} = {v.args[0]}[{v.args[1]}]"],
        local=lambda v, i: "1 at the picked rows" if i == 0 else None)
    twice_differentiable = True  # on a Tensor grad: one scatter-add node

    @staticmethod
    def forward(ctx, weight, indices, *, padding_idx, scale_grad_by_freq):
        ctx.num_embeddings = weight.shape[0]
        ctx.save_for_backward(indices)
        return weight[indices]

    @staticmethod
    def backward(ctx, grad):
        (idx,) = ctx.saved_tensors
        flat_idx = _array(idx).reshape(-1)
        rows = grad.reshape(-1, grad.shape[-1])
        num = ctx.num_embeddings
        padding_idx = ctx.options["padding_idx"]
        if isinstance(grad, Tensor):  # create_graph: the same sums as a graph
            if ctx.options["scale_grad_by_freq"]:
                counts = np.bincount(flat_idx, minlength=num)
                rows = rows * (1.0 / counts[flat_idx][:, None]).astype(rows.dtype)
            if padding_idx is not None:
                keep = flat_idx != padding_idx
                rows, flat_idx = rows[keep], flat_idx[keep]
            return _ScatterAdd.apply(rows, index=(flat_idx,),
                                     shape=(num, rows.shape[-1])), None
        if ctx.options["scale_grad_by_freq"]:
            counts = np.bincount(flat_idx, minlength=num)
            rows = rows / counts[flat_idx][:, None]
        table = _scatter_rows(rows, flat_idx, num, grad.dtype)
        if padding_idx is not None:
            table[padding_idx] = 0
        return table, None


class EmbeddingBag(Function):
    """y[b] = sum / mean / max over bag b of w_j W[idx_j] (see the module docstring).

    ``indices`` (flat, int64) and ``bag_of`` (the bag of each index, -1 for a padding
    entry) are constants; ``per_sample_weights`` (or None) is differentiable.
    """

    formula = Custom("embedding_bag",
                     local=lambda v, i: ["1 at the picked rows (reduced per bag)", None,
                                         None, "W[idx]"][i])
    twice_differentiable = True  # on a Tensor grad: _bag_graph_backward

    @staticmethod
    def forward(ctx, weight, indices, bag_of, per_sample_weights, *, bags, mode):
        keep = bag_of >= 0
        idx, bag = indices[keep], bag_of[keep]
        rows = weight[idx]
        psw = None if per_sample_weights is None else per_sample_weights[keep]
        if psw is not None:
            rows = rows * psw[:, None]
        dim = weight.shape[1]
        out = np.zeros((bags, dim), dtype=weight.dtype)
        counts = np.bincount(bag, minlength=bags)
        argmax = None
        if mode == "max":
            argmax = np.full((bags, dim), -1, dtype=np.int64)
            for b in np.flatnonzero(counts):
                members = np.flatnonzero(bag == b)
                best = np.argmax(rows[members], axis=0)  # first maximum, as PyTorch
                argmax[b] = members[best]
                out[b] = rows[members[best], np.arange(dim)]
        else:
            np.add.at(out, bag, rows)
            if mode == "mean":
                out /= np.maximum(counts, 1)[:, None]
        ctx.num_embeddings = weight.shape[0]
        # per_sample_weights itself (not its kept part): in a create_graph pass it then
        # comes back as the graph's Tensor
        ctx.save_for_backward(weight, idx, bag, per_sample_weights, counts, argmax, keep)
        return out

    @staticmethod
    def backward(ctx, grad):
        if isinstance(ctx.saved_tensors[0], Tensor):  # a create_graph pass
            return _bag_graph_backward(ctx, _tensor(grad))
        weight, idx, bag, psw, counts, argmax, keep = ctx.saved_tensors
        psw = None if psw is None else psw[keep]
        mode = ctx.options["mode"]
        if mode == "max":
            row_grad = np.zeros((idx.size, grad.shape[1]), dtype=grad.dtype)
            picked = argmax >= 0
            cols = np.broadcast_to(np.arange(grad.shape[1]), argmax.shape)
            np.add.at(row_grad, (argmax[picked], cols[picked]), grad[picked])
        else:
            row_grad = grad[bag]
            if mode == "mean":
                row_grad = row_grad / np.maximum(counts, 1)[bag][:, None]
        grad_psw = None
        if ctx.needs_input_grad[3]:
            full = np.zeros(keep.shape, dtype=grad.dtype)
            full[keep] = np.sum(row_grad * weight[idx], axis=1)
            grad_psw = full
        grad_w = None
        if ctx.needs_input_grad[0]:
            if psw is not None:
                row_grad = row_grad * psw[:, None]
            grad_w = _scatter_rows(row_grad, idx, ctx.num_embeddings, grad.dtype)
        return grad_w, None, None, grad_psw


def _bag_graph_backward(ctx, grad):
    """EmbeddingBag's rule on Tensors: gathers, products and scatter-adds that record."""
    weight, idx, bag, psw, counts, argmax, keep = ctx.saved_tensors
    idx, bag, counts, argmax, keep = (_array(a) for a in (idx, bag, counts, argmax, keep))
    psw = None if psw is None else psw[keep]
    dim = grad.shape[1]
    if ctx.options["mode"] == "max":
        picked = argmax >= 0
        cols = np.broadcast_to(np.arange(dim), argmax.shape)
        row_grad = _ScatterAdd.apply(grad[picked], index=(argmax[picked], cols[picked]),
                                     shape=(idx.size, dim))
    else:
        row_grad = grad[bag]
        if ctx.options["mode"] == "mean":
            row_grad = row_grad * (1.0 / np.maximum(counts, 1)[bag][:, None]).astype(
                grad.dtype)
    grad_psw = grad_w = None
    if ctx.needs_input_grad[3]:
        grad_psw = _ScatterAdd.apply((row_grad * weight[idx]).sum(1),
                                     index=(np.flatnonzero(keep),), shape=keep.shape)
    if ctx.needs_input_grad[0]:
        if psw is not None:
            row_grad = row_grad * psw.reshape(-1, 1)
        grad_w = _ScatterAdd.apply(row_grad, index=(idx,), shape=(ctx.num_embeddings, dim))
    return grad_w, None, None, grad_psw
