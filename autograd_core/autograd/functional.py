"""``torch.autograd.functional``: Jacobians, Hessians and their products.

For f: R^n -> R^m with Jacobian J (m x n) at x:

    vjp(f, x, v) = v^T J          one backward pass
    jvp(f, x, v) = J v            two backward passes (the "double vjp" trick:
                                  u -> u^T J is linear in u, so J v = d(u^T J v)/du)
    jacobian(f, x) = J            one vjp per output element
    hvp(f, x, v) = H v            for scalar f: d((df/dx) . v)/dx, a gradient of a gradient
    hessian(f, x) = H             one hvp per input element

Inputs and outputs may be one Tensor or a tuple of Tensors; results follow PyTorch's
nesting (a tuple of tuples for several inputs and outputs).

>>> import autograd_core as torch
>>> x = torch.tensor([1.0, 2.0], dtype=torch.float64)
>>> torch.autograd.functional.hessian(lambda t: (t ** 3).sum(), x).tolist()
[[6.0, 0.0], [0.0, 12.0]]
"""

import numpy as np

from autograd_core.autograd.engine import grad
from autograd_core.grad_mode import enable_grad
from autograd_core.tensor import Tensor

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _as_tuple(value, what):
    single = isinstance(value, Tensor)
    values = (value,) if single else tuple(value)
    for i, v in enumerate(values):
        if not isinstance(v, Tensor):
            raise TypeError(f"{what} {i} must be a Tensor, got {type(v).__name__}")
    return values, single


def _fresh_inputs(inputs):
    """Leaves that require grad, sharing the callers' values (their graphs are left alone)."""
    fresh = []
    for x in inputs:
        t = Tensor._make(x._data)
        if x.dtype.kind == "f":
            t.requires_grad_(True)
        fresh.append(t)
    return tuple(fresh)


def _grads(outputs, inputs, grad_outputs, create_graph):
    wanted = [x for x in inputs if x.requires_grad]
    found = grad(outputs, wanted, grad_outputs=grad_outputs, retain_graph=True,
                 create_graph=create_graph,
                 allow_unused=True) if wanted else ()
    by_id = {id(x): g for x, g in zip(wanted, found)}
    result = []
    for x in inputs:
        g = by_id.get(id(x))
        result.append(Tensor._make(np.zeros_like(x._data)) if g is None else g)
    return tuple(result)


def _strip(values, create_graph):
    return values if create_graph else tuple(v.detach() for v in values)


def _shape_of(single, values):
    return values[0] if single else values


def _check_v(v, outputs, what):
    if v is None:
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError(f"{what}: v can be omitted only for a function with a single "
                               "scalar output")
        return (Tensor._make(np.ones_like(outputs[0]._data)),)
    vs, _ = _as_tuple(v, "v")
    if len(vs) != len(outputs) or any(a.shape != b.shape for a, b in zip(vs, outputs)):
        raise RuntimeError(
            f"{what}: v has shapes {[tuple(a.shape) for a in vs]} but the function's "
            f"{'outputs' if what == 'vjp' else 'inputs'} have shapes "
            f"{[tuple(b.shape) for b in outputs]}")
    return vs


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product (one backward pass)."""
    xs, single_in = _as_tuple(inputs, "inputs")
    xs = _fresh_inputs(xs)
    with enable_grad():
        out = func(*xs)
        outs, single_out = _as_tuple(out, "output")
        vs = _check_v(v, outs, "vjp")
        result = _grads(outs, xs, vs, create_graph)
    return _shape_of(single_out, _strip(outs, create_graph)), _shape_of(
        single_in, _strip(result, create_graph))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J v)``: the Jacobian-vector product, by the double-vjp trick."""
    xs, single_in = _as_tuple(inputs, "inputs")
    xs = _fresh_inputs(xs)
    with enable_grad():
        out = func(*xs)
        outs, single_out = _as_tuple(out, "output")
        vs = _check_v(v, xs, "jvp") if v is not None or len(xs) != 1 or xs[0].numel() != 1 \
            else (Tensor._make(np.ones_like(xs[0]._data)),)
        # u -> u^T J is linear; differentiating (u^T J) . v by u gives J v.
        us = tuple(Tensor._make(np.zeros_like(o._data)).requires_grad_(True) for o in outs)
        vjps = _grads(outs, xs, us, create_graph=True)
        products = [g for g in vjps if g.requires_grad]
        weights = [vv for g, vv in zip(vjps, vs) if g.requires_grad]
        if products:
            jv = _grads(products, us, weights, create_graph)
        else:
            jv = tuple(Tensor._make(np.zeros_like(o._data)) for o in outs)
    return _shape_of(single_out, _strip(outs, create_graph)), _shape_of(
        single_out, _strip(jv, create_graph))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: shape output.shape + input.shape (nested
    tuples for several inputs or outputs, as PyTorch)."""
    if strategy != "reverse-mode":
        raise ValueError(f"jacobian: only strategy='reverse-mode' is supported, got {strategy!r}")
    xs, single_in = _as_tuple(inputs, "inputs")
    xs = _fresh_inputs(xs)
    with enable_grad():
        outs, single_out = _as_tuple(func(*xs), "output")
        rows = []
        for out in outs:
            per_input = [[] for _ in xs]
            flat = out.reshape(-1)
            for k in range(flat.numel()):
                seed = np.zeros(flat.shape, dtype=out.dtype)
                seed[k] = 1
                if out.requires_grad:
                    grads = _grads((flat,), xs, (Tensor._make(seed),), create_graph)
                else:
                    grads = tuple(Tensor._make(np.zeros_like(x._data)) for x in xs)
                for i, g in enumerate(grads):
                    per_input[i].append(g if create_graph else g.detach())
            row = []
            for i, x in enumerate(xs):
                if per_input[i]:
                    from autograd_core.ops.movement import stack

                    block = stack(per_input[i]).reshape(tuple(out.shape) + tuple(x.shape))
                else:
                    block = Tensor._make(np.zeros(tuple(out.shape) + tuple(x.shape)))
                row.append(block)
            rows.append(tuple(row))
    if single_out and single_in:
        return rows[0][0]
    if single_out:
        return rows[0]
    if single_in:
        return tuple(r[0] for r in rows)
    return tuple(rows)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H v)`` for a scalar ``func``: the gradient of (df/dx) . v."""
    xs, single_in = _as_tuple(inputs, "inputs")
    xs = _fresh_inputs(xs)
    with enable_grad():
        out = func(*xs)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError("hvp: the function must return a single scalar Tensor")
        vs = _check_v(v, xs, "hvp") if v is not None else _check_v(None, xs, "hvp")
        first = _grads((out,), xs, None, create_graph=True)
        dot = None
        for g, vv in zip(first, vs):
            if g.requires_grad:
                term = (g * vv).sum()
                dot = term if dot is None else dot + term
        if dot is None:
            result = tuple(Tensor._make(np.zeros_like(x._data)) for x in xs)
        else:
            result = _grads((dot,), xs, None, create_graph)
    return (out if create_graph else out.detach()), _shape_of(
        single_in, _strip(result, create_graph))


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T H)``; the same as :func:`hvp` (the Hessian is symmetric)."""
    return hvp(func, inputs, v, create_graph, strict)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar ``func``: shape input.shape + input.shape (nested tuples
    for several inputs)."""
    xs, single_in = _as_tuple(inputs, "inputs")

    def gradient(*args):
        out = func(*args)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError("hessian: the function must return a single scalar Tensor")
        return _grads((out,), args, None, create_graph=True)

    result = jacobian(gradient, xs, create_graph=create_graph)
    return result[0][0] if single_in else result
