"""unfold (im2col) and fold (col2im) as public ops, PyTorch's layouts, on the Numba
kernels of ``autograd_core.kernels.conv``.

For an image (N, C, H, W), a kernel (kh, kw), stride S, padding P and dilation d the
sliding blocks form an OH x OW grid, ``OH = floor((H + 2P - d(kh-1) - 1) / S) + 1``,
and L = OH * OW.  ``unfold`` gives (N, C*kh*kw, L)::

    y[n, (c*kh + i)*kw + j, oh*OW + ow] = x_pad[n, c, oh*S + i*d, ow*S + j*d]

``fold`` is its adjoint: it adds every entry of (N, C*kh*kw, L) back onto the pixel
it names (overlapping blocks sum; entries in the padding are dropped).  Both are
linear, so each one's gradient is the other one:

    unfold:  dL/dx    = fold(dL/dy)          fold:  dL/dcols = unfold(dL/dy)

and, written through each other, gradients of gradients follow.  Unbatched inputs
(C, H, W) for unfold and (C*kh*kw, L) for fold drop the N axis, as in PyTorch.

>>> import numpy as np
>>> unfold(np.arange(9.0).reshape(1, 1, 3, 3), 2).shape
torch.Size([1, 4, 4])
>>> fold(unfold(np.ones((1, 1, 3, 3)), 2), (3, 3), 2).numpy()[0, 0].tolist()
[[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
"""

import numpy as np

from autograd_core.errors import DTypeError, ShapeError
from autograd_core.function import Function
from autograd_core.kernels import conv as _k
from autograd_core.kernels import pair
from autograd_core.ops._formula import Custom
from autograd_core.ops._registry import public
from autograd_core.tensor import Tensor, as_tensor

__all__ = ["Unfold", "Fold", "unfold", "fold"]


# --------------------------------------------------------------------------- geometry


def _blocks(op, size, kernel, dilation, padding, stride):
    """The (OH, OW) grid of sliding blocks; PyTorch's error when a side is empty."""
    grid = tuple(_k.conv_output_size(size[a], kernel[a], stride[a], 2 * padding[a],
                                     dilation[a]) for a in (0, 1))
    if min(grid) < 1:
        raise ShapeError(
            f"{op}: given spatial size {tuple(size)}, kernel_size={kernel}, "
            f"dilation={dilation}, padding={padding}, stride={stride}, the array of "
            f"sliding blocks would be {grid}, but its sides must be at least one")
    return grid


def _geometry(x4_shape, kernel, dilation, padding, stride):
    """The conv kernels' geometry of one image batch (N = 1 stands in for N = 0)."""
    N, C, H, W = x4_shape
    return _k.conv_geometry((max(N, 1), C, H, W), (1, C) + tuple(kernel), stride, padding,
                            dilation, 1)


def _unfold_array(x, kernel_size, dilation, padding, stride):
    """(N, C, H, W) or (C, H, W) -> (N, C*kh*kw, L) or (C*kh*kw, L), on arrays."""
    x4 = np.ascontiguousarray(x[np.newaxis] if x.ndim == 3 else x)
    geo = _geometry(x4.shape, kernel_size, dilation, padding, stride)
    N, rows, L = x4.shape[0], geo.C * geo.kh * geo.kw, geo.OH * geo.OW
    out = np.empty((N, rows, L), dtype=x4.dtype)
    args = _k._kernel_args(geo)
    for n in range(N):  # sample n's column matrix is out[n]: output rows n*OH .. (n+1)*OH
        _k._im2col_rows(x4, out[n], n * geo.OH, (n + 1) * geo.OH, *args)
    return out if x.ndim == 4 else out[0]


def _fold_array(cols, output_size, kernel_size, dilation, padding, stride):
    """(N, C*kh*kw, L) or (C*kh*kw, L) -> (N, C, H, W) or (C, H, W), on arrays."""
    c3 = cols[np.newaxis] if cols.ndim == 2 else cols
    N, rows = c3.shape[0], c3.shape[1]
    C = rows // (kernel_size[0] * kernel_size[1])
    geo = _geometry((N, C) + tuple(output_size), kernel_size, dilation, padding, stride)
    out = np.zeros((N, C) + tuple(output_size), dtype=c3.dtype)
    args = _k._kernel_args(geo)
    for n in range(N):  # one writer per (n, c) plane: no races, a fixed order of sums
        _k._col2im_rows(np.ascontiguousarray(c3[n]), out, n * geo.OH, (n + 1) * geo.OH,
                        *args)
    return out if cols.ndim == 3 else out[0]


