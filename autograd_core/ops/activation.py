"""Activation functions with a parameter or a piecewise form, one node each.

(relu, sigmoid and tanh are in ``elementwise``.) The derivative sits next to each op;
at the kinks the one-sided value PyTorch uses is taken, so gradients match it exactly.

    leaky_relu  y = x (x > 0), s x (else)                   dy/dx = 1 or s
    elu         y = x (x > 0), a (e^x - 1) (else)           dy/dx = 1 or a e^x
    selu        y = scale * elu(x, alpha) with fixed constants
    softplus    y = log(1 + e^(b x)) / b  (x where b x > threshold)
                                                             dy/dx = sigmoid(b x) or 1
    prelu       y = x (x > 0), w_c x (else), one learnable slope per channel
    silu        y = x sigmoid(x)                             dy/dx = s (1 + x (1 - s))
    hardtanh    y = clip(x, lo, hi)                          dy/dx = 1 inside, 0 outside

>>> from autograd_core import Tensor
>>> from autograd_core.ops.activation import LeakyRelu
>>> LeakyRelu.apply(Tensor([-2.0, 3.0]), negative_slope=0.1).tolist()
[-0.20000000298023224, 3.0]
"""

import numpy as np

from autograd_core.function import Function
from autograd_core.ops._dual import blend as _blend
from autograd_core.ops._dual import cast, data, erf, from_inputs, halves, rebuilt
from autograd_core.ops._dual import sigmoid as _sigmoid
from autograd_core.ops._formula import Custom, dtype_literal, fmt_value, literal, option

__all__ = [
    "LeakyRelu", "Elu", "Selu", "Softplus", "PRelu", "Silu", "Hardtanh",
    "SELU_ALPHA", "SELU_SCALE", "Gelu", "Mish", "Hardswish", "Hardsigmoid", "Softsign", "Celu",
    "Glu",
]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


# NumPy's np.where with an unpredictable mask (the sign of activations) is ~10x slower
# than arithmetic on this kind of CPU (branch mispredictions), so the piecewise ops
# below blend with max/min and a 0/1 mask m instead (``_dual.blend``: exact, and it
# runs on Tensors too).
#
# Every backward here is twice differentiable: written once with operators and the
# helpers of ``_dual``, it runs on arrays in an ordinary backward and records itself on
# Tensors in a create_graph=True one. A value the forward derived from x (sigmoid(x),
# e^x) is saved for speed and rebuilt from x on the Tensor path (``rebuilt``).


class LeakyRelu(Function):
    """y = x if x > 0 else s x;  dy/dx = 1 if x > 0 else s (s at 0, as PyTorch).

    For s <= 1, y = max(x, s x); for s > 1, y = min(x, s x).
    """

    twice_differentiable = True

    formula = Custom(
        "LeakyReLU",
        lambda v: [f"{v.out} = np.where({v.args[0]} > 0, {v.args[0]}, "
                   f"{v.args[0]} * {option(v, 'negative_slope', 0.01)})"],
        lambda v, i: f"np.where({v.args[0]} > 0, {v.g}, "
                     f"{v.g} * {option(v, 'negative_slope', 0.01)})",
        lambda v, i: f"1 if {v.args[0]} > 0 else {fmt_value(v.opt.get('negative_slope', 0.01))}")

    @staticmethod
    def forward(ctx, x, *, negative_slope=0.01):
        ctx.save_for_backward(x > 0)
        scaled = x * negative_slope
        return np.maximum(x, scaled) if negative_slope <= 1 else np.minimum(x, scaled)

    @staticmethod
    def backward(ctx, grad):
        (positive,) = ctx.saved_tensors
        slope = ctx.options["negative_slope"]
        if 0 <= slope <= 1:
            factor = np.maximum(positive.astype(grad.dtype), slope)  # 1 or slope, exactly
        else:
            factor = _blend(positive, grad.dtype.type(1), grad.dtype.type(slope))
        return grad * factor


