"""conv_transpose2d as one graph node: conv2d's input gradient run forward.

A transposed convolution is the adjoint of a convolution: with A the linear map
x -> conv2d(x, W) from (N, OC', OH, OW) to (N, C', H, W) (stride S, padding P,
dilation D, groups), ``conv_transpose2d(x, W) = Aᵀ x``. So, with the Numba kernels of
``autograd_core.kernels.conv``:

    y     = conv2d_input_grad(grad_out=x, W)   (col2im(Wᵀ x)) + b
    dL/dx = A G = conv2d(G, W)
    dL/dW = conv2d_weight_grad(input=G, grad_out=x)  (since <G, Aᵀx> = <A G, x>)
    dL/db = Σ G over n, oh, ow

PyTorch's layouts: x is (N, C_in, H, W) or unbatched, the weight
(C_in, C_out / groups, kh, kw) (the conv2d weight of A read as is), the bias (C_out,).
Output side ``OH = (H - 1) S - 2 P + D (kh - 1) + output_padding + 1``.

Gradients of gradients (``create_graph``): the same three gradients written with
differentiable ops, ``conv2d(G, W)`` and ``ops.conv.weight_grad(G, x)`` (A's weight
gradient) and a sum, so they are graphs.

>>> import numpy as np
>>> conv_transpose2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), stride=2).shape
torch.Size([1, 1, 4, 4])
"""

import numpy as np

from autograd_core.errors import DTypeError, ShapeError
from autograd_core.function import Function
from autograd_core.kernels import conv as _k
from autograd_core.kernels import pair
from autograd_core.ops._formula import Custom
from autograd_core.ops._registry import public
from autograd_core.tensor import Tensor, as_tensor

__all__ = ["ConvTranspose2d", "conv_transpose2d"]

_LOCAL = ("conv2d(G, W)", "conv2d weight grad of (G, x)", "Σ G over n, oh, ow")


def _as_4d(x):
    return x[np.newaxis] if x.ndim == 3 else x


def _output_side(size, k, stride, pad, dilation, output_padding):
    return (size - 1) * stride - 2 * pad + dilation * (k - 1) + output_padding + 1


def _geometry(x_shape, w_shape, stride, padding, output_padding, dilation, groups):
    """The conv2d geometry of A (whose input gradient is this op), validated."""
    n, c_in, h, w = x_shape
    oh = _output_side(h, w_shape[2], stride[0], padding[0], dilation[0], output_padding[0])
    ow = _output_side(w, w_shape[3], stride[1], padding[1], dilation[1], output_padding[1])
    if oh < 1 or ow < 1:
        raise ShapeError(
            f"conv_transpose2d: input {tuple(x_shape)} with weight {tuple(w_shape)}, "
            f"stride {stride}, padding {padding}, dilation {dilation} and output_padding "
            f"{output_padding} gives a non-positive output size {(oh, ow)}")
    a_weight = w_shape  # A maps C_out channels to C_in: its weight (C_in, C_out/g, kh, kw)
    geo = _k.conv_geometry((max(n, 1), w_shape[1] * groups, oh, ow), a_weight, stride,
                           padding, dilation, groups)
    assert (geo.OH, geo.OW) == (h, w)  # guaranteed by output_padding < stride
    return geo


