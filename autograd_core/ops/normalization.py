"""Normalisation layers as one node each: BatchNorm, LayerNorm, InstanceNorm.

Each normalises x over a set of axes R (M = number of elements in R) and applies a
learnable per-feature affine map:

    mu = mean_R(x),  var = mean_R((x - mu)^2)  (biased),  r = 1 / sqrt(var + eps)
    xhat = (x - mu) r,        y = w xhat + b

    BatchNorm:     R = all axes but the channel axis 1; w, b per channel
    LayerNorm:     R = the last k axes (the normalized shape); w, b of that shape
    InstanceNorm:  R = the spatial axes 2, 3, ...; w, b per channel

Backward, with g = dL/dy and dxhat = g w: mu and var depend on x too, which gives

    dL/dx = r (dxhat - mean_R(dxhat) - xhat mean_R(dxhat xhat))
    dL/dw = sum of g xhat,   dL/db = sum of g      (over every axis w is broadcast on)

When normalising with fixed statistics (BatchNorm in eval mode: running estimates),
mu and r are constants and dL/dx = dxhat r.

Every backward here is twice differentiable (``create_graph=True``): the shared helpers
below use operators and registered NumPy functions only, so they run on arrays in an
ordinary backward and record on Tensors. On the Tensor path x̂, r and the reshaped w
are rebuilt from the node's inputs (``_recorded``): saved as arrays, they would be
constants and miss how the statistics depend on x. Nothing more is saved for that, so
the ordinary backward keeps its speed and memory.

The batch statistics of a training step are left on the node as ``ctx.batch_mean`` and
``ctx.batch_var`` so ``nn.functional.batch_norm`` can update its running estimates
without a second pass over the data (:func:`batch_norm_training` gets them when no node
is recorded, too; :func:`instance_norm_statistics` the per-instance ones).

>>> import numpy as np
>>> from autograd_core import Tensor
>>> from autograd_core.ops.normalization import LayerNorm
>>> y = LayerNorm.apply(Tensor([[1.0, 3.0]]), None, None, normalized_ndim=1, eps=0.0)
>>> y.tolist()
[[-1.0, 1.0]]
"""

import numpy as np

from autograd_core.function import Function
from autograd_core.kernels import column_sums as _column_sums
from autograd_core.kernels import layer_norm as _layer_norm
from autograd_core.kernels import norm as _fused
from autograd_core.ops._dual import from_inputs
from autograd_core.ops._formula import Custom
from autograd_core.tensor import Tensor

__all__ = ["BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm", "channel_shape",
           "batch_norm_training", "instance_norm_statistics"]


def channel_shape(ndim: int, channels: int) -> tuple:
    """The shape that broadcasts a per-channel vector along axis 1 of an ndim input."""
    return (1, channels) + (1,) * (ndim - 2)


def _statistics(x, axes, eps):
    """(xhat, r, mu, var) over ``axes``, all with the reduced axes kept."""
    mean = np.mean(x, axis=axes, keepdims=True)
    centered = x - mean
    var = np.mean(np.square(centered), axis=axes, keepdims=True)
    invstd = 1.0 / np.sqrt(var + eps)
    return centered * invstd, invstd, mean, var


def _affine(xhat, weight, bias):
    out = xhat * weight if weight is not None else xhat.copy()
    if bias is not None:
        out += bias
    return out


def _recorded(ctx, rebuild):
    """The saved (xhat, invstd, w) on arrays; on the create_graph path (Tensors) the same
    values rebuilt by ``rebuild(x, weight)`` from the node's inputs as Tensors, so the
    graph of the gradient sees how the statistics depend on x and w."""
    return from_inputs(ctx, ctx.saved_tensors, lambda x, weight, *_: rebuild(x, weight))


def _per_channel(weight, ndim):
    return None if weight is None else weight.reshape(channel_shape(ndim, weight.shape[0]))


def _normalized_backward(grad, xhat, invstd, weight, axes):
    """dL/dx through xhat = (x - mu) r with mu, r the statistics over ``axes``."""
    count = np.size(xhat) // np.size(invstd)
    # mean_R(dxhat) = w mean_R(g) and mean_R(dxhat xhat) = w mean_R(g xhat) for a w
    # that is constant over R, which saves two full passes when it is.
    mean_g = np.sum(grad, axis=axes, keepdims=True) / count
    mean_gx = np.sum(grad * xhat, axis=axes, keepdims=True) / count
    scale = invstd if weight is None else invstd * weight
    return scale * (grad - mean_g - xhat * mean_gx)


