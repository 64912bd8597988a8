"""Reverse mode: order the graph, walk it backwards, apply the chain rule.

For an output L and a node y = f(x1, ..., xk) the chain rule reads

    dL/dxi += dL/dy * dy/dxi        (summed over every consumer y of xi)

so once every consumer of a node has passed its contribution back, the node's gradient
is complete and it can run its own rule. A reverse topological order guarantees exactly
that. The order comes from an iterative depth-first search over the nodes (an explicit
stack, no recursion: a million-node chain works) and is shared with the teaching tools,
so ``viz.backward_steps`` shows the very order used here.

Gradients live in a dict keyed by node while backward runs. Leaves (and tensors that
called ``retain_grad()``) receive theirs only when the whole pass has succeeded, so an
error half-way through changes no ``.grad``. Without ``retain_graph`` the arrays each
node saved are freed as soon as its rule has run (as in PyTorch: a deep network's backward
then peaks near its forward's saved activations, not at twice them); the graph's
structure stays so it can still be drawn. A leaf's gradient that nothing else can reach
becomes its ``.grad`` without a copy (``_claim_fresh``).

With ``create_graph=True`` the rules run on Tensors instead of arrays: the saved arrays
are handed to the rule as Tensors that belong to the graph (the node's inputs and
output), every operator in the rule records, and the gradients are themselves graphs
that can be differentiated again. An op on a fused kernel instead names a ``composite``
forward of differentiable ops: the pass replays it on the node's inputs and
differentiates the replay (``_replayed``; ``autograd_core.function`` has the contract).

>>> from autograd_core import Tensor
>>> a = Tensor(3.0, requires_grad=True)
>>> b = a + a            # a feeds two consumers of b's node: grads add up
>>> c = b + b
>>> c.backward(); a.grad.item()
4.0
"""

import sys
import weakref

import numpy as np

from autograd_core import versions
from autograd_core.errors import ShapeError
from autograd_core.function import AccumulateGrad, Context, Function
from autograd_core.grad_mode import _set_enabled, _state, enable_grad
from autograd_core.ops._shapes import unbroadcast
from autograd_core.tensor import Tensor

__all__ = ["topological_order", "backward", "grad", "conform_gradient"]


_DONE = object()  # stack marker: the node below it has had all its parents ordered


def topological_order(roots, stop=()) -> list:
    """The nodes (``grad_fn``) reachable from ``roots``, each after all of its parents.

    Leaves have no node and are not listed. Backward visits the list in reverse.
    Iterative depth-first search: expanding a node pushes the node, a ``_DONE`` marker
    and then its parents, so the marker resurfaces only once every parent has been
    finished, and the node is appended right after its parents. Nodes in ``stop`` (the
    boundaries of a replayed composite) count as expanded from the start, so neither
    they nor what lies behind them are listed, at no cost per edge.
    """
    if isinstance(roots, Tensor):
        roots = (roots,)
    order = []
    expanded = set(stop)
    stack = [t._ctx for t in reversed(roots) if t._ctx is not None]
    push, pop, append = stack.append, stack.pop, order.append
    while stack:
        node = pop()
        if node is _DONE:
            append(pop())
            continue
        if node in expanded:
            continue
        expanded.add(node)
        push(node)
        push(_DONE)
        for parent in reversed(node._inputs):
            if type(parent) is Context:
                push(parent)
    return order


def _seed_gradient(root: Tensor, grad_output, op: str):
    """The gradient that starts backward: 1 for a scalar output, else the caller's."""
    if not isinstance(root, Tensor):
        raise TypeError(f"{op}: expected a Tensor output, got {type(root).__name__}")
    if not root._requires_grad:
        raise RuntimeError(
            f"{op}: the tensor does not require grad and has no grad_fn; "
            "set requires_grad=True on the leaves you want gradients for"
        )
    data = root._data
    if grad_output is None:
        if data.size != 1:
            raise RuntimeError(
                f"{op}: grad can be created implicitly only for scalar outputs, but this "
                f"output has shape {data.shape}; pass a gradient of that shape, e.g. "
                "out.backward(ones_like(out))"
            )
        return np.ones(data.shape, data.dtype)
    if isinstance(grad_output, Tensor):
        if grad_output._data.shape != data.shape:
            _bad_seed(op, grad_output._data.shape, data.shape)
        return grad_output  # kept as a Tensor: with create_graph it may itself require grad
    seed = np.asarray(grad_output)
    if seed.shape != data.shape:
        _bad_seed(op, seed.shape, data.shape)
    if seed.dtype != data.dtype:
        seed = seed.astype(data.dtype)
    return seed


