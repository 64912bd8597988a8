"""The teaching table: for each op, its formula, its local derivatives and flat code.

One :class:`Rule` per op class, keyed by the class's dotted name (so rules for modules
that are not imported cost nothing). A rule knows, for one recorded node:

* ``forward(v)``: Python lines computing the output, mirroring the op's ``forward``
  expression for expression (``s0 = w0 * x0``), so the flat code reproduces the
  engine's values bit for bit;
* ``backward(v, i)``: ``(setup_lines, expression)`` for the gradient the op's
  ``backward`` returns for input ``i`` (``grad_s0 * x0``), again mirroring the code;
* ``local(v, i)``: the local derivative as a student writes it (``x0``, ``σ(1−σ)``),
  drawn on the graph's edges as ``∂/∂w0 = x0``.

Each may return None: flat code then calls :func:`~autograd_core.viz.op_forward` /
:func:`~autograd_core.viz.op_backward` by name, and the edge says which backward runs.
A student's own Function needs no entry. To add one (say in a new ops module)::

    from autograd_core.viz.formulas import register, Template
    register("mypkg.ops.Cube", Template("³", "np.power({0}, 3)",
                                        backward=["{g} * 3 * {0} ** 2"], local=["3{0}²"]))

``v`` is an :class:`OpView`: ``v.args`` (one string per positional input: a name, or
the constant as Python), ``v.out``, ``v.g`` (the name of dL/d(out)), ``v.opt`` (the
options), shapes and dtypes, and ``v.tmp(suffix)`` for temporary names.
"""

import ast

import numpy as np

from autograd_core.ops import _dtypes, elementwise
from autograd_core.tensor import Tensor
from autograd_core.viz._format import dtype_literal, fmt_value, literal

__all__ = ["Rule", "Template", "OpView", "register", "rule_for", "unbroadcast_code",
           "index_code", "paren"]


class OpView:
    """One node seen through names: what a :class:`Rule` formats.

    ``mode="code"`` gives Python identifiers and exact literals (flat code);
    ``mode="text"`` gives display names and short numbers (graph labels).
    """

    def __init__(self, ctx, output, name_of, mode="code", grad_dtype=None, temp=None):
        self.ctx = ctx
        self.fn = ctx.fn
        self.opt = ctx.options
        self.inputs = ctx.inputs
        self.mode = mode
        self.out = name_of(output)
        self.g = f"grad_{self.out}" if mode == "code" else f"∂L/∂{self.out}"
        self.args = [name_of(x) if isinstance(x, Tensor) else self._constant(x)
                     for x in ctx.inputs]
        if mode == "code":
            self._cast_promoted_args()
        self.out_shape = output.shape
        self.out_dtype = output.dtype
        self.grad_dtype = np.dtype(grad_dtype) if grad_dtype is not None else output.dtype
        self._temp = temp or (lambda base: base)
        self.output = output

    def _cast_promoted_args(self):
        """Write the engine's dtype promotion into the arguments (``x.astype(...)``).

        The elementwise ops promote their operands as PyTorch does before NumPy computes
        (``ops._dtypes``); where that changes an operand's dtype, the flat code casts it
        the same way, so its numbers stay identical to the engine's.
        """
        positions = _PROMOTED_INPUTS.get(self.fn)
        if positions is None:
            return
        values = [self.value(i) for i in positions]
        if len(positions) == 2:
            promoted = _dtypes.promote(*values)
        else:
            promoted = tuple(values)
        if self.fn in _FLOAT_ONLY:
            promoted = tuple(_dtypes.to_float(x) for x in promoted)
        for i, before, after in zip(positions, values, promoted):
            if after is before:
                continue
            target = dtype_literal(np.result_type(after))
            if isinstance(self.inputs[i], Tensor) or isinstance(before, np.ndarray):
                self.args[i] = f"{self.args[i]}.astype({target})"
            else:
                self.args[i] = f"np.asarray({self.args[i]}, dtype={target})"

    def _constant(self, x) -> str:
        if self.mode == "text":
            return fmt_value(x) if isinstance(x, (np.ndarray, np.generic, int, float)) else str(x)
        text = literal(x)
        return f"({text})" if text.startswith("-") else text

    def shape(self, i) -> tuple:
        x = self.inputs[i]
        return x.shape if isinstance(x, Tensor) else np.shape(x)

    def ndim(self, i) -> int:
        return len(self.shape(i))

    def value(self, i):
        x = self.inputs[i]
        return x._data if isinstance(x, Tensor) else x

    def dtype(self, i):
        x = self.inputs[i]
        return x.dtype if isinstance(x, Tensor) else np.result_type(x)

    def tmp(self, suffix: str) -> str:
        return self._temp(f"{self.out}_{suffix}")

    def fmt(self, template: str) -> str:
        return template.format(*self.args, out=self.out, g=self.g)


