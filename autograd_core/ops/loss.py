"""Loss functions as one node each, numerically stable, with PyTorch's reductions.

Every loss computes a per-element loss l and then reduces it: ``reduction="none"``
returns l, ``"sum"`` its sum, ``"mean"`` its sum over a denominator D (the number of
elements, or for class-index targets with class weights the sum of the weights of the
targets, as PyTorch). Backward therefore starts from dL/dl = g (``"none"``), g
(``"sum"``) or g / D (``"mean"``), broadcast over the elements.

Classification losses take logits or log-probabilities with classes on axis 1
((N, C), (N, C, d1, ...)) or on axis 0 for one unbatched sample of shape (C,).

    cross entropy   l = -sum_c q_c log softmax(z)_c,  q = the target distribution
                    dl/dz = softmax(z) sum_c q_c - q
    nll             l = -w_y x_y                       dl/dx = -w_y at y
    bce             l = -w (y log p + (1 - y) log(1 - p)),  logs clamped at -100
    bce with logits l = w ((1 - y) z + (1 + (pw - 1) y) softplus(-z))
                    dl/dz = w (sigmoid(z) (pw y + 1 - y) - pw y)
    mse             l = (x - y)^2                      dl/dx = 2 (x - y)
    l1              l = |x - y|                        dl/dx = sign(x - y)
    huber           l = d^2 / 2 (|d| < delta), delta (|d| - delta / 2) else
    focal           l = -alpha_y (1 - p_y)^gamma log p_y,  p = softmax(z)

Cross entropy is never log(softmax): log softmax(z) = z - m - log sum exp(z - m) with
m = max z cannot overflow or take the log of 0.

Every loss but CTC is twice differentiable: its backward, written once, runs on arrays
and, inside ``create_graph=True``, on Tensors (``ops._dual``), so Hessian-vector
products through a network and its loss work. Values the forward derived (log
softmax, x - y) are saved for speed and rebuilt from the inputs on the Tensor path.

>>> import numpy as np
>>> from autograd_core import Tensor
>>> from autograd_core.ops.loss import CrossEntropy
>>> z = Tensor([[0.0, 0.0]], requires_grad=True)
>>> round(CrossEntropy.apply(z, np.array([1]), None).item(), 4)   # log 2
0.6931
"""

import numpy as np

from autograd_core.function import Function
from autograd_core.ops._dual import (
    add_along,
    cast,
    data,
    from_inputs,
    put_along,
    rebuilt,
    subtract_from,
    take_along,
)
from autograd_core.ops._dual import sigmoid as _sigmoid
from autograd_core.ops._formula import Custom, dtype_literal
from autograd_core.ops.activation import softplus
from autograd_core.ops.reduce import log_softmax_array
from autograd_core.tensor import Tensor

__all__ = [
    "CrossEntropy", "NllLoss", "BinaryCrossEntropy", "BinaryCrossEntropyWithLogits",
    "MseLoss", "L1Loss", "HuberLoss", "FocalLoss", "log_softmax", "KlDivLoss",
    "CtcLoss",
]


def log_softmax(z: np.ndarray, axis: int) -> np.ndarray:
    """log softmax(z) along ``axis``: z - m - log sum exp(z - m), m = max (stable);
    the recorded ``LogSoftmax`` op on a Tensor."""
    if isinstance(z, Tensor):
        return z.log_softmax(dim=axis)
    return log_softmax_array(z, axis)


def _reduce(loss: np.ndarray, reduction: str, denominator=None):
    if reduction == "none":
        return loss
    total = np.sum(loss)
    if reduction == "sum":
        return total
    count = loss.size if denominator is None else denominator
    with np.errstate(invalid="ignore", divide="ignore"):
        return (total / count).astype(loss.dtype)


def _upstream(grad, reduction: str, denominator) -> np.ndarray:
    """dL/dl for each element: g, or g / D for the mean (a 0-d array broadcasts).

    A mean over no targets (D = 0: every target ignored) is 0/0 = NaN in the forward,
    as in PyTorch, but its gradient is 0, as PyTorch's, whatever the upstream gradient:
    a batch of padding alone must not turn every parameter into NaN.
    """
    if reduction == "mean":
        if np.ndim(denominator) == 0 and float(denominator) == 0:
            # (a Tensor under create_graph: grad * 0 keeps its graph and dtype)
            return grad * 0 if isinstance(grad, Tensor) else np.zeros_like(grad)
        with np.errstate(invalid="ignore", divide="ignore"):
            return grad / denominator
    return grad


