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

import builtins

import numpy as np

from autograd_core.errors import ShapeError
from autograd_core.function import Function
from autograd_core.ops._formula import Custom, dtype_literal, index_code, literal, unbroadcast_code
from autograd_core.ops._registry import method_only, public
from autograd_core.ops._shapes import (
    normalize_dim,
    normalize_dims,
    resolve_shape,
    shape_arg,
    unbroadcast,
)
from autograd_core.ops.reduce import Sum
from autograd_core.tensor import Tensor

__all__ = ["Reshape", "Permute", "Expand", "GetItem", "SetItem", "Cat", "Stack",
           "is_basic_index"]



def _reshape_target(v) -> str:
    """The new shape as flat code writes it: a kept leading (batch) dim becomes -1, so
    the code runs on any batch size (``Flatten``: (N, C, H, W) -> (-1, C*H*W))."""
    shape = tuple(v.opt["shape"])
    old = tuple(v.shape(0))
    if len(shape) >= 2 and len(old) >= 2 and shape[0] == old[0] and -1 not in shape[1:]:
        return literal((-1,) + shape[1:])
    return literal(shape)


class Reshape(Function):
    """y = x viewed with another shape (same elements);  dL/dx = dL/dy reshaped back."""

    twice_differentiable = True

    formula = Custom(
        "reshape", lambda v: [f"{v.out} = np.reshape({v.args[0]}, {_reshape_target(v)})"],
        lambda v, i: f"np.reshape({v.g}, {v.args[0]}.shape)",
        lambda v, i: "1 (reshaped back)")

    @staticmethod
    def forward(ctx, x, *, shape):
        ctx.input_shape = x.shape
        return np.reshape(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return np.reshape(grad, ctx.input_shape)


class Permute(Function):
    """y = x with its axes reordered by ``dims``;  dL/dx = dL/dy with the inverse order."""

    twice_differentiable = True

    formula = Custom(
        "permute",
        lambda v: [f"{v.out} = np.transpose({v.args[0]}, {literal(tuple(v.opt['dims']))})"],
        lambda v, i: f"np.transpose({v.g}, "
                     f"{literal(tuple(int(d) for d in np.argsort(v.opt['dims'])))})",
        lambda v, i: "1 (axes put back)")

    @staticmethod
    def forward(ctx, x, *, dims):
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx, grad):
        return np.transpose(grad, np.argsort(ctx.options["dims"]))


class Expand(Function):
    """y = x broadcast to ``shape`` (a view);  dL/dx = sum of dL/dy over the copies."""

    twice_differentiable = True

    formula = Custom(
        "expand", lambda v: [f"{v.out} = np.broadcast_to({v.args[0]}, {literal(v.opt['shape'])})"],
        lambda v, i: unbroadcast_code(v.g, v.out_shape, v.shape(0)),
        lambda v, i: "1 (copies summed)")

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


def _getitem_backward(v, i):
    from autograd_core.ops.movement import is_basic_index

    index = v.opt["index"]
    t = v.tmp("grad")
    setup = [f"{t} = np.zeros({literal(v.shape(0))}, dtype={dtype_literal(v.grad_dtype)})"]
    if is_basic_index(index):
        setup.append(f"{t}[{index_code(index)}] = {v.g}")
    else:
        setup.append(f"np.add.at({t}, {literal(index)}, {v.g})  # repeated indices add up")
    return setup, t


class GetItem(Function):
    """y = x[index];  dL/dx = zeros with dL/dy added at the indexed positions.

    Integer-array indexing may repeat a position; ``np.add.at`` sums the repeats (a plain
    assignment would keep only the last). Basic indexing never repeats, so it assigns.
    """

    twice_differentiable = True

    formula = Custom(
        "[]", lambda v: [f"{v.out} = {v.args[0]}[{index_code(v.opt['index'])}]"],
        _getitem_backward, lambda v, i: "1 at the picked elements")

    @staticmethod
    def forward(ctx, x, *, index):
        ctx.input_shape = x.shape
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        index = ctx.options["index"]
        if isinstance(grad, Tensor):  # create_graph: the scatter as a node of its own
            return _ScatterAdd.apply(grad, index=index, shape=ctx.input_shape)
        return _scatter_add(grad, index, ctx.input_shape)

    @staticmethod
    def indexed_backward(ctx, grad):
        # A basic index picks each element at most once: the engine can add ``grad``
        # into x's gradient at ``index`` (the pieces of a split then share one array).
        index = ctx.options["index"]
        return (index, grad) if is_basic_index(index) else None


