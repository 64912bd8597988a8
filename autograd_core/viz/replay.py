"""Replaying backward: every chain-rule step of a graph, without touching any ``.grad``.

A recorded node keeps its function, inputs and options even after ``backward()`` has
freed what it saved, and every op's ``forward`` is a pure function of those. So any
node can be re-run on a fresh :class:`~autograd_core.function.Context`::

    fresh = Context(ctx.fn, ctx.inputs, ctx.options, ctx.needs_input_grad)
    ctx.fn.forward(fresh, *input_arrays, **ctx.options)
    grads = ctx.fn.backward(fresh, grad_output)

:func:`replay` walks the graph in exactly the order ``Tensor.backward`` does
(``reversed(topological_order(root))``) and applies the engine's own chain-rule
bookkeeping (unbroadcast, cast to the input's dtype, accumulation over consumers in the
same order), so the gradients it reports are bit for bit the engine's. It works before
any backward, after ``backward(retain_graph=True)`` and after a plain ``backward()``.

The replay uses the inputs' *current* values; if an input was changed in place since
the forward pass (an optimizer step), a ``RuntimeWarning`` says so.

:func:`op_forward` and :func:`op_backward` re-run one op by name; the generated flat
code calls them for ops that have no one-line formula (convolution, pooling, ...).

>>> from autograd_core import Tensor
>>> from autograd_core.viz import backward_steps
>>> a = Tensor(2.0, requires_grad=True, name="a"); b = Tensor(3.0, requires_grad=True, name="b")
>>> [s.op for s in backward_steps((a * b + a).sigmoid())]
['Sigmoid', 'Add', 'Mul']
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from autograd_core.autograd import conform_gradient
from autograd_core.function import Context, Function
from autograd_core.tensor import Tensor

__all__ = ["Step", "Replay", "replay", "op_forward", "op_backward", "resolve_function"]


@dataclass(frozen=True, eq=False)
class Step:
    """One node visited by backward, with what flowed through it.

    Attributes
    ----------
    index : int
        1 for the first node backward visits (the one that produced the root), 2 next...
    op : str
        The op's name (``"Mul"``, ``"Sigmoid"``, a custom Function's class name).
    output : Tensor
        The tensor this node produced.
    inputs : tuple[Tensor, ...]
        The node's Tensor inputs, in argument order (constants are left out; the same
        tensor appears twice for ``a * a``).
    grad_output : np.ndarray
        dL/d(output): the complete gradient arriving at this node.
    grad_inputs : tuple[np.ndarray | None, ...]
        For each of ``inputs``: this node's contribution to dL/d(input), already summed
        over broadcast dims and cast to the input's dtype, or None (no gradient wanted).
    formula : str
        The forward line and the chain-rule lines, e.g.
        ``s0 = w0 * x0;  grad_w0 += grad_s0 * x0;  grad_x0 += grad_s0 * w0``.
    """

    index: int
    op: str
    output: Tensor
    inputs: tuple
    grad_output: np.ndarray
    grad_inputs: tuple
    formula: str = ""
    ctx: Context = field(default=None, repr=False)
    positions: tuple = field(default=(), repr=False)  # each input's place in ctx.inputs
    raw_grad_inputs: tuple = field(default=(), repr=False)  # as backward returned them

    def __repr__(self):
        return f"Step({self.index}: {self.formula or self.op})"


@dataclass
class Replay:
    """Everything a replay found: the steps, and the gradient of every tensor."""

    steps: list
    grads: dict  # id(tensor) -> complete gradient (leaves and interior tensors)
    contributions: dict  # id(tensor) -> [(step index, contribution), ...] in order
    seed: np.ndarray
    changed: list  # steps whose forward replay differs from the recorded output
    errors: dict = field(default_factory=dict)  # id(tensor) -> message (errors="record")


def _input_arrays(ctx) -> list:
    return [x._data if isinstance(x, Tensor) else x for x in ctx.inputs]


def _as_tuple(grads, n_inputs: int, name: str) -> tuple:
    """The engine's normalisation of what ``backward`` returned."""
    if type(grads) is not tuple:
        grads = tuple(grads) if type(grads) is list else (grads,)
    if len(grads) != n_inputs:
        raise RuntimeError(
            f"{name}.backward returned {len(grads)} gradient(s) but forward took "
            f"{n_inputs} input(s); return one per input (None for no grad)"
        )
    return grads


