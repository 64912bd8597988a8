"""A numerical check of every node's backward: does it match its forward?

For one node y = f(x1, ..., xk) and a fixed random weighting v of its output, the
backward must give the gradient of s(x) = sum(v * f(x)). The check compares it, element
by element, with central differences in float64:

    ds/dx[j]  ~=  (s(x + eps e_j) - s(x - eps e_j)) / (2 eps)

Only the node is re-run (its forward on float64 copies of its inputs), so a wrong
backward deep in a network is pinned to the one node that has it: ``draw_graph(...,
check=True)`` draws that node red. Elements where the function has a kink (ReLU at 0,
a tie in a max) have different one-sided slopes; they are skipped, not failed. Large
inputs are checked on a random sample of ``max_elements`` elements.

>>> from autograd_core import Function, Tensor
>>> class Cube(Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x ** 3
...     @staticmethod
...     def backward(ctx, grad):
...         (x,) = ctx.saved_tensors
...         return grad * 3 * x          # wrong: should be 3 x^2
>>> x = Tensor(2.0, requires_grad=True)
>>> [c.ok for c in check_graph(Cube.apply(x) + 1)]
[True, False]
"""

from dataclasses import dataclass, field

import numpy as np

from autograd_core._format import fmt_number
from autograd_core.errors import ShapeError
from autograd_core.function import Context
from autograd_core.tensor import Tensor
from autograd_core.viz._graph import GraphInfo
from autograd_core.viz.replay import _as_tuple, conform

__all__ = ["NodeCheck", "check_node", "check_graph"]


@dataclass
class NodeCheck:
    """The verdict on one node.

    ``ok`` is True (backward matches), False (it does not: ``message`` says where and by
    how much) or None (not checkable, e.g. a cast to float32). ``max_error`` is the
    largest |numerical - backward| seen, ``input`` the position of the worst input.
    """

    op: str
    output: Tensor
    ok: object
    max_error: float = 0.0
    input: int = -1
    message: str = ""
    skipped_kinks: int = 0
    # {input position: (backward's value, numerical value, ok)} at the worst element of
    # each input (the only element for a scalar): what draw_graph writes on the edge.
    edges: dict = field(default_factory=dict)

    def __repr__(self):
        state = {True: "ok", False: "FAILED", None: "skipped"}[self.ok]
        return f"NodeCheck({self.op}: {state}{': ' + self.message if self.message else ''})"


def _objective(ctx, arrays, weights) -> float:
    fresh = Context(ctx.fn, ctx.inputs, ctx.options, (False,) * len(arrays))
    out = np.asarray(ctx.fn.forward(fresh, *arrays, **ctx.options), dtype=np.float64)
    return float(np.sum(weights * out))


def check_node(ctx, output=None, eps=1e-6, atol=1e-5, rtol=1e-3, max_elements=20,
               seed=0, input_names=None, grad_output=None) -> NodeCheck:
    """Compare node ``ctx``'s backward with central differences (see the module doc).

    ``grad_output`` is the weighting v (default: random normal): ones for a scalar
    output make the compared numbers the local derivatives themselves; the gradient
    arriving at the node makes them the contributions backward really sent.
    """
    name = ctx.op_name
    positions = [
        i for i, x in enumerate(ctx.inputs)
        if isinstance(x, Tensor) and x.dtype.kind == "f" and x.requires_grad
    ]
    if not positions:
        return NodeCheck(name, output, None, message="no input requires grad")
    arrays = [
        x._data.astype(np.float64) if i in positions else (
            x._data if isinstance(x, Tensor) else x)
        for i, x in enumerate(ctx.inputs)
    ]
    needs = tuple(i in positions for i in range(len(arrays)))
    fresh = Context(ctx.fn, ctx.inputs, ctx.options, needs)
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(ctx.fn.forward(fresh, *arrays, **ctx.options))
    except Exception as error:  # an op that cannot run in float64 is not checkable
        return NodeCheck(name, output, None, message=f"forward failed in float64: {error}")
    if out.dtype != np.float64:
        return NodeCheck(name, output, None, message=f"output is {out.dtype}, not float64")
    rng = np.random.default_rng(seed)
    if grad_output is None:
        weights = rng.standard_normal(out.shape)
    else:
        weights = np.broadcast_to(np.asarray(grad_output, dtype=np.float64), out.shape)
    try:
        with np.errstate(all="ignore"):
            grads = _as_tuple(ctx.fn.backward(fresh, weights), len(arrays), name)
    except Exception as error:
        return NodeCheck(name, output, False, np.inf, message=f"backward raised {error!r}")
    base = float(np.sum(weights * out))
    worst = NodeCheck(name, output, True)
    worst_failure = -1.0
    for i in positions:
        label = input_names[i] if input_names else f"input {i}"
        x = arrays[i]
        analytic = grads[i]
        if analytic is None:
            analytic = np.zeros_like(x)
        try:
            analytic = conform(analytic, x, name).astype(np.float64)
        except (ShapeError, ValueError) as error:
            return NodeCheck(name, output, False, np.inf, i,
                             f"backward's gradient for {label} has the wrong shape: {error}")
        if x.size <= max_elements:
            elements = range(x.size)
        else:
            elements = sorted(rng.choice(x.size, size=max_elements, replace=False))
        edge_error = -1.0
        for j in elements:
            shifted = list(arrays)
            plus, minus = x.copy(), x.copy()
            plus.flat[j] += eps
            minus.flat[j] -= eps
            with np.errstate(all="ignore"):
                shifted[i] = plus
                f_plus = _objective(ctx, shifted, weights)
                shifted[i] = minus
                f_minus = _objective(ctx, shifted, weights)
            right, left = (f_plus - base) / eps, (base - f_minus) / eps
            if abs(right - left) > atol + rtol * max(abs(right), abs(left)) + 1e-3:
                worst.skipped_kinks += 1  # one-sided slopes differ: a kink, not a bug
                continue
            numeric = (f_plus - f_minus) / (2 * eps)
            if not np.isfinite(numeric):
                continue
            got = float(analytic.flat[j])
            error = abs(numeric - got)
            error = error if np.isfinite(error) else np.inf
            # Shown on the input's edge: its worst failing element, else its largest
            # one (a near-zero slope says little about the rule).
            ok = bool(error <= atol + rtol * abs(numeric))
            rank = (not ok, error if not ok else abs(numeric))
            if edge_error == -1.0 or rank > edge_error:
                edge_error = rank
                worst.edges[i] = (got, numeric, ok)
            worst.max_error = max(worst.max_error, error)
            if error > atol + rtol * abs(numeric) and error > worst_failure:
                worst_failure = error
                index = [int(k) for k in np.unravel_index(j, x.shape)] if x.ndim else ""
                worst.ok = False
                worst.input = i
                worst.message = (
                    f"∂/∂{label}{index}: backward gives {fmt_number(got, 4)}, "
                    f"numerically {fmt_number(numeric, 4)}"
                )
    return worst


def check_graph(root, params=None, **options) -> list:
    """:func:`check_node` for every node below ``root``, in backward order.

    Changes no ``.grad``. ``options`` go to :func:`check_node` (eps, atol, rtol, ...).
    """
    graph = GraphInfo(root, params)
    results = []
    for tensor in reversed(graph.order):
        ctx = tensor._ctx
        names = [graph.name.get(id(x), "const") if isinstance(x, Tensor) else "const"
                 for x in ctx.inputs]
        results.append(check_node(ctx, tensor, input_names=names, **options))
    return results