# ------------------------------------------------------------ teaching formulas (flat code)
# Batched calls are written with the flat code's im2col/col2im helpers, whose column
# matrix is (C*kh*kw, N*L): PyTorch's (N, C*kh*kw, L) is that matrix with N moved first.
def _plan(v, image_shape):
    if len(image_shape) != 4:
        return None
    o = v.opt
    (ph, pw) = o["padding"]
    geometry = (f"{o['kernel_size']}, {o['stride']}, (({ph}, {ph}), ({pw}, {pw})), "
                f"{o['dilation']}")
    kk = o["kernel_size"][0] * o["kernel_size"][1]
    return geometry, image_shape[1] * kk


def _unfold_forward_code(v):
    plan = _plan(v, v.shape(0))
    if plan is None:
        return None
    geometry, rows = plan
    N = v.shape(0)[0]
    return [f"{v.out} = im2col({v.args[0]}, {geometry}).reshape({rows}, {N}, -1)"
            f".transpose(1, 0, 2)  # (C·kh·kw, N·L) -> (N, C·kh·kw, L)"]


def _unfold_backward_code(v):
    plan = _plan(v, v.shape(0))
    if plan is None:
        return None
    geometry, rows = plan
    return [], (f"col2im({v.g}.transpose(1, 0, 2).reshape({rows}, -1), {v.args[0]}.shape, "
                f"{geometry})")