class Rule:
    """Base rule: override what you can write; None means "use the fallback"."""

    symbol = ""

    def forward(self, v):
        return None

    def backward(self, v, i):
        return None

    def local(self, v, i):
        return None


class Template(Rule):
    """A rule from format strings: ``{0}``, ``{1}`` the inputs, ``{out}``, ``{g}``.

    ``forward`` is the right-hand side; ``backward`` and ``local`` hold one entry per
    input (None where there is no gradient, e.g. a condition).
    """

    def __init__(self, symbol, forward, backward=(), local=(), helpers=()):
        self.symbol = symbol
        self._forward = forward
        self._backward = tuple(backward)
        self._local = tuple(local)
        self.helpers = tuple(helpers)  # helper functions the flat code must define

    def forward(self, v):
        return [f"{v.out} = {v.fmt(self._forward)}"]

    def backward(self, v, i):
        if i >= len(self._backward) or self._backward[i] is None:
            return None
        return [], v.fmt(self._backward[i])

    def local(self, v, i):
        if i >= len(self._local) or self._local[i] is None:
            return None
        return v.fmt(self._local[i])


class Custom(Rule):
    """A rule from functions ``forward(v)``, ``backward(v, i)``, ``local(v, i)``."""

    def __init__(self, symbol, forward=None, backward=None, local=None, helpers=()):
        self.symbol = symbol
        self._f, self._b, self._l = forward, backward, local
        self.helpers = tuple(helpers)

    def forward(self, v):
        return self._f(v) if self._f else None

    def backward(self, v, i):
        if not self._b:
            return None
        code = self._b(v, i)
        return ([], code) if isinstance(code, str) else code

    def local(self, v, i):
        if self._l is None:
            return None
        return self._l(v, i) if callable(self._l) else v.fmt(self._l[i])


_RULES = {}


def register(qualified_name: str, rule: Rule):
    """Use ``rule`` for the op class ``module.ClassName``."""
    _RULES[qualified_name] = rule


def rule_for(fn):
    """The rule for op class ``fn``, or None (exact class only: a subclass may differ)."""
    return _RULES.get(f"{fn.__module__}.{fn.__qualname__}")


# --------------------------------------------------------------------- code helpers
def axis_code(dim) -> str:
    return literal(tuple(dim) if isinstance(dim, list) else dim)


def paren(expr: str) -> str:
    """``expr`` made safe to call a method on: parenthesised unless it is a primary."""
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        return f"({expr})"
    primary = (ast.Name, ast.Call, ast.Attribute, ast.Subscript)
    return expr if isinstance(node, primary) else f"({expr})"


def unbroadcast_code(expr: str, from_shape, to_shape) -> str:
    """Code for ``ops._shapes.unbroadcast``: sum the broadcast axes, reshape back."""
    from_shape, to_shape = tuple(from_shape), tuple(to_shape)
    if from_shape == to_shape:
        return expr
    extra = len(from_shape) - len(to_shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(to_shape)
        if size == 1 and from_shape[extra + i] != 1
    )
    if axes:
        expr = f"{paren(expr)}.sum(axis={literal(axes)}, keepdims=True)"
    return f"{paren(expr)}.reshape({literal(to_shape)})"


def _slice_code(s: slice) -> str:
    def part(x):
        return "" if x is None else literal(x)

    text = f"{part(s.start)}:{part(s.stop)}"
    return text + (f":{part(s.step)}" if s.step is not None else "")


