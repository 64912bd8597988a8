"""Reverse mode: order the graph, walk it backwards, apply the chain rule.

For an output L and a node y = f(x1, ..., xk) the chain rule reads

    dL/dxi += dL/dy * dy/dxi        (summed over every consumer y of xi)

so once every consumer of a tensor has passed its contribution back, the tensor's
gradient is complete and its own inputs can be visited. A reverse topological order
guarantees exactly that. The order comes from an iterative depth-first search (an
explicit stack, no recursion: a million-node chain works) and is shared with the
teaching tools, so ``viz.backward_steps`` shows the very order used here.

Gradients live in a dict while backward runs. Leaves (and tensors that called
``retain_grad()``) receive theirs only when the whole pass has succeeded, so an error
half-way through changes no ``.grad``. Without ``retain_graph`` the arrays each node
saved are freed afterwards; the graph's structure stays so it can still be drawn.

>>> from autograd_core import Tensor
>>> a = Tensor(3.0, requires_grad=True)
>>> b = a + a            # a feeds two consumers of b's node: grads add up
>>> c = b + b
>>> c.backward(); a.grad.item()
4.0
"""

import numpy as np

from autograd_core import tensor as _tensor_module
from autograd_core.errors import ShapeError
from autograd_core.ops._shapes import unbroadcast
from autograd_core.tensor import Tensor

__all__ = ["topological_order", "backward", "grad", "conform_gradient"]


_DONE = object()  # stack marker: the tensor below it has had all its inputs ordered


def topological_order(roots) -> list:
    """The interior tensors reachable from ``roots``, each after all of its inputs.

    Leaves (tensors without ``grad_fn``) are not listed. Backward visits the list in
    reverse. Iterative depth-first search: expanding a tensor pushes the tensor, a
    ``_DONE`` marker and then its inputs, so the marker resurfaces only once every
    input has been finished, and the tensor is appended right after its inputs.
    """
    if isinstance(roots, Tensor):
        roots = (roots,)
    order = []
    expanded = set()
    stack = [t for t in reversed(roots) if t._ctx is not None]
    push, pop, append = stack.append, stack.pop, order.append
    while stack:
        tensor = pop()
        if tensor is _DONE:
            append(pop())
            continue
        key = id(tensor)
        if key in expanded:
            continue
        expanded.add(key)
        push(tensor)
        push(_DONE)
        for parent in reversed(tensor._ctx.inputs):
            if isinstance(parent, Tensor) and parent._ctx is not None:
                push(parent)
    return order


def _seed_gradient(root: Tensor, grad_output, op: str) -> np.ndarray:
    """The gradient that starts backward: 1 for a scalar output, else the caller's."""
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
        return np.ones_like(data)
    seed = grad_output._data if isinstance(grad_output, Tensor) else np.asarray(grad_output)
    if seed.shape != data.shape:
        raise ShapeError(
            f"{op}: the gradient has shape {seed.shape} but the output has shape {data.shape}"
        )
    if seed.dtype != data.dtype:
        seed = seed.astype(data.dtype)
    return seed


def conform_gradient(grad, data: np.ndarray, op: str = "backward") -> np.ndarray:
    """One gradient returned by an op's backward, brought to the shape and dtype of its
    input's array ``data``.

    Sums the dims that broadcasting added (``unbroadcast``) and casts to the input's
    dtype: exactly what backward does with each returned gradient (the teaching tools'
    replay calls it too, so both agree to the bit).
    """
    if type(grad) is not np.ndarray:
        grad = np.asarray(grad)
    if grad.shape != data.shape:
        grad = unbroadcast(grad, data.shape, op)
    if grad.dtype != data.dtype:
        grad = grad.astype(data.dtype)
    return grad