def _bad_seed(op, got, shape):
    raise ShapeError(f"{op}: the gradient has shape {tuple(got)} but the output has shape "
                     f"{shape}")


def conform_gradient(grad, shape, dtype, op: str = "backward"):
    """One gradient returned by an op's backward, brought to its input's shape and dtype.

    Sums the dims that broadcasting added (``unbroadcast``) and casts to the input's
    dtype: exactly what backward does with each returned gradient (the teaching tools'
    replay calls it too, so both agree to the bit). Works on arrays and, for
    ``create_graph``, on Tensors.
    """
    if isinstance(grad, Tensor):
        if grad.shape != shape:
            grad = grad.sum_to_size(shape) if grad.ndim >= len(shape) else _bad_shape(
                grad.shape, shape, op)
        if grad.dtype != dtype:
            grad = grad.to(dtype)
        return grad
    if type(grad) is not np.ndarray:
        grad = np.asarray(grad)
    if grad.shape != shape:
        grad = unbroadcast(grad, shape, op)
    if grad.dtype != dtype:
        grad = grad.astype(dtype)
    return grad


def _bad_shape(got, shape, op):
    raise ShapeError(f"{op}: gradient of shape {got} has fewer dims than its input {shape}")


def _add_gradient(grads: dict, owned: set, node, grad):
    """Add one contribution to dL/d(node) (HIPS autograd's ``add_outgrads``).

    The first contribution is stored as it is (it may be another node's array, so it is
    never written to); a second one makes a new array, which later ones are added into
    in place. ``owned`` holds the nodes whose array was made here. NumPy scalars (0-d
    gradients of the scalar fast path) are immutable: they are simply added.
    """
    previous = grads.get(node)
    if previous is None:
        grads[node] = grad
    elif type(grad) is type(previous) and isinstance(grad, np.generic):
        grads[node] = previous + grad  # NumPy scalars (the scalar fast path): immutable
    elif node in owned:
        if type(previous) is np.ndarray and type(grad) is np.ndarray:
            previous += grad
        else:
            grads[node] = previous + grad
    else:
        total = previous + grad
        grads[node] = total if isinstance(total, Tensor) else np.asarray(total)
        owned.add(node)


def _check_graph(order):
    """Refuse a graph that was freed or whose saved inputs changed in place."""
    epoch = versions._epoch
    for node in order:
        if node.freed:
            raise RuntimeError(
                "backward: trying to backward through the graph a second time (through "
                f"{node.op_name}); the first backward() freed the arrays it saved. "
                "Pass retain_graph=True to the first backward() to run it again."
            )
        if node.epoch != epoch:  # something changed in place since this node: look closer
            node.check_versions()