def index_code(index) -> str:
    """An index as written between brackets: ``1:3, None, ...``."""
    items = index if isinstance(index, tuple) else (index,)
    if isinstance(index, tuple) and len(index) == 0:
        return "()"
    parts = []
    for item in items:
        if isinstance(item, slice):
            parts.append(_slice_code(item))
        elif item is None:
            parts.append("None")
        else:
            parts.append(literal(item))
    return ", ".join(parts)


def _kept(v, name: str) -> str:
    """``name`` with reduced axes put back (size 1), as the reductions' backward does."""
    dim, keepdim = v.opt.get("dim"), v.opt.get("keepdim", False)
    if keepdim or dim is None:
        return name
    return f"np.expand_dims({name}, {axis_code(dim)})"


def _reduce_args(v) -> str:
    dim, keepdim = v.opt.get("dim"), v.opt.get("keepdim", False)
    if dim is None and not keepdim:
        return ""
    return f", axis={axis_code(dim)}, keepdims={keepdim!r}"


def _count(shape, dim) -> int:
    if dim is None:
        return int(np.prod(shape))
    return int(np.prod([shape[a] for a in dim]))


SIGMOID_HELPER = '''def sigmoid(x):
    """1 / (1 + e^-x), computed as the engine does (no overflow for large |x|)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)'''

STABLE_MAX_HELPER = '''def stable_max(x, axis):
    """max over axis (kept), 0 where it is infinite: the shift that keeps exp finite."""
    m = np.max(x, axis=axis, keepdims=True)
    return np.where(np.isfinite(m), m, 0)'''

HELPERS = {"sigmoid": SIGMOID_HELPER, "stable_max": STABLE_MAX_HELPER}

# --------------------------------------------------------------------- elementwise
_EW = "autograd_core.ops.elementwise."
register(_EW + "Add", Template("+", "{0} + {1}", ["{g}", "{g}"], ["1", "1"]))
register(_EW + "Sub", Template("−", "{0} - {1}", ["{g}", "-{g}"], ["1", "−1"]))
register(_EW + "Mul", Template("×", "{0} * {1}", ["{g} * {1}", "{g} * {0}"], ["{1}", "{0}"]))
register(_EW + "Div", Template("÷", "{0} / {1}", ["{g} / {1}", "-{g} * {out} / {1}"],
                               ["1/{1}", "−{0}/{1}² = −{out}/{1}"]))
register(_EW + "Neg", Template("−", "-{0}", ["-{g}"], ["−1"]))
register(_EW + "Exp", Template("exp", "np.exp({0})", ["{g} * {out}"], ["exp({0}) = {out}"]))
register(_EW + "Log", Template("ln", "np.log({0})", ["{g} / {0}"], ["1/{0}"]))
register(_EW + "Sqrt", Template("√", "np.sqrt({0})", ["{g} / (2 * {out})"], ["1/(2√{0})"]))
register(_EW + "Abs", Template("|·|", "np.abs({0})", ["{g} * np.sign({0})"], ["sign({0})"]))
register(_EW + "Sin", Template("sin", "np.sin({0})", ["{g} * np.cos({0})"], ["cos {0}"]))
register(_EW + "Cos", Template("cos", "np.cos({0})", ["-{g} * np.sin({0})"], ["−sin {0}"]))
register(_EW + "Tanh", Template("tanh", "np.tanh({0})", ["{g} * (1 - {out} * {out})"],
                                ["1 − tanh² = 1 − {out}²"]))
register(_EW + "Sigmoid", Template("σ", "sigmoid({0})", ["{g} * {out} * (1 - {out})"],
                                   ["σ(1−σ)"], helpers=["sigmoid"]))
register(_EW + "Relu", Template("ReLU", "np.maximum({0}, 0)", ["{g} * ({out} > 0)"],
                                ["1 if {0} > 0 else 0"]))
_SHARE_MAX = "(({0} > {1}) + 0.5 * ({0} == {1}))"
_SHARE_MIN = "(({0} < {1}) + 0.5 * ({0} == {1}))"
register(_EW + "Maximum", Template(
    "max", "np.maximum({0}, {1})", ["{g} * " + _SHARE_MAX, "{g} * (1 - " + _SHARE_MAX + ")"],
    ["1 if {0} > {1} (½ on ties)", "1 if {1} > {0} (½ on ties)"]))
