"""Flat code: a graph written out as straight-line forward and backward Python.

This is the slides' "flat" backprop: no graph objects, no loops, one line per op in
forward and one line per chain-rule step in backward, in the order the engine runs
them. For the sigmoid neuron ``L = sigmoid(w0*x0 + w1*x1 + w2)`` it reads::

    def forward_backward(w0, x0, w1, x1, w2):
        s0 = w0 * x0                  # -2
        ...
        L = sigmoid(s3)               # 0.7311
        grad_L = np.ones_like(L)      # 1
        # step 1: L = sigmoid(s3)
        grad_s3 = grad_L * L * (1 - L)    # 0.1966
        ...
        return L, {"w0": grad_w0, ...}

Running the code reproduces the engine's value and gradients exactly (the lines mirror
the ops' forward and backward expression for expression, and the engine's bookkeeping:
contributions added in the same order, broadcast dims summed away, dtypes cast back).
Ops without a one-line formula call :func:`~autograd_core.viz.op_forward` and
:func:`~autograd_core.viz.op_backward` by name.

>>> from autograd_core import Tensor
>>> from autograd_core.viz import flat_code
>>> x = Tensor(3.0, requires_grad=True, name="x", dtype="float64")
>>> namespace = {}
>>> exec(flat_code(x * x), namespace)
>>> value, grads = namespace["forward_backward"](x.numpy())
>>> float(value), float(grads["x"])
(9.0, 6.0)
"""

import dataclasses

import numpy as np

from autograd_core._format import dtype_literal, fmt_shape, fmt_value, literal
from autograd_core.viz._graph import RESERVED, GraphInfo
from autograd_core.viz.formulas import ALL_HELPERS, OpView, paren, rule_for, unbroadcast_code
from autograd_core.viz.replay import replay, short_name

__all__ = ["flat_code", "backward_steps"]

_COMMENT_COLUMN = 44
_DEFAULTS_MAX_ELEMENTS = 16
_COMMENT_ELEMENTS = 6  # arrays up to this size are shown in comments, larger summarised


