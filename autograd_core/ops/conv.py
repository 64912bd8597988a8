"""conv2d as one graph node, on the Numba im2col kernels (``autograd_core.kernels.conv``).

Cross-correlation with PyTorch's layouts: x is (N, C, H, W) or unbatched (C, H, W), the
weight (OC, C / groups, kh, kw), the bias (OC,).  Output side per dim:
``floor((H + 2P - d(k-1) - 1) / S) + 1``.  With G = dL/dy laid out as
(OC, N*OH*OW) and cols = im2col(x) as (C*kh*kw, N*OH*OW) (per group):

    y = W cols + b,    dL/dW = G cols^T,    dL/dx = col2im(W^T G),    dL/db = sum G

Gradients of gradients (``create_graph``): the rule is written again with differentiable
ops, so the gradients are graphs (:func:`input_grad`, :func:`weight_grad`):

    dL/dx = conv_transpose2d(G, W)   (same stride, padding, dilation, groups; the
                                      output_padding that gives back H, W)
    dL/dW = conv2d(x as (C, N, H, W), G as (OC, N, OH, OW))   (stride and dilation
            swapped, cropped to (kh, kw); per group, through conv2d's own groups)

>>> import numpy as np
>>> from autograd_core import Tensor
>>> conv2d(Tensor(np.ones((1, 1, 3, 3))), Tensor(np.ones((1, 1, 2, 2)))).shape
torch.Size([1, 1, 2, 2])
"""

from functools import lru_cache

import numpy as np

from autograd_core.errors import DTypeError, ShapeError
from autograd_core.function import Function
from autograd_core.kernels import conv as _k
from autograd_core.kernels import pair
from autograd_core.ops._formula import Custom
from autograd_core.ops._registry import public
from autograd_core.tensor import Tensor, as_tensor

__all__ = ["Conv2d", "conv2d"]


def _as_4d(x):
    return x[np.newaxis] if x.ndim == 3 else x


# ------------------------------------------------------------ teaching formula (flat code)
# The flat code writes the convolution out as the slides do: cols = im2col(x) (one
# column per output position), a GEMM with the filters as rows, col2im to fold the
# gradient back. Grouped and unbatched convolutions keep the call by name.
_CONV_LOCAL = ("col2im(Wᵀ·G)", "G·colsᵀ", "Σ G over n, oh, ow")


def _conv_plan(v):
    if v.opt.get("groups", 1) != 1 or v.ndim(0) != 4:
        return None
    geo = _k.conv_geometry(v.shape(0), v.shape(1), v.opt["stride"], v.opt["padding"],
                           v.opt["dilation"], 1)
    (pt, pl), (ptt, ptw) = geo.pad, geo.pad_total
    pads = ((pt, ptt - pt), (pl, ptw - pl))
    geometry = f"({geo.kh}, {geo.kw}), {geo.stride}, {pads}, {geo.dilation}"
    return geo, geometry, v.tmp("cols"), v.tmp("G")


def _conv_forward_code(v):
    plan = _conv_plan(v)
    if plan is None:
        return None
    geo, geometry, cols, _ = plan
    x, w, b = v.args
    bias = "" if v.inputs[2] is None else f" + {b}[:, None]"
    return [
        f"{cols} = im2col({x}, {geometry})"
        f"  # cols (C·kh·kw, N·OH·OW) = ({geo.C * geo.kh * geo.kw}, N·{geo.OH * geo.OW})",
        f"{v.out} = ({w}.reshape({geo.OC}, -1) @ {cols}{bias})"
        f".reshape({geo.OC}, -1, {geo.OH}, {geo.OW}).transpose(1, 0, 2, 3)"
        f"  # y = W cols + b: (OC, N·OH·OW) -> (N, OC, OH, OW)",
    ]


def _conv_backward_code(v, i):
    plan = _conv_plan(v)
    if plan is None:
        return None
    geo, geometry, cols, G = plan
    x, w = v.args[0], v.args[1]
    setup = [f"{G} = {v.g}.transpose(1, 0, 2, 3).reshape({geo.OC}, -1)"
             f"  # G = ∂L/∂y as (OC, N·OH·OW)"]
    if i == 0:
        return setup, f"col2im({w}.reshape({geo.OC}, -1).T @ {G}, {x}.shape, {geometry})"
    if i == 1:
        return setup, f"({G} @ {cols}.T).reshape({w}.shape)"
    return setup, f"{G}.sum(axis=1)"

def _batch_shape(shape):
    """The 4-D shape the kernels see: unbatched gets N = 1, an empty batch N = 1 too."""
    shape = tuple(shape) if len(shape) == 4 else (1,) + tuple(shape)
    return (max(shape[0], 1),) + shape[1:]


def _geometry(x_shape, w_shape, stride, padding, dilation, groups):
    """The validated geometry of one conv2d call.

    Computed once per call: ``conv2d`` validates through it with normalised (hashable)
    options and ``Conv2d.forward``, given the same options, finds the same object in
    the cache.  Options someone passes to the node by hand may be lists: not cached.
    """
    try:
        return _cached_geometry(x_shape, w_shape, stride, padding, dilation, groups)
    except TypeError:  # unhashable options
        return _k.conv_geometry(x_shape, w_shape, stride, padding, dilation, groups)