register(_EW + "Minimum", Template(
    "min", "np.minimum({0}, {1})", ["{g} * " + _SHARE_MIN, "{g} * (1 - " + _SHARE_MIN + ")"],
    ["1 if {0} < {1} (½ on ties)", "1 if {1} < {0} (½ on ties)"]))
register(_EW + "Where", Template(
    "where", "np.where({0}, {1}, {2})", [None, "np.where({0}, {g}, 0)", "np.where({0}, 0, {g})"],
    [None, "1 where {0}", "1 where not {0}"]))


_PROMOTED_INPUTS = {
    elementwise.Add: (0, 1), elementwise.Sub: (0, 1), elementwise.Mul: (0, 1),
    elementwise.Div: (0, 1), elementwise.Pow: (0, 1), elementwise.Maximum: (0, 1),
    elementwise.Minimum: (0, 1), elementwise.Where: (1, 2),
    elementwise.Exp: (0,), elementwise.Log: (0,), elementwise.Sqrt: (0,),
    elementwise.Sin: (0,), elementwise.Cos: (0,), elementwise.Tanh: (0,),
    elementwise.Sigmoid: (0,),
}
_FLOAT_ONLY = {elementwise.Div, elementwise.Exp, elementwise.Log, elementwise.Sqrt,
               elementwise.Sin, elementwise.Cos, elementwise.Tanh, elementwise.Sigmoid}


def _pow_backward(v, i):
    if i == 0:
        b = v.value(1)
        if np.ndim(b) == 0 and b == 0:
            return f"np.zeros_like({v.g})"
        if np.ndim(b) == 0 and b == 2:
            return v.fmt("{g} * 2 * {0}")  # the engine's shortcut for squares
        return v.fmt("{g} * {1} * np.power({0}, {1} - 1)")
    return v.fmt("{g} * {out} * np.where({0} == 0, 0, np.log(np.where({0} == 0, 1, {0})))")


register(_EW + "Pow", Custom(
    "^", lambda v: [f"{v.out} = {v.fmt('np.power({0}, {1})')}"], _pow_backward,
    ["{1}·{0}^({1}−1)", "{out}·ln {0}"]))


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


register(_EW + "Clamp", Custom("clamp", _clamp_forward, _clamp_backward, _clamp_local))
register(_EW + "Cast", Custom(
    "cast", lambda v: [f"{v.out} = {v.args[0]}.astype({literal(v.opt['dtype'])})"],
    lambda v, i: v.g, lambda v, i: "1 (cast back)"))

# --------------------------------------------------------------------- reductions
_RED = "autograd_core.ops.reduce."


def _sum_backward(v, i):
    return f"np.broadcast_to({_kept(v, v.g)}, {literal(v.shape(0))})"


register(_RED + "Sum", Custom(
    "Σ", lambda v: [f"{v.out} = np.sum({v.args[0]}{_reduce_args(v)})"], _sum_backward,
    lambda v, i: "1 (each summed element)"))


def _mean_backward(v, i):
    n = _count(v.shape(0), v.opt.get("dim"))
    return f"np.broadcast_to({_kept(v, f'{v.g} / {n}')}, {literal(v.shape(0))})"


register(_RED + "Mean", Custom(
    "mean", lambda v: [f"{v.out} = np.mean({v.args[0]}{_reduce_args(v)})"], _mean_backward,
    lambda v, i: f"1/{_count(v.shape(0), v.opt.get('dim'))}"))


def _extreme_rule(np_name, arg_name, word):
    def forward(v):
        return [f"{v.out} = np.{np_name}({v.args[0]}{_reduce_args(v)})"]

    def backward(v, i):
        dim = v.opt.get("dim")
        grad_keep = _kept(v, v.g)
        x = v.args[0]
        if dim is not None and len(dim) == 1:
            axis = dim[0]
            t = v.tmp("grad")
            setup = [
                f"{t} = np.zeros({literal(v.shape(0))}, dtype={dtype_literal(v.grad_dtype)})",
                f"np.put_along_axis({t}, np.{arg_name}({x}, axis={axis}, keepdims=True), "
                f"{grad_keep}, axis={axis})",
            ]
            return setup, t
        out_keep = _kept(v, v.out)
        hits = f"({x} == {out_keep})"
        if np.isnan(v.value(0)).any():  # the engine lets a NaN maximum take the gradient
            hits = f"(({x} == {out_keep}) | (np.isnan({x}) & np.isnan({out_keep})))"
        return f"{grad_keep} * {hits} / np.sum({hits}, axis={axis_code(dim)}, keepdims=True)"

    return Custom(np_name, forward, backward, lambda v, i: f"1 at the {word}, else 0")


