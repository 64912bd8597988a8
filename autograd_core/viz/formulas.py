"""The teaching tools' view of one recorded node, for the op's ``formula``.

Formulas live on the op classes (``formula = Template(...)`` next to forward and
backward; see ``autograd_core.ops._formula``). :class:`OpView` is what they format:
``v.args`` (one string per positional input: a name, or the constant as Python),
``v.out``, ``v.g`` (the name of dL/d(out)), ``v.opt`` (the options), shapes and dtypes,
and ``v.tmp(suffix)`` for temporary names. :func:`rule_for` finds an op's formula.
"""

import numpy as np

from autograd_core._format import dtype_literal, fmt_value, literal
from autograd_core.ops import _dtypes
from autograd_core.ops._formula import (  # noqa: F401 - re-exported for the tools
    HELPERS,
    Custom,
    Rule,
    Template,
    index_code,
    paren,
    unbroadcast_code,
)
from autograd_core.tensor import Tensor

__all__ = ["OpView", "rule_for", "Rule", "Template", "Custom", "HELPERS", "paren",
           "unbroadcast_code", "index_code"]


def rule_for(fn):
    """The op class's own ``formula`` (not a base class's: a subclass may differ), or None."""
    return vars(fn).get("formula") if isinstance(fn, type) else None


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
        positions = getattr(self.fn, "promotes", ())
        if not positions:
            return
        values = [self.value(i) for i in positions]
        if len(positions) == 2:
            promoted = _dtypes.promote(*values)
        else:
            promoted = tuple(values)
        if getattr(self.fn, "float_only", False):
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