def _below_zero(out):
    """ELU's output as the graph sees it in the slope y + a: recorded where y < 0, a
    constant at y = 0 (x = 0), so the second derivative there is 0 as in PyTorch (its
    first derivative at 0 is the left one, a)."""
    return np.where(data(out) < 0, out, data(out))


def _elu_negative(x, alpha):
    """alpha (e^min(x, 0) - 1): ELU's negative branch, 0 for x > 0.

    expm1 is exact near 0; min(x, 0) keeps exp from overflowing for large positive x.
    """
    return alpha * np.expm1(np.minimum(x, 0))


class Elu(Function):
    """y = x if x > 0 else a (e^x - 1);  dy/dx = 1 if x > 0 else a e^x (= y + a).

    With n = a (e^min(x,0) - 1): y = max(x, 0) + n, and for x <= 0, y + a = n + a.
    """

    formula = Custom(
        "ELU",
        lambda v: [f"{v.out} = np.where({v.args[0]} > 0, {v.args[0]}, {option(v, 'alpha', 1.0)} * "
                   f"np.expm1(np.minimum({v.args[0]}, 0)))"],
        lambda v, i: f"np.where({v.args[0]} > 0, {v.g}, "
                     f"{v.g} * ({v.out} + {option(v, 'alpha', 1.0)}))",
        lambda v, i: f"1 if {v.args[0]} > 0 else {v.out} + α")

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x, *, alpha=1.0):
        out = np.maximum(x, 0) + _elu_negative(x, alpha)
        # for x <= 0 the output is exactly the negative branch, so y + a is dy/dx there
        # and, saved as the output, it is differentiable again
        ctx.save_for_backward(x > 0, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        positive, out = ctx.saved_tensors
        out = rebuilt(out, out, _below_zero)
        return grad * _blend(positive, out.dtype.type(1), out + ctx.options["alpha"])


def _selu_constants():
    from autograd_core.ops.activation import SELU_ALPHA, SELU_SCALE

    return literal(float(SELU_SCALE)), literal(float(SELU_ALPHA))


def _selu_forward(v):
    scale, alpha = _selu_constants()
    x = v.args[0]
    return [f"{v.out} = ({scale} * np.where({x} > 0, {x}, {alpha} * np.expm1(np.minimum({x}, 0))))"
            f".astype({dtype_literal(v.dtype(0))}, copy=False)"]


def _selu_backward(v, i):
    scale, alpha = _selu_constants()
    return (f"np.where({v.args[0]} > 0, {v.g} * {scale}, "
            f"{v.g} * ({v.out} + {scale} * {alpha}))")


class Selu(Function):
    """y = scale * elu(x, alpha) with PyTorch's constants;
    dy/dx = scale if x > 0 else y + scale alpha (= scale alpha e^x)."""

    twice_differentiable = True

    formula = Custom("SELU", _selu_forward, _selu_backward,
        lambda v, i: f"λ if {v.args[0]} > 0 else {v.out} + λα")

    @staticmethod
    def forward(ctx, x):
        out = (SELU_SCALE * (np.maximum(x, 0) + _elu_negative(x, SELU_ALPHA))).astype(
            x.dtype, copy=False)
        ctx.save_for_backward(x > 0, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        positive, out = ctx.saved_tensors
        scale = out.dtype.type(SELU_SCALE)
        out = rebuilt(out, out, _below_zero)
        return grad * _blend(positive, scale, out + SELU_SCALE * SELU_ALPHA)


def softplus(z: np.ndarray) -> np.ndarray:
    """log(1 + e^z) on arrays without overflow: max(z, 0) + log1p(e^-|z|)."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _softplus_forward(v):
    z, x = v.tmp("z"), v.args[0]
    beta, threshold = option(v, "beta", 1.0), option(v, "threshold", 20.0)
    return [
        f"{z} = {x} * {beta}",
        f"{v.out} = np.where({z} > {threshold}, {x}, (np.maximum({z}, 0) + "
        f"np.log1p(np.exp(-np.abs({z})))) / {beta}).astype({dtype_literal(v.dtype(0))}, "
        "copy=False)",
    ]


class Softplus(Function):
    """y = log(1 + e^(b x)) / b, or x where b x > threshold;  dy/dx = sigmoid(b x) or 1.

    Stable form: log(1 + e^z) = max(z, 0) + log1p(e^-|z|), never overflowing.
    d2y/dx2 = b sigmoid(b x) (1 - sigmoid(b x)) (0 on the linear part).
    """

    twice_differentiable = True

    formula = Custom(
        "softplus", _softplus_forward,
        lambda v, i: f"np.where({v.tmp('z')} > {option(v, 'threshold', 20.0)}, {v.g}, "
                     f"{v.g} * sigmoid({v.tmp('z')}))",
        lambda v, i: f"σ(β{v.args[0]})", helpers=["sigmoid"])

    @staticmethod
    def forward(ctx, x, *, beta=1.0, threshold=20.0):
        z = x * beta
        linear = z > threshold
        soft = softplus(z) / beta
        ctx.save_for_backward(z, linear)
        return np.where(linear, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        z, linear = ctx.saved_tensors
        # on Tensors z = b x records only below the threshold: PyTorch's second derivative
        # is b s (1 - s) for b x < threshold and 0 from it on
        threshold = ctx.options["threshold"]
        z = from_inputs(ctx, z, lambda x: np.where(z < threshold, x * ctx.options["beta"], z))
        return np.where(linear, grad, grad * _sigmoid(z))


def _channel_shape(x_ndim: int, channels: int) -> tuple:
    """The shape that broadcasts a per-channel vector along dim 1 of an x_ndim input."""
    if x_ndim < 2:
        return (channels,)
    return (1, channels) + (1,) * (x_ndim - 2)


class PRelu(Function):
    """y = x if x > 0 else w x, w one slope or one per channel (dim 1);
    dy/dx = 1 or w,  dL/dw = sum over x <= 0 of g x (over all but the channel dim).

    Blended: y = max(x, 0) + w min(x, 0), dL/dw = sum g min(x, 0).
    """

    twice_differentiable = True

    formula = Custom(
        "PReLU", local=lambda v, i: (f"1 if {v.args[0]} > 0 else {v.args[1]}" if i == 0
                     else f"{v.args[0]} where {v.args[0]} ≤ 0"))

    @staticmethod
    def forward(ctx, x, weight):
        w = weight.reshape(_channel_shape(x.ndim, weight.size)) if weight.size > 1 else weight
        negative = np.minimum(x, 0)
        ctx.save_for_backward(x > 0, negative, w)
        return (np.maximum(x, 0) + w * negative).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        positive, negative, w = ctx.saved_tensors
        # on Tensors min(x, 0) and the slope w record only where x < 0: at x = 0 the
        # first derivatives take the x <= 0 branch but PyTorch's second ones the x >= 0
        # branch, so there min(x, 0) and w are constants
        negative, w = from_inputs(ctx, (negative, w), lambda x, weight: (
            x * (data(x) < 0), np.where(data(x) < 0, weight.reshape(w.shape), data(w))))
        need_x, need_w = ctx.needs_input_grad
        grad_x = grad_w = None
        if need_x:
            grad_x = grad * _blend(positive, grad.dtype.type(1), w)
        if need_w:
            contribution = grad * negative
            if w.size == 1:
                grad_w = np.reshape(contribution.sum(), w.shape)
            else:
                axes = (0,) + tuple(range(2, negative.ndim)) if negative.ndim >= 2 else ()
                grad_w = contribution.sum(axis=axes) if axes else contribution
        return grad_x, grad_w


def _silu_forward(v):
    s, x = v.tmp("sigmoid"), v.args[0]
    return [f"{s} = sigmoid({x})",
            f"{v.out} = ({x} * {s}).astype({dtype_literal(v.dtype(0))}, copy=False)"]


class Silu(Function):
    """y = x sigmoid(x) (swish);  dy/dx = s + x s (1 - s) with s = sigmoid(x)."""

    twice_differentiable = True

    formula = Custom(
        "SiLU", _silu_forward,
        lambda v, i: f"{v.g} * ({v.tmp('sigmoid')} * (1 + {v.args[0]} * (1 - {v.tmp('sigmoid')})))",
        lambda v, i: f"σ + {v.args[0]}σ(1−σ)", helpers=["sigmoid"])

    @staticmethod
    def forward(ctx, x):
        s = _sigmoid(x)
        ctx.save_for_backward(x, s)
        return (x * s).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, s = ctx.saved_tensors
        s = rebuilt(s, x, _sigmoid)
        return grad * (s * (1 + x * (1 - s)))


class Hardtanh(Function):
    """y = clip(x, lo, hi);  dy/dx = 1 for lo < x < hi, else 0 (open interval, as PyTorch)."""

    twice_differentiable = True

    formula = Custom(
        "hardtanh",
        lambda v: [f"{v.out} = np.clip({v.args[0]}, {option(v, 'min_val', -1.0)}, "
                   f"{option(v, 'max_val', 1.0)})"],
        lambda v, i: f"{v.g} * (({v.args[0]} > {option(v, 'min_val', -1.0)}) & "
                     f"({v.args[0]} < {option(v, 'max_val', 1.0)}))",
        lambda v, i: f"1 if {fmt_value(v.opt.get('min_val', -1.0))} < {v.args[0]} < "
                     f"{fmt_value(v.opt.get('max_val', 1.0))} else 0")

    @staticmethod
    def forward(ctx, x, *, min_val=-1.0, max_val=1.0):
        ctx.save_for_backward((x > min_val) & (x < max_val))
        return np.clip(x, min_val, max_val)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside


# ------------------------------------------------------------------ more activations
# GELU, Mish, Hardswish, Hardsigmoid, Softsign, CELU and GLU: one node each, the
# derivative beside the forward, PyTorch's one-sided values at the kinks.

_SQRT_2_OVER_PI = 0.7978845608028654  # sqrt(2 / pi)
_INV_SQRT_2PI = 0.3989422804014327  # 1 / sqrt(2 pi)
_GELU_CUBIC = 0.044715


def _gelu_tanh(x):
    return np.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x))


def _gelu_cdf(x):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2."""
    return 0.5 * (1 + erf(x * np.sqrt(0.5)))


class Gelu(Function):
    """y = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2;  dy/dx = Phi(x) + x phi(x).

    ``approximate='tanh'``: y = x (1 + tanh u) / 2 with u = sqrt(2/pi) (x + 0.044715 x^3);
    dy/dx = (1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2.
    """

    twice_differentiable = True

    formula = Custom("GELU", local=lambda v, i: "Φ(x) + x φ(x)")

    @staticmethod
    def forward(ctx, x, *, approximate="none"):
        if approximate == "tanh":
            t = _gelu_tanh(x)
            ctx.save_for_backward(x, t)
            return (0.5 * x * (1 + t)).astype(x.dtype, copy=False)
        cdf = _gelu_cdf(x)
        ctx.save_for_backward(x, cdf)
        return (x * cdf).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, saved = ctx.saved_tensors
        if ctx.options.get("approximate", "none") == "tanh":
            t = rebuilt(saved, x, _gelu_tanh)
            inner = _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * x * x)
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner)
        pdf = _INV_SQRT_2PI * np.exp(-0.5 * x * x)
        return grad * (rebuilt(saved, x, _gelu_cdf) + x * pdf)