register(_RED + "Max", _extreme_rule("max", "argmax", "max"))
register(_RED + "Min", _extreme_rule("min", "argmin", "min"))


def _var_forward(v):
    dim, keepdim = v.opt.get("dim"), v.opt.get("keepdim", False)
    dof = max(_count(v.shape(0), dim) - v.opt.get("correction", 1), 0)
    c = v.tmp("centered")
    return [
        f"{c} = {v.args[0]} - np.mean({v.args[0]}, axis={axis_code(dim)}, keepdims=True)",
        f"{v.out} = np.sum({c} * {c}, axis={axis_code(dim)}, keepdims={keepdim!r}) / {dof}",
    ]


def _var_backward(v, i):
    dof = max(_count(v.shape(0), v.opt.get("dim")) - v.opt.get("correction", 1), 0)
    scale = f"(2 / {dof})" if dof else "np.nan"  # no degrees of freedom: nan, as the engine
    return f"{_kept(v, v.g)} * {scale} * {v.tmp('centered')}"


register(_RED + "Var", Custom(
    "var", _var_forward, _var_backward,
    lambda v, i: f"2({v.args[0]} − mean)/{max(_count(v.shape(0), v.opt.get('dim')) - v.opt.get('correction', 1), 0)}"))  # noqa: E501


def _lse_forward(v):
    dim, keepdim = v.opt.get("dim"), v.opt.get("keepdim", False)
    m, k = v.tmp("max"), v.tmp("keep")
    x = v.args[0]
    lines = [
        f"{m} = stable_max({x}, {axis_code(dim)})",
        f"{k} = {m} + np.log(np.sum(np.exp({x} - {m}), axis={axis_code(dim)}, keepdims=True))",
    ]
    if keepdim:
        lines.append(f"{v.out} = {k}")
    else:
        lines.append(f"{v.out} = np.squeeze({k}, axis={axis_code(dim)})")
    return lines


def _lse_backward(v, i):
    weights = f"np.exp({v.args[0]} - {v.tmp('keep')})"
    if np.isneginf(v.output._data).any():  # slices of only -inf get 0, as in the engine
        weights = f"np.where(np.isneginf({v.tmp('keep')}), 0, {weights})"
    return f"{_kept(v, v.g)} * {weights}"


register(_RED + "LogSumExp", Custom(
    "logΣexp", _lse_forward, _lse_backward,
    lambda v, i: f"softmax({v.args[0]})", helpers=["stable_max"]))


def _softmax_forward(v):
    e, dim, x = v.tmp("exp"), v.opt["dim"], v.args[0]
    return [f"{e} = np.exp({x} - stable_max({x}, {dim}))",
            f"{v.out} = {e} / np.sum({e}, axis={dim}, keepdims=True)"]


register(_RED + "Softmax", Custom(
    "softmax", _softmax_forward,
    lambda v, i: f"{v.out} * ({v.g} - np.sum({v.g} * {v.out}, axis={v.opt['dim']}, "
                 "keepdims=True))",
    lambda v, i: "diag(y) − y yᵀ", helpers=["stable_max"]))


def _log_softmax_forward(v):
    sh, dim, x = v.tmp("shifted"), v.opt["dim"], v.args[0]
    return [f"{sh} = {x} - stable_max({x}, {dim})",
            f"{v.out} = {sh} - np.log(np.sum(np.exp({sh}), axis={dim}, keepdims=True))"]


register(_RED + "LogSoftmax", Custom(
    "log_softmax", _log_softmax_forward,
    lambda v, i: f"{v.g} - np.exp({v.out}) * np.sum({v.g}, axis={v.opt['dim']}, "
                 "keepdims=True)",
    lambda v, i: "1 − softmax", helpers=["stable_max"]))

