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
from autograd_core.kernels import elementwise as _ek
from autograd_core.ops._formula import Custom, Template, fmt_value, literal
from autograd_core.ops._out import write_out
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
        return v.fmt("{g} * np.where({1} == 0, 0, {1} * np.power({0}, {1} - 1))")
    # y ln a, 0 at a = 0 for b >= 0 (as the engine and PyTorch)
    zero_base = v.fmt("(({0} == 0) & ({1} >= 0))")
    return v.fmt(f"{{g}} * np.where({zero_base}, 0, {{out}} * np.where({zero_base}, 0, "
                 "np.log(np.where({0} == 0, 0.0, {0}))))")


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
                # b a^(b-1) is 0 where b = 0, also at a = 0 (0 * inf), as in PyTorch
                with np.errstate(divide="ignore", invalid="ignore"):
                    grad_a = grad * np.where(b == 0, 0, b * np.power(a, b - 1))
        if need_b:
            # y ln a is 0 at a = 0 for b >= 0 (0 * -inf), -inf for b < 0 (inf * -inf)
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.where((a == 0) & (b >= 0), 0, np.log(np.where(a == 0, 0.0, a)))
                grad_b = grad * np.where((a == 0) & (b >= 0), 0, out * log_a)
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
        out = _ek.relu_forward(a)  # np.maximum(a, 0) in one vectorised pass
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        if _ek.relu_backward_applies(grad, out):  # arrays: one pass (kernels.elementwise)
            return _ek._relu_backward(grad, out)
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


# The scalar fast path (``function._apply_scalar``): these forwards and backwards give the
# same results on NumPy scalars as on 0-d arrays (tests/autograd_core/test_scalar_fast_path.py).
for _op in (Add, Sub, Mul, Div, Neg, Pow, Exp, Log, Sqrt, Abs, Sin, Cos, Tanh, Sigmoid,
            Relu):
    _op.scalar_fast_path = True
del _op


# --------------------------------------------------------------------- functional forms
# One function per op: torch.<name>, Tensor.<name> and NumPy's protocol (ops._registry).
def _scaled(other, alpha):
    return other if alpha == 1 else Mul.apply(other, alpha)


@public(numpy=(np.add,), ops=(Add,))
def add(input, other, *, alpha=1, out=None):
    """``input + alpha * other`` (``torch.add``)."""
    return write_out(Add.apply(input, _scaled(other, alpha)), out, "add")


@public("subtract", numpy=(np.subtract,), ops=(Sub,))
def sub(input, other, *, alpha=1, out=None):
    """``input - alpha * other`` (``torch.sub``)."""
    return write_out(Sub.apply(input, _scaled(other, alpha)), out, "sub")


@public("multiply", numpy=(np.multiply,), ops=(Mul,))
def mul(input, other, *, out=None):
    """``input * other`` (``torch.mul``)."""
    return write_out(Mul.apply(input, other), out, "mul")


@public("divide", "true_divide", numpy=(np.true_divide,), ops=(Div,))
def div(input, other, *, rounding_mode=None, out=None):
    """``input / other``; ``rounding_mode`` "trunc" or "floor" rounds the quotient."""
    if out is not None:
        return write_out(div(input, other, rounding_mode=rounding_mode), out, "div")
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


# --------------------------------------------------------------------- more math (issue 13)
# The rest of PyTorch's elementwise math. Each class is still one forward/backward pair;
# the unary ones share a small factory because they differ only in the function, its
# derivative and the teaching text. Their backward rules use operators and registered
# NumPy functions only, so, run on Tensors (create_graph=True), they record their own
# graph: ``twice_differentiable``.
_SQRT_PI = float(np.sqrt(np.pi))
_LN2, _LN10 = float(np.log(2.0)), float(np.log(10.0))
_erf_scalar = np.frompyfunc(__import__("math").erf, 1, 1)


def _erf_array(a):
    """erf elementwise (NumPy has no erf; ``math.erf`` is exact to the last bit)."""
    a = np.asarray(a)
    return np.asarray(_erf_scalar(a), dtype=a.dtype if a.dtype.kind == "f" else np.float64)