def _param_grads(ctx, grad, xhat, param_axes, param_shape):
    _, need_w, need_b = ctx.needs_input_grad[:3]
    if param_axes == tuple(range(len(param_axes))) and type(grad) is np.ndarray \
            and type(xhat) is np.ndarray and grad.shape == xhat.shape:
        # sums over the leading axes (layer norm's): rows of a matrix, whose column sums
        # the kernel makes with NumPy's bits (kernels.column_sums)
        width = int(np.prod(param_shape, dtype=np.int64))
        g2, h2 = grad.reshape(-1, width), xhat.reshape(-1, width)
        if _column_sums.column_sums_apply(g2, h2):
            grad_w = _column_sums.column_sums(g2, h2).reshape(param_shape) if need_w else None
            grad_b = _column_sums.column_sums(g2).reshape(param_shape) if need_b else None
            return grad_w, grad_b
    grad_w = np.sum(grad * xhat, axis=param_axes).reshape(param_shape) if need_w else None
    grad_b = np.sum(grad, axis=param_axes).reshape(param_shape) if need_b else None
    return grad_w, grad_b


def _norm_local(v, i):
    return ["(x̂ = (x − μ)/σ; μ, σ depend on x too)", "x̂", "1"][i] if i < 3 else None


_NORM_FORMULA = Custom("norm", local=_norm_local)


# ------------------------------------------------------------ teaching formula (flat code)
# Batch norm written out as the slides do: μ, σ² per channel over the batch (and the
# positions), x̂ = (x − μ)/σ, y = γ x̂ + β; the backward is the three-term formula
# dL/dx = (γ/σ) (G − mean(G) − x̂ mean(G x̂)), line for line as the op computes it.
def _bn_plan(v):
    if v.inputs[1] is None or v.inputs[2] is None:
        return None  # no affine parameters: keep the call by name
    n = v.ndim(0)
    shape = (1, v.shape(0)[1]) + (1,) * (n - 2)
    axes = (0,) + tuple(range(2, n))
    return shape, axes, v.tmp("xhat"), v.tmp("r")


def _bn_forward_code(v):
    plan = _bn_plan(v)
    if plan is None:
        return None
    shape, axes, xhat, r = plan
    x, w, b, rm, rv = v.args
    eps = repr(float(v.opt["eps"]))
    out = f"{v.out} = {xhat} * {w}.reshape({shape}) + {b}.reshape({shape})  # y = γ x̂ + β"
    if not v.opt["training"]:
        return [f"{r} = (1.0 / np.sqrt({rv} + {eps})).reshape({shape}).astype({x}.dtype)"
                f"  # 1/σ from the running variance",
                f"{xhat} = ({x} - {rm}.reshape({shape})) * {r}", out]
    mu, xc, var = v.tmp("mu"), v.tmp("xc"), v.tmp("var")
    return [f"{mu} = np.mean({x}, axis={axes}, keepdims=True)  # μ per channel, {shape}",
            f"{xc} = {x} - {mu}",
            f"{var} = np.mean(np.square({xc}), axis={axes}, keepdims=True)  # σ² (biased)",
            f"{r} = 1.0 / np.sqrt({var} + {eps})  # 1/σ",
            f"{xhat} = {xc} * {r}  # x̂ = (x − μ)/σ", out]


def _bn_backward_code(v, i):
    plan = _bn_plan(v)
    if plan is None or i > 2:
        return None
    shape, axes, xhat, r = plan
    w, g = v.args[1], v.g
    channels = shape[1]
    if i == 1:
        return [], f"np.sum({g} * {xhat}, axis={axes}).reshape({channels})"
    if i == 2:
        return [], f"np.sum({g}, axis={axes}).reshape({channels})"
    if not v.opt["training"]:
        return [], f"{g} * ({r} * {w}.reshape({shape}))"
    count, mean_g, mean_gx = v.tmp("count"), v.tmp("mean_G"), v.tmp("mean_Gxhat")
    return [f"{count} = {xhat}.size // {channels}  # values per channel: N·H·W",
            f"{mean_g} = np.sum({g}, axis={axes}, keepdims=True) / {count}",
            f"{mean_gx} = np.sum({g} * {xhat}, axis={axes}, keepdims=True) / {count}"], (
        f"({r} * {w}.reshape({shape})) * ({g} - {mean_g} - {xhat} * {mean_gx})")