class Mish(Function):
    """y = x tanh(softplus(x));  dy/dx = tanh(sp) + x (1 - tanh(sp)^2) sigmoid(x)."""

    twice_differentiable = True

    formula = Custom("Mish", local=lambda v, i: "tanh(sp) + x sech²(sp) σ(x)")

    @staticmethod
    def forward(ctx, x):
        t = np.tanh(softplus(x))
        ctx.save_for_backward(x, t)
        return (x * t).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        t = rebuilt(t, x, lambda x: np.tanh(softplus(x)))
        return grad * (t + x * (1 - t * t) * _sigmoid(x))


class Hardswish(Function):
    """y = x relu6(x + 3) / 6;  dy/dx = 0 (x <= -3), x / 3 + 1/2 (-3 < x < 3), 1 (x >= 3)."""

    twice_differentiable = True

    formula = Custom("Hardswish", local=lambda v, i: "0, x/3 + ½ or 1")

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x * np.clip(x + 3, 0, 6) / 6).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        middle = x / 3 + 0.5
        values = data(x)
        return grad * cast(np.where(values <= -3, 0, np.where(values < 3, middle, 1)),
                           grad.dtype)


class Hardsigmoid(Function):
    """y = relu6(x + 3) / 6;  dy/dx = 1/6 for -3 < x < 3, else 0."""

    twice_differentiable = True

    formula = Custom("Hardsigmoid", local=lambda v, i: "1/6 inside (−3, 3), else 0")

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward((x > -3) & (x < 3))
        return (np.clip(x + 3, 0, 6) / 6).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        # PyTorch multiplies by 1/6 rounded to float32 (its kernel's ``1.0f / 6.0f``),
        # also for float64, so the gradient is 1/6 (1 + 3e-8); matched here exactly
        sixth = grad.dtype.type(np.float32(1) / np.float32(6))
        return cast(np.where(inside, grad * sixth, 0), grad.dtype)


