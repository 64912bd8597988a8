"""Pooling as graph nodes on the Numba kernels (``autograd_core.kernels.pool``).

Inputs are (N, C, H, W) or unbatched (C, H, W); PyTorch's output sizes, padding limit,
``ceil_mode`` and divisor rules apply (see the kernels' docstring).  Gradients:

    max:       dL/dx[argmax of a window] += dL/dy for that window (ties: the first max
               in row-major order, as PyTorch; the argmax is stored by the forward)
    avg:       every pixel of a window gets dL/dy / divisor
    adaptive:  every pixel of bin (i, j) gets dL/dy[i, j] / area of the bin

>>> import numpy as np
>>> max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
[[[[5.0, 7.0], [13.0, 15.0]]]]
"""

import numpy as np

from autograd_core.errors import DTypeError, ShapeError
from autograd_core.function import Context, Function
from autograd_core.kernels import pool as _k
from autograd_core.ops._formula import Custom
from autograd_core.ops._registry import public
from autograd_core.tensor import Tensor, as_tensor

__all__ = [
    "MaxPool2d",
    "AvgPool2d",
    "AdaptiveAvgPool2d",
    "max_pool2d",
    "avg_pool2d",
    "adaptive_avg_pool2d",
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
# Pooling written out in NumPy: every window laid out along a last axis of size kh·kw
# (pool_windows), the max or mean over it, and the adjoint (unpool_windows) adding each
# window's gradient back onto its pixels. Unbatched inputs keep the call by name.
def _pool_plan(v):
    if v.ndim(0) != 4:
        return None
    o = v.opt
    geo = _k.pool_geometry(v.shape(0), o["kernel_size"], o["stride"], o["padding"],
                           o.get("ceil_mode", False))
    geometry = f"{geo.kernel}, {geo.stride}, {geo.pad}, ({geo.OH}, {geo.OW})"
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


def _avg_pool_plan(v):
    plan = _pool_plan(v)
    if plan is None or v.opt.get("ceil_mode") or not v.opt.get("count_include_pad", True):
        return None  # the divisor varies per window: keep the call by name
    return plan


def _avg_pool_forward_code(v):
    plan = _avg_pool_plan(v)
    if plan is None:
        return None
    geo, geometry, windows, _ = plan
    k = geo.kernel[0] * geo.kernel[1]
    return [f"{windows} = pool_windows({v.args[0]}, {geometry}, 0)  # (N, C, OH, OW, kh·kw)",
            f"{v.out} = {windows}.sum(axis=-1) / {k}"]


def _avg_pool_backward_code(v):
    plan = _avg_pool_plan(v)
    if plan is None:
        return None
    geo, geometry, _, _ = plan
    k = geo.kernel[0] * geo.kernel[1]
    return [], (f"unpool_windows(np.repeat(({v.g} / {k})[..., None], {k}, axis=-1), "
                f"{v.args[0]}.shape, {geometry})")


class MaxPool2d(Function):
    """y = max over each window; the window's argmax (stored) receives dL/dy."""

    formula = Custom("maxpool", lambda v: _max_pool_forward_code(v),
                     lambda v, i: _max_pool_backward_code(v),
                     local=lambda v, i: "1 at each window's max, else 0",
                     helpers=("pool_windows", "unpool_windows"))

    @staticmethod
    def forward(ctx, x, *, kernel_size, stride, padding, ceil_mode=False):
        ctx.input_shape = x.shape
        if _empty_batch(x):
            geo = _k.pool_geometry((1,) + x.shape[1:], kernel_size, stride, padding, ceil_mode)
            out, argmax = _empty_output(x, (geo.OH, geo.OW)), np.zeros((0,), np.int32)
        else:
            out, argmax = _k.max_pool2d_forward(_as_4d(x), kernel_size, stride, padding,
                                                ceil_mode)
        ctx.save_for_backward(argmax)  # also read by max_pool2d(..., return_indices=True)
        return _like_input(out, x)

    @staticmethod
    def backward(ctx, grad):
        (argmax,) = ctx.saved_tensors
        shape = ctx.input_shape
        if len(shape) == 4 and shape[0] == 0:
            return np.zeros(shape, dtype=grad.dtype)
        grad_x = _k.max_pool2d_backward(_as_4d(grad), argmax, (1,) * (4 - len(shape)) + shape)
        return grad_x.reshape(shape)


class AvgPool2d(Function):
    """y = window sum / divisor; each window pixel receives dL/dy / divisor."""

    formula = Custom("avgpool", lambda v: _avg_pool_forward_code(v),
                     lambda v, i: _avg_pool_backward_code(v),
                     local=lambda v, i: "1/window size, spread over each window",
                     helpers=("pool_windows", "unpool_windows"))

    @staticmethod
    def forward(ctx, x, *, kernel_size, stride, padding, ceil_mode=False, count_include_pad=True):
        ctx.input_shape = x.shape
        if _empty_batch(x):
            geo = _k.pool_geometry((1,) + x.shape[1:], kernel_size, stride, padding, ceil_mode)
            return _empty_output(x, (geo.OH, geo.OW))
        out = _k.avg_pool2d_forward(
            _as_4d(x), kernel_size, stride, padding, ceil_mode, count_include_pad
        )
        return _like_input(out, x)

    @staticmethod
    def backward(ctx, grad):
        shape = ctx.input_shape
        if len(shape) == 4 and shape[0] == 0:
            return np.zeros(shape, dtype=grad.dtype)
        o = ctx.options
        grad_x = _k.avg_pool2d_backward(
            _as_4d(grad),
            (1,) * (4 - len(shape)) + shape,
            o["kernel_size"],
            o["stride"],
            o["padding"],
            o["ceil_mode"],
            o["count_include_pad"],
        )
        return grad_x.reshape(shape)


class AdaptiveAvgPool2d(Function):
    """y[i, j] = mean of bin (i, j), bins ``floor(i*H/OH) .. ceil((i+1)*H/OH)``."""

    formula = Custom(
        "adaptive avg", local=lambda v, i: "1/cell size, spread over each cell")

    @staticmethod
    def forward(ctx, x, *, output_size):
        ctx.input_shape = x.shape
        if _empty_batch(x):
            return _empty_output(x, output_size)
        return _like_input(_k.adaptive_avg_pool2d_forward(_as_4d(x), output_size), x)

    @staticmethod
    def backward(ctx, grad):
        shape = ctx.input_shape
        if len(shape) == 4 and shape[0] == 0:
            return np.zeros(shape, dtype=grad.dtype)
        grad_x = _k.adaptive_avg_pool2d_backward(_as_4d(grad), (1,) * (4 - len(shape)) + shape)
        return grad_x.reshape(shape)


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


def _geometry(x, op, kernel_size, stride, padding, ceil_mode):
    shape = x.shape if x.ndim == 4 else (1,) + x.shape
    shape = (max(shape[0], 1),) + tuple(shape[1:])  # an empty batch is allowed
    try:
        return _k.pool_geometry(shape, kernel_size, stride, padding, ceil_mode)
    except ValueError as error:
        raise ShapeError(f"{op}: {error}") from None


@public(method=False, ops=(MaxPool2d,))
def max_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, *,
               return_indices=False):
    """Max pooling, ``torch.nn.functional.max_pool2d``'s semantics (no dilation).

    ``stride`` defaults to ``kernel_size``; ``padding`` (never the maximum: it is -inf)
    must be at most half the kernel; ``ceil_mode`` adds a last partial window when it
    starts inside the input or the left padding.  With ``return_indices=True`` also
    returns the int64 plane-local indices ``h * W + w`` of the maxima (as PyTorch).

    >>> import numpy as np
    >>> max_pool2d(np.arange(25.0).reshape(1, 1, 5, 5), 2, ceil_mode=True).shape
    torch.Size([1, 1, 3, 3])
    """
    x = input
    x = _input(x, "max_pool2d")
    geo = _geometry(x, "max_pool2d", kernel_size, stride, padding, ceil_mode)
    options = dict(kernel_size=geo.kernel, stride=geo.stride, padding=geo.pad,
                   ceil_mode=bool(ceil_mode))
    if not return_indices:
        return MaxPool2d.apply(x, **options)
    if x.requires_grad:
        out = MaxPool2d.apply(x, **options)
        argmax = out.grad_fn.saved_tensors[0] if out.grad_fn is not None else None
    else:
        out, argmax = None, None
    if argmax is None:  # no node was recorded: run the forward once, by hand
        ctx = Context(MaxPool2d, (x,), options, (False,))
        out = Tensor._make(MaxPool2d.forward(ctx, x._data, **options))
        argmax = ctx.saved_tensors[0]
    shape = out.shape if out.ndim == 4 else (1,) + out.shape
    indices = argmax.reshape(shape).astype(np.int64)
    return out, Tensor._make(indices if out.ndim == 4 else indices[0])