def _class_axis(ndim: int) -> int:
    return 1 if ndim >= 2 else 0


def _channel(vector, ndim: int, axis: int):
    """A per-class vector shaped to broadcast along ``axis`` of an ndim array."""
    shape = [1] * ndim
    shape[axis] = -1
    return vector.reshape(shape)


def _pick(values, index, axis):
    """values[..., index, ...] along ``axis`` for one index per position."""
    return take_along(values, np.expand_dims(index, axis), axis).squeeze(axis)


def _class_targets(target, ignore_index, weight, dtype):
    """(safe index, valid mask, per-position weight w_y (0 where ignored))."""
    valid = target != ignore_index
    safe = np.where(valid, target, 0)
    if weight is None:
        w_y = valid.astype(dtype)
    else:
        w_y = np.where(valid, weight[safe], 0).astype(dtype)
    return safe, valid, w_y


# ------------------------------------------------------------ teaching formula (flat code)
# Softmax cross entropy with class indices, written as the slides do: p = softmax(s),
# L = mean of -log p[y], dL/ds = (p - onehot(y)) / N. The code mirrors forward and
# backward operation for operation (the gradient is p·g - onehot·g with g = dL/dL / N,
# which is how the engine rounds it). Weights, smoothing, ignored targets, probability
# targets and non-2-D logits keep the call by name.
def _ce_local(v, i):
    if i != 0:
        return "−log softmax"
    target = v.args[1] if hasattr(v.inputs[1], "_ctx") else "y"  # a Tensor: its name
    mean = " / N" if v.opt.get("reduction", "mean") == "mean" else ""
    return f"(softmax({v.args[0]}) − onehot({target})){mean}"


def _ce_simple(v):
    target = v.value(1)
    return (v.ndim(0) == 2 and np.asarray(target).dtype.kind in "iu" and v.inputs[2] is None
            and not v.opt.get("label_smoothing") and v.opt.get("reduction", "mean") != "none"
            and not np.any(np.asarray(target) == v.opt.get("ignore_index", -100)))


def _ce_forward_code(v):
    if not _ce_simple(v):
        return None
    s, y = v.args[0], v.args[1]
    logp, dtype = v.tmp("logp"), dtype_literal(v.dtype(0))
    shifted = v.tmp("shifted")
    first = []
    if not hasattr(v.inputs[1], "_ctx"):  # constant labels: written once, then named
        first, y = [f"{v.tmp('y')} = {y}  # the labels y"], v.tmp("y")
    picked = f"np.take_along_axis({logp}, {y}[:, None], axis=1)[:, 0]"
    total = f"np.sum(-{picked})"
    value = f"{total} / {dtype}({y}.shape[0])" if v.opt.get("reduction", "mean") == "mean" \
        else total
    return first + [
            f"{shifted} = {s} - stable_max({s}, 1)  # scores shifted by their max (stable)",
            f"{logp} = {shifted} - np.log(np.sum(np.exp({shifted}), axis=1, keepdims=True))"
            f"  # log softmax(s), (N, C)",
            f"{v.out} = ({value}).astype({dtype})  # mean over the batch of -log p[y]"]


def _ce_backward_code(v, i):
    if i != 0 or not _ce_simple(v):
        return None
    y, logp, dtype = v.args[1], v.tmp("logp"), dtype_literal(v.dtype(0))
    if not hasattr(v.inputs[1], "_ctx"):
        y = v.tmp("y")
    p, onehot, g = v.tmp("p"), v.tmp("onehot"), v.tmp("g")
    mean = v.opt.get("reduction", "mean") == "mean"
    scale = f"{v.g} / {dtype}({y}.shape[0])" if mean else v.g
    setup = [f"{g} = {scale}  # dL/dl for each sample: G / N",
             f"{p} = np.exp({logp})  # p = softmax(s), (N, C)",
             f"{onehot} = np.eye({logp}.shape[1], dtype={dtype})[{y}]  # onehot(y), (N, C)"]
    return setup, f"{p} * {g} - {onehot} * {g}"