def _erfc_array(a):
    a = np.asarray(a)
    erfc = np.frompyfunc(__import__("math").erfc, 1, 1)
    return np.asarray(erfc(a), dtype=a.dtype if a.dtype.kind == "f" else np.float64)


def _math_class(name, np_fn, derivative, symbol, forward_code, backward_code, local,
                saves="input", float_only=True, doc=""):
    """One unary op: ``forward`` applies ``np_fn``; ``backward`` is ``grad * d`` where
    ``d = derivative(saved)`` and ``saved`` is the input or the output."""

    def forward(ctx, a):
        out = np_fn(a)
        ctx.save_for_backward(a if saves == "input" else out)
        return out

    def backward(ctx, grad):
        (saved,) = ctx.saved_tensors
        return grad * derivative(saved)

    if forward_code is None:  # no NumPy expression (erf): flat code calls the op instead
        formula = Custom(symbol, None, lambda v, i: v.fmt(backward_code), [local])
    else:
        formula = Template(symbol, forward_code, [backward_code], [local])
    return type(name, (Function,), {
        "__doc__": doc, "__module__": __name__, "promotes": (0,), "float_only": float_only,
        "twice_differentiable": True, "forward": staticmethod(forward),
        "backward": staticmethod(backward), "formula": formula,
    })


def _flat_class(name, np_fn, symbol, float_only=False, doc=""):
    """A piecewise-constant op (floor, sign, ...): its gradient is 0 almost everywhere."""

    def forward(ctx, a, **options):
        return np_fn(a, **options)

    def backward(ctx, grad):
        return grad * 0

    return type(name, (Function,), {
        "__doc__": doc, "__module__": __name__, "promotes": (0,), "float_only": float_only,
        "twice_differentiable": True, "forward": staticmethod(forward),
        "backward": staticmethod(backward),
        "formula": Template(symbol, f"np.{np_fn.__name__}({{0}})", ["{g} * 0"], ["0"]),
    })


Tan = _math_class("Tan", np.tan, lambda out: 1 + out * out, "tan", "np.tan({0})",
                  "{g} * (1 + {out} * {out})", "1 + tan² = 1 + {out}²", saves="output",
                  doc="y = tan a;  dy/da = 1 + y^2.")
Sinh = _math_class("Sinh", np.sinh, np.cosh, "sinh", "np.sinh({0})", "{g} * np.cosh({0})",
                   "cosh {0}", doc="y = sinh a;  dy/da = cosh a.")
Cosh = _math_class("Cosh", np.cosh, np.sinh, "cosh", "np.cosh({0})", "{g} * np.sinh({0})",
                   "sinh {0}", doc="y = cosh a;  dy/da = sinh a.")
Asin = _math_class("Asin", np.arcsin, lambda a: 1 / np.sqrt(1 - a * a), "asin",
                   "np.arcsin({0})", "{g} * (1 / np.sqrt(1 - {0} * {0}))", "1/√(1−{0}²)",
                   doc="y = asin a;  dy/da = 1 / sqrt(1 - a^2).")
Acos = _math_class("Acos", np.arccos, lambda a: -1 / np.sqrt(1 - a * a), "acos",
                   "np.arccos({0})", "{g} * (-1 / np.sqrt(1 - {0} * {0}))", "−1/√(1−{0}²)",
                   doc="y = acos a;  dy/da = -1 / sqrt(1 - a^2).")
Atan = _math_class("Atan", np.arctan, lambda a: 1 / (1 + a * a), "atan", "np.arctan({0})",
                   "{g} * (1 / (1 + {0} * {0}))", "1/(1+{0}²)",
                   doc="y = atan a;  dy/da = 1 / (1 + a^2).")
Asinh = _math_class("Asinh", np.arcsinh, lambda a: 1 / np.sqrt(a * a + 1), "asinh",
                    "np.arcsinh({0})", "{g} * (1 / np.sqrt({0} * {0} + 1))", "1/√({0}²+1)",
                    doc="y = asinh a;  dy/da = 1 / sqrt(a^2 + 1).")