# --------------------------------------------------------------------- movement
_MV = "autograd_core.ops.movement."
register(_MV + "Reshape", Custom(
    "reshape", lambda v: [f"{v.out} = np.reshape({v.args[0]}, {literal(v.opt['shape'])})"],
    lambda v, i: f"np.reshape({v.g}, {literal(v.shape(0))})",
    lambda v, i: "1 (reshaped back)"))
register(_MV + "Permute", Custom(
    "permute", lambda v: [f"{v.out} = np.transpose({v.args[0]}, {literal(tuple(v.opt['dims']))})"],
    lambda v, i: f"np.transpose({v.g}, "
                 f"{literal(tuple(int(d) for d in np.argsort(v.opt['dims'])))})",
    lambda v, i: "1 (axes put back)"))
register(_MV + "Expand", Custom(
    "expand", lambda v: [f"{v.out} = np.broadcast_to({v.args[0]}, {literal(v.opt['shape'])})"],
    lambda v, i: unbroadcast_code(v.g, v.out_shape, v.shape(0)),
    lambda v, i: "1 (copies summed)"))


def _getitem_backward(v, i):
    from autograd_core.ops.movement import is_basic_index

    index = v.opt["index"]
    t = v.tmp("grad")
    setup = [f"{t} = np.zeros({literal(v.shape(0))}, dtype={dtype_literal(v.grad_dtype)})"]
    if is_basic_index(index):
        setup.append(f"{t}[{index_code(index)}] = {v.g}")
    else:
        setup.append(f"np.add.at({t}, {literal(index)}, {v.g})  # repeated indices add up")
    return setup, t


register(_MV + "GetItem", Custom(
    "[]", lambda v: [f"{v.out} = {v.args[0]}[{index_code(v.opt['index'])}]"],
    _getitem_backward, lambda v, i: "1 at the picked elements"))


def _cat_backward(v, i):
    dim = v.opt["dim"]
    sizes = [v.shape(k)[dim] for k in range(len(v.inputs))]
    offsets = [int(o) for o in np.cumsum(sizes)[:-1]]
    return f"np.split({v.g}, {literal(offsets)}, axis={dim})[{i}]"


def _sequence(v) -> str:
    inner = ", ".join(v.args)
    return f"({inner},)" if len(v.args) == 1 else f"({inner})"


register(_MV + "Cat", Custom(
    "cat", lambda v: [f"{v.out} = np.concatenate({_sequence(v)}, axis={v.opt['dim']})"],
    _cat_backward, lambda v, i: f"1 (slice {i})"))
register(_MV + "Stack", Custom(
    "stack", lambda v: [f"{v.out} = np.stack({_sequence(v)}, axis={v.opt['dim']})"],
    lambda v, i: f"np.moveaxis({v.g}, {v.opt['dim']}, 0)[{i}]",
    lambda v, i: f"1 (entry {i})"))

# --------------------------------------------------------------------- linalg
_LA = "autograd_core.ops.linalg."


def _matmul_backward(v, i):
    a, b, g = v.args[0], v.args[1], v.g
    a1, b1 = v.ndim(0) == 1, v.ndim(1) == 1
    if not a1 and not b1 and v.ndim(0) == 2 and v.ndim(1) == 2:
        return f"{g} @ {b}.T" if i == 0 else f"{a}.T @ {g}"
    g2 = g  # the promoted axes put back: the column of a 1-D b first, then the row
    if b1:
        g2 = f"np.expand_dims({g2}, -1)"
    if a1:
        g2 = f"np.expand_dims({g2}, -2)"
    if i == 0:
        b2 = f"{b}[:, np.newaxis]" if b1 else b
        code = f"np.matmul({g2}, np.swapaxes({b2}, -1, -2))"
        return f"np.squeeze({code}, -2)" if a1 else code
    a2 = f"{a}[np.newaxis, :]" if a1 else a
    code = f"np.matmul(np.swapaxes({a2}, -1, -2), {g2})"
    return f"np.squeeze({code}, -1)" if b1 else code


register(_LA + "MatMul", Custom(
    "@", lambda v: [f"{v.out} = {v.args[0]} @ {v.args[1]}"], _matmul_backward,
    ["G·{1}ᵀ", "{0}ᵀ·G"]))


