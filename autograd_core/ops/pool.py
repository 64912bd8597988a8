"""Pooling as graph nodes on the Numba kernels (``autograd_core.kernels.pool``).

Inputs are (N, C, H, W) or unbatched (C, H, W); PyTorch's output sizes, padding limit,
``ceil_mode``, dilation (max pooling) and divisor rules apply (see the kernels'
docstring).  Gradients:

    max:       dL/dx[argmax of a window] += dL/dy for that window (ties: the first max
               in row-major order, as PyTorch; the argmax is stored by the forward);
               adaptive max pooling is the same over the adaptive bins
    avg:       every pixel of a window gets dL/dy / divisor (PyTorch's window rule, or
               ``divisor_override``)
    adaptive:  every pixel of bin (i, j) gets dL/dy[i, j] / area of the bin
    unpool:    dL/dx[i, j] = dL/dy at the index x[i, j] was written to (a gather)

Every backward is linear in dL/dy with coefficients fixed by the forward (the argmax,
the windows), so gradients of gradients need only the adjoint of each backward, and
those are ops here too: max pooling's scatter-add at the argmax and unpooling's gather
are each other's adjoints, and the adjoint of an average pooling's backward is that
average pooling itself.  Run on Tensors (``create_graph=True``) each backward applies
those ops, so every op of this module is twice differentiable.

>>> import numpy as np
>>> max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
[[[[5.0, 7.0], [13.0, 15.0]]]]
"""

from functools import lru_cache

import numpy as np

from autograd_core.errors import DTypeError, ShapeError
from autograd_core.function import Context, Function
from autograd_core.kernels import pair
from autograd_core.kernels import pool as _k
from autograd_core.ops._formula import Custom, dtype_literal, literal
from autograd_core.ops._registry import public
from autograd_core.tensor import Tensor, as_tensor

__all__ = [
    "MaxPool2d",
    "AvgPool2d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "MaxUnpool2d",
    "max_pool2d",
    "avg_pool2d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "max_unpool2d",
]


def _as_4d(x):
    return x[np.newaxis] if x.ndim == 3 else x


def _empty_batch(x) -> bool:
    """An (0, C, H, W) input: the kernels are skipped and the result is empty too."""
    return x.ndim == 4 and x.shape[0] == 0


def _empty_output(x, out_hw):
    return np.zeros((0, x.shape[1]) + tuple(out_hw), dtype=x.dtype)


def _like_input(arr, x):
    return arr if x.ndim == 4 else arr[0]


# ------------------------------------------------------------ teaching formulas (flat code)
# Pooling written out in NumPy: every window (its taps ``dilation`` apart) laid out along
# a last axis of size kh·kw (pool_windows), the max or mean over it, and the adjoint
# (unpool_windows) adding each window's gradient back onto its pixels. Unbatched inputs
# keep the call by name.
def _pool_plan(v):
    if v.ndim(0) != 4:
        return None
    o = v.opt
    geo = _k.pool_geometry(v.shape(0), o["kernel_size"], o["stride"], o["padding"],
                           o.get("ceil_mode", False), o.get("dilation", (1, 1)))
    geometry = (f"{geo.kernel}, {geo.stride}, {geo.pad}, {tuple(geo.dilation)}, "
                f"({geo.OH}, {geo.OW})")
    return geo, geometry, v.tmp("windows"), v.tmp("argmax")


def _max_pool_forward_code(v):
    plan = _pool_plan(v)
    if plan is None:
        return None
    geo, geometry, windows, argmax = plan
    return [
        f"{windows} = pool_windows({v.args[0]}, {geometry}, -np.inf)"
        f"  # (N, C, OH, OW, kh·kw)",
        f"{argmax} = {windows}.argmax(axis=-1)  # where each window's max is (first if tied)",
        f"{v.out} = {windows}.max(axis=-1)",
    ]