_cached_geometry = lru_cache(maxsize=256)(_k.conv_geometry)


def _options(stride, padding, dilation, groups):
    """PyTorch's conv2d arguments as a node's (hashable) options; ValueError if invalid."""
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, (int, np.integer)):
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    return dict(
        stride=pair(stride, "stride", minimum=1),
        padding=padding if isinstance(padding, str) else pair(padding, "padding", minimum=0),
        dilation=pair(dilation, "dilation", minimum=1),
        groups=int(groups),
    )


# ------------------------------------------------------------ the rule as a graph
def input_grad(grad, weight, geo):
    """dL/dx of conv2d as a graph: the transposed convolution of ``grad`` (N, OC, OH, OW)
    with ``weight``, cropped to (H, W). An asymmetric 'same' padding (the extra row at
    the bottom) gives one row too many, dropped."""
    from autograd_core.ops.conv_transpose import conv_transpose2d

    extra = []
    for out, stride, pad, dilation, k, size in zip(
            (geo.OH, geo.OW), geo.stride, geo.pad, geo.dilation, (geo.kh, geo.kw),
            (geo.H, geo.W)):
        reached = (out - 1) * stride - 2 * pad + dilation * (k - 1) + 1
        extra.append(max(0, size - reached))  # rows the last window did not reach
    gx = conv_transpose2d(grad, weight, None, geo.stride, geo.pad, tuple(extra),
                          geo.groups, geo.dilation)
    if tuple(gx.shape[-2:]) != (geo.H, geo.W):
        gx = gx[..., :geo.H, :geo.W]
    return gx