class _Writer:
    """Turns a graph and its replay into lines of code (shared by formulas and source)."""

    def __init__(self, graph: GraphInfo, rep, digits: int = 4):
        self.graph, self.rep, self.digits = graph, rep, digits
        self.used = set(RESERVED) | set(graph.ident.values())
        self.used |= {f"grad_{i}" for i in graph.ident.values()}
        self.temps = {}
        self.helpers = []  # helper function names the code needs, first use first
        self.imports = set()

    def ident(self, tensor) -> str:
        return self.graph.ident[id(tensor)]

    def temp(self, base: str) -> str:
        # The same base always gives the same name: forward and backward share temps.
        if base not in self.temps:
            name, k = base, 1
            while name in self.used:
                k += 1
                name = f"{base}_{k}"
            self.used.add(name)
            self.temps[base] = name
        return self.temps[base]

    def view(self, tensor, step=None) -> OpView:
        grad_dtype = step.grad_output.dtype if step is not None else None
        return OpView(tensor._ctx, tensor, self.ident, "code", grad_dtype=grad_dtype,
                      temp=self.temp)

    def _need_helpers(self, rule):
        for name in getattr(rule, "helpers", ()):
            if name not in self.helpers:
                self.helpers.append(name)

    @staticmethod
    def _inputs_tuple(v) -> str:
        inner = ", ".join(v.args)
        return f"({inner},)" if len(v.args) == 1 else f"({inner})"

    def forward_lines(self, tensor) -> list:
        v = self.view(tensor)
        rule = rule_for(v.fn)
        lines = rule.forward(v) if rule is not None else None
        if lines is None:
            self.imports.add("op_forward")
            return [f"{v.out} = op_forward({short_name(v.fn)!r}, {self._inputs_tuple(v)}, "
                    f"{literal(dict(v.opt))})"]
        self._need_helpers(rule)
        return lines

    def backward_lines(self, step, seen: set, accumulate: str = "plain") -> list:
        """Lines for one step: (code, comment) pairs. ``seen`` holds tensors with grads.

        ``accumulate="plain"`` writes ``grad_a = grad_a + ...`` (what runs);
        ``"+="`` writes ``grad_a += ...`` (the formula a student reads).
        """
        v = self.view(step.output, step)
        rule = rule_for(v.fn)
        lines, fallback, emitted = [], None, set()
        for j, parent in enumerate(step.inputs):
            contribution = step.grad_inputs[j]
            if contribution is None:
                continue
            pos = step.positions[j]
            code = rule.backward(v, pos) if rule is not None else None
            if code is None:
                if fallback is None:
                    fallback = self.temp(f"{v.out}_grads")
                    needs = tuple(bool(n) for n in step.ctx.needs_input_grad)
                    self.imports.add("op_backward")
                    call = (f"op_backward({short_name(v.fn)!r}, {v.g}, {self._inputs_tuple(v)}, "
                            f"{literal(dict(v.opt))}, needs={needs!r})")
                    lines.append((f"{fallback} = {call}", f"runs {v.fn.__name__}.backward"))
                code = ([], f"{fallback}[{pos}]")
            else:
                self._need_helpers(rule)
            setup, expr = code
            for line in setup:  # one setup line (e.g. G as a matrix) serves every input
                if line not in emitted:
                    emitted.add(line)
                    lines.append(_split_comment(line))
            raw = np.asarray(step.raw_grad_inputs[j])
            expr = unbroadcast_code(expr, raw.shape, parent.shape)
            if raw.dtype != parent.dtype:
                expr = f"{paren(expr)}.astype({dtype_literal(parent.dtype)})"
            target = f"grad_{self.ident(parent)}"
            note = fmt_value(contribution, self.digits, _COMMENT_ELEMENTS)
            if raw.shape != parent.shape:
                note += f"  (summed over broadcast dims {fmt_shape(raw.shape)} -> " \
                        f"{fmt_shape(parent.shape)})"
            if id(parent) in seen:
                total = self.rep_partial(parent, step.index)
                note = f"+ {note} = {fmt_value(total, self.digits, _COMMENT_ELEMENTS)}  (" \
                       f"{self.ident(parent)} " \
                       "feeds several ops: contributions add up)"
                if accumulate == "+=":
                    lines.append((f"{target} += {expr}", note))
                else:
                    lines.append((f"{target} = {target} + {expr}", note))
            else:
                seen.add(id(parent))
                op = "+=" if accumulate == "+=" else "="
                lines.append((f"{target} {op} {expr}", note))
        return lines

    def rep_partial(self, tensor, upto: int):
        """The gradient of ``tensor`` summed over the contributions of steps <= upto."""
        total = None
        for index, g in self.rep.contributions.get(id(tensor), ()):
            if index > upto:
                break
            total = g if total is None else total + g
        return total

    def formula(self, step) -> str:
        forward = "; ".join(_split_comment(line)[0] for line in self.forward_lines(step.output))
        seen = set()  # in a formula every contribution reads "+="
        backward = [code for code, _ in self.backward_lines(step, seen, accumulate="+=")]
        return ";  ".join([forward] + backward)


def _split_comment(line: str) -> tuple:
    """A formula's line ``code  # why`` as (code, why); (code, None) without a comment."""
    code, sep, why = line.partition("  # ")
    return (code, why) if sep else (line, None)


def _with_comment(code: str, comment, indent: str = "    ") -> str:
    code, inline = _split_comment(code)
    if inline:
        comment = f"{inline}: {comment}" if comment else inline
    if not comment:
        return indent + code
    pad = max(_COMMENT_COLUMN - len(code), 2)
    return f"{indent}{code}{' ' * pad}# {comment}"


def _value_note(tensor, digits) -> str:
    data = tensor._data
    text = fmt_value(data, digits, _COMMENT_ELEMENTS)
    return text if data.size <= _COMMENT_ELEMENTS else f"{fmt_shape(data.shape)}: {text}"