def _linear_forward(v):
    x, w, b = v.args
    if v.inputs[2] is None:
        return [f"{v.out} = {x} @ {w}.T"]
    product = np.result_type(v.dtype(0), v.dtype(1))
    if np.result_type(product, v.dtype(2)) != product:
        return None  # the engine adds in place (keeping the dtype): use the fallback
    return [f"{v.out} = {x} @ {w}.T + {b}"]


def _linear_backward(v, i):
    x, w = v.args[0], v.args[1]
    n_out, n_in = v.shape(1)
    if i == 0:
        return f"{v.g} @ {w}"
    if i == 1:
        return f"{v.g}.reshape(-1, {n_out}).T @ {x}.reshape(-1, {n_in})"
    return f"{v.g}.reshape(-1, {n_out}).sum(axis=0)"


register(_LA + "Linear", Custom(
    "linear", _linear_forward, _linear_backward, ["G·{1}", "Gᵀ·{0}", "Σₙ G"]))

# --------------------------------------------------------------------- nn's fused ops
# Activations, dropout and the simple losses get one-line formulas; normalisation and
# the classification losses (several statistics, scatter into the target class) are
# called by name in flat code and described on the edges.
_ACT = "autograd_core.ops.activation."


def _opt(v, key, default=None):
    return literal(v.opt.get(key, default))


register(_ACT + "LeakyRelu", Custom(
    "LeakyReLU",
    lambda v: [f"{v.out} = np.where({v.args[0]} > 0, {v.args[0]}, "
               f"{v.args[0]} * {_opt(v, 'negative_slope', 0.01)})"],
    lambda v, i: f"np.where({v.args[0]} > 0, {v.g}, {v.g} * {_opt(v, 'negative_slope', 0.01)})",
    lambda v, i: f"1 if {v.args[0]} > 0 else {fmt_value(v.opt.get('negative_slope', 0.01))}"))
register(_ACT + "Elu", Custom(
    "ELU",
    lambda v: [f"{v.out} = np.where({v.args[0]} > 0, {v.args[0]}, {_opt(v, 'alpha', 1.0)} * "
               f"np.expm1(np.minimum({v.args[0]}, 0)))"],
    lambda v, i: f"np.where({v.args[0]} > 0, {v.g}, {v.g} * ({v.out} + {_opt(v, 'alpha', 1.0)}))",
    lambda v, i: f"1 if {v.args[0]} > 0 else {v.out} + α"))


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


register(_ACT + "Selu", Custom("SELU", _selu_forward, _selu_backward,
                               lambda v, i: f"λ if {v.args[0]} > 0 else {v.out} + λα"))


def _softplus_forward(v):
    z, x = v.tmp("z"), v.args[0]
    beta, threshold = _opt(v, "beta", 1.0), _opt(v, "threshold", 20.0)
    return [
        f"{z} = {x} * {beta}",
        f"{v.out} = np.where({z} > {threshold}, {x}, (np.maximum({z}, 0) + "
        f"np.log1p(np.exp(-np.abs({z})))) / {beta}).astype({dtype_literal(v.dtype(0))}, "
        "copy=False)",
    ]


register(_ACT + "Softplus", Custom(
    "softplus", _softplus_forward,
    lambda v, i: f"np.where({v.tmp('z')} > {_opt(v, 'threshold', 20.0)}, {v.g}, "
                 f"{v.g} * sigmoid({v.tmp('z')}))",
    lambda v, i: f"σ(β{v.args[0]})", helpers=["sigmoid"]))


def _silu_forward(v):
    s, x = v.tmp("sigmoid"), v.args[0]
    return [f"{s} = sigmoid({x})",
            f"{v.out} = ({x} * {s}).astype({dtype_literal(v.dtype(0))}, copy=False)"]


register(_ACT + "Silu", Custom(
    "SiLU", _silu_forward,
    lambda v, i: f"{v.g} * ({v.tmp('sigmoid')} * (1 + {v.args[0]} * (1 - {v.tmp('sigmoid')})))",
    lambda v, i: f"σ + {v.args[0]}σ(1−σ)", helpers=["sigmoid"]))