def _run(roots, seeds, retain_graph: bool, create_graph: bool, op: str, wanted=(),
         stop=()) -> dict:
    """Backpropagate ``seeds`` from ``roots``; returns {node: gradient}.

    The result holds the gradients of the leaves' AccumulateGrad nodes, of nodes whose
    tensor asked for ``retain_grad()``, and of every node in ``wanted``. Nodes in
    ``stop`` (the boundaries of a replayed composite) receive their gradient but are
    not run: the pass stays inside the replay.
    """
    order = topological_order(roots, stop)
    _check_graph(order)
    if create_graph:
        seeds = tuple(s if isinstance(s, Tensor) else Tensor._make(s) for s in seeds)
    else:
        seeds = tuple([s if type(s) is np.ndarray and s.dtype == r._data.dtype
                       else _as_seed_array(s, r) for s, r in zip(seeds, roots)])
    grads, owned = {}, set()
    for root, seed in zip(roots, seeds):
        _add_gradient(grads, owned, root._ctx if root._ctx is not None else _leaf_node(root),
                      seed)
    kept = {}
    pop = grads.pop
    for node in reversed(order):
        grad_output = pop(node, None)
        if grad_output is None:
            if not retain_graph:
                node.free()  # it does not influence the roots: no gradient comes later
            continue
        if node._hooks:
            grad_output = _run_hooks(node._hooks, grad_output)
        if node.retains_grad or node in wanted:
            kept[node] = grad_output
        inputs = node._inputs
        if not create_graph and node.fn.indexed_backward is not None and \
                _add_indexed(grads, owned, node, grad_output):
            grad_output = None
            if not retain_graph:
                node.free()
            continue
        if create_graph:
            input_grads = _call_rule(node, grad_output)
        else:
            input_grads = node.fn.backward(node, grad_output)
            if type(input_grads) is not tuple:
                input_grads = _as_tuple(input_grads)
        if len(input_grads) != len(inputs):
            _wrong_count(node, input_grads)
        for slot, grad in zip(inputs, input_grads):
            if grad is None:
                continue
            layout = _slot_layout(slot)
            if layout is None:
                continue  # a constant or a tensor that needs no gradient
            shape, dtype = layout
            if type(grad) is not np.ndarray or grad.shape != shape or grad.dtype != dtype:
                # a NumPy scalar of the input's dtype is a finished 0-d gradient (the
                # scalar fast path); anything else is summed and cast to the input
                if shape or type(grad) is not dtype.type:
                    grad = conform_gradient(grad, shape, dtype, node.op_name)
            if slot in grads:
                _add_gradient(grads, owned, slot, grad)
            else:
                grads[slot] = grad  # the first contribution (_add_gradient's first case)
        # The rule has run: its saved arrays and the gradients it read and returned are
        # needed no more. Dropping them now (not after the whole pass) keeps the peak of
        # a deep network's backward near the forward's saved activations.
        grad_output = input_grads = grad = None
        if not retain_graph:
            node.free()
    # What is left belongs to leaves (interior nodes were popped above).
    if not create_graph:
        _claim_fresh(grads, owned)
    if kept:
        grads.update(kept)
    grads["owned"] = owned
    return grads


def _slot_layout(slot):
    """(shape, dtype) of the gradient an input slot takes: a node's output or a leaf's
    data; None for a constant or a tensor that needs no gradient."""
    kind = type(slot)
    if kind is Context:
        return slot._out_shape, slot._out_dtype
    if kind is AccumulateGrad:
        data = slot.variable._data
        return data.shape, data.dtype
    return None


def _add_indexed(grads: dict, owned: set, node, grad_output) -> bool:
    """Add an indexing node's gradient into its input's sum in place; False where the
    rule declines (``Function.indexed_backward``) or the arrays do not fit, and the
    ordinary ``backward`` is to run instead.

    dL/dx = 0 except dL/dx[index] = dL/dy: the first contribution becomes a new array
    of zeros with dL/dy written at ``index`` (owned here), later ones are added at their
    positions: the pieces of a split cost one array of zeros, not one each plus a sum.
    """
    slot = node._inputs[0]
    layout = _slot_layout(slot)
    if layout is None:
        return True  # a constant or a tensor that needs no gradient: nothing to add
    shape, dtype = layout
    if not shape or type(grad_output) is not np.ndarray or grad_output.dtype != dtype:
        return False
    part = node.fn.indexed_backward(node, grad_output)
    if part is None:
        return False
    index, values = part
    previous = grads.get(slot)
    if previous is None:
        total = np.zeros(shape, dtype=dtype)
        total[index] = values
    elif slot in owned and type(previous) is np.ndarray:
        previous[index] += values
        return True
    else:  # another node's array (never written to): a copy to add into
        total = np.array(previous, dtype=dtype, copy=True)
        total[index] += values
    grads[slot] = total
    owned.add(slot)
    return True


def _refcount_of(holder: dict, key) -> int:
    return sys.getrefcount(holder[key])


#: The count ``_refcount_of`` reports for an array held by nothing but one dict: the
#: same call on a fresh array, so whatever the interpreter counts (its own temporary
#: references, borrowed ones in newer CPythons) is the same on both sides.
_SOLE_HOLDER = _refcount_of({None: np.empty(1)}, None)