def weight_grad(x, grad, geo):
    """dL/dW of conv2d as a graph, for x (N, C, H, W) and grad (N, OC, OH, OW).

    dW[o, c, i, j] = sum_{n,p,q} G[n, o, p, q] x_pad[n, c, p S + i D, q S + j D] is a
    convolution of x with G as the filters, batch and channel axes exchanged and stride
    and dilation swapped. Groups: x's channels (g, c) and G's (g, o) are regrouped so
    that group g of the new convolution pairs only x's group g with G's group g.
    """
    from autograd_core.ops.movement import _ScatterAdd

    n, c = x.shape[0], x.shape[1]
    groups, oc = geo.groups, grad.shape[1]
    (top, left), (total_h, total_w) = geo.pad, geo.pad_total
    padding = (top, left)
    if (total_h, total_w) != (2 * top, 2 * left):  # 'same' with an odd total: pad here
        shape = (n, c, geo.H + total_h, geo.W + total_w)
        index = (slice(None), slice(None), slice(top, top + geo.H), slice(left, left + geo.W))
        x = _ScatterAdd.apply(x, index=index, shape=shape)
        padding = (0, 0)
    h, w = x.shape[2], x.shape[3]
    xs = x.reshape(n, groups, c // groups, h, w).permute(2, 1, 0, 3, 4)
    xs = xs.reshape(c // groups, groups * n, h, w)
    gs = grad.reshape(n, groups, oc // groups, geo.OH, geo.OW).permute(1, 2, 0, 3, 4)
    gs = gs.reshape(oc, n, geo.OH, geo.OW)
    gw = conv2d(xs, gs, None, stride=geo.dilation, padding=padding, dilation=geo.stride,
                groups=groups)  # (C / groups, OC, >= kh, >= kw)
    if tuple(gw.shape[-2:]) != (geo.kh, geo.kw):
        gw = gw[:, :, :geo.kh, :geo.kw]
    return gw.permute(1, 0, 2, 3)


def _graph_backward(ctx, grad):
    """Conv2d's rule on Tensors (a create_graph pass): gradients that are graphs."""
    if not isinstance(grad, Tensor):  # a constant gradient (a seed): W, x still record
        grad = Tensor._make(np.asarray(grad))
    x, weight = ctx.saved_tensors
    need_x, need_w, need_b = ctx.needs_input_grad
    if x.shape[0] == 0:  # an empty batch: constant zeros (nothing to differentiate)
        return (np.zeros(x.shape, x.dtype) if need_x else None,
                np.zeros(weight.shape, x.dtype) if need_w else None,
                np.zeros(weight.shape[0], x.dtype) if need_b else None)
    if grad.dtype != x.dtype:
        grad = grad.to(x.dtype)
    unbatched = x.ndim == 3
    if unbatched:
        x, grad = x.reshape((1,) + tuple(x.shape)), grad.reshape((1,) + tuple(grad.shape))
    geo = ctx.geometry
    grad_x = input_grad(grad, weight, geo) if need_x else None
    grad_w = weight_grad(x, grad, geo) if need_w else None
    grad_b = grad.sum((0, 2, 3)) if need_b else None
    if unbatched and grad_x is not None:
        grad_x = grad_x[0]
    return grad_x, grad_w, grad_b


class Conv2d(Function):
    """y = conv2d(x, W) + b in one node (see the module docstring for the gradients).

    Options: ``stride`` and ``dilation`` pairs, ``padding`` a pair or ``'same'`` /
    ``'valid'``, ``groups`` an int.  An unbatched (C, H, W) input gives (OC, OH, OW).
    """

    formula = Custom("conv", lambda v: _conv_forward_code(v),
                     lambda v, i: _conv_backward_code(v, i),
                     lambda v, i: _CONV_LOCAL[i] if i < 3 else None,
                     helpers=("im2col", "col2im"))
    twice_differentiable = True  # on Tensors the rule is conv_transpose2d / conv2d

    @staticmethod
    def forward(
        ctx, x, weight, bias=None, *, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1
    ):
        # The public conv2d insists on one dtype (as PyTorch); a re-run of the node in
        # float64 by the teaching tools may mix them, so promote here.
        dtype = np.result_type(x, weight, *(() if bias is None else (bias,)))
        x, weight = x.astype(dtype, copy=False), weight.astype(dtype, copy=False)
        bias = None if bias is None else bias.astype(dtype, copy=False)
        ctx.save_for_backward(x, weight)
        ctx.geometry = geo = _geometry(
            _batch_shape(x.shape), weight.shape, stride, padding, dilation, groups
        )
        if x.ndim == 4 and x.shape[0] == 0:  # an empty batch (e.g. a last batch of 0)
            return np.zeros((0, geo.OC, geo.OH, geo.OW), dtype=dtype)
        out = _k._conv2d_forward(_as_4d(x), weight, bias, geo)
        return out if x.ndim == 4 else out[0]

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        if isinstance(x, Tensor):  # a create_graph pass (saved arrays come as Tensors)
            return _graph_backward(ctx, grad)
        need_x, need_w, need_b = ctx.needs_input_grad
        grad = grad.astype(x.dtype, copy=False)  # a caller's float64 seed on a float32 node
        if x.ndim == 4 and x.shape[0] == 0:
            return (np.zeros_like(x) if need_x else None,
                    np.zeros_like(weight) if need_w else None,
                    np.zeros(weight.shape[0], dtype=x.dtype) if need_b else None)
        grad_x, grad_w, grad_b = _k._conv2d_backward(
            _as_4d(grad), _as_4d(x), weight, ctx.geometry, need_x, need_w, need_b
        )
        if grad_x is not None and x.ndim == 3:
            grad_x = grad_x[0]
        return grad_x, grad_w, grad_b


def _float_tensor(value, name):
    t = as_tensor(value)
    if t.dtype not in (np.float32, np.float64):
        raise DTypeError(f"conv2d: {name} must be float32 or float64, got dtype {t.dtype}")
    return t


@public(method=False, ops=(Conv2d,))
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D convolution (cross-correlation), ``torch.nn.functional.conv2d``'s semantics.

    ``x``: (N, C, H, W) or unbatched (C, H, W); ``weight``: (OC, C // groups, kh, kw);
    ``bias``: (OC,) or None; ``stride``, ``dilation``: int or pair; ``padding``: int,
    pair, ``'valid'`` or ``'same'`` (stride 1; an odd total padding puts the extra row /
    column at the bottom / right).  Output: (N, OC, OH, OW) with
    ``OH = floor((H + 2P - d(kh-1) - 1) / S) + 1``.  Arguments are checked before any
    kernel runs: shapes and geometry raise ``ShapeError`` (a ``ValueError``), dtypes
    ``DTypeError`` (a ``TypeError``).

    >>> import numpy as np
    >>> img = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> conv2d(img, np.ones((1, 1, 3, 3)), padding=1).shape
    torch.Size([1, 1, 4, 4])
    """
    x = input
    x = _float_tensor(x, "input")
    weight = _float_tensor(weight, "weight")
    if bias is not None:
        bias = _float_tensor(bias, "bias")
    dtypes = {t.dtype for t in (x, weight, bias) if t is not None}
    if len(dtypes) > 1:
        names = ", ".join(
            f"{n}={t.dtype}"
            for n, t in (("input", x), ("weight", weight), ("bias", bias))
            if t is not None
        )
        raise DTypeError(f"conv2d: input, weight and bias must share one dtype, got {names}")
    if x.ndim not in (3, 4):
        raise ShapeError(
            "conv2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
            f"{tuple(x.shape)}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ShapeError(
            f"conv2d: bias must have shape ({weight.shape[0]},) for weight {tuple(weight.shape)}, "
            f"got {tuple(bias.shape)}"
        )
    try:  # validates stride, padding, dilation and groups against the shapes, once
        options = _options(stride, padding, dilation, groups)
        _geometry(_batch_shape(x.shape), weight.shape, **options)
    except ValueError as error:
        raise ShapeError(f"conv2d: {error}") from None
    return Conv2d.apply(x, weight, bias, **options)