def _smoothed(t, eps, classes, w_c):
    """The target distribution q = w_c ((1 - e) t + e / C) of probability targets t."""
    q = t if not eps else t * (1.0 - eps) + eps / classes
    return q if w_c is None else q * w_c


class CrossEntropy(Function):
    """Cross entropy of logits ``z`` against class indices or class probabilities.

    ``forward(z, target, weight, ignore_index, reduction, label_smoothing)``. With class
    indices y, smoothing e and C classes the target distribution is
    q_c = (1 - e) w_y [c = y] + e w_c / C (zero at ignored positions); the mean divides
    by the sum of w_y. With probabilities t: q_c = w_c ((1 - e) t_c + e / C) and the
    mean divides by the number of positions.

    Twice differentiable (the rule records on Tensors): d2L/dz2 = (diag(p) - p p^T)
    sum_c q_c per position; with probability targets also the mixed d2L/dz dt.
    """

    twice_differentiable = True

    formula = Custom("CE", lambda v: _ce_forward_code(v), lambda v, i: _ce_backward_code(v, i),
                     lambda v, i: _ce_local(v, i), helpers=("stable_max",))

    @staticmethod
    def forward(ctx, z, target, weight, *, ignore_index=-100, reduction="mean",
                label_smoothing=0.0):
        axis = _class_axis(z.ndim)
        classes = z.shape[axis]
        eps = float(label_smoothing)
        logp = log_softmax(z, axis)
        w_c = None if weight is None else _channel(weight, z.ndim, axis)
        if target.dtype.kind in "iu":
            safe, valid, w_y = _class_targets(target, ignore_index, weight, z.dtype)
            loss = -(1.0 - eps) * w_y * _pick(logp, safe, axis)
            if eps:
                smooth = -np.sum(logp if w_c is None else logp * w_c, axis=axis)
                loss = loss + (eps / classes) * smooth * valid
            denominator = np.sum(w_y)
            ctx.save_for_backward(logp, safe, valid, w_y, w_c, None)
        else:
            q = _smoothed(target, eps, classes, w_c)
            loss = -np.sum(q * logp, axis=axis)
            denominator = loss.size
            ctx.save_for_backward(logp, None, None, None, w_c, q)
        ctx.denominator = denominator
        return _reduce(loss.astype(z.dtype, copy=False), reduction, denominator)

    @staticmethod
    def backward(ctx, grad):
        logp, safe, valid, w_y, w_c, q = ctx.saved_tensors
        opts = ctx.options
        eps = float(opts["label_smoothing"])
        axis = _class_axis(logp.ndim)
        classes = logp.shape[axis]
        logp, q = from_inputs(ctx, (logp, q), lambda z, t, _: (
            log_softmax(z, axis), None if q is None else _smoothed(t, eps, classes, w_c)))
        g = _upstream(grad, opts["reduction"], ctx.denominator)
        g_b = np.expand_dims(g, axis) if np.ndim(g) else g
        softmax = np.exp(logp)
        grad_z = grad_t = None
        if q is None:  # class indices
            q_sum = (1.0 - eps) * w_y
            if eps:
                total_w = classes if w_c is None else np.sum(w_c)
                q_sum = q_sum + (eps / classes) * total_w * valid
            scale = np.expand_dims(g * q_sum, axis)
            if type(softmax) is np.ndarray and np.result_type(softmax, scale) == softmax.dtype:
                grad_z = np.multiply(softmax, scale, out=softmax)  # a fresh array: reuse it
            else:
                grad_z = softmax * scale
            if eps:
                share = np.expand_dims(g * valid, axis) * (eps / classes)
                grad_z = subtract_from(grad_z, share if w_c is None else share * w_c)
            index = np.expand_dims(safe, axis)
            grad_z = add_along(grad_z, index, -np.expand_dims(g * (1.0 - eps) * w_y, axis),
                               axis)
        else:
            if ctx.needs_input_grad[0]:
                grad_z = softmax * (g_b * np.sum(q, axis=axis, keepdims=True)) - g_b * q
            if ctx.needs_input_grad[1]:
                grad_t = -(1.0 - eps) * g_b * (logp if w_c is None else logp * w_c)
        return grad_z, grad_t, None


