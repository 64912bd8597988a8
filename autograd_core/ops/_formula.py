"""Teaching formulas: what an op shows on graph edges and writes in flat code.

Each op class (a :class:`~autograd_core.function.Function`) may carry a ``formula``
class attribute, next to its forward and backward; the teaching tools
(``autograd_core.viz``) read it from there. A formula knows, for one recorded node:

* ``forward(v)``: Python lines computing the output, mirroring the op's ``forward``
  expression for expression (``s0 = w0 * x0``), so the flat code reproduces the
  engine's values bit for bit;
* ``backward(v, i)``: ``(setup_lines, expression)`` for the gradient the op's
  ``backward`` returns for input ``i`` (``grad_s0 * x0``), again mirroring the code;
* ``local(v, i)``: the local derivative as a student writes it (``x0``, ``σ(1−σ)``),
  drawn on the graph's edges as ``∂s0/∂w0 = x0``.

Each may return None: flat code then calls ``op_forward``/``op_backward`` by name, and
the edge says which backward runs. A user's own Function needs no formula. To give it
one::

    class Cube(Function):
        formula = Template("³", "np.power({0}, 3)", backward=["{g} * 3 * {0} ** 2"],
                           local=["3{0}²"])

``v`` is the teaching tools' view of one node (``viz.formulas.OpView``): ``v.args``
(one string per positional input: a name, or the constant as Python), ``v.out``,
``v.g`` (the name of dL/d(out)), ``v.opt`` (the options), ``v.shape(i)``,
``v.dtype(i)``, ``v.value(i)`` and ``v.tmp(suffix)`` for temporary names.

This module must not import the teaching tools (ops -> viz would point the wrong way).
"""

import ast

import numpy as np

from autograd_core._format import dtype_literal, fmt_value, literal

__all__ = ["Rule", "Template", "Custom", "HELPERS", "paren", "unbroadcast_code",
           "index_code", "axis_code", "kept", "reduce_args", "element_count", "option",
           "dtype_literal", "fmt_value", "literal"]


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


def kept(v, name: str) -> str:
    """``name`` with reduced axes put back (size 1), as the reductions' backward does."""
    dim, keepdim = v.opt.get("dim"), v.opt.get("keepdim", False)
    if keepdim or dim is None:
        return name
    return f"np.expand_dims({name}, {axis_code(dim)})"


def reduce_args(v) -> str:
    dim, keepdim = v.opt.get("dim"), v.opt.get("keepdim", False)
    if dim is None and not keepdim:
        return ""
    return f", axis={axis_code(dim)}, keepdims={keepdim!r}"


def element_count(shape, dim) -> int:
    if dim is None:
        return int(np.prod(shape))
    return int(np.prod([shape[a] for a in dim]))


SIGMOID_HELPER = '''def sigmoid(x):
    """1 / (1 + e^-x), computed as the engine does (no overflow for large |x|)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)'''

STABLE_MAX_HELPER = '''def stable_max(x, axis):
    """max over axis (kept), 0 where it is infinite: the shift that keeps exp finite
    (0 for an empty array, whose max does not exist)."""
    if np.size(x) == 0:
        return np.zeros_like(np.sum(x, axis=axis, keepdims=True))
    m = np.max(x, axis=axis, keepdims=True)
    return np.where(np.isfinite(m), m, 0)'''

HELPERS = {"sigmoid": SIGMOID_HELPER, "stable_max": STABLE_MAX_HELPER}


def option(v, key, default=None) -> str:
    """The op's keyword option ``key`` as a Python literal (``default`` when absent)."""
    return literal(v.opt.get(key, default))