def _fold_image_shape(v):
    shape = v.shape(0)
    if len(shape) != 3:
        return ()
    kk = v.opt["kernel_size"][0] * v.opt["kernel_size"][1]
    return (shape[0], shape[1] // kk) + tuple(v.opt["output_size"])


def _fold_forward_code(v):
    image = _fold_image_shape(v)
    plan = _plan(v, image)
    if plan is None:
        return None
    geometry, rows = plan
    return [f"{v.out} = col2im({v.args[0]}.transpose(1, 0, 2).reshape({rows}, -1), "
            f"{image}, {geometry})  # the adjoint of unfold"]


def _fold_backward_code(v):
    image = _fold_image_shape(v)
    plan = _plan(v, image)
    if plan is None:
        return None
    geometry, rows = plan
    return [], (f"im2col({v.g}, {geometry}).reshape({rows}, {image[0]}, -1)"
                f".transpose(1, 0, 2)")


# ------------------------------------------------------------------------------ ops


class Unfold(Function):
    """y = the sliding blocks of x as columns (im2col);  dL/dx = fold(dL/dy).

    Options: ``kernel_size``, ``dilation``, ``padding``, ``stride`` as pairs.
    """

    twice_differentiable = True
    formula = Custom("unfold", _unfold_forward_code, lambda v, i: _unfold_backward_code(v),
                     local=lambda v, i: "1 where a column entry copies a pixel, else 0",
                     helpers=("im2col", "col2im"))

    @staticmethod
    def forward(ctx, x, *, kernel_size, dilation, padding, stride):
        ctx.image_size = x.shape[-2:]
        return _unfold_array(x, kernel_size, dilation, padding, stride)

    @staticmethod
    def backward(ctx, grad):
        o = ctx.options
        if isinstance(grad, Tensor):  # create_graph: the adjoint as a node of its own
            return Fold.apply(grad, output_size=tuple(ctx.image_size), **o)
        return _fold_array(grad, ctx.image_size, o["kernel_size"], o["dilation"],
                           o["padding"], o["stride"])


class Fold(Function):
    """y = every column entry added back onto its pixel (col2im);  dL/dx = unfold(dL/dy).

    Options: ``output_size``, ``kernel_size``, ``dilation``, ``padding``, ``stride``.
    """

    twice_differentiable = True
    formula = Custom("fold", _fold_forward_code, lambda v, i: _fold_backward_code(v),
                     local=lambda v, i: "1 where a column entry lands on a pixel, else 0",
                     helpers=("im2col", "col2im"))

    @staticmethod
    def forward(ctx, x, *, output_size, kernel_size, dilation, padding, stride):
        return _fold_array(x, output_size, kernel_size, dilation, padding, stride)

    @staticmethod
    def backward(ctx, grad):
        o = dict(ctx.options)
        del o["output_size"]
        if isinstance(grad, Tensor):
            return Unfold.apply(grad, **o)
        return _unfold_array(grad, o["kernel_size"], o["dilation"], o["padding"],
                             o["stride"])


# ------------------------------------------------------------ functional forms


def _float_input(x, op, ranks, layout):
    t = as_tensor(x)
    if t.dtype not in (np.float32, np.float64):
        raise DTypeError(f"{op}: input must be float32 or float64, got dtype {t.dtype}")
    if t.ndim not in ranks:
        raise ShapeError(f"{op}: expected a {layout} input, got shape {tuple(t.shape)}")
    return t


def _options(op, kernel_size, dilation, padding, stride):
    try:
        return dict(kernel_size=pair(kernel_size, "kernel_size", minimum=1),
                    dilation=pair(dilation, "dilation", minimum=1),
                    padding=pair(padding, "padding", minimum=0),
                    stride=pair(stride, "stride", minimum=1))
    except ValueError as error:
        raise ValueError(f"{op}: {error}") from None


@public(method=False, function=False, ops=(Unfold,))  # torch.nn.functional only
def unfold(input, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding blocks as columns, ``torch.nn.functional.unfold`` (see the module doc).

    (N, C, H, W) -> (N, C*kh*kw, L) and (C, H, W) -> (C*kh*kw, L).

    >>> import numpy as np
    >>> unfold(np.arange(16.0).reshape(1, 4, 4), 2, stride=2).numpy()[:, 0].tolist()
    [0.0, 1.0, 4.0, 5.0]
    """
    x = _float_input(input, "unfold", (3, 4), "3-D (C, H, W) or 4-D (N, C, H, W)")
    options = _options("unfold", kernel_size, dilation, padding, stride)
    if 0 in x.shape[-3:]:
        raise ShapeError(f"unfold: input of shape {tuple(x.shape)} has an empty non-batch "
                         "dimension")
    _blocks("unfold", x.shape[-2:], options["kernel_size"], options["dilation"],
            options["padding"], options["stride"])
    return Unfold.apply(x, **options)


@public(method=False, function=False, ops=(Fold,))
def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum sliding-block columns back into an image, ``torch.nn.functional.fold``.

    (N, C*kh*kw, L) -> (N, C, H, W) and (C*kh*kw, L) -> (C, H, W), with
    ``(H, W) = output_size`` and L the number of blocks that image has (checked).

    >>> import numpy as np
    >>> fold(np.ones((4, 4)), (3, 3), 2).numpy()[0].tolist()
    [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    x = _float_input(input, "fold", (2, 3), "2-D (C*kh*kw, L) or 3-D (N, C*kh*kw, L)")
    options = _options("fold", kernel_size, dilation, padding, stride)
    try:
        size = pair(output_size, "output_size", minimum=1)
    except ValueError as error:
        raise ValueError(f"fold: {error}") from None
    rows, L = x.shape[-2], x.shape[-1]
    kh, kw = options["kernel_size"]
    if rows == 0 or rows % (kh * kw) != 0:
        raise ShapeError(
            f"fold: expected size of input's dimension {x.ndim - 2} to be a non-zero "
            f"multiple of the product of kernel_size {(kh, kw)} ({kh * kw}), got input of "
            f"shape {tuple(x.shape)}")
    OH, OW = _blocks("fold", size, options["kernel_size"], options["dilation"],
                     options["padding"], options["stride"])
    if L != OH * OW:
        raise ShapeError(
            f"fold: given output_size={size}, kernel_size={(kh, kw)}, dilation="
            f"{options['dilation']}, padding={options['padding']}, stride="
            f"{options['stride']}, expected size of input's dimension {x.ndim - 1} to match "
            f"the number of sliding blocks {OH} * {OW} = {OH * OW}, but got {L} (input "
            f"shape {tuple(x.shape)})")
    return Fold.apply(x, output_size=size, **options)