class NllLoss(Function):
    """Negative log-likelihood of log-probabilities x: l = -w_y x_y (0 where ignored).

    The mean divides by the sum of w_y over the positions that are not ignored.
    The gradient is linear in g and constant in x, so its own derivative is 0 in x.
    """

    twice_differentiable = True

    formula = Custom(
        "NLL", local=lambda v, i: f"−1 at the target class{_mean_over_targets(v)}")

    @staticmethod
    def forward(ctx, x, target, weight, *, ignore_index=-100, reduction="mean"):
        axis = _class_axis(x.ndim)
        safe, _, w_y = _class_targets(target, ignore_index, weight, x.dtype)
        loss = -w_y * _pick(x, safe, axis)
        denominator = np.sum(w_y)
        ctx.save_for_backward(safe, w_y)
        ctx.input_shape = x.shape
        ctx.denominator = denominator
        return _reduce(loss.astype(x.dtype, copy=False), reduction, denominator)

    @staticmethod
    def backward(ctx, grad):
        safe, w_y = ctx.saved_tensors
        axis = _class_axis(len(ctx.input_shape))
        g = _upstream(grad, ctx.options["reduction"], ctx.denominator)
        values = cast(np.broadcast_to(-g * w_y, w_y.shape), np.result_type(data(grad), w_y))
        grad_x = put_along(ctx.input_shape, np.expand_dims(safe, axis),
                           np.expand_dims(values, axis), axis)
        return grad_x, None, None


def _clamped_logs(p):
    """(log p, log(1 - p)), each clamped at -100 (as PyTorch: no infinite loss)."""
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(p), -100.0), np.maximum(np.log1p(-p), -100.0)