def _max_pool_backward_code(v):
    plan = _pool_plan(v)
    if plan is None:
        return None
    geo, geometry, windows, argmax = plan
    k = geo.kernel[0] * geo.kernel[1]
    mask = v.tmp("mask")
    return [f"{mask} = np.arange({k}) == {argmax}[..., None]"
            f"  # the argmax mask: 1 at each window's max, else 0"], (
        f"unpool_windows({mask} * {v.g}[..., None], {v.args[0]}.shape, {geometry})")


def _avg_divisor(v, geo):
    """The one divisor of every window, or None where it varies (keep the call by name)."""
    if v.opt.get("ceil_mode"):
        return None
    if v.opt.get("divisor_override") is not None:
        return v.opt["divisor_override"]
    if not v.opt.get("count_include_pad", True):
        return None
    return geo.kernel[0] * geo.kernel[1]


def _avg_pool_plan(v):
    plan = _pool_plan(v)
    if plan is None or _avg_divisor(v, plan[0]) is None:
        return None  # the divisor varies per window: keep the call by name
    return plan


def _avg_pool_forward_code(v):
    plan = _avg_pool_plan(v)
    if plan is None:
        return None
    geo, geometry, windows, _ = plan
    d = _avg_divisor(v, geo)
    return [f"{windows} = pool_windows({v.args[0]}, {geometry}, 0)  # (N, C, OH, OW, kh·kw)",
            f"{v.out} = {windows}.sum(axis=-1) / {d}"]


def _avg_pool_backward_code(v):
    plan = _avg_pool_plan(v)
    if plan is None:
        return None
    geo, geometry, _, _ = plan
    k = geo.kernel[0] * geo.kernel[1]
    d = _avg_divisor(v, geo)
    return [], (f"unpool_windows(np.repeat(({v.g} / {d})[..., None], {k}, axis=-1), "
                f"{v.args[0]}.shape, {geometry})")


def _batch_shape(shape):
    """The 4-D shape the kernels see: unbatched gets N = 1, an empty batch N = 1 too."""
    shape = tuple(shape) if len(shape) == 4 else (1,) + tuple(shape)
    return (max(shape[0], 1),) + shape[1:]


def _pool_geometry(x_shape, kernel_size, stride, padding, ceil_mode, dilation=(1, 1)):
    """The validated geometry of one pooling call.

    Computed once per call: the functional form validates through it with normalised
    (hashable) options and the node's forward, given the same options, finds the same
    object in the cache.  Options someone passes to the node by hand may be lists.
    """
    try:
        return _cached_pool_geometry(x_shape, kernel_size, stride, padding, ceil_mode,
                                     dilation)
    except TypeError:  # unhashable options
        return _k.pool_geometry(x_shape, kernel_size, stride, padding, ceil_mode, dilation)


_cached_pool_geometry = lru_cache(maxsize=256)(_k.pool_geometry)


def _planes(a, h, w):
    """An array of (N, C, h, w) or (C, h, w) planes as the kernels' (1, planes, h, w)."""
    return np.ascontiguousarray(a).reshape(1, -1, h, w)


class MaxPool2d(Function):
    """y = max over each window; the window's argmax (stored) receives dL/dy."""

    twice_differentiable = True
    formula = Custom("maxpool", lambda v: _max_pool_forward_code(v),
                     lambda v, i: _max_pool_backward_code(v),
                     local=lambda v, i: "1 at each window's max, else 0",
                     helpers=("pool_windows", "unpool_windows"))

    @staticmethod
    def forward(ctx, x, *, kernel_size, stride, padding, ceil_mode=False, dilation=(1, 1)):
        ctx.input_shape = x.shape
        geo = _pool_geometry(_batch_shape(x.shape), kernel_size, stride, padding, ceil_mode,
                             dilation)
        if _empty_batch(x):
            out, argmax = _empty_output(x, (geo.OH, geo.OW)), np.zeros((0,), np.int32)
        else:
            out, argmax = _k._max_pool2d_forward(_as_4d(x), geo)
        ctx.save_for_backward(argmax)  # also read by max_pool2d(..., return_indices=True)
        return _like_input(out, x)

    @staticmethod
    def backward(ctx, grad):
        (argmax,) = ctx.saved_tensors
        return _apply_indexed(_ScatterAddPlanes, grad, argmax, ctx.input_shape)