class Softsign(Function):
    """y = x / (1 + |x|);  dy/dx = 1 / (1 + |x|)^2."""

    twice_differentiable = True

    formula = Custom("Softsign", local=lambda v, i: f"1/(1 + |{v.args[0]}|)²")

    @staticmethod
    def forward(ctx, x):
        d = 1 + np.abs(x)
        ctx.save_for_backward(d)
        return x / d

    @staticmethod
    def backward(ctx, grad):
        (d,) = ctx.saved_tensors
        d = from_inputs(ctx, d, lambda x: 1 + np.abs(x))
        return grad / (d * d)


class Celu(Function):
    """y = max(0, x) + min(0, a (e^(x/a) - 1));  dy/dx = 1 (x > 0), e^(x/a) (else)."""

    twice_differentiable = True

    formula = Custom("CELU", local=lambda v, i: "1 or e^(x/α)")

    @staticmethod
    def forward(ctx, x, *, alpha=1.0):
        e = np.exp(np.minimum(x, 0) / alpha)
        ctx.save_for_backward(x > 0, e)
        return (np.maximum(x, 0) + alpha * (e - 1)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        positive, e = ctx.saved_tensors
        # on Tensors, e^(x/a) from x masked to x < 0 (the blend keeps x <= 0; at x = 0 the
        # slope 1 is a constant, so the second derivative is 0 there, as in PyTorch)
        e = from_inputs(ctx, e, lambda x: np.exp(x * (data(x) < 0) / ctx.options["alpha"]))
        return grad * _blend(positive, e.dtype.type(1), e)


def _glu_parts(x, dim):
    """(a, sigmoid(b)) for the halves a, b of x along ``dim``."""
    a, b = halves(x, dim)
    return a, _sigmoid(b)


class Glu(Function):
    """y = a sigmoid(b), (a, b) the two halves of x along ``dim``;
    dL/da = g sigmoid(b),  dL/db = g a sigmoid(b) (1 - sigmoid(b))."""

    twice_differentiable = True

    formula = Custom("GLU", local=lambda v, i: "σ(b) | a σ(b)(1 − σ(b))")

    @staticmethod
    def forward(ctx, x, *, dim):
        a, b = np.split(x, 2, axis=dim)
        s = _sigmoid(b)
        ctx.save_for_backward(a, s, x)
        return (a * s).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        a, s, x = ctx.saved_tensors
        dim = ctx.options["dim"]
        a, s = rebuilt((a, s), x, lambda x: _glu_parts(x, dim))
        return np.concatenate([grad * s, grad * a * s * (1 - s)], axis=dim)