def _bn_local(v, i):
    if i == 0 and v.opt.get("training"):
        return "(γ/σ)(G − mean G − x̂·mean(G x̂))"
    return _norm_local(v, i)


def _fused_forward(ctx, x, weight, bias, running_mean, running_var, training, eps):
    """BatchNorm.forward on the Numba kernels (``kernels.norm``): the same results and
    the same saved arrays as the NumPy code, in two passes (training) or one (eval)."""
    y, xhat, invstd, mean, var = _fused._batch_norm_forward(
        x, weight, bias, running_mean, running_var, training, eps, True in ctx.needs_input_grad)
    if training:
        ctx.batch_mean, ctx.batch_var = mean, var
    if xhat is not None:  # a graph is recorded
        w = None if weight is None else weight.reshape(invstd.shape)
        ctx.save_for_backward(xhat, invstd, w)
    return y


def _fused_backward(ctx, grad, xhat, invstd, w):
    need_x, need_w, need_b = ctx.needs_input_grad[:3]
    grad_x, grad_w, grad_b = _fused._batch_norm_backward(
        grad, xhat, invstd, w, ctx.options["training"], need_x)
    return grad_x, grad_w if need_w else None, grad_b if need_b else None, None, None


def _bn_statistics(x, running_mean, running_var, training, eps):
    """(xhat, invstd, mean, var) of batch norm on arrays or Tensors: the batch's
    statistics when training (the reduced axes kept), else the running ones (mean and
    var None)."""
    if training:
        return _statistics(x, (0,) + tuple(range(2, x.ndim)), eps)
    shape = channel_shape(x.ndim, x.shape[1])
    invstd = (1.0 / np.sqrt(running_var + eps)).reshape(shape).astype(x.dtype)
    return (x - running_mean.reshape(shape)) * invstd, invstd, None, None


def _bn_rebuild(ctx, x, weight):
    """BatchNorm's (xhat, invstd, w) from its inputs (the running statistics constant)."""
    running_mean, running_var = ctx.inputs[3:5]
    xhat, invstd, _, _ = _bn_statistics(x, running_mean, running_var,
                                        ctx.options["training"], ctx.options["eps"])
    return xhat, invstd, _per_channel(weight, x.ndim)


class BatchNorm(Function):
    """Batch normalisation over every axis but the channel axis 1 (see module docstring).

    ``forward(x, weight, bias, running_mean, running_var, training, eps)``: with
    ``training=True`` the batch statistics normalise (the running ones are not read);
    otherwise ``running_mean`` and ``running_var`` do, as constants.
    """

    twice_differentiable = True

    formula = Custom("norm", _bn_forward_code, _bn_backward_code, _bn_local)

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, *, training, eps):
        if _fused.fusable(x, weight, bias, *(() if training else (running_mean, running_var))):
            return _fused_forward(ctx, x, weight, bias, running_mean, running_var, training, eps)
        xhat, invstd, mean, var = _bn_statistics(x, running_mean, running_var, training, eps)
        if training:
            ctx.batch_mean = mean.reshape(x.shape[1])
            ctx.batch_var = var.reshape(x.shape[1])
        w, b = _per_channel(weight, x.ndim), _per_channel(bias, x.ndim)
        ctx.save_for_backward(xhat, invstd, w)
        return _affine(xhat, w, b)

    @staticmethod
    def backward(ctx, grad):
        xhat, invstd, w = _recorded(ctx, lambda x, weight: _bn_rebuild(ctx, x, weight))
        if _fused.fusable_grad(grad, xhat, invstd, w):  # a Tensor grad: the code below
            return _fused_backward(ctx, grad, xhat, invstd, w)
        axes = (0,) + tuple(range(2, xhat.ndim))
        grad_x = None
        if ctx.needs_input_grad[0]:
            if ctx.options["training"]:
                grad_x = _normalized_backward(grad, xhat, invstd, w, axes)
            else:
                grad_x = grad * (invstd if w is None else invstd * w)
        grad_w, grad_b = _param_grads(ctx, grad, xhat, axes, (xhat.shape[1],))
        return grad_x, grad_w, grad_b, None, None