def _scatter_add(values, index, shape):
    out = np.zeros(shape, dtype=values.dtype)
    if is_basic_index(index):
        out[index] = values
    else:
        np.add.at(out, index, values)
    return out


class _ScatterAdd(Function):
    """y = zeros(shape) with x added at ``index`` (repeats add up): GetItem's adjoint, so
    dL/dx = dL/dy[index]. It appears only in the graphs of gradients (create_graph)."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, *, index, shape):
        return _scatter_add(x, index, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.options["index"]]


class SetItem(Function):
    """y = x with y[index] = v (``x[index] = v`` on a tensor in a graph).

    dL/dx = dL/dy with zeros at ``index`` (those elements were overwritten);
    dL/dv = dL/dy[index] (summed back to v's shape where v was broadcast).
    """

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, value, *, index):
        out = np.array(x, copy=True)  # never the saved array: other nodes may hold it
        out[index] = value
        if ctx.needs_input_grad[0]:
            kept = np.ones(x.shape, dtype=bool)
            kept[index] = False  # the overwritten elements pass no gradient back to x
            ctx.save_for_backward(kept)
        return out

    @staticmethod
    def backward(ctx, grad):
        index = ctx.options["index"]
        need_x, need_value = ctx.needs_input_grad
        grad_x = grad * ctx.saved_tensors[0] if need_x else None
        return grad_x, (grad[index] if need_value else None)


def _cat_backward(v, i):
    dim = v.opt["dim"]
    sizes = [v.shape(k)[dim] for k in range(len(v.inputs))]
    offsets = [int(o) for o in np.cumsum(sizes)[:-1]]
    return f"np.split({v.g}, {literal(offsets)}, axis={dim})[{i}]"


def _sequence(v) -> str:
    inner = ", ".join(v.args)
    return f"({inner},)" if len(v.args) == 1 else f"({inner})"


class Cat(Function):
    """y = concatenation of the inputs along ``dim``;  dL/dx_i = the slice of dL/dy for x_i.

    The slices are basic indexing (views of an array; a recorded GetItem on a Tensor),
    so the rule is twice differentiable.
    """

    twice_differentiable = True

    formula = Custom(
        "cat", lambda v: [f"{v.out} = np.concatenate({_sequence(v)}, axis={v.opt['dim']})"],
        _cat_backward, lambda v, i: f"1 (slice {i})")

    @staticmethod
    def forward(ctx, *xs, dim):
        ctx.sizes = [x.shape[dim] for x in xs]
        return np.concatenate(xs, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        dim = ctx.options["dim"] % grad.ndim
        before = (slice(None),) * dim
        grads, start = [], 0
        for size in ctx.sizes:
            grads.append(grad[before + (slice(start, start + size),)])
            start += size
        return tuple(grads)


class Stack(Function):
    """y = the inputs stacked along a new axis ``dim``;  dL/dx_i = dL/dy taken at i."""

    twice_differentiable = True

    formula = Custom(
        "stack", lambda v: [f"{v.out} = np.stack({_sequence(v)}, axis={v.opt['dim']})"],
        lambda v, i: f"np.moveaxis({v.g}, {v.opt['dim']}, 0)[{i}]",
        lambda v, i: f"1 (entry {i})")

    @staticmethod
    def forward(ctx, *xs, dim):
        return np.stack(xs, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        moved = np.moveaxis(grad, ctx.options["dim"], 0)
        return tuple(moved[i] for i in range(moved.shape[0]))


# --------------------------------------------------------------------- functional forms
@public(numpy=(np.reshape,), ops=(Reshape,))
def reshape(input, *shape, newshape=None):
    """The same elements in ``shape`` (one entry may be -1: inferred)."""
    x = _tensor(input)
    if newshape is not None:
        shape = (newshape,)
    shape = resolve_shape(shape_arg(shape, "reshape"), x._data.size, x._data.shape, "reshape")
    if shape == x._data.shape:
        return x
    return Reshape.apply(x, shape=shape)


@method_only(ops=(Reshape,))
def view(input, *shape):
    """As :meth:`reshape` (NumPy decides whether a copy is needed); ``view(dtype)`` is
    not supported."""
    return reshape(input, *shape)


@method_only(ops=(Reshape,))
def view_as(input, other):
    return reshape(input, other.shape)


@method_only(ops=(Reshape,))
def reshape_as(input, other):
    return reshape(input, other.shape)


@public(ops=(Reshape,))
def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one."""
    x = _tensor(input)
    if x.ndim == 0:
        return reshape(x, 1)
    start = normalize_dim(start_dim, x.ndim, "flatten")
    end = normalize_dim(end_dim, x.ndim, "flatten")
    if start > end:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    merged = int(np.prod(x.shape[start:end + 1]))
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


@public(ops=(Reshape,))
def unflatten(input, dim, sizes):
    """Split dim ``dim`` into ``sizes`` (one may be -1)."""
    x = _tensor(input)
    axis = normalize_dim(dim, x.ndim, "unflatten")
    sizes = resolve_shape(shape_arg((sizes,), "unflatten"), x.shape[axis], (x.shape[axis],),
                          "unflatten")
    return reshape(x, x.shape[:axis] + sizes + x.shape[axis + 1:])


@public(ops=(Permute,))
def permute(input, *dims):
    """The dims in the order ``dims`` (a permutation of all of them)."""
    x = _tensor(input)
    dims = shape_arg(dims, "permute")
    if len(dims) != x.ndim:
        raise ShapeError(
            f"permute: got {len(dims)} dims {dims} for a tensor with {x.ndim} dims"
        )
    axes = tuple(normalize_dim(d, x.ndim, "permute") for d in dims)
    if sorted(axes) != list(range(x.ndim)):
        raise ShapeError(f"permute: {dims} is not a permutation of the {x.ndim} dims")
    return Permute.apply(x, dims=axes)


@public(numpy=(np.transpose,), ops=(Permute,))
def transpose(input, dim0=None, dim1=None, *, axes=None):
    """Swap dims ``dim0`` and ``dim1`` (``np.transpose(t)`` reverses all dims)."""
    x = _tensor(input)
    if dim0 is None and dim1 is None:  # NumPy's np.transpose(a, axes=None)
        return permute(x, *(axes if axes is not None else reversed(range(x.ndim))))
    if dim1 is None:
        return permute(x, *dim0)
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    d0 = normalize_dim(dim0, x.ndim, "transpose")
    d1 = normalize_dim(dim1, x.ndim, "transpose")
    dims = list(range(x.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(x, dims=tuple(dims))


@public("swapdims", numpy=(np.swapaxes,), ops=(Permute,))
def swapaxes(input, dim0, dim1):
    """Swap two dims (as :func:`transpose`)."""
    return transpose(input, dim0, dim1)


@public(ops=(Permute,))
def t(input):
    """The transpose of a matrix (0-d and 1-d tensors are returned as they are)."""
    x = _tensor(input)
    if x.ndim > 2:
        raise ShapeError(f"t: expects a tensor with <= 2 dims, got shape {x._data.shape}; "
                         "use transpose(dim0, dim1)")
    return x if x.ndim < 2 else Permute.apply(x, dims=(1, 0))


@public(numpy=(np.expand_dims,), ops=(Reshape,))
def unsqueeze(input, dim=None, *, axis=None):
    """A new dim of size 1 at position ``dim`` (NumPy's ``expand_dims`` also takes a tuple)."""
    x = _tensor(input)
    dim = axis if dim is None else dim
    if isinstance(dim, (tuple, list)):
        for d in sorted(int(d) % (x.ndim + len(dim)) for d in dim):
            x = unsqueeze(x, d)
        return x
    axis = normalize_dim(dim, x.ndim, "unsqueeze", new_axis=True)
    return Reshape.apply(x, shape=x.shape[:axis] + (1,) + x.shape[axis:])


@public(numpy=(np.squeeze,), ops=(Reshape,))
def squeeze(input, dim=None, *, axis=None):
    """Drop dims of size 1 (only ``dim``, an int or tuple, when given)."""
    x = _tensor(input)
    dim = axis if dim is None else dim
    if dim is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        axes = normalize_dims(dim, x.ndim, "squeeze") or ()
        shape = tuple(s for i, s in enumerate(x.shape) if not (i in axes and s == 1))
    if shape == x.shape:
        return x
    return Reshape.apply(x, shape=shape)


@method_only(ops=(Expand,))
def expand(input, *sizes):
    """A view repeating dims of size 1 to ``sizes`` (-1 keeps a dim); new dims in front."""
    x = _tensor(input)
    shape = shape_arg(sizes, "expand")
    extra = len(shape) - x.ndim
    if extra < 0:
        raise ShapeError(
            f"expand: the target shape {shape} has fewer dims than the tensor {x._data.shape}"
        )
    target = tuple(
        x.shape[i - extra] if size == -1 and i >= extra else size
        for i, size in enumerate(shape)
    )
    for i, size in enumerate(x.shape):
        if size != 1 and target[extra + i] != size:
            raise ShapeError(
                f"expand: cannot expand shape {x._data.shape} to {shape}: dim {i} has size "
                f"{size}, which is not 1"
            )
    if builtins.any(s < 0 for s in target):
        raise ShapeError(f"expand: invalid target shape {shape}")
    if target == x.shape:
        return x
    return Expand.apply(x, shape=target)


@method_only(ops=(Expand,))
def expand_as(input, other):
    return expand(input, *other.shape)


@public(numpy=(np.broadcast_to,), ops=(Expand,))
def broadcast_to(input, size=None, *, shape=None):
    return expand(input, *(size if size is not None else shape))


@method_only(ops=(Sum, Reshape))
def sum_to_size(input, *size):
    """Sum ``input`` down to ``size`` (``size`` must broadcast to its shape): the
    reduction broadcasting's backward needs."""
    x = _tensor(input)
    shape = shape_arg(size, "sum_to_size")
    extra = x.ndim - len(shape)
    if extra < 0:
        raise ShapeError(f"sum_to_size: size {shape} has more dims than the tensor {x._data.shape}")
    axes = tuple(range(extra)) + tuple(
        extra + i for i, s in enumerate(shape) if s == 1 and x.shape[extra + i] != 1)
    for i, s in enumerate(shape):
        if s not in (1, x.shape[extra + i]):
            raise ShapeError(f"sum_to_size: size {shape} is not expandable to {x._data.shape}")
    summed = Sum.apply(x, dim=axes, keepdim=True) if axes else x
    return reshape(summed, shape)


def _sequence_of(tensors, op):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op} expects a list or tuple of tensors, got {type(tensors).__name__}")
    if len(tensors) == 0:
        raise ValueError(f"{op} needs at least one tensor")
    return tuple(tensors)


@public("concatenate", "concat", method=False, numpy=(np.concatenate,), ops=(Cat,))
def cat(tensors, dim=0, *, axis=None):
    """Join tensors along an existing dim; all other dims must match."""
    tensors = _sequence_of(tensors, "cat")
    dim = axis if axis is not None else dim
    shapes = [np.shape(t) for t in tensors]
    ndim = len(shapes[0])
    if ndim == 0:
        raise ShapeError("cat: zero-dimensional tensors cannot be concatenated; use stack")
    axis = normalize_dim(dim, ndim, "cat")
    for i, shape in enumerate(shapes):
        if len(shape) != ndim or shape[:axis] + shape[axis + 1:] != \
                shapes[0][:axis] + shapes[0][axis + 1:]:
            raise ShapeError(
                f"cat: tensors must have the same shape except in dim {dim}; tensor 0 has "
                f"shape {shapes[0]} and tensor {i} has shape {shape}"
            )
    return Cat.apply(*tensors, dim=axis)


@public(method=False, numpy=(np.stack,), ops=(Stack,))
def stack(tensors, dim=0, *, axis=None):
    """Join same-shaped tensors along a new dim ``dim``."""
    tensors = _sequence_of(tensors, "stack")
    dim = axis if axis is not None else dim
    shapes = [np.shape(t) for t in tensors]
    for i, shape in enumerate(shapes):
        if shape != shapes[0]:
            raise ShapeError(
                f"stack: all tensors must have the same shape; tensor 0 has shape "
                f"{shapes[0]} and tensor {i} has shape {shape}"
            )
    axis = normalize_dim(dim, len(shapes[0]), "stack", new_axis=True)
    return Stack.apply(*tensors, dim=axis)


def normalize_index(index):
    """Tensors in an index become arrays; lists become integer/bool arrays."""
    def convert(item):
        if isinstance(item, Tensor):
            item = item._data
        elif isinstance(item, list):
            item = np.asarray(item)
        if isinstance(item, np.ndarray) and item.dtype.kind not in "biu":
            raise IndexError(f"tensors used as indices must be integer or bool, got {item.dtype}")
        return item

    if isinstance(index, tuple):
        return tuple(convert(i) for i in index)
    return convert(index)


def _torch_order(index):
    """PyTorch's shapes where they differ from NumPy's: an int next to an index array.

    NumPy counts an int as an advanced index, so ``x[0, :, idx]`` puts the index's dims
    first ((2, 4) for x of shape (3, 4, 5)); PyTorch selects with the int first and then
    indexes, giving (4, 2). Split such an index into those two steps: the basic part
    (ints, slices, None), then the arrays on what is left.
    """
    if not isinstance(index, tuple):
        return None
    has_int = has_array = False
    for item in index:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            has_int = True
        elif isinstance(item, np.ndarray):
            if item.dtype == np.bool_:
                return None  # a mask consumes several dims: NumPy's rule is kept
            has_array = True
    if not (has_int and has_array):
        return None
    first = tuple(slice(None) if isinstance(item, np.ndarray) else item for item in index)
    second = []  # on the result: ints are gone, slices and new axes are kept whole
    for item in index:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            continue
        second.append(slice(None) if item is None or isinstance(item, slice) else item)
    return first, tuple(second)


def getitem(input, index):
    """``input[index]`` with PyTorch's indexing rules (NumPy's, except that an int mixed
    with index arrays selects first, as in PyTorch) (the graph's GetItem node)."""
    index = normalize_index(index)
    steps = _torch_order(index)
    try:
        if steps is not None:
            return GetItem.apply(GetItem.apply(input, index=steps[0]), index=steps[1])
        return GetItem.apply(input, index=index)
    except IndexError as error:
        raise IndexError(f"indexing a tensor of shape {np.shape(input)}: {error}") from None


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


# --------------------------------------------------------------------- more movement (issue 13)
# Most of PyTorch's remaining movement ops pick elements, so they are written as one
# GetItem (slices or index arrays): its backward already adds the gradient back where
# each element came from. Only repeat/tile, which copy whole blocks, has its own node.
class Repeat(Function):
    """y = x tiled ``reps`` times along each dim (``Tensor.repeat``, ``np.tile``);
    dL/dx = the sum of dL/dy over the copies (reshape and sum: twice differentiable)."""

    twice_differentiable = True

    formula = Custom(
        "repeat", lambda v: [f"{v.out} = np.tile({v.args[0]}, {literal(v.opt['reps'])})"],
        local=lambda v, i: "1 (copies summed)")

    @staticmethod
    def forward(ctx, x, *, reps):
        ctx.input_shape = x.shape
        return np.tile(x, reps)

    @staticmethod
    def backward(ctx, grad):
        reps = ctx.options["reps"]
        shape = (1,) * (len(reps) - len(ctx.input_shape)) + tuple(ctx.input_shape)
        split = []
        for r, s in zip(reps, shape):
            split += [r, s]
        summed = np.reshape(grad, split).sum(axis=tuple(range(0, 2 * len(reps), 2)))
        return np.reshape(summed, ctx.input_shape)


def _axis_of(x, dim, op):
    return normalize_dim(dim, max(x.ndim, 1), op) if x.ndim else 0


@public(ops=(GetItem,))
def flip(input, dims):
    """The elements in reverse order along each of ``dims``."""
    x = _tensor(input)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    axes = normalize_dims(dims, x.ndim, "flip") or ()
    if x.ndim == 0 or not axes:
        return getitem(x, ()) if x.ndim == 0 else x
    return GetItem.apply(x, index=tuple(slice(None, None, -1) if d in axes else slice(None)
                                        for d in range(x.ndim)))


@public(ops=(GetItem,))
def fliplr(input):
    """Flip dim 1 (left/right)."""
    return flip(input, 1)


@public(ops=(GetItem,))
def flipud(input):
    """Flip dim 0 (up/down)."""
    return flip(input, 0)


def _np_flip(m, axis=None):
    x = _tensor(m)
    return flip(x, tuple(range(x.ndim)) if axis is None else axis)


@public(ops=(GetItem,))
def roll(input, shifts, dims=None):
    """Shift elements along ``dims`` by ``shifts``, wrapping around; without ``dims``
    the flattened tensor is rolled and the shape restored."""
    x = _tensor(input)
    if dims is None:
        if not isinstance(shifts, (int, np.integer)):
            if len(shifts) != 1:
                raise ValueError("roll: without dims give one shift")
            shifts = shifts[0]
        return roll(x.reshape(-1), shifts, 0).reshape(x.shape)
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    out = x
    for shift, dim in zip(shifts, dims):
        axis = _axis_of(out, dim, "roll")
        n = out.shape[axis] if out.ndim else 1
        if n == 0 or shift % n == 0:
            continue
        order = (np.arange(n) - shift) % n
        out = GetItem.apply(out, index=(slice(None),) * axis + (order,))
    return out


def _np_roll(a, shift, axis=None):
    return roll(a, shift, axis)


@method_only(ops=(Repeat,))
def repeat(input, *sizes):
    """Tile the tensor ``sizes`` times along each dim (more sizes than dims add leading
    dims), as ``Tensor.repeat`` (NumPy's ``tile``, not its ``repeat``)."""
    x = _tensor(input)
    reps = shape_arg(sizes, "repeat")
    if len(reps) < x.ndim:
        raise ShapeError(f"repeat: the number of repeats {len(reps)} can not be smaller than "
                         f"the number of dims {x.ndim}")
    if builtins.any(r < 0 for r in reps):
        raise ValueError(f"repeat: repeats must be non-negative, got {reps}")
    return Repeat.apply(x, reps=reps)


@public(numpy=(np.tile,), ops=(Repeat,))
def tile(input, dims=None, *, reps=None):
    """As :func:`repeat`, where fewer ``dims`` than the tensor has are padded with 1s."""
    x = _tensor(input)
    dims = reps if dims is None else dims
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    dims = (1,) * (x.ndim - len(dims)) + dims
    return repeat(x, *dims)


@public(ops=(GetItem,))
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element ``repeats`` times (an int or one count per element) along
    ``dim``; without ``dim`` the flattened tensor. ``repeat_interleave(counts)`` on an
    integer tensor alone gives the indices repeated."""
    if repeats is None:  # torch.repeat_interleave(counts)
        counts = _tensor(input)
        return Tensor._make(np.repeat(np.arange(counts.shape[0]), counts._data))
    x = _tensor(input)
    if dim is None:
        x, axis = x.reshape(-1), 0
    else:
        axis = _axis_of(x, dim, "repeat_interleave")
    n = x.shape[axis] if x.ndim else 1
    counts = repeats._data if isinstance(repeats, Tensor) else np.asarray(repeats)
    if counts.ndim > 1 or (counts.ndim == 1 and counts.shape[0] not in (1, n)):
        raise ShapeError(f"repeat_interleave: repeats must have shape ({n},) or be a "
                         f"number, got shape {counts.shape}")
    if np.any(counts < 0):
        raise ValueError("repeat_interleave: repeats must be non-negative")
    order = np.repeat(np.arange(n), counts.reshape(-1) if counts.ndim else int(counts))
    if x.ndim == 0:
        x = x.reshape(1)
    return GetItem.apply(x, index=(slice(None),) * axis + (order,))


def _np_repeat(a, repeats, axis=None):
    return repeat_interleave(a, repeats, axis)


@method_only(ops=(GetItem, Permute))
def unfold(input, dimension, size, step):
    """The windows of ``size`` elements, ``step`` apart, along ``dimension``: that dim
    becomes the window count and a new last dim of ``size`` holds each window
    (``Tensor.unfold``)."""
    x = _tensor(input)
    axis = _axis_of(x, dimension, "unfold")
    n = x.shape[axis] if x.ndim else 1
    if size < 0 or size > n:
        raise ShapeError(f"unfold: size {size} is larger than dim {dimension} of size {n}")
    if step <= 0:
        raise ValueError(f"unfold: step must be positive, got {step}")
    if x.ndim == 0:
        return x.reshape(1)
    starts = np.arange(0, n - size + 1, step)
    windows = starts[:, None] + np.arange(size)[None, :]
    picked = GetItem.apply(x, index=(slice(None),) * axis + (windows,))
    # picked: (..., windows, size, ...after); PyTorch puts size last
    return movedim(picked, axis + 1, -1)


@public("moveaxis", ops=(Permute,))
def movedim(input, source, destination):
    """Move dims from ``source`` positions to ``destination`` positions."""
    x = _tensor(input)
    source = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    destination = (destination,) if isinstance(destination, (int, np.integer)) else \
        tuple(destination)
    if len(source) != len(destination):
        raise ValueError(f"movedim: source {source} and destination {destination} differ in "
                         "length")
    src = [normalize_dim(d, x.ndim, "movedim") for d in source]
    dst = [normalize_dim(d, x.ndim, "movedim") for d in destination]
    order = [d for d in range(x.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    if order == list(range(x.ndim)):
        return x
    return Permute.apply(x, dims=tuple(order))


@public(ops=(GetItem,))
def narrow(input, dim, start, length):
    """``length`` elements of dim ``dim`` from ``start`` (a view in PyTorch)."""
    x = _tensor(input)
    axis = normalize_dim(dim, x.ndim, "narrow")
    n = x.shape[axis]
    start = int(start)
    if start < 0:
        start += n
    if not 0 <= start <= n or length < 0 or start + length > n:
        raise IndexError(f"narrow: start {start} + length {length} exceeds dim {dim} of size "
                         f"{n}")
    return GetItem.apply(x, index=(slice(None),) * axis + (slice(start, start + length),))


@public(ops=(GetItem,))
def split(tensor, split_size_or_sections, dim=0):
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or pieces of the
    listed sizes (which must add up to the dim's size)."""
    x = _tensor(tensor)
    axis = normalize_dim(dim, x.ndim, "split")
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0 and n:
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} add up to {builtins.sum(sizes)}, not the "
                             f"size {n} of dim {dim}")
    pieces, start = [], 0
    for s in sizes:
        pieces.append(GetItem.apply(x, index=(slice(None),) * axis + (slice(start, start + s),)))
        start += s
    return tuple(pieces)