def rerun(ctx, grad_output=None, needs=None, arrays=None):
    """Re-run one node on a fresh context: (output, raw input gradients or None)."""
    fresh = Context(ctx.fn, ctx.inputs, ctx.options,
                    ctx.needs_input_grad if needs is None else needs)
    if arrays is None:
        arrays = _input_arrays(ctx)
    with np.errstate(all="ignore"):  # the engine already warned once, at forward
        out = ctx.fn.forward(fresh, *arrays, **ctx.options)
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        if grad_output is None:
            return out, None
        grads = ctx.fn.backward(fresh, grad_output)
    return out, _as_tuple(grads, len(ctx.inputs), ctx.op_name)


def conform(grad, data: np.ndarray, name: str) -> np.ndarray:
    """A returned gradient brought to its input's shape and dtype (the engine's code)."""
    return conform_gradient(grad, data.shape, data.dtype, name)


def seed_gradient(root: Tensor, grad=None) -> np.ndarray:
    """dL/dL: ones of the root's shape (so a non-scalar root acts as ``root.sum()``)."""
    data = root._data
    if grad is None:
        return np.ones_like(data)
    seed = grad._data if isinstance(grad, Tensor) else np.asarray(grad)
    if seed.shape != data.shape:
        raise ValueError(
            f"the gradient has shape {seed.shape} but the output has shape {data.shape}"
        )
    return seed.astype(data.dtype) if seed.dtype != data.dtype else seed


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def replay(graph, grad=None, warn: bool = True, errors: str = "raise") -> Replay:
    """Run the chain rule over ``graph`` (a ``GraphInfo``) exactly as ``backward`` does.

    ``errors="record"`` keeps going when a node's forward or backward fails (a student's
    broken Function): the message is kept in ``Replay.errors`` and that node passes no
    gradient on, so the rest of the graph can still be drawn.
    """
    root = graph.root
    seed = seed_gradient(root, grad)
    grads = {id(root): seed}
    contributions = {}
    steps, changed, failures = [], [], {}
    for tensor in reversed(graph.order):
        grad_output = grads.get(id(tensor))
        if grad_output is None:
            continue  # does not influence the root (the engine skips it too)
        ctx = tensor._ctx
        index = len(steps) + 1
        inputs, positions, conformed, raws = [], [], [], []
        try:
            out, raw = rerun(ctx, grad_output)
            for pos, (parent, g) in enumerate(zip(ctx.inputs, raw)):
                if not isinstance(parent, Tensor):
                    continue
                inputs.append(parent)
                positions.append(pos)
                if g is None or not parent._requires_grad:
                    conformed.append(None)
                    raws.append(None)
                    continue
                raws.append(g)
                conformed.append(conform(g, parent._data, ctx.op_name))
        except Exception as error:
            if errors == "raise":
                raise
            failures[id(tensor)] = f"{type(error).__name__}: {error}"
            continue
        if not _same(out, tensor._data):
            changed.append(ctx.op_name)
        for parent, g in zip(inputs, conformed):
            if g is None:
                continue
            key = id(parent)
            previous = grads.get(key)
            # Same association as the engine: ((first + second) + third) ...
            grads[key] = g if previous is None else previous + g
            contributions.setdefault(key, []).append((index, g))
        steps.append(Step(
            index=index, op=ctx.op_name, output=tensor, inputs=tuple(inputs),
            grad_output=grad_output, grad_inputs=tuple(conformed), ctx=ctx,
            positions=tuple(positions), raw_grad_inputs=tuple(raws),
        ))
    if changed and warn:
        warnings.warn(
            "autograd_core.viz: re-running " + ", ".join(sorted(set(changed))) + " gave values "
            "different from the recorded forward pass: an input was changed in place since "
            "(e.g. by optimizer.step()), so the gradients shown are those at the current "
            "values, not the ones backward computed",
            RuntimeWarning, stacklevel=3,
        )
    return Replay(steps=steps, grads=grads, contributions=contributions, seed=seed,
                  changed=changed, errors=failures)