def _refcount_of_base(view) -> int:
    base = view.base
    return sys.getrefcount(base)


#: The count ``_refcount_of_base`` reports for a fresh array's reshape that alone
#: references it: the same call on such a reshape (as ``_SOLE_HOLDER`` is measured).
_SOLE_VIEW_BASE = _refcount_of_base(np.empty(2).reshape(1, 2))


def _reshape_of_fresh(array) -> bool:
    """Whether ``array`` is a C-contiguous view of the whole of an array that nothing
    but this view references (a rule's ``fresh.reshape(shape)``): as fresh as that."""
    base = array.base
    if not (type(base) is np.ndarray and base.base is None and base.size == array.size
            and array.flags.c_contiguous and not weakref.getweakrefcount(base)):
        return False
    del base  # counted as the measurement counts: the view's reference alone
    return _refcount_of_base(array) <= _SOLE_VIEW_BASE


def _claim_fresh(grads: dict, owned: set):
    """Mark as owned the leaves' gradients that nothing but ``grads`` can reach.

    A rule's gradient is usually a new array (``grad.T @ x``), but it may be the
    incoming gradient itself, a view of it or of a saved array, or an array the rule,
    a hook or the user still holds. Only an array that owns its memory (no ``base``:
    no view of something else), or is a reshape of the whole of such an array held by
    nothing else (a fused kernel's flat result reshaped), and is referenced by the dict
    alone (a view of it would reference it as its ``base``) can become a ``.grad``
    without a copy, as PyTorch's AccumulateGrad steals a gradient nobody else
    references. (Measured: batch norm's input gradient of (8, 64, 112, 112) was copied
    into ``.grad``, 3.8 of an 11 ms backward.)
    """
    for node in [n for n in grads if type(n) is AccumulateGrad and n not in owned]:
        array = grads[node]
        if type(array) is not np.ndarray or not array.flags.writeable or \
                weakref.getweakrefcount(array) or \
                (array.base is not None and not _reshape_of_fresh(array)):
            continue  # (a weak holder, e.g. a freed node's constant, is not counted)
        del array
        if _refcount_of(grads, node) <= _SOLE_HOLDER:
            owned.add(node)


def _as_seed_array(seed, root):
    if isinstance(seed, Tensor):
        seed = seed._data
    return seed if seed.dtype == root._data.dtype else seed.astype(root._data.dtype)


def _leaf_node(tensor):
    from autograd_core.function import accumulator

    return accumulator(tensor)


def _run_hooks(hooks, grad):
    for hook in hooks:
        replaced = hook(grad if isinstance(grad, Tensor) else Tensor._make(np.asarray(grad)))
        if replaced is not None:
            grad = replaced if isinstance(grad, Tensor) else np.asarray(
                replaced._data if isinstance(replaced, Tensor) else replaced)
    return grad


def _call_rule(node, grad_output) -> tuple:
    """Run one node's rule inside a ``create_graph`` pass (on Tensors where it can)."""
    fn = node.fn
    if fn.twice_differentiable:
        node._saved_view = _saved_as_tensors(node)
        try:
            with enable_grad():
                grads = fn.backward(node, grad_output)
        finally:
            node._saved_view = None
    elif fn.composite is not None:
        return _replayed(node, grad_output)
    else:
        grads = _once_differentiable(node, grad_output)
    return grads if type(grads) is tuple else _as_tuple(grads)


def _as_tuple(grads) -> tuple:
    return tuple(grads) if type(grads) is list else (grads,)


def _wrong_count(node, grads):
    raise RuntimeError(
        f"{node.op_name}.backward returned {len(grads)} gradient(s) but forward took "
        f"{len(node._inputs)} input(s); return one per input (None for no grad)"
    )