class BinaryCrossEntropy(Function):
    """l = -w (y log p + (1 - y) log(1 - p)) for probabilities p, logs clamped at -100.

    dl/dp = w (p - y) / max(p (1 - p), 1e-12);  dl/dy = -w (log p - log(1 - p)).
    """

    twice_differentiable = True

    formula = Custom(
        "BCE", local=lambda v, i: f"({v.args[0]} − y)/({v.args[0]}(1 − {v.args[0]}))"
        if i == 0 else f"−logit({v.args[0]})")

    @staticmethod
    def forward(ctx, p, y, weight, *, reduction="mean"):
        log_p, log_q = _clamped_logs(p)
        loss = -(y * log_p + (1 - y) * log_q)
        if weight is not None:
            loss = loss * weight
        ctx.save_for_backward(p, y, weight, log_p, log_q)
        ctx.denominator = loss.size
        return _reduce(loss.astype(p.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        p, y, weight, log_p, log_q = ctx.saved_tensors
        log_p, log_q = rebuilt((log_p, log_q), p, _clamped_logs)
        g = _upstream(grad, ctx.options["reduction"], ctx.denominator)
        if weight is not None:
            g = g * weight
        grad_p = grad_y = None
        if ctx.needs_input_grad[0]:
            grad_p = g * (p - y) / np.maximum(p * (1 - p), 1e-12)
        if ctx.needs_input_grad[1]:
            grad_y = -g * (log_p - log_q)
        return grad_p, grad_y, None


class BinaryCrossEntropyWithLogits(Function):
    """Sigmoid and binary cross entropy in one stable node (see the module docstring).

    ``pos_weight`` (pw) weights the positive term, broadcast along the last axis.
    """

    twice_differentiable = True

    formula = Custom(
        "BCE", local=lambda v, i: f"σ({v.args[0]}) − y" if i == 0 else f"−{v.args[0]}")

    @staticmethod
    def forward(ctx, z, y, weight, pos_weight, *, reduction="mean"):
        sp_neg = softplus(-z)  # -log sigmoid(z)
        if pos_weight is None:
            loss = (1 - y) * z + sp_neg
        else:
            loss = (1 - y) * z + (1 + (pos_weight - 1) * y) * sp_neg
        if weight is not None:
            loss = loss * weight
        ctx.save_for_backward(z, y, weight, pos_weight, sp_neg)
        ctx.denominator = loss.size
        return _reduce(loss.astype(z.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        z, y, weight, pos_weight, sp_neg = ctx.saved_tensors
        sp_neg = rebuilt(sp_neg, z, lambda z: softplus(-z))
        g = _upstream(grad, ctx.options["reduction"], ctx.denominator)
        if weight is not None:
            g = g * weight
        grad_z = grad_y = None
        if ctx.needs_input_grad[0]:
            s = _sigmoid(z)
            if pos_weight is None:
                grad_z = g * (s - y)
            else:
                grad_z = g * (s * (pos_weight * y + 1 - y) - pos_weight * y)
        if ctx.needs_input_grad[1]:
            grad_y = g * (-z if pos_weight is None else (pos_weight - 1) * sp_neg - z)
        return grad_z, grad_y, None, None


def _count_elements(v) -> int:
    """How many per-element losses there are (the inputs broadcast together)."""
    shapes = [v.shape(i) for i in range(min(2, len(v.inputs)))]
    return int(np.prod(np.broadcast_shapes(*shapes)))


def _per_element(v) -> str:
    """g, or g / N for reduction='mean': what the per-element loss's backward starts from."""
    if v.opt.get("reduction", "mean") == "mean":
        return f"({v.g} / {_count_elements(v)})"
    return v.g


def _reduced(v, elementwise: str) -> str:
    reduction = v.opt.get("reduction", "mean")
    if reduction == "none":
        return elementwise
    if reduction == "sum":
        return f"np.sum({elementwise})"
    n = _count_elements(v)
    return f"(np.sum({elementwise}) / {n}).astype({dtype_literal(v.out_dtype)})"


def _mean_note(v) -> str:
    return f" / {_count_elements(v)}" if v.opt.get("reduction", "mean") == "mean" else ""


def _mean_over_targets(v) -> str:
    # Classification losses divide by the (weighted) number of targets, not elements.
    return " / N" if v.opt.get("reduction", "mean") == "mean" else ""


def _pointwise_loss(symbol, per_element, derivative, local_text):
    def forward(v):
        return [f"{v.out} = {_reduced(v, per_element.format(*v.args))}"]

    def backward(v, i):
        grad_x = derivative.format(*v.args, up=_per_element(v))
        return grad_x if i == 0 else f"-({grad_x})"

    def local(v, i):
        text = local_text.format(*v.args) + _mean_note(v)
        return text if i == 0 else f"−{text}"

    return Custom(symbol, forward, backward, local)


class MseLoss(Function):
    """l = (x - y)^2;  dl/dx = 2 (x - y), dl/dy = -2 (x - y)."""

    twice_differentiable = True

    formula = _pointwise_loss(
        "MSE", "np.square({0} - {1})", "2 * {up} * ({0} - {1})", "2({0} − {1})")

    @staticmethod
    def forward(ctx, x, y, *, reduction="mean"):
        diff = x - y
        ctx.save_for_backward(diff)
        return _reduce(np.square(diff), reduction)

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved_tensors
        diff = from_inputs(ctx, diff, np.subtract)
        grad_x = 2 * _upstream(grad, ctx.options["reduction"], np.size(diff)) * diff
        return grad_x, (-grad_x if ctx.needs_input_grad[1] else None)


class L1Loss(Function):
    """l = |x - y|;  dl/dx = sign(x - y) (0 at 0), dl/dy = -sign(x - y).

    The sign is flat, so the saved difference stays a constant on the Tensor path and
    the second derivative is 0 (as PyTorch).
    """

    twice_differentiable = True

    formula = _pointwise_loss(
        "L1", "np.abs({0} - {1})", "{up} * np.sign({0} - {1})", "sign({0} − {1})")

    @staticmethod
    def forward(ctx, x, y, *, reduction="mean"):
        diff = x - y
        ctx.save_for_backward(diff)
        return _reduce(np.abs(diff), reduction)

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved_tensors
        grad_x = _upstream(grad, ctx.options["reduction"], np.size(diff)) * np.sign(diff)
        return grad_x, (-grad_x if ctx.needs_input_grad[1] else None)


class HuberLoss(Function):
    """d = x - y;  l = d^2 / 2 if |d| < delta else delta (|d| - delta / 2);
    dl/dx = clip(d, -delta, delta), dl/dy = -dl/dx;  d2l/dx2 = 1 for |d| < delta, else 0
    (0 at |d| = delta, as PyTorch)."""

    twice_differentiable = True

    formula = Custom(
        "Huber", local=lambda v, i: ("" if i == 0 else "−")
        + f"clip({v.args[0]} − {v.args[1]}, ±δ){_mean_note(v)}")

    @staticmethod
    def forward(ctx, x, y, *, reduction="mean", delta=1.0):
        diff = x - y
        abs_diff = np.abs(diff)
        # with c = min(|d|, delta): c (|d| - c / 2) is d^2 / 2 inside, delta (|d| - delta / 2)
        # outside, without a (slow, unpredictable) np.where
        clipped = np.minimum(abs_diff, delta)
        loss = clipped * (abs_diff - 0.5 * clipped)
        ctx.save_for_backward(diff)
        return _reduce(loss.astype(diff.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved_tensors
        delta = ctx.options["delta"]
        g = _upstream(grad, ctx.options["reduction"], np.size(diff))
        # on Tensors d is rebuilt from x - y only strictly inside (-delta, delta): at
        # |d| = delta the clipped slope is a constant, its derivative 0 (as PyTorch)
        diff = from_inputs(ctx, diff, lambda x, y: np.where(np.abs(diff) < delta, x - y, diff))
        grad_x = g * np.clip(diff, -delta, delta)
        return grad_x, (-grad_x if ctx.needs_input_grad[1] else None)


def _focal_parts(z, target, axis):
    """(log softmax z, u = log p_y, 1 - p_y = -expm1(u): exact when p_y is near 1)."""
    logp = log_softmax(z, axis)
    u = _pick(logp, target, axis)
    return logp, u, -np.expm1(u)


class FocalLoss(Function):
    """Multi-class focal loss of logits z and class indices y (Lin et al., 2017).

    With u = log p_y (from a stable log-softmax) and p_y = e^u:
        l = -alpha_y (1 - p_y)^gamma u
        dl/du = alpha_y (gamma (1 - p_y)^(gamma - 1) p_y u - (1 - p_y)^gamma)
        dl/dz = dl/du ([c = y] - softmax(z)_c)
    gamma = 0 and alpha = 1 give cross entropy. ``alpha`` is None, a 0-d array (one
    factor) or one factor per class.
    """

    twice_differentiable = True

    formula = Custom(
        "focal", local=lambda v, i: "(1−p)^γ-weighted softmax − onehot")

    @staticmethod
    def forward(ctx, z, target, alpha, *, gamma=2.0, reduction="mean"):
        axis = _class_axis(z.ndim)
        logp, u, one_minus_p = _focal_parts(z, target, axis)
        if alpha is None:
            alpha_y = None
        elif np.ndim(alpha) == 0:
            alpha_y = alpha
        else:
            alpha_y = alpha[target]
        loss = -(one_minus_p ** gamma) * u
        if alpha_y is not None:
            loss = loss * alpha_y
        ctx.save_for_backward(logp, target, u, one_minus_p, alpha_y)
        return _reduce(loss.astype(z.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, grad):
        logp, target, u, one_minus_p, alpha_y = ctx.saved_tensors
        gamma = ctx.options["gamma"]
        axis = _class_axis(logp.ndim)
        target = data(target)
        logp, u, one_minus_p = from_inputs(ctx, (logp, u, one_minus_p),
                                           lambda z, *_: _focal_parts(z, target, axis))
        g = _upstream(grad, ctx.options["reduction"], np.size(u))
        p = 1.0 - one_minus_p
        with np.errstate(divide="ignore", invalid="ignore"):
            # at p = 1 (u = 0) the first term is 0 * inf for gamma < 1; its limit is 0
            focus = np.where(data(one_minus_p) > 0,
                             gamma * one_minus_p ** (gamma - 1) * p * u, 0.0)
        dl_du = focus - one_minus_p ** gamma
        if alpha_y is not None:
            dl_du = dl_du * alpha_y
        coef = np.expand_dims(g * dl_du, axis)
        grad_z = -np.exp(logp) * coef
        return add_along(grad_z, np.expand_dims(target, axis), coef, axis), None, None


class KlDivLoss(Function):
    """Pointwise KL divergence with the input as log-probabilities x:

        l = t (log t - x)  (0 where t = 0);   dl/dx = -t,  dl/dt = log t + 1 - x
        log_target:  l = e^t (t - x);         dl/dx = -e^t, dl/dt = e^t (t - x + 1)

    ``reduction`` ``"batchmean"`` divides the sum by the batch size (dim 0).
    Twice differentiable: d2l/dx dt = -1 (-e^t with log_target), d2l/dt2 = 1 / t
    (e^t (t - x + 2)), d2l/dx2 = 0.
    """

    twice_differentiable = True

    promotes = (0, 1)
    float_only = True
    formula = Custom("KLDiv", local=lambda v, i: ["−t", "log t + 1 − x"][i])

    @staticmethod
    def forward(ctx, x, t, *, reduction, log_target):
        if log_target:
            e = np.exp(t)
            loss = e * (t - x)
        else:
            positive = t > 0
            log_t = np.log(np.where(positive, t, 1))
            loss = np.where(positive, t * (log_t - x), 0 * x)
        ctx.save_for_backward(x, t)
        shape = np.broadcast_shapes(np.shape(x), np.shape(t))
        ctx.count = int(np.prod(shape)) if reduction != "batchmean" else (shape[0] if shape
                                                                            else 1)
        return _reduce(loss, "mean" if reduction == "batchmean" else reduction, ctx.count)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        reduction = ctx.options["reduction"]
        up = _upstream(grad, "mean" if reduction == "batchmean" else reduction, ctx.count)
        if ctx.options["log_target"]:
            e = np.exp(t)
            return -e * up, e * (t - x + 1) * up
        positive = data(t) > 0
        log_t = np.log(np.where(positive, t, 1))
        grad_t = np.where(positive, log_t + 1 - x, 0) * up if ctx.needs_input_grad[1] else None
        return -t * up, grad_t


def _logsumexp_stack(*arrays):
    """Elementwise log(sum(exp)) of equally shaped arrays, -inf where all are -inf."""
    stacked = np.stack(arrays)
    m = np.max(stacked, axis=0)
    safe = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        return safe + np.log(np.sum(np.exp(stacked - safe), axis=0))


def _ctc_extended(target, blank):
    """The target with blanks around and between its labels: l' of length 2S + 1."""
    ext = np.full(2 * len(target) + 1, blank, dtype=np.int64)
    ext[1::2] = target
    return ext


def _ctc_alpha_beta(lp, ext, blank):
    """log alpha and log beta (T, 2S + 1) of one sample (Graves et al. 2006)."""
    steps, width = lp.shape[0], ext.size
    emit = lp[:, ext]  # (T, 2S + 1)
    # the skip s-2 -> s is allowed onto a label that differs from the one two back
    skip = np.zeros(width, dtype=bool)
    skip[2:] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
    neg = np.full(width, -np.inf, dtype=lp.dtype)
    alpha = np.full((steps, width), -np.inf, dtype=lp.dtype)
    alpha[0, 0] = emit[0, 0]
    if width > 1:
        alpha[0, 1] = emit[0, 1]
    for t in range(1, steps):
        prev = alpha[t - 1]
        one = np.concatenate([neg[:1], prev[:-1]])
        two = np.where(skip, np.concatenate([neg[:2], prev[:-2]]), -np.inf)
        alpha[t] = emit[t] + _logsumexp_stack(prev, one, two)
    beta = np.full((steps, width), -np.inf, dtype=lp.dtype)
    beta[-1, -1] = emit[-1, -1]
    if width > 1:
        beta[-1, -2] = emit[-1, -2]
    skip_back = np.zeros(width, dtype=bool)
    skip_back[:-2] = skip[2:]
    for t in range(steps - 2, -1, -1):
        nxt = beta[t + 1]
        one = np.concatenate([nxt[1:], neg[:1]])
        two = np.where(skip_back, np.concatenate([nxt[2:], neg[:2]]), -np.inf)
        beta[t] = emit[t] + _logsumexp_stack(nxt, one, two)
    return alpha, beta


class CtcLoss(Function):
    """Connectionist temporal classification loss (Graves et al. 2006), per sample:

        nll_b = -log sum over the alignments of target b of prod_t p_t(label at t)

    computed with the alpha (forward) and beta (backward) recursions in log space over
    the blank-extended target l'. ``log_probs`` (T, N, C) are log-softmax outputs.
    The gradient is PyTorch's: with occupation gamma_t(c) = sum over s with l'_s = c of
    alpha_t(s) beta_t(s) / (p_t(c) P),

        dL/d(log_probs)[t, c] = (p_t(c) - gamma_t(c)) * dL/dnll

    which is the gradient with respect to the *logits* under the log-softmax (what
    training needs; the log-softmax's own backward then passes it through unchanged).
    ``reduction`` 'mean' divides each nll by its target length, then averages.

    Once differentiable only: the alpha-beta recursion runs on arrays, so a
    ``create_graph=True`` backward through it gives a first gradient whose own backward
    raises "CtcLoss: its backward is not differentiable" (as the engine does for every
    op without ``twice_differentiable``).
    """

    formula = Custom("CTC", local=lambda v, i: "p − γ (occupation)" if i == 0 else None)

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, *, blank,
                reduction, zero_infinity):
        steps, batch, _ = log_probs.shape
        nll = np.zeros(batch, dtype=log_probs.dtype)
        parts = []
        offsets = np.concatenate([[0], np.cumsum(target_lengths)[:-1]])
        for b in range(batch):
            length, s = int(input_lengths[b]), int(target_lengths[b])
            target = (targets[b, :s] if targets.ndim == 2
                      else targets[offsets[b]:offsets[b] + s])
            ext = _ctc_extended(target, blank)
            lp = log_probs[:length, b]
            alpha, beta = _ctc_alpha_beta(lp, ext, blank)
            tail = alpha[-1, -2:] if ext.size > 1 else alpha[-1, -1:]
            nll[b] = -_logsumexp_stack(*tail)
            parts.append((ext, alpha, beta))
        infinite = ~np.isfinite(nll)
        if zero_infinity:
            nll = np.where(infinite, 0, nll)
        ctx.save_for_backward(log_probs)
        ctx.parts, ctx.nll, ctx.infinite = parts, nll, infinite
        ctx.input_lengths, ctx.target_lengths = input_lengths, target_lengths
        if reduction == "none":
            return nll
        if reduction == "sum":
            return nll.sum()
        return (nll / np.maximum(target_lengths, 1)).mean().astype(log_probs.dtype)

    @staticmethod
    def backward(ctx, grad):
        (log_probs,) = ctx.saved_tensors
        steps, batch, classes = log_probs.shape
        reduction = ctx.options["reduction"]
        if reduction == "none":
            per_sample = np.broadcast_to(grad, (batch,))
        elif reduction == "sum":
            per_sample = np.full(batch, grad, dtype=log_probs.dtype)
        else:
            per_sample = grad / np.maximum(ctx.target_lengths, 1) / batch
        out = np.zeros_like(log_probs)
        for b, (ext, alpha, beta) in enumerate(ctx.parts):
            if ctx.infinite[b] and ctx.options["zero_infinity"]:
                continue
            length = int(ctx.input_lengths[b])
            lp = log_probs[:length, b]
            nll = ctx.nll[b]
            both = alpha + beta  # (T, 2S + 1)
            lcab = np.full((length, classes), -np.inf, dtype=lp.dtype)
            for c in np.unique(ext):
                lcab[:, c] = _logsumexp_stack(*both[:, ext == c].T)
            with np.errstate(over="ignore", invalid="ignore"):
                out[:length, b] = (np.exp(lp) - np.exp(lcab + nll - lp)) * per_sample[b]
        return out, None, None, None