Acosh = _math_class("Acosh", np.arccosh, lambda a: 1 / np.sqrt((a - 1) * (a + 1)), "acosh",
                    "np.arccosh({0})", "{g} * (1 / np.sqrt(({0} - 1) * ({0} + 1)))",
                    "1/√({0}²−1)", doc="y = acosh a;  dy/da = 1 / sqrt(a^2 - 1).")
Atanh = _math_class("Atanh", np.arctanh, lambda a: 1 / (1 - a * a), "atanh",
                    "np.arctanh({0})", "{g} * (1 / (1 - {0} * {0}))", "1/(1−{0}²)",
                    doc="y = atanh a;  dy/da = 1 / (1 - a^2).")
Erf = _math_class("Erf", _erf_array, lambda a: (2 / _SQRT_PI) * np.exp(-(a * a)), "erf",
                  None, f"{{g}} * ({2 / _SQRT_PI!r} * np.exp(-({{0}} * {{0}})))",
                  "(2/√π) e^(−{0}²)", doc="y = erf a;  dy/da = 2/sqrt(pi) e^(-a^2).")
Erfc = _math_class("Erfc", _erfc_array, lambda a: (-2 / _SQRT_PI) * np.exp(-(a * a)), "erfc",
                   None, f"{{g}} * ({-2 / _SQRT_PI!r} * np.exp(-({{0}} * {{0}})))",
                   "−(2/√π) e^(−{0}²)", doc="y = 1 - erf a;  dy/da = -2/sqrt(pi) e^(-a^2).")
Rsqrt = _math_class("Rsqrt", lambda a: 1 / np.sqrt(a), lambda out: -0.5 * out * out * out,
                    "1/√", "1 / np.sqrt({0})", "{g} * (-0.5 * {out} * {out} * {out})",
                    "−½ {0}^(−3/2)", saves="output", doc="y = 1/sqrt(a);  dy/da = -y^3 / 2.")
Exp2 = _math_class("Exp2", np.exp2, lambda out: out * _LN2, "2^", "np.exp2({0})",
                   f"{{g}} * ({{out}} * {_LN2!r})", "2^{0} ln 2", saves="output",
                   doc="y = 2^a;  dy/da = y ln 2.")
Log2 = _math_class("Log2", np.log2, lambda a: 1 / (a * _LN2), "log₂", "np.log2({0})",
                   f"{{g}} * (1 / ({{0}} * {_LN2!r}))", "1/({0} ln 2)",
                   doc="y = log2 a;  dy/da = 1 / (a ln 2).")
Log10 = _math_class("Log10", np.log10, lambda a: 1 / (a * _LN10), "log₁₀", "np.log10({0})",
                    f"{{g}} * (1 / ({{0}} * {_LN10!r}))", "1/({0} ln 10)",
                    doc="y = log10 a;  dy/da = 1 / (a ln 10).")
Log1p = _math_class("Log1p", np.log1p, lambda a: 1 / (1 + a), "ln(1+·)", "np.log1p({0})",
                    "{g} * (1 / (1 + {0}))", "1/(1+{0})",
                    doc="y = ln(1 + a);  dy/da = 1 / (1 + a).")
Expm1 = _math_class("Expm1", np.expm1, lambda out: out + 1, "e^·−1", "np.expm1({0})",
                    "{g} * ({out} + 1)", "e^{0}", saves="output",
                    doc="y = e^a - 1;  dy/da = y + 1.")
Reciprocal = _math_class("Reciprocal", np.reciprocal, lambda out: -(out * out), "1/·",
                         "np.reciprocal({0})", "{g} * (-({out} * {out}))", "−1/{0}²",
                         saves="output", doc="y = 1/a;  dy/da = -y^2.")
Square = _math_class("Square", np.square, lambda a: 2 * a, "²", "np.square({0})",
                     "{g} * (2 * {0})", "2{0}", float_only=False, doc="y = a^2;  dy/da = 2a.")