def _graph_backward(ctx, grad):
    """The rule on Tensors (a create_graph pass): gradients that are graphs."""
    if not isinstance(grad, Tensor):  # a constant gradient (a seed): W, x still record
        grad = Tensor._make(np.asarray(grad))
    from autograd_core.ops.conv import conv2d, weight_grad

    x, weight = ctx.saved_tensors
    need_x, need_w, need_b = ctx.needs_input_grad
    geo = ctx.geometry
    if x.shape[0] == 0:  # an empty batch: constant zeros
        return (np.zeros(x.shape, x.dtype) if need_x else None,
                np.zeros(weight.shape, x.dtype) if need_w else None,
                np.zeros(geo.C, x.dtype) if need_b else None)
    if grad.dtype != x.dtype:
        grad = grad.to(x.dtype)
    unbatched = x.ndim == 3
    if unbatched:
        x, grad = x.reshape((1,) + tuple(x.shape)), grad.reshape((1,) + tuple(grad.shape))
    grad_x = grad_w = grad_b = None
    if need_x:  # A G
        grad_x = conv2d(grad, weight, None, geo.stride, geo.pad, geo.dilation, geo.groups)
        grad_x = grad_x[0] if unbatched else grad_x
    if need_w:  # A's weight gradient, input G and output gradient x
        grad_w = weight_grad(grad, x, geo)
    if need_b:
        grad_b = grad.sum((0, 2, 3))
    return grad_x, grad_w, grad_b


class ConvTranspose2d(Function):
    """y = conv_transpose2d(x, W) + b in one node (the module docstring has the maths).

    Options: ``stride``, ``padding``, ``output_padding``, ``dilation`` pairs, ``groups``.
    """

    formula = Custom("convᵀ", local=lambda v, i: _LOCAL[i] if i < 3 else None)
    twice_differentiable = True  # on Tensors the rule is conv2d and conv2d's weight grad

    @staticmethod
    def forward(ctx, x, weight, bias=None, *, stride=(1, 1), padding=(0, 0),
                output_padding=(0, 0), dilation=(1, 1), groups=1):
        dtype = np.result_type(x, weight, *(() if bias is None else (bias,)))
        x, weight = x.astype(dtype, copy=False), weight.astype(dtype, copy=False)
        ctx.save_for_backward(x, weight)
        x4 = _as_4d(x)
        geo = _geometry(x4.shape, weight.shape, stride, padding, output_padding, dilation,
                        groups)
        ctx.geometry = geo
        out_shape = (x4.shape[0], geo.C, geo.H, geo.W)
        if x4.shape[0] == 0:
            out = np.zeros(out_shape, dtype=dtype)
        else:
            # A's input x is only a shape here: the input-gradient path does not read it
            placeholder = np.zeros(out_shape, dtype=dtype)
            out, _, _ = _k._conv2d_backward(x4, placeholder, weight, geo, True, False, False)
        if bias is not None:
            out = out + bias.astype(dtype, copy=False)[:, None, None]
        return out if x.ndim == 4 else out[0]

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        if isinstance(x, Tensor):  # a create_graph pass (saved arrays come as Tensors)
            return _graph_backward(ctx, grad)
        need_x, need_w, need_b = ctx.needs_input_grad
        grad = grad.astype(x.dtype, copy=False)
        g4, x4 = _as_4d(grad), _as_4d(x)
        geo = ctx.geometry
        grad_x = grad_w = grad_b = None
        if x4.shape[0] == 0:
            return (np.zeros_like(x) if need_x else None,
                    np.zeros_like(weight) if need_w else None,
                    np.zeros(geo.C, dtype=x.dtype) if need_b else None)
        if need_x:  # A G: the convolution itself
            grad_x = _k._conv2d_forward(np.ascontiguousarray(g4), weight, None, geo)
            grad_x = grad_x if x.ndim == 4 else grad_x[0]
        if need_w:  # A's weight gradient with input G and output gradient x
            _, grad_w, _ = _k._conv2d_backward(x4, g4, weight, geo, False, True, False)
        if need_b:
            grad_b = g4.sum(axis=(0, 2, 3))
        return grad_x, grad_w, grad_b


def _float_tensor(value, name):
    t = as_tensor(value)
    if t.dtype not in (np.float32, np.float64):
        raise DTypeError(f"conv_transpose2d: {name} must be float32 or float64, got dtype "
                         f"{t.dtype}")
    return t


