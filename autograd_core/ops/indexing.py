"""Indexing ops: gather, scatter (plain, add, reduce), index_select/index_add,
masked_fill/masked_select, index_put, nonzero.

Gathers copy elements, so backward adds the gradient back where each element came from
(``np.add.at``: a position read twice receives both gradients). Scatters write elements,
so backward sends the output's gradient to whichever input the written position came
from: the source for written positions, ``self`` for the others.

For ``dim = 0`` (other dims alike), with the index tensor ``I``:

    gather:       y[i, j] = x[I[i, j], j]          dL/dx[I[i, j], j] += dL/dy[i, j]
    scatter:      y = x; y[I[i, j], j] = s[i, j]   dL/ds[i, j] = dL/dy[I[i, j], j]
    scatter_add:  y = x; y[I[i, j], j] += s[i, j]  dL/dx = dL/dy, dL/ds = the gather

Every backward here is twice differentiable: on the create_graph path the same rules
run on Tensors through ``ops._dual`` (a gather is a recorded ``grad[I]``, a scatter of
a gradient a recorded scatter-add; masks and counts stay constants).

>>> import autograd_core as torch
>>> x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> torch.gather(x, 1, torch.tensor([[1], [0]])).tolist()
[[2.0], [3.0]]
"""

import numpy as np

from autograd_core.errors import DTypeError, ShapeError
from autograd_core.function import Function
from autograd_core.ops._dual import add_at, data, from_inputs, zero_at
from autograd_core.ops._dual import take as _take
from autograd_core.ops._formula import Custom
from autograd_core.ops._registry import method_only, public
from autograd_core.ops._shapes import normalize_dim
from autograd_core.ops.elementwise import Where
from autograd_core.ops.movement import GetItem, SetItem, getitem
from autograd_core.tensor import Tensor

__all__ = ["Scatter", "ScatterAdd", "ScatterReduce", "IndexAdd", "IndexPut", "gather",
           "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
           "masked_fill", "masked_select", "nonzero", "index_put", "take_along_dim"]


def _index_array(index, op) -> np.ndarray:
    array = index._data if isinstance(index, Tensor) else np.asarray(index)
    if array.dtype.kind not in "iu":
        raise DTypeError(f"{op}: the index must be an integer (int64) tensor, got {array.dtype}")
    return array


def _full_index(index: np.ndarray, dim: int, shape: tuple, op: str) -> tuple:
    """The NumPy index ``x[...]`` that picks, for every position of ``index``, the
    element ``index`` names along ``dim`` (its own position along the other dims)."""
    if index.ndim != len(shape) and not (index.ndim <= 1 and len(shape) <= 1):
        raise ShapeError(f"{op}: the index must have as many dims as the input; got index "
                         f"shape {index.shape} for input shape {shape}")
    for d, size in enumerate(index.shape):
        if d != dim and size > shape[d]:
            raise ShapeError(f"{op}: index shape {index.shape} is larger than input shape "
                             f"{shape} in dim {d}")
    if index.size and (index.min() < -shape[dim] or index.max() >= shape[dim]):
        bad = index.max() if index.max() >= shape[dim] else index.min()
        raise IndexError(f"{op}: index {int(bad)} is out of bounds for dim {dim} with size "
                         f"{shape[dim]}")
    grids = np.indices(index.shape, sparse=True)
    return tuple(index if d == dim else grids[d] for d in range(index.ndim))


def _source_part(src: np.ndarray, index_shape: tuple) -> np.ndarray:
    """The leading block of ``src`` that matches the index (as PyTorch reads it)."""
    if np.ndim(src) == 0:
        return np.broadcast_to(src, index_shape)
    for d, size in enumerate(index_shape):
        if size > src.shape[d]:
            raise ShapeError(f"scatter: the source shape {src.shape} is smaller than the "
                             f"index shape {index_shape} in dim {d}")
    return src[tuple(slice(0, s) for s in index_shape)]