def _saved_as_tensors(node) -> tuple:
    """The node's saved arrays as Tensors of the graph, for a ``create_graph`` rule."""
    if node.freed:
        raise RuntimeError(f"{node.op_name}: the saved arrays were freed by an earlier "
                           "backward; pass retain_graph=True to it")
    views = []
    sources = node._saved_from or (None,) * len(node._saved)
    for saved, source in zip(node._saved, sources):
        if not isinstance(saved, (np.ndarray, np.generic)):
            views.append(saved)
            continue
        if source is None:
            views.append(saved)  # a constant of the forward (a mask): stays an array
            continue
        tensor = Tensor._make(np.asarray(saved))
        slot = node if source == -1 else node._inputs[source]
        if type(slot) is Context:
            tensor._ctx, tensor._requires_grad = slot, True
        elif type(slot) is AccumulateGrad:
            leaf = slot.variable
            tensor = leaf if leaf._data is saved else leaf.to(tensor.dtype)
        views.append(tensor)
    return tuple(views)


class _Boundary(Function):
    """y = x where a replayed composite takes one of its node's inputs.

    One per input position, so two positions fed by one tensor (attention's q = k = v)
    get their own gradients; the replay's inner pass stops at these nodes, and a later
    backward passes straight through them into the original graph.
    """

    twice_differentiable = True

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, grad):
        return grad


def _replayed(node, grad_output) -> tuple:
    """The rule of a node whose Function names a ``composite``, as a graph.

    Replays the composite forward on the node's inputs (each behind a ``_Boundary``)
    and differentiates the replay with ``create_graph``: the gradients are graphs of
    the composite's (twice differentiable) ops, linked to the original graph through
    the boundaries and to ``grad_output``.
    """
    needs = node.needs_input_grad
    args, boundaries = [], {}
    with enable_grad():
        for i, value in enumerate(node.inputs):
            if isinstance(value, Tensor) and value._version > node.epoch:
                _changed_in_place(node, i, value)  # the replay would read the new values
            if needs[i] and isinstance(value, Tensor):
                value = _Boundary.apply(value)
                boundaries[i] = value._ctx
            args.append(value)
        replay = node.fn.composite(*args, **node.options)
        if not isinstance(replay, Tensor) or not replay._requires_grad:
            return (None,) * len(args)
        if not isinstance(grad_output, Tensor):
            grad_output = Tensor._make(np.asarray(grad_output))
        stop = set(boundaries.values())
        result = _run((replay,), (grad_output,), True, True, "backward", wanted=stop,
                      stop=stop)
    return tuple(result.get(boundaries[i]) if i in boundaries else None
                 for i in range(len(args)))


def _changed_in_place(node, i, value):
    raise RuntimeError(
        f"backward: input {i} of {node.op_name} (shape {value.shape}) was modified in place "
        "after the forward pass; a create_graph backward replays the op from its inputs, "
        "so its gradients would be wrong. Make in-place changes after backward()."
    )


class _NotTwiceDifferentiable(Function):
    """Stands where a gradient came from a rule that cannot record itself (yet)."""

    @staticmethod
    def forward(ctx, grad, *, op):
        return grad

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(
            f"{ctx.options['op']}: its backward is not differentiable (a create_graph=True "
            "backward ran through it); gradients of gradients through this op are not "
            "supported yet"
        )


def _once_differentiable(node, grad_output) -> tuple:
    """Run a rule on arrays inside a ``create_graph`` pass; mark what it returns."""
    array = grad_output._data if isinstance(grad_output, Tensor) else grad_output
    grads = node.fn.backward(node, array)
    if type(grads) is not tuple:
        grads = tuple(grads) if type(grads) is list else (grads,)
    marked = []
    for g in grads:
        if g is None:
            marked.append(None)
            continue
        t = Tensor._make(np.asarray(g))
        t._requires_grad = True
        with enable_grad():
            marked.append(_NotTwiceDifferentiable.apply(t, op=node.op_name))
    return tuple(marked)


