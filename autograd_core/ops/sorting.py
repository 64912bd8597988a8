"""Sorting and order statistics: sort, argsort, topk, kthvalue, median, mode, msort.

Each picks elements of its input, so its values are a :func:`~autograd_core.ops.indexing.gather`
of the input at the indices it found: the gradient goes back to exactly the elements
picked (the engine's GetItem node), and the indices are int64 tensors outside the graph.
Ties are broken as PyTorch's CPU kernels do where that is defined (a stable sort keeps
the original order; ``median`` and ``kthvalue`` return the lower middle element).

>>> import autograd_core as torch
>>> torch.tensor([3.0, 1.0, 2.0]).sort().indices.tolist()
[1, 2, 0]
"""

import numpy as np

from autograd_core.ops._registry import public
from autograd_core.ops._shapes import normalize_dim
from autograd_core.ops.indexing import gather
from autograd_core.ops.movement import GetItem
from autograd_core.ops.reduce import return_types
from autograd_core.tensor import Tensor

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode"]


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _axis(x, dim, op):
    return normalize_dim(dim, max(x.ndim, 1), op) if x.ndim else 0


def _order(data: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable sorting indices along ``axis``; NaN counts as the largest value (PyTorch):
    last in ascending order, first in descending order."""
    if not descending:
        return np.argsort(data, axis=axis, kind="stable")
    if data.dtype.kind == "b":
        return np.argsort(~data, axis=axis, kind="stable")
    if data.dtype.kind in "iu":
        return np.argsort(-data.astype(np.int64), axis=axis, kind="stable")
    nan = np.isnan(data)
    # lexsort is stable; its last key is the primary one: NaN first, then larger first
    return np.lexsort((np.where(nan, 0, -data), ~nan), axis=axis)


def _picked(x: Tensor, axis: int, indices: np.ndarray):
    if x.ndim == 0:
        return x
    return gather(x, axis, indices)


@public(ops=(GetItem,))
def sort(input, dim=-1, descending=False, stable=False):
    """Values sorted along ``dim`` and where they came from: ``(values, indices)``.
    The sort is stable (equal values keep their order) whatever ``stable`` says."""
    x = _tensor(input)
    axis = _axis(x, dim, "sort")
    if x.ndim == 0:
        return return_types.sort(x, Tensor._make(np.asarray(0, dtype=np.int64)))
    order = _order(x._data, axis, descending).astype(np.int64)
    return return_types.sort(_picked(x, axis, order), Tensor._make(order))


@public()
def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim`` (a stable sort)."""
    return sort(input, dim, descending).indices


@public(ops=(GetItem,))
def msort(input):
    """The values sorted along dim 0."""
    return sort(input, 0).values


@public(ops=(GetItem,))
def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - torch's name
    """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
    x = _tensor(input)
    axis = _axis(x, dim, "topk")
    size = x.shape[axis] if x.ndim else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= size:
        raise IndexError(f"topk: k ({k!r}) must be in [0, {size}] for dim {dim} of shape "
                         f"{tuple(x.shape)}")
    if x.ndim == 0:
        return return_types.topk(x, Tensor._make(np.asarray(0, dtype=np.int64)))
    order = _order(x._data, axis, descending=largest)
    order = np.take(order, np.arange(k), axis=axis).astype(np.int64)
    return return_types.topk(_picked(x, axis, order), Tensor._make(order))


def _keep(values, indices, axis, keepdim, x):
    if keepdim or x.ndim == 0:
        return values, indices
    return values.squeeze(axis), indices.squeeze(axis)


@public(ops=(GetItem,))
def kthvalue(input, k, dim=-1, keepdim=False):
    """The ``k``-th smallest value (k counts from 1) along ``dim`` and its index."""
    x = _tensor(input)
    axis = _axis(x, dim, "kthvalue")
    size = x.shape[axis] if x.ndim else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= size:
        raise IndexError(f"kthvalue: k ({k!r}) must be in [1, {size}] for dim {dim} of "
                         f"shape {tuple(x.shape)}")
    if x.ndim == 0:
        return return_types.kthvalue(x, Tensor._make(np.asarray(0, dtype=np.int64)))
    order = _order(x._data, axis, False)
    index = np.take(order, [k - 1], axis=axis).astype(np.int64)
    return return_types.kthvalue(*_keep(_picked(x, axis, index), Tensor._make(index), axis,
                                        keepdim, x))


def _median(x, dim, keepdim, op, skip_nan):
    if dim is None:
        flat = x.reshape(-1)
        if flat.shape[0] == 0:
            raise ValueError(f"{op}: cannot take the median of an empty tensor")
        data = flat._data
        if not skip_nan and data.dtype.kind == "f" and np.isnan(data).any():
            return flat[int(np.argmax(np.isnan(data)))]
        count = int(np.sum(~np.isnan(data))) if data.dtype.kind == "f" else data.size
        order = _order(data, 0, False)
        value = data[int(order[max(count - 1, 0) // 2])]
        # PyTorch shares the gradient of the overall median evenly between its copies
        ties = np.flatnonzero(data == value)
        return flat[ties].mean() if len(ties) > 1 and data.dtype.kind == "f" else \
            flat[int(ties[0]) if len(ties) else int(order[0])]
    axis = _axis(x, dim, op)
    if x.ndim == 0:
        return return_types.median(x, Tensor._make(np.asarray(0, dtype=np.int64)))
    data = x._data
    order = _order(data, axis, False)
    nan = np.isnan(data) if data.dtype.kind == "f" else np.zeros(data.shape, dtype=bool)
    counts = np.sum(~nan, axis=axis, keepdims=True)
    if skip_nan:
        position = np.maximum(counts - 1, 0) // 2
    else:
        # a slice with a NaN has median NaN (its first NaN, as PyTorch)
        position = np.where(nan.any(axis=axis, keepdims=True), counts, (counts - 1) // 2)
    index = np.take_along_axis(order, position, axis).astype(np.int64)
    return return_types.median(*_keep(_picked(x, axis, index), Tensor._make(index), axis,
                                      keepdim, x))


@public(ops=(GetItem,))
def median(input, dim=None, keepdim=False):
    """The lower median (for an even count, the smaller of the two middle values, as
    PyTorch, not their mean): a 0-d tensor, or over ``dim`` ``(values, indices)``."""
    return _median(_tensor(input), dim, keepdim, "median", skip_nan=False)


@public(ops=(GetItem,))
def nanmedian(input, dim=None, keepdim=False):
    """As :func:`median`, ignoring NaN."""
    return _median(_tensor(input), dim, keepdim, "nanmedian", skip_nan=True)


@public(ops=(GetItem,))
def mode(input, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` (the smallest of equally frequent ones)
    and the index of its last occurrence: ``(values, indices)``."""
    x = _tensor(input)
    axis = _axis(x, dim, "mode")
    if x.ndim == 0:
        return return_types.mode(x, Tensor._make(np.asarray(0, dtype=np.int64)))
    data = np.moveaxis(x._data, axis, -1)
    n = data.shape[-1]
    if n == 0:
        raise ValueError("mode: cannot take the mode of an empty dim")
    counts = np.sum(data[..., :, None] == data[..., None, :], axis=-1)  # (..., n)
    best = counts.max(axis=-1, keepdims=True)
    # among the most frequent values the smallest; among its copies the last
    candidate = np.where(counts == best, data, np.inf if data.dtype.kind == "f" else
                         np.iinfo(np.int64).max if data.dtype.kind in "iu" else True)
    value = candidate.min(axis=-1, keepdims=True)
    last = n - 1 - np.argmax((data == value)[..., ::-1], axis=-1)
    index = np.moveaxis(last[..., None], -1, axis).astype(np.int64)
    return return_types.mode(*_keep(_picked(x, axis, index), Tensor._make(index), axis,
                                    keepdim, x))


def _np_sort(a, axis=-1, kind=None, order=None):
    if order is not None:
        raise TypeError("np.sort: order= (structured arrays) is not supported")
    x = _tensor(a)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return sort(x, axis).values


def _register_numpy():
    from autograd_core.ops._registry import NUMPY
    from autograd_core.ops.elementwise import round_

    NUMPY[np.sort] = _np_sort
    NUMPY[np.round] = NUMPY[np.around] = lambda a, decimals=0, out=None: round_(
        a, decimals=decimals)


_register_numpy()