def _scatter_add_planes(values, index, shape):
    """zeros(shape) with every plane's values added at its plane-local indices."""
    if values.size == 0:
        return np.zeros(shape, dtype=values.dtype)
    planes = _planes(values, *values.shape[-2:])
    out = _k._max_pool2d_backward(planes, _planes(index, *values.shape[-2:]),
                                  (1, planes.shape[1]) + tuple(shape[-2:]))
    return out.reshape(shape)


def _gather_planes(values, index, shape):
    """``out[plane].flat[t] = values[plane].flat[index[plane].flat[t]]``, of ``shape``."""
    if values.size == 0 or index.size == 0:
        return np.zeros(shape, dtype=values.dtype)
    out = _k._gather_planes_of(_planes(values, *values.shape[-2:]),
                               _planes(index, *shape[-2:]))
    return out.reshape(shape)


def _apply_indexed(op, values, index, shape):
    """``op``'s map of ``values`` at ``index``: a node of its own on a Tensor
    (create_graph), else straight on the arrays."""
    index = index._data if isinstance(index, Tensor) else index
    if isinstance(values, Tensor):
        return op.apply(values, index, shape=shape)
    return op.run(values, index, shape)


class _IndexedPlanes(Function):
    """A per-plane linear map of x at a fixed index (``run``), whose adjoint is the op
    ``adjoint`` at the same index. In graphs of gradients only."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, index, *, shape):
        ctx.save_for_backward(index)
        ctx.input_shape = x.shape
        return ctx.fn.run(x, index, shape)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return _apply_indexed(ctx.fn.adjoint, grad, index, ctx.input_shape), None


class _ScatterAddPlanes(_IndexedPlanes):
    """y = zeros(shape) with x added at per-plane indices (max pooling's backward);
    its adjoint is the gather dL/dx = dL/dy[index]."""

    run = staticmethod(_scatter_add_planes)


class _GatherPlanes(_IndexedPlanes):
    """y = x[plane][index] per plane (unpooling's backward); adjoint: the scatter-add."""

    run = staticmethod(_gather_planes)


_ScatterAddPlanes.adjoint, _GatherPlanes.adjoint = _GatherPlanes, _ScatterAddPlanes


class AvgPool2d(Function):
    """y = window sum / divisor; each window pixel receives dL/dy / divisor."""

    twice_differentiable = True
    formula = Custom("avgpool", lambda v: _avg_pool_forward_code(v),
                     lambda v, i: _avg_pool_backward_code(v),
                     local=lambda v, i: "1/window size, spread over each window",
                     helpers=("pool_windows", "unpool_windows"))

    @staticmethod
    def forward(ctx, x, *, kernel_size, stride, padding, ceil_mode=False, count_include_pad=True,
                divisor_override=None):
        ctx.input_shape = x.shape
        ctx.geometry = geo = _pool_geometry(
            _batch_shape(x.shape), kernel_size, stride, padding, ceil_mode
        )
        if _empty_batch(x):
            return _empty_output(x, (geo.OH, geo.OW))
        return _like_input(_k._avg_pool2d_forward(_as_4d(x), geo, count_include_pad,
                                                  divisor_override), x)

    @staticmethod
    def backward(ctx, grad):
        options = {"divisor_override": None, **ctx.options}  # nodes built without it
        if isinstance(grad, Tensor):  # create_graph: the adjoint as a node of its own
            return _AvgPoolAdjoint.apply(grad, input_shape=ctx.input_shape, **options)
        return _avg_pool_adjoint(grad, ctx.input_shape, ctx.geometry,
                                 options["count_include_pad"], options["divisor_override"])


def _avg_pool_adjoint(grad, shape, geo, count_include_pad, divisor_override=None):
    if len(shape) == 4 and shape[0] == 0:
        return np.zeros(shape, dtype=grad.dtype)
    return _k._avg_pool2d_backward(_as_4d(grad), geo, count_include_pad,
                                   divisor_override).reshape(shape)


class _AvgPoolAdjoint(Function):
    """y = AvgPool2d's backward applied to x (each window spreads x / divisor); being
    the adjoint of a linear map, its own adjoint is the average pooling again."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, *, input_shape, kernel_size, stride, padding, ceil_mode,
                count_include_pad, divisor_override=None):
        geo = _pool_geometry(_batch_shape(input_shape), kernel_size, stride, padding,
                             ceil_mode)
        return _avg_pool_adjoint(x, input_shape, geo, count_include_pad, divisor_override)

    @staticmethod
    def backward(ctx, grad):
        options = dict(ctx.options)
        del options["input_shape"]
        return AvgPool2d.apply(grad, **options) if isinstance(grad, Tensor) else \
            AvgPool2d.forward(Context(AvgPool2d), grad, **options)


class AdaptiveAvgPool2d(Function):
    """y[i, j] = mean of bin (i, j), bins ``floor(i*H/OH) .. ceil((i+1)*H/OH)``."""

    twice_differentiable = True
    formula = Custom(
        "adaptive avg", local=lambda v, i: "1/cell size, spread over each cell")

    @staticmethod
    def forward(ctx, x, *, output_size):
        ctx.input_shape = x.shape
        if _empty_batch(x):
            return _empty_output(x, output_size)
        return _like_input(_k._adaptive_avg_pool2d_forward(_as_4d(x), output_size), x)

    @staticmethod
    def backward(ctx, grad):
        if isinstance(grad, Tensor):  # create_graph: the adjoint as a node of its own
            return _AdaptiveAvgAdjoint.apply(grad, input_shape=ctx.input_shape)
        return _adaptive_adjoint(grad, ctx.input_shape)


def _adaptive_adjoint(grad, shape):
    if len(shape) == 4 and shape[0] == 0:
        return np.zeros(shape, dtype=grad.dtype)
    grad_x = _k._adaptive_avg_pool2d_backward(_as_4d(grad), _batch_shape(shape))
    return grad_x.reshape(shape)


class _AdaptiveAvgAdjoint(Function):
    """y = AdaptiveAvgPool2d's backward applied to x; its adjoint is the pooling."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, *, input_shape):
        ctx.output_size = tuple(x.shape[-2:])
        return _adaptive_adjoint(x, input_shape)

    @staticmethod
    def backward(ctx, grad):
        if isinstance(grad, Tensor):
            return AdaptiveAvgPool2d.apply(grad, output_size=ctx.output_size)
        return AdaptiveAvgPool2d.forward(Context(AdaptiveAvgPool2d), grad,
                                         output_size=ctx.output_size)


class AdaptiveMaxPool2d(Function):
    """y[i, j] = max of bin (i, j) (AdaptiveAvgPool2d's bins); its argmax (stored)
    receives dL/dy, as in max pooling (whose scatter-add is the backward here too)."""

    twice_differentiable = True
    formula = Custom("adaptive max", local=lambda v, i: "1 at each bin's max, else 0")

    @staticmethod
    def forward(ctx, x, *, output_size):
        ctx.input_shape = x.shape
        if _empty_batch(x):
            out, argmax = _empty_output(x, output_size), np.zeros((0,), np.int32)
        else:
            out, argmax = _k._adaptive_max_pool2d_forward(_as_4d(x), output_size)
        ctx.save_for_backward(argmax)  # also read by adaptive_max_pool2d(return_indices)
        return _like_input(out, x)

    backward = MaxPool2d.backward


# Unpooling written out: the planes as rows, put_along_axis / take_along_axis per row.
def _unpool_forward_code(v):
    shape = v.shape(0)
    planes = int(np.prod(shape[:-2]))
    OH, OW = v.opt["output_size"]
    rows = v.tmp("rows")
    return [f"{rows} = np.zeros(({planes}, {OH * OW}), dtype={dtype_literal(v.dtype(0))})",
            f"np.put_along_axis({rows}, {v.args[1]}.reshape({planes}, -1), "
            f"{v.args[0]}.reshape({planes}, -1), axis=1)  # out[plane][index] = x",
            f"{v.out} = {rows}.reshape({literal(tuple(shape[:-2]) + (OH, OW))})"]


def _unpool_backward_code(v):
    shape = v.shape(0)
    planes = int(np.prod(shape[:-2]))
    return [], (f"np.take_along_axis({v.g}.reshape({planes}, -1), "
                f"{v.args[1]}.reshape({planes}, -1), axis=1).reshape({literal(tuple(shape))})")


class MaxUnpool2d(Function):
    """y = zeros with y[plane][index] = x (max pooling's partial inverse);
    dL/dx = dL/dy[plane][index], a gather (PyTorch's rule, also for repeated indices)."""

    twice_differentiable = True
    formula = Custom("unpool", lambda v: _unpool_forward_code(v),
                     lambda v, i: _unpool_backward_code(v) if i == 0 else None,
                     local=lambda v, i: "1 where x was written to, else 0" if i == 0 else None)

    @staticmethod
    def forward(ctx, x, indices, *, output_size):
        ctx.input_shape = x.shape
        ctx.save_for_backward(indices)
        out_shape = x.shape[:-2] + tuple(output_size)
        if x.size == 0:
            return np.zeros(out_shape, dtype=x.dtype)
        out = _k._max_unpool2d_forward(_planes(x, *x.shape[-2:]),
                                       _planes(indices, *x.shape[-2:]), output_size)
        return out.reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        return _apply_indexed(_GatherPlanes, grad, indices, ctx.input_shape), None


# ------------------------------------------------------------ functional forms


def _input(x, op):
    t = as_tensor(x)
    if t.dtype not in (np.float32, np.float64):
        raise DTypeError(f"{op}: input must be float32 or float64, got dtype {t.dtype}")
    if t.ndim not in (3, 4):
        raise ShapeError(
            f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {tuple(t.shape)}"
        )
    return t


def _geometry(x, op, kernel_size, stride, padding, ceil_mode, dilation=1):
    """Validate once; the node's options are the geometry's normalised pairs."""
    try:
        kernel_size = pair(kernel_size, "kernel_size", minimum=1)
        if _k._default_stride(stride):
            stride = kernel_size
        stride = pair(stride, "stride", minimum=1)
        padding = pair(padding, "padding", minimum=0)
        dilation = pair(dilation, "dilation", minimum=1)
        return _pool_geometry(_batch_shape(x.shape), kernel_size, stride, padding,
                              bool(ceil_mode), dilation)
    except ValueError as error:
        raise ShapeError(f"{op}: {error}") from None


@public(method=False, ops=(MaxPool2d,))
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max pooling, ``torch.nn.functional.max_pool2d``'s semantics.

    ``stride`` defaults to ``kernel_size``; ``padding`` (never the maximum: it is -inf)
    must be at most half the kernel; ``dilation`` spaces the window's taps; ``ceil_mode``
    adds a last partial window when it starts inside the input or the left padding.
    With ``return_indices=True`` also returns the int64 plane-local indices
    ``h * W + w`` of the maxima (as PyTorch; :func:`max_unpool2d` takes them).

    >>> import numpy as np
    >>> max_pool2d(np.arange(25.0).reshape(1, 1, 5, 5), 2, ceil_mode=True).shape
    torch.Size([1, 1, 3, 3])
    """
    x = input
    x = _input(x, "max_pool2d")
    geo = _geometry(x, "max_pool2d", kernel_size, stride, padding, ceil_mode, dilation)
    options = dict(kernel_size=geo.kernel, stride=geo.stride, padding=geo.pad,
                   ceil_mode=bool(ceil_mode), dilation=geo.dilation)
    return _with_indices(MaxPool2d, x, options, return_indices)


@public(method=False, ops=(AvgPool2d,))
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None) -> Tensor:
    """Average pooling, ``torch.nn.functional.avg_pool2d``'s semantics.

    The divisor is the window area inside the padded input (``count_include_pad=True``)
    or inside the input itself; a ``ceil_mode`` window is clipped at the padded border.
    ``divisor_override=d`` (a non-zero int) divides every window's sum by d instead
    (a window with no pixel of the input still gives 0, as in PyTorch).

    >>> import numpy as np
    >>> float(avg_pool2d(np.ones((1, 1, 4, 4)), 3, 1, 1).numpy()[0, 0, 0, 0])  # 4 ones / 9
    0.4444444444444444
    """
    x = input
    x = _input(x, "avg_pool2d")
    geo = _geometry(x, "avg_pool2d", kernel_size, stride, padding, ceil_mode)
    if divisor_override is not None:
        try:
            divisor_override = _k._divisor(divisor_override)
        except ValueError as error:
            raise ValueError(f"avg_pool2d: {error}") from None
    return AvgPool2d.apply(
        x,
        kernel_size=geo.kernel,
        stride=geo.stride,
        padding=geo.pad,
        ceil_mode=bool(ceil_mode),
        count_include_pad=bool(count_include_pad),
        divisor_override=divisor_override,
    )


@public(method=False, ops=(AdaptiveAvgPool2d,))
def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """Adaptive average pooling to ``output_size`` (int or pair; ``None`` keeps a side).

    Bin i of a side of length H covers ``floor(i*H/OH) .. ceil((i+1)*H/OH)``; global
    average pooling is ``output_size=1``.

    >>> import numpy as np
    >>> adaptive_avg_pool2d(np.arange(12.0).reshape(1, 3, 4), (None, 2)).shape
    torch.Size([1, 3, 2])
    """
    x = input
    x = _input(x, "adaptive_avg_pool2d")
    try:
        size = _k.adaptive_output_size(_batch_shape(x.shape), output_size)
    except ValueError as error:
        raise ShapeError(f"adaptive_avg_pool2d: {error}") from None
    return AdaptiveAvgPool2d.apply(x, output_size=size)


@public(method=False, function=False, ops=(AdaptiveMaxPool2d,))  # torch.nn.functional only
def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Adaptive max pooling to ``output_size``, ``torch.nn.functional.adaptive_max_pool2d``.

    The bins of :func:`adaptive_avg_pool2d`; the gradient goes to each bin's (first)
    maximum.  With ``return_indices=True`` also the int64 plane-local indices
    ``h * W + w`` of the maxima (as PyTorch; :func:`max_unpool2d` takes them).

    >>> import numpy as np
    >>> adaptive_max_pool2d(np.arange(12.0).reshape(1, 3, 4), (2, 1)).tolist()
    [[[7.0], [11.0]]]
    """
    x = _input(input, "adaptive_max_pool2d")
    try:
        size = _k.adaptive_output_size(_batch_shape(x.shape), output_size)
    except ValueError as error:
        raise ShapeError(f"adaptive_max_pool2d: {error}") from None
    return _with_indices(AdaptiveMaxPool2d, x, dict(output_size=size), return_indices)


def _with_indices(op, x, options, return_indices):
    """``op(x)``, and with ``return_indices`` also the argmax its forward stored (int64)."""
    if not return_indices:
        return op.apply(x, **options)
    out, argmax = None, None
    if x.requires_grad:
        out = op.apply(x, **options)
        argmax = out.grad_fn.saved_tensors[0] if out.grad_fn is not None else None
    if argmax is None:  # no node was recorded: run the forward once, by hand
        ctx = Context(op, (x,), options, (False,))
        out = Tensor._make(op.forward(ctx, x._data, **options))
        argmax = ctx.saved_tensors[0]
    shape = out.shape if out.ndim == 4 else (1,) + out.shape
    indices = argmax.reshape(shape).astype(np.int64)
    return out, Tensor._make(indices if out.ndim == 4 else indices[0])


def _unpool_output_size(x, kernel, stride, padding, output_size):
    """PyTorch's rule: default ``(H - 1) * S - 2P + k``; a given size (2 entries, or a
    full 4-D shape) must lie strictly within ``default ± S``."""
    default = tuple((x.shape[-2 + a] - 1) * stride[a] - 2 * padding[a] + kernel[a]
                    for a in (0, 1))
    if output_size is None:
        size = default
    else:
        size = tuple(int(s) for s in output_size)
        if len(size) == 4:  # a full (N, C, H, W) shape, also for unbatched input (PyTorch)
            size = size[2:]
        if len(size) != 2:
            raise ValueError(f"max_unpool2d: output_size should hold 2 or 4 entries, "
                             f"got {tuple(output_size)}")
        for a in (0, 1):
            low, high = default[a] - stride[a], default[a] + stride[a]
            if not low < size[a] < high:
                raise ValueError(f"max_unpool2d: invalid output_size {tuple(output_size)} "
                                 f"(dim {a} must be between {low} and {high}, exclusive)")
    if min(size) <= 0:
        raise ValueError(f"max_unpool2d: the output size {size} must be positive")
    return size


@public(method=False, function=False, ops=(MaxUnpool2d,))  # torch.nn.functional only
def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """Partial inverse of max pooling, ``torch.nn.functional.max_unpool2d``.

    Zeros of the output size with ``y[n, c].flat[indices[n, c, i, j]] = x[n, c, i, j]``
    (``indices`` as ``max_pool2d(..., return_indices=True)`` gives them).  The output
    side defaults to ``(H - 1) * stride - 2 * padding + kernel``; ``output_size`` may
    pick one within ``stride`` of it (a pooling whose last window was cut).

    >>> import numpy as np
    >>> y, i = max_pool2d(np.arange(16.0).reshape(1, 4, 4), 2, return_indices=True)
    >>> max_unpool2d(y, i, 2).numpy()[0].tolist()[1]
    [0.0, 5.0, 0.0, 7.0]
    """
    x = _input(input, "max_unpool2d")
    index = as_tensor(indices)
    if index.dtype != np.int64:
        raise DTypeError(f"max_unpool2d: indices must be int64 (as max_pool2d returns them), "
                         f"got dtype {index.dtype}")
    if tuple(index.shape) != tuple(x.shape):
        raise ShapeError(f"max_unpool2d: indices of shape {tuple(index.shape)} must have the "
                         f"input's shape {tuple(x.shape)}")
    try:
        kernel = pair(kernel_size, "kernel_size", minimum=1)
        stride = kernel if stride is None else pair(stride, "stride", minimum=1)
        padding = pair(padding, "padding", minimum=0)
    except ValueError as error:
        raise ValueError(f"max_unpool2d: {error}") from None
    size = _unpool_output_size(x, kernel, stride, padding, output_size)
    data = index._data
    if data.size:
        low, high = int(data.min()), int(data.max())
        if low < 0 or high >= size[0] * size[1]:
            bad = low if low < 0 else high
            raise ValueError(f"max_unpool2d: found an invalid max index {bad} (output "
                             f"volume is {size[0]} * {size[1]} = {size[0] * size[1]})")
    return MaxUnpool2d.apply(x, index, output_size=size)