def _accumulate(tensor: Tensor, grad, owned: bool, create_graph: bool):
    """Add ``grad`` into ``tensor.grad`` (creating it), never aliasing another array."""
    current = tensor._grad
    if isinstance(grad, Tensor):
        if not create_graph:
            grad = grad._data
        else:
            tensor._grad = grad if current is None else current + grad
            return
    if type(grad) is not np.ndarray:  # a NumPy scalar (the scalar fast path): a new array
        grad, owned = np.array(grad), True
    if current is None:
        tensor._grad = Tensor._make(grad if owned and grad.flags.writeable else grad.copy())
    elif current._data.flags.writeable and current._data.shape == grad.shape and \
            current._ctx is None:
        current._data += grad
    else:
        tensor._grad = Tensor._make(current._data + grad)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False,
             inputs=None):
    """Accumulate d tensors / d leaf into every leaf's ``.grad`` (``torch.autograd.backward``).

    This is ``Tensor.backward``. For a non-scalar output pass ``grad_tensors`` (the
    gradient of some scalar with respect to it, of its shape). ``retain_graph`` defaults
    to ``create_graph``; ``inputs`` limits accumulation to those leaves.
    """
    if type(tensors) is Tensor or isinstance(tensors, Tensor):
        roots = (tensors,)
        grad_tensors = (grad_tensors,) if grad_tensors is None or isinstance(
            grad_tensors, (Tensor, np.ndarray)) else tuple(grad_tensors)
    else:
        roots = tuple(tensors)
        if grad_tensors is None or isinstance(grad_tensors, (Tensor, np.ndarray)):
            grad_tensors = (grad_tensors,) * len(roots) if grad_tensors is None else (
                grad_tensors,)
    if len(grad_tensors) != len(roots):
        raise ValueError(f"backward: got {len(grad_tensors)} gradients for {len(roots)} "
                         "outputs")
    if retain_graph is None:
        retain_graph = create_graph
    seeds = tuple([_seed_gradient(r, g, "backward") for r, g in zip(roots, grad_tensors)])
    previous = _state.enabled
    _set_enabled(bool(create_graph))  # the pass itself records only for create_graph
    try:
        result = _run(roots, seeds, retain_graph, create_graph, "backward")
    finally:
        _set_enabled(previous)
    owned = result.pop("owned")
    only = None if inputs is None else {id(t) for t in (
        (inputs,) if isinstance(inputs, Tensor) else inputs)}
    for node, grad in result.items():
        if type(node) is AccumulateGrad:
            tensor = node.variable
            if tensor._hooks:  # a hook saw the array (and may keep it): not ours now
                grad = _run_hooks(tensor._hooks, grad)
                owned.discard(node)
        else:
            tensor = node.output()
            if tensor is None or not tensor._retains_grad:
                continue
        if only is not None and id(tensor) not in only:
            continue
        _accumulate(tensor, grad, node in owned, create_graph)
        if tensor._post_accumulate_hooks:
            for hook in tensor._post_accumulate_hooks:
                hook(tensor)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, leaving every ``.grad`` alone.

    As ``torch.autograd.grad``: ``outputs`` and ``inputs`` are Tensors or sequences of
    them; ``grad_outputs`` one seed per output (None allowed for scalar outputs). With
    ``create_graph=True`` the gradients are graphs themselves (gradients of gradients).

    >>> from autograd_core import Tensor, autograd
    >>> x = Tensor(3.0, requires_grad=True)
    >>> (g,) = autograd.grad(x ** 3, x, create_graph=True)     # 3 x^2 = 27
    >>> autograd.grad(g, x)[0].item()                          # 6 x = 18
    18.0
    """
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (
            grad_outputs,
        )
    if len(grad_outputs) != len(outputs):
        raise ValueError(
            f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs"
        )
    if retain_graph is None:
        retain_graph = create_graph
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x._requires_grad:
            raise RuntimeError(f"grad: input {i} is not a Tensor that requires grad")
    seeds = tuple(_seed_gradient(o, g, "grad") for o, g in zip(outputs, grad_outputs))
    nodes = [x._ctx if x._ctx is not None else _leaf_node(x) for x in inputs]
    previous = _state.enabled
    _set_enabled(bool(create_graph))
    try:
        result = _run(outputs, seeds, retain_graph, create_graph, "grad", wanted=set(nodes))
    finally:
        _set_enabled(previous)
    owned = result.pop("owned")
    grads = []
    for i, node in enumerate(nodes):
        entry = result.get(node)
        if entry is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {i} was not used to compute the outputs; pass "
                    "allow_unused=True to get None for it"
                )
            grads.append(None)
        elif isinstance(entry, Tensor):
            grads.append(entry if create_graph else Tensor._make(entry._data))
        else:
            grads.append(Tensor._make(entry if node in owned and type(entry) is np.ndarray
                                      else np.array(entry)))
    return tuple(grads)