def _grad_into_source(grad_part, src_shape):
    """The gradient of the source: the part the index read, zeros elsewhere."""
    if len(src_shape) == 0:
        return np.sum(grad_part)
    if tuple(grad_part.shape) == tuple(src_shape):
        return grad_part
    return add_at(src_shape, tuple(slice(0, s) for s in grad_part.shape), grad_part)


class Scatter(Function):
    """y = x with y[I] = src (the index tuple I built from ``index`` along ``dim``);
    dL/dx = dL/dy with 0 where written, dL/dsrc = dL/dy[I] (a later write wins)."""

    twice_differentiable = True

    formula = Custom("scatter", local=["1 where not written", "1 where written"])

    @staticmethod
    def forward(ctx, x, src, *, index, dim):
        full = _full_index(index, dim, x.shape, "scatter")
        ctx.full, ctx.src_shape = full, np.shape(src)
        out = np.array(x, copy=True)
        out[full] = _source_part(src, index.shape)
        return out

    @staticmethod
    def backward(ctx, grad):
        need_x, need_src = ctx.needs_input_grad
        grad_x = grad_src = None
        if need_x:
            grad_x = zero_at(grad, ctx.full)
        if need_src:
            grad_src = _grad_into_source(grad[ctx.full], ctx.src_shape)
        return grad_x, grad_src


class ScatterAdd(Function):
    """y = x with src added at I (repeats add up);  dL/dx = dL/dy, dL/dsrc = dL/dy[I]."""

    twice_differentiable = True

    formula = Custom("scatter_add", local=["1", "1 (gathered back)"])

    @staticmethod
    def forward(ctx, x, src, *, index, dim):
        full = _full_index(index, dim, x.shape, "scatter_add")
        ctx.full, ctx.src_shape = full, np.shape(src)
        out = np.array(x, copy=True)
        np.add.at(out, full, _source_part(src, index.shape))
        return out

    @staticmethod
    def backward(ctx, grad):
        need_x, need_src = ctx.needs_input_grad
        grad_src = _grad_into_source(grad[ctx.full], ctx.src_shape) if need_src else None
        return (grad if need_x else None), grad_src


_REDUCERS = {"sum": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum,
             "mean": np.add}


