"""Elementwise ops: arithmetic, math functions, activations, comparisons' relatives.

Each class is one forward/backward pair; the derivative is written next to the op.
Inputs broadcast as in NumPy and promote as in PyTorch (``_dtypes.promote``: a float32
tensor stays float32 next to a NumPy float64 scalar; integer inputs of float functions
give float32); backward may return gradients in the broadcast shape,
and the engine sums them back to each input's shape (``ops._shapes.unbroadcast``).
Where the derivative is cheapest from the output (exp, sqrt, tanh, sigmoid), the
output is what ``forward`` saves.

>>> from autograd_core import Tensor
>>> x = Tensor([0.0, 1.0], requires_grad=True)
>>> x.sigmoid().sum().backward()
>>> [round(v, 4) for v in x.grad.tolist()]
[0.25, 0.1966]
"""

import numpy as np

from autograd_core.errors import DTypeError, ShapeError
from autograd_core.function import Function
from autograd_core.ops._formula import Custom, Template, fmt_value, literal
from autograd_core.ops._registry import NUMPY, public
from autograd_core.ops._shapes import broadcast_shapes
from autograd_core.tensor import Tensor

__all__ = [
    "Add", "Sub", "Mul", "Div", "Neg", "Pow", "Exp", "Log", "Sqrt", "Abs", "Sin", "Cos",
    "Tanh", "Sigmoid", "Relu", "Clamp", "Maximum", "Minimum", "Where", "Cast",
    "stable_sigmoid",
]