def _with_statistics(op, axes, x, *inputs, **options):
    """``(op.apply(x, *inputs, **options), mean, var)``: the output with the mean and
    biased variance over ``axes`` its forward normalised with.

    They are the ones the op's forward left on its context (``ctx.batch_mean``,
    ``ctx.batch_var``), recorded as a node or not (``Function._apply_keeping_context``),
    so they are not computed a second time (for batch norm, NumPy's ``var`` took two
    thirds of an unrecorded call); NumPy computes them only where no context was kept.
    """
    out, ctx = op._apply_keeping_context(x, *inputs, **options)
    if ctx is not None:
        return out, ctx.batch_mean, ctx.batch_var
    data = x._data if isinstance(x, Tensor) else np.asarray(x)
    return out, data.mean(axis=axes), data.var(axis=axes)


def batch_norm_training(x, weight, bias, eps):
    """``BatchNorm.apply(x, weight, bias, None, None, training=True, eps=eps)`` with the
    batch mean and biased variance (``(C,)`` arrays) it normalised with
    (:func:`_with_statistics`)."""
    axes = (0,) + tuple(range(2, x.ndim))
    return _with_statistics(BatchNorm, axes, x, weight, bias, None, None, training=True,
                            eps=eps)


def instance_norm_statistics(x, weight, bias, eps):
    """``InstanceNorm.apply(x, weight, bias, eps=eps)`` with the per-instance mean and
    biased variance (``(N, C)`` arrays) it normalised with (:func:`_with_statistics`)."""
    return _with_statistics(InstanceNorm, tuple(range(2, x.ndim)), x, weight, bias,
                            eps=eps)


def _rows(a, normalized_ndim):
    """``a`` with its last ``normalized_ndim`` axes flattened into one (a view when
    ``a`` is contiguous): the layout of the layer-norm kernels."""
    return a.reshape(a.shape[:a.ndim - normalized_ndim] + (-1,))


class LayerNorm(Function):
    """Layer normalisation over the last ``normalized_ndim`` axes (see module docstring).

    ``weight`` and ``bias`` (or None) have the shape of those axes.
    """

    twice_differentiable = True

    formula = _NORM_FORMULA

    @staticmethod
    def forward(ctx, x, weight, bias, *, normalized_ndim, eps):
        axes = tuple(range(x.ndim - normalized_ndim, x.ndim))
        if _layer_norm.layer_norm_applies(x) and _layer_norm.layer_norm_applies(
                _rows(x, normalized_ndim), weight, bias):
            # The Numba kernels (kernels.layer_norm): two passes per row, not ten.
            y, xhat, invstd = _layer_norm.layer_norm_forward(
                _rows(x, normalized_ndim), weight, bias, eps)
            stats = x.shape[:x.ndim - normalized_ndim] + (1,) * normalized_ndim
            ctx.save_for_backward(xhat.reshape(x.shape), invstd.reshape(stats), weight)
            return y.reshape(x.shape)
        xhat, invstd, _, _ = _statistics(x, axes, eps)
        ctx.save_for_backward(xhat, invstd, weight)
        return _affine(xhat, weight, bias)

    @staticmethod
    def backward(ctx, grad):
        k = ctx.options["normalized_ndim"]
        xhat, invstd, weight = _recorded(ctx, lambda x, weight: _statistics(
            x, tuple(range(x.ndim - k, x.ndim)), ctx.options["eps"])[:2] + (weight,))
        axes = tuple(range(xhat.ndim - k, xhat.ndim))
        grad_x = None
        if ctx.needs_input_grad[0] and type(grad) is np.ndarray and \
                _layer_norm.layer_norm_applies(xhat) and grad.shape == xhat.shape and \
                _layer_norm.layer_norm_applies(_rows(xhat, k), weight) and \
                grad.dtype == xhat.dtype and type(invstd) is np.ndarray:
            grad_x = _layer_norm.layer_norm_backward(
                _rows(grad, k), _rows(xhat, k), invstd, weight).reshape(xhat.shape)
        elif ctx.needs_input_grad[0]:
            # w varies over R here, so dxhat = g w is formed explicitly
            dxhat = grad if weight is None else grad * weight
            count = np.size(xhat) // max(np.size(invstd), 1)  # (an empty batch: 0)
            mean_d = np.sum(dxhat, axis=axes, keepdims=True) / count
            mean_dx = np.sum(dxhat * xhat, axis=axes, keepdims=True) / count
            grad_x = invstd * (dxhat - mean_d - xhat * mean_dx)
        leading = tuple(range(xhat.ndim - k))
        grad_w, grad_b = _param_grads(ctx, grad, xhat, leading, xhat.shape[xhat.ndim - k:])
        return grad_x, grad_w, grad_b