def flat_code(root, *, params=None, grad=None, comments: bool = True, digits: int = 4) -> str:
    """Python source of ``forward_backward(<leaves>)``: forward and backward, flattened.

    Parameters
    ----------
    root : Tensor
        The output (a loss). Backward starts from 1 (ones for a non-scalar root, i.e.
        the gradient of ``root.sum()``), or from ``grad``.
    params : dict, optional
        Names for parameters, e.g. ``dict(model.named_parameters())`` or the model
        (``fc1.weight`` becomes the argument ``fc1_weight`` and the key ``"fc1.weight"``).
    comments : bool
        Add the traced run's values as comments.

    Returns the source: ``exec`` it and call ``forward_backward(**leaf_arrays)``; it
    returns ``(value, {leaf name: gradient})`` for the leaves that require grad, equal
    to the engine's ``root`` and ``leaf.grad`` bit for bit (given the same arrays)
    wherever the engine runs the formulas written out.  Where it runs a kernel that
    sums or rounds in another order (convolutions; the float32 log-softmax of 16K
    elements or more, ``kernels.softmax.LOG_SOFTMAX_MIN_ELEMENTS``) they agree to
    float rounding.
    Every leaf tensor is an argument (data included); constants are written inline.
    The graph may or may not have been through backward; no ``.grad`` changes.
    """
    graph = GraphInfo(root, params)
    rep = replay(graph, grad)
    w = _Writer(graph, rep, digits)
    ident = w.ident
    note = (lambda text: text) if comments else (lambda text: None)

    body = ["    # forward pass: one line per op"]
    for tensor in graph.order:
        lines = w.forward_lines(tensor)
        for line in lines[:-1]:
            body.append(_with_comment(line, None))
        body.append(_with_comment(lines[-1], note(_value_note(tensor, digits))))

    root_name = ident(root)
    seed_note = f"∂{graph.name[id(root)]}/∂{graph.name[id(root)]} = 1"
    if grad is not None:
        seed_code = f"grad_{root_name} = {literal(rep.seed)}"
        seed_note = "the given gradient"
    else:
        seed_code = f"grad_{root_name} = np.ones_like({root_name})"
        if root._data.size != 1:
            seed_note = f"ones: the gradient of {root_name}.sum()"
    body.append("")
    body.append("    # backward pass: the chain rule, one step per op, in the engine's order")
    body.append(_with_comment(seed_code, note(seed_note)))
    seen = {id(root)}
    for step in rep.steps:
        # The line that assigns the output names the step (a written-out conv has a few).
        forward = _split_comment(w.forward_lines(step.output)[-1])[0]
        body.append(f"    # step {step.index}: {forward}")
        for code, comment in w.backward_lines(step, seen):
            body.append(_with_comment(code, note(comment)))

    wanted = [t for t in graph.leaves if t.requires_grad and id(t) in rep.grads]
    # Keys are the display names ("fc1.weight"), so they match named_parameters().
    returned = ", ".join(f"{graph.name[id(t)]!r}: grad_{ident(t)}" for t in wanted)
    body.append("")
    body.append(f"    return {root_name}, {{{returned}}}")

    leaves = graph.leaves
    small = all(t._data.size <= _DEFAULTS_MAX_ELEMENTS for t in leaves)
    if small:
        signature = ", ".join(f"{ident(t)}={literal(t._data)}" for t in leaves)
    else:
        signature = ", ".join(ident(t) for t in leaves)
    if len(signature) > 70:  # one argument per line
        signature = "\n" + "".join(
            f"    {ident(t)}={literal(t._data)},\n" if small else f"    {ident(t)},\n"
            for t in leaves
        )
    header = [
        f'"""Flat forward/backward code for {root_name}, from autograd_core.viz.flat_code.',
        "",
        "Forward: one line per op. Backward: one line per chain-rule step, in the order the",
        "engine runs them: grad_<input> = grad_<output> * (local derivative). A value that",
        "feeds several ops gets the sum of their contributions; an input that was broadcast",
        "gets its gradient summed back to its own shape. Comments show the traced run.",
        f"forward_backward(...) returns ({root_name}, {{leaf name: gradient}}).",
        '"""',
        "import numpy as np",
    ]
    imports = sorted(w.imports)
    if imports:
        header.append(f"from autograd_core.viz import {', '.join(imports)}")
    for name in w.helpers:
        header += ["", "", ALL_HELPERS[name]]
    if not small:
        header += ["", "# arguments: " + ", ".join(
            f"{ident(t)} {fmt_shape(t.shape, t.dtype)}" for t in leaves)]
    source = header + ["", "", f"def forward_backward({signature}):"] + body
    return "\n".join(source) + "\n"


def backward_steps(root, *, params=None, grad=None) -> list:
    """The steps of ``root.backward()``, in exactly the order the engine runs them.

    Each :class:`~autograd_core.viz.Step` has ``op``, ``output``, ``inputs`` (the Tensor
    inputs), ``grad_output`` (dL/d output), ``grad_inputs`` (this step's contribution to
    each input's gradient, or None) and ``formula``. Works before or after backward
    (even one that freed the graph) and changes no ``.grad``.

    >>> from autograd_core import Tensor
    >>> w = Tensor(2.0, requires_grad=True, name="w"); x = Tensor(-1.0, name="x")
    >>> [s.formula for s in backward_steps(w * x)]  # an unnamed root is L
    ['L = w * x;  grad_w += grad_L * x']
    """
    graph = GraphInfo(root, params)
    rep = replay(graph, grad)
    w = _Writer(graph, rep)
    return [dataclasses.replace(step, formula=w.formula(step)) for step in rep.steps]