def _run(roots, seeds, retain_graph: bool, op: str, wanted=None) -> dict:
    """Backpropagate ``seeds`` from ``roots``; returns {id(tensor): (tensor, grad)}.

    The result holds the gradients of the leaves, of tensors that asked for
    ``retain_grad()``, and of every tensor listed in ``wanted``.
    """
    order = topological_order(roots)
    # Check the whole graph before computing anything, so an error changes no .grad.
    epoch = _tensor_module._mutation_epoch
    for tensor in order:
        ctx = tensor._ctx
        if ctx.freed:
            raise RuntimeError(
                "backward: trying to backward through the graph a second time (through "
                f"{ctx.name}); the first backward() freed the arrays it saved. "
                "Pass retain_graph=True to the first backward() to run it again."
            )
        if ctx.epoch != epoch:  # something changed in place since this node: look closer
            ctx.check_versions()
    wanted = wanted or set()
    grads = {}
    owned = set()  # ids whose gradient array was created here (safe to add into in place)
    tensors = {}
    for root, seed in zip(roots, seeds):
        key = id(root)
        tensors[key] = root
        if key in grads:
            grads[key] = np.asarray(grads[key] + seed)
            owned.add(key)
        else:
            grads[key] = seed
    kept = {}

    for tensor in reversed(order):
        key = id(tensor)
        grad_output = grads.pop(key, None)
        if grad_output is None:
            continue  # the tensor does not influence the roots
        if tensor._retains_grad or key in wanted:
            kept[key] = (tensor, grad_output, key in owned)
        ctx = tensor._ctx
        input_grads = ctx.fn.backward(ctx, grad_output)
        if type(input_grads) is not tuple:
            input_grads = tuple(input_grads) if type(input_grads) is list else (input_grads,)
        if len(input_grads) != len(ctx.inputs):
            raise RuntimeError(
                f"{ctx.name}.backward returned {len(input_grads)} gradient(s) but forward "
                f"took {len(ctx.inputs)} input(s); return one per input (None for no grad)"
            )
        for parent, grad in zip(ctx.inputs, input_grads):
            if grad is None or not isinstance(parent, Tensor) or not parent._requires_grad:
                continue
            data = parent._data
            if type(grad) is not np.ndarray or grad.shape != data.shape or \
                    grad.dtype != data.dtype:
                grad = conform_gradient(grad, data, ctx.name)
            pkey = id(parent)
            previous = grads.get(pkey)
            if previous is None:
                grads[pkey] = grad
                tensors[pkey] = parent
            elif pkey in owned:
                previous += grad
            else:
                # The first contribution may be shared with other nodes: add into a new
                # array (np.asarray: 0-d arithmetic returns a NumPy scalar, not an array).
                grads[pkey] = np.asarray(previous + grad)
                owned.add(pkey)

    # What is left in `grads` belongs to leaves (interior tensors were popped above).
    result = {key: (tensors[key], grads[key], key in owned) for key in grads}
    result.update(kept)
    if not retain_graph:
        for tensor in order:
            tensor._ctx.free()
    return result


def _accumulate(tensor: Tensor, grad: np.ndarray, owned: bool):
    """Add ``grad`` into ``tensor.grad`` (creating it), never aliasing another array."""
    current = tensor._grad
    if current is None:
        tensor._grad = Tensor._make(grad if owned and grad.flags.writeable else grad.copy())
    elif current._data.flags.writeable and current._data.shape == grad.shape:
        current._data += grad
    else:
        current._data = current._data + grad


def backward(root: Tensor, grad_output=None, retain_graph: bool = False):
    """Compute d root / d leaf for every leaf requiring grad; accumulate into ``.grad``.

    This is ``Tensor.backward``. For a non-scalar ``root`` pass ``grad_output`` (the
    gradient of some scalar with respect to ``root``, of ``root``'s shape).
    """
    seed = _seed_gradient(root, grad_output, "backward")
    result = _run((root,), (seed,), retain_graph, "backward")
    for tensor, grad, owned in result.values():
        if tensor._ctx is None or tensor._retains_grad:
            _accumulate(tensor, grad, owned)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool = False,
         allow_unused: bool = False) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, leaving every ``.grad`` alone.

    As ``torch.autograd.grad``: ``outputs`` and ``inputs`` are Tensors or sequences of
    them; ``grad_outputs`` one seed per output (None allowed for scalar outputs).

    >>> from autograd_core import Tensor, grad
    >>> x = Tensor(3.0, requires_grad=True)
    >>> grad(x * x, x)[0].item()
    6.0
    """
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    single_input = isinstance(inputs, Tensor)
    inputs = (inputs,) if single_input else tuple(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (
            grad_outputs,
        )
    if len(grad_outputs) != len(outputs):
        raise ValueError(
            f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs"
        )
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x._requires_grad:
            raise RuntimeError(f"grad: input {i} is not a Tensor that requires grad")
    seeds = tuple(_seed_gradient(o, g, "grad") for o, g in zip(outputs, grad_outputs))
    result = _run(outputs, seeds, retain_graph, "grad", wanted={id(x) for x in inputs})
    grads = []
    for i, x in enumerate(inputs):
        entry = result.get(id(x))
        if entry is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {i} was not used to compute the outputs; pass "
                    "allow_unused=True to get None for it"
                )
            grads.append(None)
        else:
            grads.append(Tensor._make(entry[1] if entry[2] else entry[1].copy()))
    return tuple(grads)