class InstanceNorm(Function):
    """Instance normalisation: each (sample, channel) plane over its spatial axes.

    ``weight`` and ``bias`` (or None) are per channel. The per-instance statistics are
    left on the node as ``ctx.batch_mean``/``ctx.batch_var`` of shape (N, C).
    """

    twice_differentiable = True

    formula = _NORM_FORMULA

    @staticmethod
    def forward(ctx, x, weight, bias, *, eps):
        shape = channel_shape(x.ndim, x.shape[1])
        axes = tuple(range(2, x.ndim))
        w = None if weight is None else weight.reshape(shape)
        b = None if bias is None else bias.reshape(shape)
        xhat, invstd, mean, var = _statistics(x, axes, eps)
        ctx.batch_mean = mean.reshape(x.shape[:2])
        ctx.batch_var = var.reshape(x.shape[:2])
        ctx.save_for_backward(xhat, invstd, w)
        return _affine(xhat, w, b)

    @staticmethod
    def backward(ctx, grad):
        xhat, invstd, w = _recorded(ctx, lambda x, weight: _statistics(
            x, tuple(range(2, x.ndim)), ctx.options["eps"])[:2] + (_per_channel(weight, x.ndim),))
        axes = tuple(range(2, xhat.ndim))
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = _normalized_backward(grad, xhat, invstd, w, axes)
        param_axes = (0,) + axes
        grad_w, grad_b = _param_grads(ctx, grad, xhat, param_axes, (xhat.shape[1],))
        return grad_x, grad_w, grad_b


def _group_statistics(x, weight, num_groups, eps):
    """(xhat in x's shape, invstd (N, G, 1), w per channel) of group normalisation."""
    grouped = x.reshape(x.shape[0], num_groups, -1)
    xhat, invstd, _, _ = _statistics(grouped, (2,), eps)
    return xhat.reshape(x.shape), invstd, _per_channel(weight, x.ndim)


class GroupNorm(Function):
    """Group normalisation: the C channels of each sample split into G groups, each
    group normalised over its channels and spatial positions (R = that group's
    elements), then a per-channel affine map. ``weight``, ``bias``: (C,) or None.

    The same backward as the other norms, on x viewed as (N, G, C/G * spatial) with
    dxhat = g w formed explicitly (w varies inside a group).
    """

    twice_differentiable = True

    formula = _NORM_FORMULA

    @staticmethod
    def forward(ctx, x, weight, bias, *, num_groups, eps):
        xhat, invstd, w = _group_statistics(x, weight, num_groups, eps)
        shape = channel_shape(x.ndim, x.shape[1])
        b = None if bias is None else bias.reshape(shape)
        ctx.save_for_backward(xhat, invstd, w)
        return _affine(xhat, w, b)

    @staticmethod
    def backward(ctx, grad):
        xhat, invstd, w = _recorded(ctx, lambda x, weight: _group_statistics(
            x, weight, ctx.options["num_groups"], ctx.options["eps"]))
        n, groups = xhat.shape[0], ctx.options["num_groups"]
        grad_x = None
        if ctx.needs_input_grad[0]:
            dxhat = (grad if w is None else grad * w).reshape(n, groups, -1)
            xg = xhat.reshape(n, groups, -1)
            mean_d = dxhat.mean(axis=2, keepdims=True)
            mean_dx = (dxhat * xg).mean(axis=2, keepdims=True)
            grad_x = (invstd * (dxhat - mean_d - xg * mean_dx)).reshape(xhat.shape)
        axes = (0,) + tuple(range(2, xhat.ndim))
        grad_w, grad_b = _param_grads(ctx, grad, xhat, axes, (xhat.shape[1],))
        return grad_x, grad_w, grad_b