class Add(Function):
    """y = a + b;  dy/da = 1, dy/db = 1."""

    twice_differentiable = True

    promotes = (0, 1)

    formula = Template("+", "{0} + {1}", ["{g}", "{g}"], ["1", "1"])

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    """y = a - b;  dy/da = 1, dy/db = -1."""

    twice_differentiable = True

    promotes = (0, 1)

    formula = Template("−", "{0} - {1}", ["{g}", "-{g}"], ["1", "−1"])

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """y = a * b;  dy/da = b, dy/db = a."""

    twice_differentiable = True

    promotes = (0, 1)

    formula = Template("×", "{0} * {1}", ["{g} * {1}", "{g} * {0}"], ["{1}", "{0}"])

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    """y = a / b;  dy/da = 1 / b, dy/db = -a / b^2 = -y / b."""

    twice_differentiable = True

    promotes = (0, 1)
    float_only = True

    formula = Template("÷", "{0} / {1}", ["{g} / {1}", "-{g} * {out} / {1}"],
        ["1/{1}", "−{0}/{1}² = −{out}/{1}"])

    @staticmethod
    def forward(ctx, a, b):
        out = a / b
        ctx.save_for_backward(b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad / b if need_a else None
        grad_b = -grad * out / b if need_b else None
        return grad_a, grad_b


class Neg(Function):
    """y = -a;  dy/da = -1."""

    twice_differentiable = True

    formula = Template("−", "-{0}", ["-{g}"], ["−1"])

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


def _pow_backward(v, i):
    if i == 0:
        b = v.value(1)
        if np.ndim(b) == 0 and b == 0:
            return f"np.zeros_like({v.g})"
        if np.ndim(b) == 0 and b == 2:
            return v.fmt("{g} * 2 * {0}")  # the engine's shortcut for squares
        return v.fmt("{g} * {1} * np.power({0}, {1} - 1)")
    return v.fmt("{g} * {out} * np.where({0} == 0, 0, np.log(np.where({0} == 0, 1, {0})))")


class Pow(Function):
    """y = a ** b;  dy/da = b a^(b-1), dy/db = y ln a (0 where a = 0, as PyTorch)."""

    twice_differentiable = True

    promotes = (0, 1)

    formula = Custom(
        "^", lambda v: [f"{v.out} = {v.fmt('np.power({0}, {1})')}"], _pow_backward,
        ["{1}·{0}^({1}−1)", "{out}·ln {0}"])

    @staticmethod
    def forward(ctx, a, b):
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            if np.ndim(b) == 0 and b == 0:
                grad_a = np.zeros_like(grad)
            elif np.ndim(b) == 0 and b == 2:
                grad_a = grad * 2 * a  # the common square, without a second power
            else:
                grad_a = grad * b * np.power(a, b - 1)
        if need_b:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.where(a == 0, 0, np.log(np.where(a == 0, 1, a)))
            grad_b = grad * out * log_a
        return grad_a, grad_b


class Exp(Function):
    """y = e^a;  dy/da = y."""

    twice_differentiable = True

    promotes = (0,)
    float_only = True

    formula = Template("exp", "np.exp({0})", ["{g} * {out}"], ["exp({0}) = {out}"])

    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    """y = ln a;  dy/da = 1 / a."""

    twice_differentiable = True

    promotes = (0,)
    float_only = True

    formula = Template("ln", "np.log({0})", ["{g} / {0}"], ["1/{0}"])

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / a


class Sqrt(Function):
    """y = sqrt(a);  dy/da = 1 / (2 y)."""

    twice_differentiable = True

    promotes = (0,)
    float_only = True

    formula = Template("√", "np.sqrt({0})", ["{g} / (2 * {out})"], ["1/(2√{0})"])

    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (2 * out)


class Abs(Function):
    """y = |a|;  dy/da = sign(a) (0 at 0, as PyTorch)."""

    twice_differentiable = True

    formula = Template("|·|", "np.abs({0})", ["{g} * np.sign({0})"], ["sign({0})"])

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * np.sign(a)


class Sin(Function):
    """y = sin a;  dy/da = cos a."""

    twice_differentiable = True

    promotes = (0,)
    float_only = True

    formula = Template("sin", "np.sin({0})", ["{g} * np.cos({0})"], ["cos {0}"])

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sin(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * np.cos(a)


class Cos(Function):
    """y = cos a;  dy/da = -sin a."""

    twice_differentiable = True

    promotes = (0,)
    float_only = True

    formula = Template("cos", "np.cos({0})", ["-{g} * np.sin({0})"], ["−sin {0}"])

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cos(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return -grad * np.sin(a)


class Tanh(Function):
    """y = tanh a;  dy/da = 1 - y^2."""

    twice_differentiable = True

    promotes = (0,)
    float_only = True

    formula = Template("tanh", "np.tanh({0})", ["{g} * (1 - {out} * {out})"],
        ["1 − tanh² = 1 − {out}²"])

    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)


def stable_sigmoid(a: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + e^-a) on arrays, without overflow for large |a|.

    With e = e^-|a| (never above 1): sigma(a) = 1 / (1 + e) for a >= 0, e / (1 + e) else.
    """
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1, e) / (1 + e)


class Sigmoid(Function):
    """y = 1 / (1 + e^-a);  dy/da = y (1 - y)."""

    twice_differentiable = True

    promotes = (0,)
    float_only = True

    formula = Template("σ", "sigmoid({0})", ["{g} * {out} * (1 - {out})"],
        ["σ(1−σ)"], helpers=["sigmoid"])

    @staticmethod
    def forward(ctx, a):
        out = stable_sigmoid(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)


class Relu(Function):
    """y = max(a, 0);  dy/da = 1 where a > 0, else 0 (0 at 0, as PyTorch)."""

    twice_differentiable = True

    formula = Template("ReLU", "np.maximum({0}, 0)", ["{g} * ({out} > 0)"],
        ["1 if {0} > 0 else 0"])

    @staticmethod
    def forward(ctx, a):
        out = np.maximum(a, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out > 0)


def _clamp_forward(v):
    lo, hi = v.opt.get("min"), v.opt.get("max")
    return [f"{v.out} = np.clip({v.args[0]}, {literal(lo)}, {literal(hi)})"]


def _clamp_backward(v, i):
    lo, hi = v.opt.get("min"), v.opt.get("max")
    tests = []
    if lo is not None:
        tests.append(f"({v.args[0]} >= {literal(lo)})")
    if hi is not None:
        tests.append(f"({v.args[0]} <= {literal(hi)})")
    if not tests:
        return f"{v.g} * np.ones({literal(v.shape(0))}, dtype=bool)"
    # The engine starts from np.ones(a.shape, bool) and &= each test: the same mask.
    inside = tests[0] if len(tests) == 1 else "(" + " & ".join(tests) + ")"
    return f"{v.g} * {inside}"


def _clamp_local(v, i):
    lo, hi = v.opt.get("min"), v.opt.get("max")
    lo_text = "" if lo is None else f"{fmt_value(lo)} ≤ "
    hi_text = "" if hi is None else f" ≤ {fmt_value(hi)}"
    return f"1 if {lo_text}{v.args[0]}{hi_text} else 0"


class Clamp(Function):
    """y = min(max(a, lo), hi);  dy/da = 1 where lo <= a <= hi, else 0 (as PyTorch)."""

    twice_differentiable = True

    formula = Custom("clamp", _clamp_forward, _clamp_backward, _clamp_local)

    @staticmethod
    def forward(ctx, a, *, min=None, max=None):
        ctx.save_for_backward(a)
        return np.clip(a, min, max)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        lo, hi = ctx.options.get("min"), ctx.options.get("max")
        inside = np.ones(a.shape, dtype=bool)
        if lo is not None:
            inside &= a >= lo
        if hi is not None:
            inside &= a <= hi
        return grad * inside


class _Extremum(Function):
    """Elementwise max or min of two inputs: the gradient goes to the chosen input,
    half to each on ties (as PyTorch)."""

    twice_differentiable = True

    promotes = (0, 1)

    pick_fn = staticmethod(np.maximum)
    wins = staticmethod(np.greater)  # where a is chosen over b

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return cls.pick_fn(a, b)

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        share_a = cls.wins(a, b) + 0.5 * (a == b)
        need_a, need_b = ctx.needs_input_grad
        return (grad * share_a if need_a else None), (grad * (1 - share_a) if need_b else None)


_SHARE_MAX = "(({0} > {1}) + 0.5 * ({0} == {1}))"


_SHARE_MIN = "(({0} < {1}) + 0.5 * ({0} == {1}))"


class Maximum(_Extremum):
    """y = max(a, b) elementwise;  the gradient goes to the larger input, half each on ties."""

    formula = Template(
        "max", "np.maximum({0}, {1})", ["{g} * " + _SHARE_MAX, "{g} * (1 - " + _SHARE_MAX + ")"],
        ["1 if {0} > {1} (½ on ties)", "1 if {1} > {0} (½ on ties)"])

    pick_fn = staticmethod(np.maximum)
    wins = staticmethod(np.greater)


class Minimum(_Extremum):
    """y = min(a, b) elementwise;  the gradient goes to the smaller input, half each on ties."""

    formula = Template(
        "min", "np.minimum({0}, {1})", ["{g} * " + _SHARE_MIN, "{g} * (1 - " + _SHARE_MIN + ")"],
        ["1 if {0} < {1} (½ on ties)", "1 if {1} < {0} (½ on ties)"])

    pick_fn = staticmethod(np.minimum)
    wins = staticmethod(np.less)


class Where(Function):
    """y = a where cond else b;  dy/da = cond, dy/db = not cond; cond gets no gradient."""

    twice_differentiable = True

    promotes = (1, 2)

    formula = Template(
        "where", "np.where({0}, {1}, {2})",
        [None, "np.where({0}, {g}, 0)", "np.where({0}, 0, {g})"],
        [None, "1 where {0}", "1 where not {0}"])

    @staticmethod
    def forward(ctx, cond, a, b):
        cond = np.asarray(cond, dtype=bool)
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        _, need_a, need_b = ctx.needs_input_grad
        grad_a = np.where(cond, grad, 0) if need_a else None
        grad_b = np.where(cond, 0, grad) if need_b else None
        return None, grad_a, grad_b


class Cast(Function):
    """y = a converted to ``dtype``;  the gradient is converted back (by the engine)."""

    twice_differentiable = True

    formula = Custom(
        "cast", lambda v: [f"{v.out} = {v.args[0]}.astype({literal(v.opt['dtype'])})"],
        lambda v, i: v.g, lambda v, i: "1 (cast back)")

    @staticmethod
    def forward(ctx, a, *, dtype):
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad


# --------------------------------------------------------------------- functional forms
# One function per op: torch.<name>, Tensor.<name> and NumPy's protocol (ops._registry).
def _scaled(other, alpha):
    return other if alpha == 1 else Mul.apply(other, alpha)


@public(numpy=(np.add,), ops=(Add,))
def add(input, other, *, alpha=1):
    """``input + alpha * other`` (``torch.add``)."""
    return Add.apply(input, _scaled(other, alpha))


@public("subtract", numpy=(np.subtract,), ops=(Sub,))
def sub(input, other, *, alpha=1):
    """``input - alpha * other`` (``torch.sub``)."""
    return Sub.apply(input, _scaled(other, alpha))


@public("multiply", numpy=(np.multiply,), ops=(Mul,))
def mul(input, other):
    return Mul.apply(input, other)


@public("divide", "true_divide", numpy=(np.true_divide,), ops=(Div,))
def div(input, other, *, rounding_mode=None):
    """``input / other``; ``rounding_mode`` "trunc" or "floor" rounds the quotient."""
    quotient = Div.apply(input, other)
    if rounding_mode is None:
        return quotient
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                         f"{rounding_mode!r}")
    rounded = np.trunc(quotient._data) if rounding_mode == "trunc" else np.floor(quotient._data)
    kind = np.result_type(np.asarray(_array(input)), np.asarray(_array(other)))
    return _constant(rounded.astype(kind) if kind.kind in "iu" else rounded)


@public("negative", numpy=(np.negative,), ops=(Neg,))
def neg(input):
    return Neg.apply(input)


@public(name="pow", numpy=(np.power,), ops=(Pow,))
def pow_(input, exponent):
    """``input ** exponent`` elementwise; an integer tensor to a negative integer power
    is an error, as in PyTorch."""
    base, power = _array(input), _array(exponent)
    if np.result_type(base).kind in "iu" and np.result_type(power).kind in "iu" and \
            np.any(np.asarray(power) < 0):
        raise DTypeError("pow: integers to negative integer powers are not allowed; "
                         "use a float base, e.g. x.float() ** -1")
    return Pow.apply(input, exponent)


def _unary(op_class, name, np_fn, doc, *aliases):
    def fn(input):
        return op_class.apply(input)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return public(*aliases, numpy=(np_fn,), ops=(op_class,))(fn)


exp = _unary(Exp, "exp", np.exp, "e^x elementwise.")
log = _unary(Log, "log", np.log, "The natural logarithm elementwise.")
sqrt = _unary(Sqrt, "sqrt", np.sqrt, "The square root elementwise.")
abs_ = _unary(Abs, "abs", np.abs, "|x| elementwise.", "absolute")
sin = _unary(Sin, "sin", np.sin, "sin x elementwise.")
cos = _unary(Cos, "cos", np.cos, "cos x elementwise.")
tanh = _unary(Tanh, "tanh", np.tanh, "tanh x elementwise.")


@public(ops=(Sigmoid,))
def sigmoid(input):
    """The logistic function 1 / (1 + e^-x) elementwise."""
    return Sigmoid.apply(input)


@public(ops=(Relu,))
def relu(input):
    """max(x, 0) elementwise."""
    return Relu.apply(input)


@public("clip", numpy=(), ops=(Clamp,))
def clamp(input, min=None, max=None):  # noqa: A002 - torch's names (builtins unused here)
    """Limit values to [min, max]; either bound may be None, not both."""
    if min is None and max is None:
        raise ShapeError("clamp: give at least one of min and max")
    return Clamp.apply(input, min=_plain(min), max=_plain(max))


@public(numpy=(np.maximum,), ops=(Maximum,))
def maximum(input, other):
    """Elementwise maximum; on ties each input gets half the gradient."""
    return Maximum.apply(input, other)


@public(numpy=(np.minimum,), ops=(Minimum,))
def minimum(input, other):
    """Elementwise minimum; on ties each input gets half the gradient."""
    return Minimum.apply(input, other)


@public(method=False, numpy=(np.where,), ops=(Where,))
def where(condition, input=None, other=None):
    """``input`` where ``condition`` is true, else ``other`` (broadcasting); with only a
    condition, the indices where it is true (as ``nonzero(as_tuple=True)``)."""
    cond = _array(condition)
    cond = cond if isinstance(cond, np.ndarray) else np.asarray(cond)
    if input is None and other is None:
        return tuple(_constant(i.astype(np.int64)) for i in np.nonzero(cond))
    if cond.dtype != np.bool_:
        raise DTypeError(f"where: the condition must be a bool tensor, got dtype {cond.dtype}")
    broadcast_shapes(cond.shape, np.shape(_array(input)), np.shape(_array(other)), op="where")
    return Where.apply(cond, input, other)


def _compare(np_fn, name, *aliases):
    def fn(input, other):
        return _constant(np.asarray(np_fn(_array(input), _array(other))))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise ``{np_fn.__name__}`` as a bool tensor (outside the graph)."
    return public(*aliases, numpy=(np_fn,))(fn)


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne", "not_equal")
lt = _compare(np.less, "lt", "less")
le = _compare(np.less_equal, "le", "less_equal")
gt = _compare(np.greater, "gt", "greater")
ge = _compare(np.greater_equal, "ge", "greater_equal")


def _np_clip(a, a_min=None, a_max=None, out=None, **kwargs):
    if out is not None or kwargs:
        raise TypeError("out= and other NumPy keywords are not supported")
    return clamp(a, _plain(a_min), _plain(a_max))


NUMPY[np.clip] = _np_clip


def _array(x):
    return x._data if isinstance(x, Tensor) else x


def _plain(value):
    """A bound given as a 0-d Tensor or NumPy scalar, as a Python number."""
    if isinstance(value, (Tensor, np.generic)):
        return value.item()
    return value


def _constant(array):
    return Tensor._make(array)