class ScatterReduce(Function):
    """y = x with the src values at each position of I reduced (sum, prod, mean, amax,
    amin; with or without x's own value). The gradient follows each reduction: 1 for
    sum, 1/count for mean, the product of the others for prod, and for amax/amin the
    elements equal to the result, shared evenly between ties (as PyTorch)."""

    twice_differentiable = True

    formula = Custom("scatter_reduce", local=["∂reduce/∂x", "∂reduce/∂src"])

    @staticmethod
    def forward(ctx, x, src, *, index, dim, reduce, include_self):
        full = _full_index(index, dim, x.shape, "scatter_reduce")
        part = _source_part(src, index.shape)
        ufunc = _REDUCERS[reduce]
        out = np.array(x, copy=True)
        written = np.zeros(x.shape, dtype=bool)
        written[full] = True
        if not include_self:
            identity = {"sum": 0, "mean": 0, "prod": 1}.get(reduce)
            if identity is None:  # amax/amin without self: start from the first value
                out[written] = np.inf if reduce == "amin" else -np.inf
            else:
                out[written] = identity
        ufunc.at(out, full, part)
        counts = np.zeros(x.shape, dtype=np.int64)
        np.add.at(counts, full, 1)
        counts += include_self
        if reduce == "mean":
            counts_safe = np.maximum(counts, 1)
            out = np.where(written, out / counts_safe, out) if out.dtype.kind == "f" else \
                np.where(written, out // counts_safe, out)
        ctx.full, ctx.src_shape, ctx.written, ctx.counts = full, np.shape(src), written, counts
        ctx.save_for_backward(x, np.asarray(part), out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, part, out = ctx.saved_tensors
        full, written = ctx.full, ctx.written
        # create_graph: the part of src the index read, recorded from the input src
        part = from_inputs(ctx, part, lambda x, src: _source_part(src, ctx.options["index"].shape))
        reduce, include_self = ctx.options["reduce"], ctx.options["include_self"]
        need_x, need_src = ctx.needs_input_grad
        keep = (~written) | include_self  # where x's own value took part
        if reduce == "sum":
            gx, gs = grad * keep, grad[full]
        elif reduce == "mean":
            scaled = grad / np.maximum(ctx.counts, 1)
            gx, gs = np.where(written, scaled * include_self, grad), scaled[full]
        elif reduce == "prod":
            with np.errstate(divide="ignore", invalid="ignore"):
                gx = np.where(written, np.where(include_self, grad * out / x, 0), grad)
                gs = (grad * out)[full] / part
        else:  # amax / amin: the elements equal to the result share its gradient
            self_hit = written & include_self & (data(x) == data(out))
            src_hit = data(part) == data(out)[full]
            ties = self_hit.astype(np.int64)
            np.add.at(ties, full, src_hit)
            share = grad / np.maximum(ties, 1)
            gx = np.where(written, share * self_hit, grad)
            gs = share[full] * src_hit
        if not isinstance(gs, Tensor):
            gs = np.asarray(gs)
        return (gx if need_x else None), (
            _grad_into_source(gs, ctx.src_shape) if need_src else None)


class IndexAdd(Function):
    """y = x with alpha * source added at ``index`` along ``dim``;  dL/dx = dL/dy,
    dL/dsource = alpha dL/dy taken at ``index``."""

    twice_differentiable = True

    formula = Custom("index_add", local=["1", "α (taken at index)"])

    @staticmethod
    def forward(ctx, x, source, *, index, dim, alpha):
        out = np.array(x, copy=True)
        moved = np.moveaxis(out, dim, 0)
        np.add.at(moved, index, np.moveaxis(np.asarray(source) * alpha, dim, 0))
        return out

    @staticmethod
    def backward(ctx, grad):
        index, dim, alpha = ctx.options["index"], ctx.options["dim"], ctx.options["alpha"]
        need_x, need_src = ctx.needs_input_grad
        return (grad if need_x else None), (
            _take(grad, index, dim) * alpha if need_src else None)


class IndexPut(Function):
    """y = x with values added at ``indices`` (``index_put(accumulate=True)``);
    dL/dx = dL/dy, dL/dvalues = dL/dy[indices]."""

    twice_differentiable = True

    formula = Custom("index_put", local=["1", "1 at the indices"])

    @staticmethod
    def forward(ctx, x, values, *, index):
        out = np.array(x, copy=True)
        np.add.at(out, index, values)
        ctx.value_shape = np.shape(values)
        return out

    @staticmethod
    def backward(ctx, grad):
        need_x, need_v = ctx.needs_input_grad
        grad_v = None
        if need_v:
            picked = grad[ctx.options["index"]]
            from autograd_core.ops._shapes import unbroadcast

            grad_v = unbroadcast(picked, ctx.value_shape, "index_put")
        return (grad if need_x else None), grad_v


# --------------------------------------------------------------------- functional forms
def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _dim_of(x, dim, op):
    return normalize_dim(dim, max(x.ndim, 1), op) if x.ndim else 0


@public(ops=(GetItem,))
def gather(input, dim, index, *, sparse_grad=False):
    """y[i][j] = x[index[i][j]][j] for dim 0 (and alike for other dims); ``index`` has
    the input's number of dims and no larger sizes outside ``dim``."""
    x = _tensor(input)
    idx = _index_array(index, "gather")
    axis = _dim_of(x, dim, "gather")
    if x.ndim == 0:
        return getitem(x.reshape(1), idx).reshape(idx.shape)
    return GetItem.apply(x, index=_full_index(idx, axis, x.shape, "gather"))


@public(ops=(GetItem,))
def take_along_dim(input, indices, dim=None):
    """As NumPy's ``take_along_axis`` (the flattened input when ``dim`` is None)."""
    x = _tensor(input)
    idx = _index_array(indices, "take_along_dim")
    if dim is None:
        return gather(x.reshape(-1), 0, idx.reshape(-1))
    axis = _dim_of(x, dim, "take_along_dim")
    shape = np.broadcast_shapes(tuple(s if d != axis else 1 for d, s in enumerate(x.shape)),
                                tuple(s if d != axis else 1 for d, s in enumerate(idx.shape)))
    target = tuple(s if d != axis else idx.shape[axis] for d, s in enumerate(shape))
    xs = tuple(s if d != axis else x.shape[axis] for d, s in enumerate(shape))
    return gather(x.expand(*xs) if tuple(x.shape) != xs else x, axis,
                  np.broadcast_to(idx, target))


def _scatter_args(input, dim, index, src, value, op):
    x = _tensor(input)
    idx = _index_array(index, op)
    if src is None:
        src = value
    if src is None:
        raise TypeError(f"{op}: give src (a tensor) or value (a number)")
    return x, _dim_of(x, dim, op), idx, _same_dtype(src, x, op)


def _same_dtype(src, x, op):
    """PyTorch's rule for scatters: a tensor source has the input's dtype; a number is
    converted to it."""
    if isinstance(src, Tensor):
        if src.dtype != x.dtype:
            raise DTypeError(f"{op}: expected the source's dtype {src.dtype} to equal the "
                             f"input's dtype {x.dtype}")
        return src
    return np.asarray(src).astype(x.dtype)


def _lift_0d(fn):
    """Run a scatter on a 0-d input as on one element (PyTorch accepts 0-d tensors)."""
    import functools

    @functools.wraps(fn)
    def run(input, dim, index, src=None, *args, **kwargs):
        if isinstance(input, Tensor) and input.ndim == 0:
            def one(x):
                return x.reshape(1) if isinstance(x, Tensor) and x.ndim == 0 else x
            idx = np.asarray(_index_array(index, fn.__name__)).reshape(1)
            return fn(input.reshape(1), dim, idx, one(src), *args, **kwargs).reshape(())
        return fn(input, dim, index, src, *args, **kwargs)

    return run


@public(ops=(Scatter,))
@_lift_0d
def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """A copy of ``input`` with ``src`` (or ``value``) written at ``index`` along ``dim``:
    y[index[i][j]][j] = src[i][j] for dim 0. ``reduce`` "add"/"multiply" combine instead."""
    x, axis, idx, src = _scatter_args(input, dim, index, src, value, "scatter")
    if reduce is not None:
        modes = {"add": "sum", "multiply": "prod"}
        if reduce not in modes:
            raise ValueError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
        return scatter_reduce(x, dim, idx, src, modes[reduce])
    return Scatter.apply(x, src, index=idx, dim=axis)


@public(ops=(ScatterAdd,))
@_lift_0d
def scatter_add(input, dim, index, src):
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeats add up)."""
    x, axis, idx, src = _scatter_args(input, dim, index, src, None, "scatter_add")
    return ScatterAdd.apply(x, src, index=idx, dim=axis)


@public(ops=(ScatterReduce,))
@_lift_0d
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """A copy of ``input`` where each position named by ``index`` holds the reduction
    ("sum", "prod", "mean", "amax", "amin") of the ``src`` values sent there (and of its
    own value when ``include_self``)."""
    if reduce not in _REDUCERS:
        raise ValueError(f"scatter_reduce: reduce must be one of {sorted(_REDUCERS)}, got "
                         f"{reduce!r}")
    x, axis, idx, src = _scatter_args(input, dim, index, src, None, "scatter_reduce")
    return ScatterReduce.apply(x, src, index=idx, dim=axis, reduce=reduce,
                               include_self=bool(include_self))


def _vector_index(index, size, op):
    idx = _index_array(index, op)
    if idx.ndim > 1:
        raise ShapeError(f"{op}: the index must be 0-d or 1-D, got shape {idx.shape}")
    if idx.size and (idx.min() < -size or idx.max() >= size):
        bad = idx.max() if idx.max() >= size else idx.min()
        raise IndexError(f"{op}: index {int(bad)} is out of range for a dim of size {size}")
    return idx.reshape(-1)


@public(ops=(GetItem,))
def index_select(input, dim, index):
    """The slices at ``index`` (0-d or 1-D) along ``dim``."""
    x = _tensor(input)
    axis = _dim_of(x, dim, "index_select")
    if x.ndim == 0:  # a 0-d input gives a 0-d result, as PyTorch
        return getitem(x.reshape(1), _vector_index(index, 1, "index_select")).reshape(())
    idx = _vector_index(index, x.shape[axis], "index_select")
    return GetItem.apply(x, index=(slice(None),) * axis + (idx,))


@public(ops=(IndexAdd,))
def index_add(input, dim, index, source, *, alpha=1):
    """A copy of ``input`` with ``alpha * source`` added at ``index`` along ``dim``."""
    x = _tensor(input)
    axis = _dim_of(x, dim, "index_add")
    idx = _vector_index(index, x.shape[axis] if x.ndim else 1, "index_add")
    expected = x.shape[:axis] + (len(idx),) + x.shape[axis + 1:]
    if tuple(np.shape(source)) != tuple(expected) and x.ndim:
        raise ShapeError(f"index_add: source must have shape {tuple(expected)}, got "
                         f"{tuple(np.shape(source))}")
    return IndexAdd.apply(x, _same_dtype(source, x, "index_add"), index=idx, dim=axis,
                          alpha=alpha)


def _mask_array(mask, op):
    array = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if array.dtype != np.bool_:
        raise DTypeError(f"{op}: the mask must be a bool tensor, got dtype {array.dtype}")
    return array


@public(ops=(Where,))
def masked_fill(input, mask, value):
    """A copy of ``input`` with ``value`` where ``mask`` (broadcast) is true."""
    x = _tensor(input)
    m = _mask_array(mask, "masked_fill")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ShapeError(f"masked_fill: value must be a number or a 0-d tensor, got shape "
                         f"{tuple(value.shape)}")
    out_shape = np.broadcast_shapes(x.shape, m.shape)
    if out_shape != tuple(x.shape):
        raise ShapeError(f"masked_fill: the mask of shape {m.shape} does not broadcast to "
                         f"the input's shape {tuple(x.shape)}")
    if not isinstance(value, Tensor):
        # a number takes the input's dtype (PyTorch converts: 1.5 fills an int tensor as 1)
        value = np.asarray(value).astype(x.dtype)
    return Where.apply(m, value, x)


@public(ops=(GetItem,))
def masked_select(input, mask):
    """The elements where ``mask`` (broadcast with ``input``) is true, as a 1-D tensor."""
    x = _tensor(input)
    m = _mask_array(mask, "masked_select")
    shape = np.broadcast_shapes(x.shape, m.shape)
    if tuple(x.shape) != shape:
        x = x.expand(*shape)
    return GetItem.apply(x, index=np.broadcast_to(m, shape))


@public(numpy=(np.argwhere,))
def nonzero(input, *, as_tuple=False):
    """The indices of the nonzero elements: an (n, ndim) int64 tensor, or with
    ``as_tuple`` one 1-D tensor per dim."""
    x = _tensor(input)
    data = np.atleast_1d(x._data) if as_tuple else x._data
    if as_tuple:
        return tuple(Tensor._make(i.astype(np.int64)) for i in np.nonzero(data))
    return Tensor._make(np.argwhere(data).astype(np.int64))


@public(method=False)
def argwhere(input):
    """The indices of the nonzero elements, an (n, ndim) int64 tensor."""
    return nonzero(input)


def _indices_tuple(indices, op):
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"{op}: indices must be a tuple of tensors")
    from autograd_core.ops.movement import normalize_index

    return normalize_index(tuple(indices))


@public(ops=(SetItem, IndexPut))
def index_put(input, indices, values, accumulate=False):
    """A copy of ``input`` with ``values`` at ``indices`` (a tuple of index tensors);
    ``accumulate=True`` adds them (repeated indices add up)."""
    x = _tensor(input)
    index = _indices_tuple(indices, "index_put")
    if accumulate:
        return IndexPut.apply(x, _same_dtype(values, x, "index_put"), index=index)
    return SetItem.apply(x, values, index=index)


@method_only(ops=(GetItem,))
def take(input, index):
    """The elements at ``index`` of the flattened input, in the index's shape."""
    return getitem(_tensor(input).reshape(-1), _index_array(index, "take"))