# --------------------------------------------------------------------- ops by name
def _all_functions():
    found, stack = [], [Function]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            stack.append(sub)
    return found


def qualified_name(fn) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def resolve_function(op) -> type:
    """The Function subclass called ``op``: a class, its class name or its dotted path."""
    if isinstance(op, type) and issubclass(op, Function):
        return op
    if not isinstance(op, str):
        raise TypeError(f"op must be a Function subclass or its name, got {op!r}")
    # Make sure the engine's op modules (and nn's, when installed) are registered.
    import autograd_core.ops  # noqa: F401

    matches = {cls for cls in _all_functions() if qualified_name(cls) == op}
    if not matches:
        matches = {cls for cls in _all_functions() if cls.__name__ == op}
    if len(matches) == 1:
        return matches.pop()
    if not matches:
        raise LookupError(f"no Function subclass named {op!r} is defined (import its module)")
    names = ", ".join(sorted(qualified_name(c) for c in matches))
    raise LookupError(f"several Functions are called {op!r}: {names}; pass the dotted name")


def short_name(fn) -> str:
    """The name :func:`resolve_function` finds ``fn`` by: the class name when unique."""
    try:
        if resolve_function(fn.__name__) is fn:
            return fn.__name__
    except LookupError:
        pass
    return qualified_name(fn)


def _unwrap_all(inputs):
    return [x._data if isinstance(x, Tensor) else x for x in inputs]


def op_forward(op, inputs, options=None) -> np.ndarray:
    """Run op ``op``'s forward on arrays, exactly as the engine does.

    ``op`` is a Function subclass or its name (``"Conv2d"``); ``inputs`` the positional
    inputs (arrays or constants), ``options`` the keyword options.

    >>> import numpy as np
    >>> op_forward("Mul", (np.array(2.0), np.array(3.0))).item()
    6.0
    """
    fn = resolve_function(op)
    options = dict(options or {})
    arrays = _unwrap_all(inputs)
    ctx = Context(fn, tuple(inputs), options, (False,) * len(arrays))
    out = fn.forward(ctx, *arrays, **options)
    return out if type(out) is np.ndarray else np.asarray(out)


def op_backward(op, grad_output, inputs, options=None, needs=None) -> tuple:
    """One op's backward on arrays: the gradient it returns for each input.

    Re-runs ``op``'s forward on ``inputs`` (to rebuild what it saves) and then its
    backward with ``grad_output``. Returns one entry per input, as the op's backward
    returns them: possibly in the broadcast shape (sum them down with
    ``ops._shapes.unbroadcast``) or None. ``needs`` says which inputs want a gradient
    (default: every float array).

    >>> import numpy as np
    >>> [float(g) for g in op_backward("Mul", np.array(1.0), (np.array(2.0), np.array(3.0)))]
    [3.0, 2.0]
    """
    fn = resolve_function(op)
    options = dict(options or {})
    arrays = _unwrap_all(inputs)
    if needs is None:
        needs = tuple(isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in arrays)
    ctx = Context(fn, tuple(inputs), options, tuple(needs))
    fn.forward(ctx, *arrays, **options)
    return _as_tuple(fn.backward(ctx, grad_output), len(arrays), fn.__name__)