register(_ACT + "Hardtanh", Custom(
    "hardtanh",
    lambda v: [f"{v.out} = np.clip({v.args[0]}, {_opt(v, 'min_val', -1.0)}, "
               f"{_opt(v, 'max_val', 1.0)})"],
    lambda v, i: f"{v.g} * (({v.args[0]} > {_opt(v, 'min_val', -1.0)}) & "
                 f"({v.args[0]} < {_opt(v, 'max_val', 1.0)}))",
    lambda v, i: f"1 if {fmt_value(v.opt.get('min_val', -1.0))} < {v.args[0]} < "
                 f"{fmt_value(v.opt.get('max_val', 1.0))} else 0"))
register(_ACT + "PRelu", Custom(
    "PReLU", local=lambda v, i: (f"1 if {v.args[0]} > 0 else {v.args[1]}" if i == 0
                                 else f"{v.args[0]} where {v.args[0]} ≤ 0")))

_DROP = Custom("dropout", lambda v: [f"{v.out} = {v.args[0]} * {v.args[1]}"],
               lambda v, i: f"{v.g} * {v.args[1]}" if i == 0 else None,
               lambda v, i: "mask (0 or 1/(1−p))" if i == 0 else None)
register("autograd_core.ops.dropout.Dropout", _DROP)
register("autograd_core.ops.dropout.DropConnect", _DROP)

_NORM = "autograd_core.ops.normalization."


def _norm_local(v, i):
    return ["(x̂ = (x − μ)/σ; μ, σ depend on x too)", "x̂", "1"][i] if i < 3 else None


for _name in ("BatchNorm", "LayerNorm", "InstanceNorm"):
    register(_NORM + _name, Custom("norm", local=_norm_local))

_LOSS = "autograd_core.ops.loss."


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


register(_LOSS + "MseLoss", _pointwise_loss(
    "MSE", "np.square({0} - {1})", "2 * {up} * ({0} - {1})", "2({0} − {1})"))
register(_LOSS + "L1Loss", _pointwise_loss(
    "L1", "np.abs({0} - {1})", "{up} * np.sign({0} - {1})", "sign({0} − {1})"))
register(_LOSS + "HuberLoss", Custom(
    "Huber", local=lambda v, i: ("" if i == 0 else "−")
    + f"clip({v.args[0]} − {v.args[1]}, ±δ){_mean_note(v)}"))
register(_LOSS + "CrossEntropy", Custom(
    "CE", local=lambda v, i: f"softmax({v.args[0]}) − onehot(target){_mean_over_targets(v)}"
    if i == 0 else "−log softmax"))
register(_LOSS + "NllLoss", Custom(
    "NLL", local=lambda v, i: f"−1 at the target class{_mean_over_targets(v)}"))
register(_LOSS + "BinaryCrossEntropy", Custom(
    "BCE", local=lambda v, i: f"({v.args[0]} − y)/({v.args[0]}(1 − {v.args[0]}))"
    if i == 0 else f"−logit({v.args[0]})"))
register(_LOSS + "BinaryCrossEntropyWithLogits", Custom(
    "BCE", local=lambda v, i: f"σ({v.args[0]}) − y" if i == 0 else f"−{v.args[0]}"))
register(_LOSS + "FocalLoss", Custom(
    "focal", local=lambda v, i: "(1−p)^γ-weighted softmax − onehot"))

# --------------------------------------------------------------------- conv and pooling
# Called by name in flat code (im2col kernels); the edges say what flows back.
register("autograd_core.ops.conv.Conv2d", Custom(
    "conv", local=lambda v, i: [
        "G ⋆ W (transposed convolution)", "G ⋆ x (correlation with the input)",
        "Σ G over batch and positions"][i] if i < 3 else None))
register("autograd_core.ops.pool.MaxPool2d", Custom(
    "maxpool", local=lambda v, i: "1 at each window's max, else 0"))
register("autograd_core.ops.pool.AvgPool2d", Custom(
    "avgpool", local=lambda v, i: "1/window size, spread over each window"))
register("autograd_core.ops.pool.AdaptiveAvgPool2d", Custom(
    "adaptive avg", local=lambda v, i: "1/cell size, spread over each cell"))