@public(ops=(GetItem,))
def chunk(input, chunks, dim=0):
    """At most ``chunks`` pieces of equal size ceil(n / chunks) along ``dim``."""
    x = _tensor(input)
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    n = x.shape[normalize_dim(dim, x.ndim, "chunk")]
    return split(x, max(-(-n // chunks), 1), dim)


@public(ops=(GetItem,))
def unbind(input, dim=0):
    """The slices along ``dim``, each without that dim."""
    x = _tensor(input)
    axis = normalize_dim(dim, x.ndim, "unbind")
    return tuple(GetItem.apply(x, index=(slice(None),) * axis + (i,))
                 for i in range(x.shape[axis]))


@public(ops=(GetItem,))
def tensor_split(input, indices_or_sections, dim=0):
    """``n`` nearly equal pieces (the first n % size one larger), or pieces cut at the
    listed indices, as ``np.array_split``."""
    x = _tensor(input)
    axis = normalize_dim(dim, x.ndim, "tensor_split")
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    else:
        cuts = [0] + [min(max(int(c), 0), n) for c in indices_or_sections] + [n]
        sizes = [max(b - a, 0) for a, b in zip(cuts, cuts[1:])]
    pieces, start = [], 0
    for s in sizes:
        pieces.append(GetItem.apply(x, index=(slice(None),) * axis + (slice(start, start + s),)))
        start += s
    return tuple(pieces)


@public(ops=(GetItem, Permute))
def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of the (dim1, dim2) matrices, shifted by ``offset``, as a new last dim."""
    x = _tensor(input)
    d1 = normalize_dim(dim1, x.ndim, "diagonal")
    d2 = normalize_dim(dim2, x.ndim, "diagonal")
    if d1 == d2:
        raise ValueError(f"diagonal: dim1 and dim2 must differ, both are {dim1}")
    moved = movedim(x, (d1, d2), (-2, -1))
    rows_n, cols_n = moved.shape[-2], moved.shape[-1]
    if offset >= 0:
        length = max(min(rows_n, cols_n - offset), 0)
        rows, cols = np.arange(length), np.arange(length) + offset
    else:
        length = max(min(rows_n + offset, cols_n), 0)
        rows, cols = np.arange(length) - offset, np.arange(length)
    return GetItem.apply(moved, index=(Ellipsis, rows, cols))


def _np_diagonal(a, offset=0, axis1=0, axis2=1):
    return diagonal(a, offset, axis1, axis2)


@public(ops=(SetItem, GetItem))
def diag(input, diagonal=0):
    """A 1-D input: the square matrix with it on the ``diagonal``; a 2-D input: that
    diagonal as a 1-D tensor."""
    x = _tensor(input)
    if x.ndim == 2:
        return globals()["diagonal"](x, diagonal)
    if x.ndim != 1:
        raise ShapeError(f"diag: expects a 1-D or 2-D tensor, got shape {tuple(x.shape)}")
    n = x.shape[0] + builtins.abs(diagonal)
    rows = np.arange(x.shape[0]) + builtins.max(-diagonal, 0)
    cols = np.arange(x.shape[0]) + builtins.max(diagonal, 0)
    zeros = Tensor._make(np.zeros((n, n), dtype=x.dtype))
    return SetItem.apply(zeros, x, index=(rows, cols))


@public(ops=(SetItem,))
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Batches of diagonal matrices from the last dim (``offset``, dim1/dim2 as default)."""
    x = _tensor(input)
    if (dim1, dim2) != (-2, -1):
        raise NotImplementedError("diag_embed: only dim1=-2, dim2=-1 are supported")
    k = x.shape[-1]
    n = k + builtins.abs(offset)
    rows = np.arange(k) + builtins.max(-offset, 0)
    cols = np.arange(k) + builtins.max(offset, 0)
    zeros = Tensor._make(np.zeros(x.shape[:-1] + (n, n), dtype=x.dtype))
    return SetItem.apply(zeros, x, index=(Ellipsis, rows, cols))


def _triangle(x, keep, op):
    from autograd_core.ops.elementwise import Where

    if x.ndim < 2:
        raise ShapeError(f"{op}: expects a tensor with at least 2 dims, got shape "
                         f"{tuple(x.shape)}")
    mask = keep(np.ones(x.shape[-2:], dtype=bool))
    return Where.apply(mask, x, np.zeros((), dtype=x.dtype))


@public(ops=(GetItem,))
def tril(input, diagonal=0):
    """The lower triangle (on and below ``diagonal``) of the last two dims; 0 elsewhere."""
    return _triangle(_tensor(input), lambda m: np.tril(m, diagonal), "tril")


@public(ops=(GetItem,))
def triu(input, diagonal=0):
    """The upper triangle (on and above ``diagonal``) of the last two dims; 0 elsewhere."""
    return _triangle(_tensor(input), lambda m: np.triu(m, diagonal), "triu")


def _np_triangle(fn):
    def call(m, k=0):
        return fn(m, k)

    return call


@public(ops=(Reshape,))
def atleast_1d(input):
    x = _tensor(input)
    return x.reshape(1) if x.ndim == 0 else x


@public(ops=(Reshape,))
def atleast_2d(input):
    x = _tensor(input)
    return x.reshape(1, -1) if x.ndim < 2 else x


@public(ops=(Stack,), method=False)
def hstack(tensors):
    """Concatenate along dim 1 (dim 0 for 1-D tensors)."""
    tensors = [_tensor(t) for t in _sequence_of(tensors, "hstack")]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


@public(ops=(Stack,), method=False)
def vstack(tensors):
    """Stack rows: 1-D tensors become rows, then concatenate along dim 0."""
    tensors = [atleast_2d(_tensor(t)) for t in _sequence_of(tensors, "vstack")]
    return cat(tensors, 0)


def _register_numpy():
    from autograd_core.ops._registry import NUMPY

    NUMPY.update({np.flip: _np_flip, np.roll: _np_roll, np.repeat: _np_repeat,
                  np.diagonal: _np_diagonal, np.tril: _np_triangle(tril),
                  np.triu: _np_triangle(triu), np.diag: diag, np.moveaxis: movedim,
                  np.fliplr: fliplr, np.flipud: flipud, np.hstack: hstack,
                  np.vstack: vstack, np.atleast_1d: atleast_1d, np.atleast_2d: atleast_2d})


_register_numpy()