Floor = _flat_class("Floor", np.floor, "⌊·⌋", doc="y = floor a;  dy/da = 0.")
Ceil = _flat_class("Ceil", np.ceil, "⌈·⌉", doc="y = ceil a;  dy/da = 0.")
Trunc = _flat_class("Trunc", np.trunc, "trunc", doc="y = trunc a;  dy/da = 0.")
Round = _flat_class("Round", np.round, "round", doc="y = round a (half to even);  dy/da = 0.")
Sign = _flat_class("Sign", np.sign, "sign", doc="y = sign a;  dy/da = 0.")


class Frac(Function):
    """y = a - trunc(a);  dy/da = 1."""

    promotes = (0,)
    float_only = True
    twice_differentiable = True
    formula = Template("frac", "{0} - np.trunc({0})", ["{g}"], ["1"])

    @staticmethod
    def forward(ctx, a):
        return a - np.trunc(a)

    @staticmethod
    def backward(ctx, grad):
        return grad


class Atan2(Function):
    """y = atan2(a, b), the angle of (b, a);  dy/da = b / (a^2 + b^2), dy/db = -a / (a^2 + b^2)."""

    promotes = (0, 1)
    float_only = True
    twice_differentiable = True
    formula = Template("atan2", "np.arctan2({0}, {1})",
                       ["{g} * {1} / ({0} * {0} + {1} * {1})",
                        "-{g} * {0} / ({0} * {0} + {1} * {1})"],
                       ["{1}/({0}²+{1}²)", "−{0}/({0}²+{1}²)"])

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.arctan2(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        r2 = a * a + b * b
        need_a, need_b = ctx.needs_input_grad
        return (grad * b / r2 if need_a else None), (-grad * a / r2 if need_b else None)


class Hypot(Function):
    """y = sqrt(a^2 + b^2);  dy/da = a / y, dy/db = b / y."""

    promotes = (0, 1)
    float_only = True
    twice_differentiable = True
    formula = Template("hypot", "np.hypot({0}, {1})", ["{g} * {0} / {out}", "{g} * {1} / {out}"],
                       ["{0}/{out}", "{1}/{out}"])

    @staticmethod
    def forward(ctx, a, b):
        out = np.hypot(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * a / out if need_a else None), (grad * b / out if need_b else None)


class LogAddExp(Function):
    """y = ln(e^a + e^b), computed stably;  dy/da = e^(a - y), dy/db = e^(b - y)."""

    promotes = (0, 1)
    float_only = True
    twice_differentiable = True
    formula = Template("logaddexp", "np.logaddexp({0}, {1})",
                       ["{g} * np.exp({0} - {out})", "{g} * np.exp({1} - {out})"],
                       ["e^({0}−{out})", "e^({1}−{out})"])

    @staticmethod
    def forward(ctx, a, b):
        out = np.logaddexp(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return ((grad * np.exp(a - out)) if need_a else None,
                (grad * np.exp(b - out)) if need_b else None)


class CopySign(Function):
    """y = |a| sign(b);  dy/da = y / a (0 at a = 0, as PyTorch), dy/db = 0.

    dy/da is piecewise constant (+-1), so it is computed from the values as a constant
    on the create_graph path too: the second derivatives are 0.
    """

    promotes = (0, 1)
    float_only = True
    twice_differentiable = True
    formula = Custom("copysign", local=["sign({0})·sign({1})", "0"])

    @staticmethod
    def forward(ctx, a, b):
        out = np.copysign(a, b)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        a, out = _array(a), _array(out)  # constants on the create_graph path too
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(a == 0, 0, out / np.where(a == 0, 1, a))
        need_a, need_b = ctx.needs_input_grad
        return (grad * ratio if need_a else None), (grad * 0 if need_b else None)


class _Modulo(Function):
    """a - q b with q = round(a / b) (trunc for fmod, floor for remainder);
    dy/da = 1, dy/db = -q. q is piecewise constant, so it stays a constant on the
    create_graph path (second derivatives 0)."""

    promotes = (0, 1)
    twice_differentiable = True
    np_fn = staticmethod(np.fmod)
    quotient = staticmethod(np.trunc)

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return cls.np_fn(a, b)

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        a, b = _array(a), _array(b)  # q is flat: a constant on the create_graph path too
        need_a, need_b = ctx.needs_input_grad
        grad_b = None
        if need_b:
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_b = -grad * cls.quotient(a / b)
        return (grad if need_a else None), grad_b


class Fmod(_Modulo):
    """y = a - trunc(a / b) b (the sign of a, as C);  dy/da = 1, dy/db = -trunc(a / b)."""

    formula = Custom("fmod", local=["1", "−trunc({0}/{1})"])
    np_fn = staticmethod(np.fmod)
    quotient = staticmethod(np.trunc)


class Remainder(_Modulo):
    """y = a - floor(a / b) b (the sign of b, as Python's %);  dy/da = 1, dy/db = -floor(a/b)."""

    formula = Custom("mod", local=["1", "−floor({0}/{1})"])
    np_fn = staticmethod(np.remainder)
    quotient = staticmethod(np.floor)


class Lerp(Function):
    """y = a + w (b - a);  dy/da = 1 - w, dy/db = w, dy/dw = b - a."""

    promotes = (0, 1)
    float_only = True
    twice_differentiable = True
    formula = Template("lerp", "{0} + {2} * ({1} - {0})",
                       ["{g} * (1 - {2})", "{g} * {2}", "{g} * ({1} - {0})"],
                       ["1−{2}", "{2}", "{1}−{0}"])

    @staticmethod
    def forward(ctx, a, b, w):
        ctx.save_for_backward(a, b, w)
        return a + w * (b - a)

    @staticmethod
    def backward(ctx, grad):
        a, b, w = ctx.saved_tensors
        need_a, need_b, need_w = ctx.needs_input_grad
        return ((grad * (1 - w)) if need_a else None, (grad * w) if need_b else None,
                (grad * (b - a)) if need_w else None)


def _math_form(op_class, name, np_fn, doc, *aliases):
    """The functional form of a unary op (registered for NumPy's ``np_fn`` if given)."""
    def fn(input):
        return op_class.apply(input)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return public(*aliases, numpy=(np_fn,) if np_fn is not None else (), ops=(op_class,))(fn)


tan = _math_form(Tan, "tan", np.tan, "tan x elementwise.")
sinh = _math_form(Sinh, "sinh", np.sinh, "sinh x elementwise.")
cosh = _math_form(Cosh, "cosh", np.cosh, "cosh x elementwise.")
asin = _math_form(Asin, "asin", np.arcsin, "arcsin x elementwise.", "arcsin")
acos = _math_form(Acos, "acos", np.arccos, "arccos x elementwise.", "arccos")
atan = _math_form(Atan, "atan", np.arctan, "arctan x elementwise.", "arctan")
asinh = _math_form(Asinh, "asinh", np.arcsinh, "arcsinh x elementwise.", "arcsinh")
acosh = _math_form(Acosh, "acosh", np.arccosh, "arccosh x elementwise.", "arccosh")
atanh = _math_form(Atanh, "atanh", np.arctanh, "arctanh x elementwise.", "arctanh")
rsqrt = _math_form(Rsqrt, "rsqrt", None, "1 / sqrt(x) elementwise.")
exp2 = _math_form(Exp2, "exp2", np.exp2, "2^x elementwise.")
log2 = _math_form(Log2, "log2", np.log2, "log base 2 elementwise.")
log10 = _math_form(Log10, "log10", np.log10, "log base 10 elementwise.")
log1p = _math_form(Log1p, "log1p", np.log1p, "ln(1 + x) elementwise, exact for small x.")
expm1 = _math_form(Expm1, "expm1", np.expm1, "e^x - 1 elementwise, exact for small x.")
reciprocal = _math_form(Reciprocal, "reciprocal", np.reciprocal, "1 / x elementwise.")
square = _math_form(Square, "square", np.square, "x^2 elementwise (integers stay integers).")
floor = _math_form(Floor, "floor", np.floor, "The largest integer <= x; gradient 0.")
ceil = _math_form(Ceil, "ceil", np.ceil, "The smallest integer >= x; gradient 0.")
trunc = _math_form(Trunc, "trunc", np.trunc, "x rounded toward zero; gradient 0.", "fix")
sign = _math_form(Sign, "sign", np.sign, "-1, 0 or 1 by the sign of x; gradient 0.")
frac = _math_form(Frac, "frac", None, "x - trunc(x); gradient 1.")


@public(ops=(Erf,))
def erf(input):
    """The error function 2/sqrt(pi) int_0^x e^(-t^2) dt elementwise."""
    return Erf.apply(input)


@public(ops=(Erfc,))
def erfc(input):
    """1 - erf(x) elementwise, accurate where erf(x) is close to 1."""
    return Erfc.apply(input)


@public(name="round", ops=(Round,))
def round_(input, *, decimals=0):
    """Round half to even (as PyTorch); ``decimals`` rounds to that many digits."""
    if decimals == 0:
        return Round.apply(input)
    scale = 10.0 ** decimals
    return Round.apply(input * scale) / scale



def _binary_form(op_class, name, np_fn, doc, *aliases):
    def fn(input, other):
        return op_class.apply(input, other)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return public(*aliases, numpy=(np_fn,) if np_fn else (), ops=(op_class,))(fn)


atan2 = _binary_form(Atan2, "atan2", np.arctan2, "The angle of the point (other, input), "
                     "in (-pi, pi].", "arctan2")
hypot = _binary_form(Hypot, "hypot", np.hypot, "sqrt(input^2 + other^2) without overflow.")
logaddexp = _binary_form(LogAddExp, "logaddexp", np.logaddexp, "ln(e^input + e^other), "
                         "computed without overflow.")
copysign = _binary_form(CopySign, "copysign", np.copysign, "|input| with the sign of other.")
fmod = _binary_form(Fmod, "fmod", np.fmod, "input - trunc(input / other) * other (the sign "
                    "of input).")
remainder = _binary_form(Remainder, "remainder", np.remainder, "input - floor(input / other) "
                         "* other (the sign of other, as Python's %).")


@public(ops=(Lerp,))
def lerp(input, end, weight):
    """input + weight * (end - input): linear interpolation."""
    return Lerp.apply(input, end, weight)


@public(numpy=(np.floor_divide,))
def floor_divide(input, other):
    """floor(input / other) (``//``); outside the graph (its gradient is 0)."""
    a, b = _array(input), _array(other)
    if np.result_type(a).kind in "iu" and np.result_type(b).kind in "iu" and np.any(
            np.asarray(b) == 0):
        raise ZeroDivisionError("floor_divide: integer division by zero")
    with np.errstate(divide="ignore", invalid="ignore"):
        return _constant(np.asarray(np.floor_divide(*_promoted(a, b))))


def _promoted(a, b):
    from autograd_core.ops._dtypes import promote

    return promote(a, b)


def _test(np_fn, name, doc):
    def fn(input):
        return _constant(np.asarray(np_fn(_array(input))))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return public(numpy=(np_fn,))(fn)


isnan = _test(np.isnan, "isnan", "Where the values are NaN, as a bool tensor.")
isinf = _test(np.isinf, "isinf", "Where the values are +inf or -inf, as a bool tensor.")
isfinite = _test(np.isfinite, "isfinite", "Where the values are neither inf nor NaN.")
isposinf = _test(np.isposinf, "isposinf", "Where the values are +inf.")
isneginf = _test(np.isneginf, "isneginf", "Where the values are -inf.")
signbit = _test(np.signbit, "signbit", "Where the sign bit is set (-0.0 included).")
logical_not = _test(np.logical_not, "logical_not", "not x elementwise (nonzero is true).")


def _logic(np_fn, name, doc):
    def fn(input, other):
        return _constant(np.asarray(np_fn(_array(input), _array(other))))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return public(numpy=(np_fn,))(fn)


logical_and = _logic(np.logical_and, "logical_and", "x and y elementwise, as bools.")
logical_or = _logic(np.logical_or, "logical_or", "x or y elementwise, as bools.")
logical_xor = _logic(np.logical_xor, "logical_xor", "x xor y elementwise, as bools.")


def _bitwise(np_fn, name, symbol):
    def fn(input, other):
        a, b = _array(input), _array(other)
        for x in (a, b):
            if np.result_type(x).kind not in "biu":
                raise DTypeError(f"{symbol} ({name}) is defined for bool and integer tensors, "
                                 f"not {np.result_type(x)}")
        return _constant(np.asarray(np_fn(*_promoted(a, b))))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``{symbol}`` elementwise on bool and integer tensors."
    return public(numpy=(np_fn,))(fn)


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and", "&")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or", "|")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor", "^")
bitwise_left_shift = _bitwise(np.left_shift, "bitwise_left_shift", "<<")
bitwise_right_shift = _bitwise(np.right_shift, "bitwise_right_shift", ">>")


@public()
def bitwise_not(input):
    """``~`` elementwise on bool and integer tensors."""
    a = _array(input)
    if np.result_type(a).kind not in "biu":
        raise DTypeError(f"~ is defined for bool and integer tensors, not {np.result_type(a)}")
    return _constant(np.asarray(~a))


@public(numpy=(np.isclose,))
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol |other| elementwise, as a bool tensor."""
    return _constant(np.asarray(np.isclose(_array(input), _array(other), rtol=rtol, atol=atol,
                                           equal_nan=equal_nan)))


@public(numpy=(np.allclose,))
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """Whether :func:`isclose` holds everywhere (a Python bool)."""
    return bool(np.allclose(_array(input), _array(other), rtol=rtol, atol=atol,
                            equal_nan=equal_nan))


@public(numpy=(np.array_equal,))
def equal(input, other) -> bool:
    """Whether both have the same shape and the same values (a Python bool)."""
    return bool(np.array_equal(_array(input), _array(other)))


@public(name="where", function=False, ops=(Where,))
def _where_method(input, condition, other):
    """``x.where(condition, y)``: x where condition holds, else y (as ``torch.where``)."""
    return where(condition, input, other)


@public(ops=(Clamp,))
def clamp_min(input, min):  # noqa: A002 - torch's names
    """max(x, min) elementwise (``clamp(min=min)``)."""
    return clamp(input, min=min)


@public(ops=(Clamp,))
def clamp_max(input, max):  # noqa: A002 - torch's names
    """min(x, max) elementwise (``clamp(max=max)``)."""
    return clamp(input, max=max)


# --------------------------------------------------------------------- special functions
def _digamma_array(x):
    """psi(x) = d/dx ln Gamma(x): reflection below 1/2, recurrence up to 6, then the
    asymptotic series (error below 1e-12)."""
    x = np.asarray(x, dtype=np.float64)
    reflect = x < 0.5
    z = np.where(reflect, 1 - x, x)
    result = np.zeros_like(z)
    for _ in range(6):
        small = z < 6
        result -= np.where(small, 1 / np.where(small, z, 1), 0)
        z = np.where(small, z + 1, z)
    inv2 = 1 / (z * z)
    series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (
        1 / 240 - inv2 * (1 / 132)))))
    result += np.log(z) - 0.5 / z - series
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(reflect, result - np.pi / np.tan(np.pi * x), result)
    return np.where(x == 0, -np.inf, result)


def _trigamma_array(x):
    """psi'(x): reflection below 1/2, recurrence up to 6, then the asymptotic series."""
    x = np.asarray(x, dtype=np.float64)
    reflect = x < 0.5
    z = np.where(reflect, 1 - x, x)
    result = np.zeros_like(z)
    for _ in range(6):
        small = z < 6
        result += np.where(small, 1 / np.where(small, z * z, 1), 0)
        z = np.where(small, z + 1, z)
    inv = 1 / z
    inv2 = inv * inv
    result += inv + inv2 / 2 + inv * inv2 * (1 / 6 - inv2 * (1 / 30 - inv2 * (
        1 / 42 - inv2 * (1 / 30 - inv2 * (5 / 66)))))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(reflect, (np.pi / np.sin(np.pi * x)) ** 2 - result, result)


def _erfinv_array(y):
    """erf^-1(y): Giles' approximation refined by two Newton steps on math.erf."""
    y = np.asarray(y, dtype=np.float64)
    w = -np.log(np.maximum((1 - y) * (1 + y), 1e-300))
    central = w < 5
    wc, wt = w - 2.5, np.sqrt(np.maximum(w, 5)) - 3
    pc = np.polyval([2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                     0.00021858087, -0.00125372503, -0.00417768164, 0.246640727,
                     1.50140941], wc)
    pt = np.polyval([-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
                     0.00573950773, -0.0076224613, 0.00943887047, 1.00167406,
                     2.83297682], wt)
    x = np.where(central, pc, pt) * y
    with np.errstate(divide="ignore", invalid="ignore"):  # |y| >= 1 is handled below
        for _ in range(2):
            x = x - (_erf_array(x) - y) / ((2 / _SQRT_PI) * np.exp(-x * x))
    x = np.where(np.abs(y) == 1, np.copysign(np.inf, y), x)
    return np.where(np.abs(y) > 1, np.nan, x)


def _special_class(name, fn, derivative, symbol, doc, saves="input", twice=False):
    """An op whose values come from a function NumPy lacks (computed in float64, cast
    back); its gradient is ``grad * derivative(saved)``. ``twice``: ``derivative`` also
    runs on Tensors (it is written with ops that record), so the op is twice
    differentiable; otherwise it runs on arrays only (once differentiable)."""

    def forward(ctx, a):
        out = np.asarray(fn(a)).astype(a.dtype if a.dtype.kind == "f" else np.float32)
        ctx.save_for_backward(a if saves == "input" else out)
        return out

    def backward(ctx, grad):
        (saved,) = ctx.saved_tensors
        local = derivative(saved)
        if isinstance(local, Tensor):
            return grad * (local if local.dtype == grad.dtype else local.to(grad.dtype))
        return grad * np.asarray(local).astype(grad.dtype)

    return type(name, (Function,), {
        "__doc__": doc, "__module__": __name__, "promotes": (0,), "float_only": True,
        "twice_differentiable": twice, "forward": staticmethod(forward),
        "backward": staticmethod(backward),
        "formula": Custom(symbol, local=[doc.split(";")[-1].strip().rstrip(".")]),
    })


def _digamma_either(a):
    """digamma on arrays, or the recorded Digamma op on a Tensor (Lgamma's derivative)."""
    return Digamma.apply(a) if isinstance(a, Tensor) else _digamma_array(a)


def _erfinv_derivative(out):
    """sqrt(pi)/2 e^(y^2) from the output y (in float64 on arrays; recorded on Tensors)."""
    if isinstance(out, Tensor):
        return (_SQRT_PI / 2) * np.exp(out * out)
    return (_SQRT_PI / 2) * np.exp(out.astype(np.float64) ** 2)


Lgamma = _special_class(
    "Lgamma", lambda a: np.frompyfunc(__import__("math").lgamma, 1, 1)(a).astype(np.float64),
    _digamma_either, "lnΓ", "y = ln |Gamma(a)|;  dy/da = digamma(a).", twice=True)
Digamma = _special_class("Digamma", _digamma_array, _trigamma_array, "ψ",
                         "y = digamma(a) = d/da ln Gamma(a);  dy/da = trigamma(a).")
Erfinv = _special_class("Erfinv", _erfinv_array, _erfinv_derivative,
                        "erf⁻¹", "y = erfinv(a);  dy/da = sqrt(pi)/2 e^(y^2).", saves="output",
                        twice=True)

lgamma = _math_form(Lgamma, "lgamma", None, "ln |Gamma(x)| elementwise.")
digamma = _math_form(Digamma, "digamma", None, "The digamma function d/dx ln Gamma(x).")
erfinv = _math_form(Erfinv, "erfinv", None, "The inverse of erf on (-1, 1).")