def _options(stride, padding, output_padding, dilation, groups):
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, (int, np.integer)) \
            or groups < 1:
        raise ValueError(f"conv_transpose2d: groups must be a positive int, got {groups!r}")
    try:
        options = dict(stride=pair(stride, "stride", minimum=1),
                       padding=pair(padding, "padding", minimum=0),
                       output_padding=pair(output_padding, "output_padding", minimum=0),
                       dilation=pair(dilation, "dilation", minimum=1), groups=int(groups))
    except ValueError as error:
        raise ValueError(f"conv_transpose2d: {error}") from None
    for op_, s, d in zip(options["output_padding"], options["stride"], options["dilation"]):
        if op_ >= s:
            if op_ < d:  # PyTorch allows it; the kernels' geometry would not line up
                raise NotImplementedError(
                    f"conv_transpose2d: output_padding {options['output_padding']} >= stride "
                    f"{options['stride']} (allowed by PyTorch when below the dilation) is "
                    "not implemented")
            raise ValueError(
                f"conv_transpose2d: output padding must be smaller than either stride or "
                f"dilation, got output_padding={options['output_padding']}, stride="
                f"{options['stride']}, dilation={options['dilation']}")
    return options


@public(method=False, ops=(ConvTranspose2d,))
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1) -> Tensor:
    """2-D transposed convolution, ``torch.nn.functional.conv_transpose2d``'s semantics
    (and argument order: ``groups`` before ``dilation``).

    ``input``: (N, C_in, H, W) or (C_in, H, W); ``weight``: (C_in, C_out / groups, kh,
    kw); ``bias``: (C_out,). Output (N, C_out, OH, OW) with
    ``OH = (H - 1) S - 2 P + D (kh - 1) + output_padding + 1``; ``output_padding`` must
    be smaller than the stride. The gradient of ``conv2d`` with respect to its input,
    run as a forward pass (see the module docstring).
    """
    x = _float_tensor(input, "input")
    weight = _float_tensor(weight, "weight")
    if bias is not None:
        bias = _float_tensor(bias, "bias")
    dtypes = {t.dtype for t in (x, weight, bias) if t is not None}
    if len(dtypes) > 1:
        raise DTypeError("conv_transpose2d: input, weight and bias must share one dtype, got "
                         f"{sorted(str(d) for d in dtypes)}")
    if x.ndim not in (3, 4):
        raise ShapeError("conv_transpose2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) "
                         f"input, got shape {tuple(x.shape)}")
    if weight.ndim != 4:
        raise ShapeError("conv_transpose2d: expected a 4-D weight (in_channels, "
                         f"out_channels / groups, kh, kw), got shape {tuple(weight.shape)}")
    options = _options(stride, padding, output_padding, dilation, groups)
    c_in = x.shape[-3]
    if weight.shape[0] != c_in:
        raise ShapeError(f"conv_transpose2d: input of shape {tuple(x.shape)} has {c_in} "
                         f"channels but weight {tuple(weight.shape)} expects "
                         f"{weight.shape[0]}")
    if c_in % options["groups"]:
        raise ShapeError(f"conv_transpose2d: in_channels={c_in} is not divisible by "
                         f"groups={options['groups']}")
    c_out = weight.shape[1] * options["groups"]
    if bias is not None and bias.shape != (c_out,):
        raise ShapeError(f"conv_transpose2d: bias must have shape ({c_out},) for weight "
                         f"{tuple(weight.shape)} and groups={options['groups']}, got "
                         f"{tuple(bias.shape)}")
    x4_shape = tuple(x.shape) if x.ndim == 4 else (1,) + tuple(x.shape)
    try:
        _geometry(x4_shape, tuple(weight.shape), options["stride"], options["padding"],
                  options["output_padding"], options["dilation"], options["groups"])
    except ShapeError:
        raise
    except ValueError as error:
        raise ShapeError(f"conv_transpose2d: {error}") from None
    return ConvTranspose2d.apply(x, weight, bias, **options)