@public(method=False, ops=(AvgPool2d,))
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
) -> Tensor:
    """Average pooling, ``torch.nn.functional.avg_pool2d``'s semantics.

    The divisor is the window area inside the padded input (``count_include_pad=True``)
    or inside the input itself; a ``ceil_mode`` window is clipped at the padded border.

    >>> import numpy as np
    >>> float(avg_pool2d(np.ones((1, 1, 4, 4)), 3, 1, 1).data[0, 0, 0, 0])  # 4 ones / 9
    0.4444444444444444
    """
    x = input
    x = _input(x, "avg_pool2d")
    geo = _geometry(x, "avg_pool2d", kernel_size, stride, padding, ceil_mode)
    return AvgPool2d.apply(
        x,
        kernel_size=geo.kernel,
        stride=geo.stride,
        padding=geo.pad,
        ceil_mode=bool(ceil_mode),
        count_include_pad=bool(count_include_pad),
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
    shape = x.shape if x.ndim == 4 else (1,) + x.shape
    shape = (max(shape[0], 1),) + tuple(shape[1:])  # an empty batch is allowed
    try:
        size = _k.adaptive_output_size(shape, output_size)
    except ValueError as error:
        raise ShapeError(f"adaptive_avg_pool2d: {error}") from None
    return AdaptiveAvgPool2d.apply(x, output_size=size)
