"""Finite-difference gradient checks, in float64.

For a function f of tensors, compare the engine's gradient of the scalar
s(x) = sum(v * f(x)) with central differences

    ds/dx_i  ~=  (s(x + eps e_i) - s(x - eps e_i)) / (2 eps)

element by element, where v = 1 for a scalar output and otherwise a fixed random
weighting (so the whole vector-Jacobian product is checked, not only its sum). The
error of central differences is O(eps^2), which is why the inputs must be float64: in
float32 the rounding error (~1e-7 / eps) swamps it.

>>> from autograd_core import Tensor, gradcheck
>>> x = Tensor([0.5, -1.0], requires_grad=True, dtype="float64")
>>> gradcheck(lambda t: (t * t).tanh(), (x,))
True

:func:`gradgradcheck` checks the gradients of the gradients the same way (the engine's
``create_graph=True`` against finite differences of its own first-order gradients).
"""

import numpy as np

from autograd_core.autograd import grad as _grad
from autograd_core.errors import DTypeError, GradcheckError
from autograd_core.grad_mode import enable_grad, no_grad
from autograd_core.scalar_graph import ordinary
from autograd_core.tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


def _outputs(result):
    outputs = result if isinstance(result, (tuple, list)) else (result,)
    for i, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: output {i} of the function is not a Tensor")
    return tuple(outputs)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True) -> bool:
    """Check ``fn``'s analytic gradients against central differences.

    Parameters
    ----------
    fn : callable
        Takes the ``inputs`` and returns a Tensor or a tuple of Tensors.
    inputs : Tensor or sequence
        Tensors that require grad are checked (they must be float64); anything else is
        passed through unchanged.
    eps, atol, rtol : float
        Step, and the tolerance ``|numeric - analytic| <= atol + rtol * |numeric|``.

    Returns True, or raises :class:`GradcheckError` naming the input, the index and
    both values (returns False instead when ``raise_exception=False``). No ``.grad`` is
    changed.
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    inputs = tuple(ordinary(x) for x in inputs)  # probed through their arrays below
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise DTypeError(
                f"gradcheck: input {i} has dtype {inputs[i].dtype}; finite differences need "
                "float64 inputs (use x.double() or dtype='float64')"
            )
    with enable_grad():
        outputs = _outputs(fn(*inputs))
    # A scalar output is checked as it is (so the reported numbers are its derivative);
    # otherwise through a fixed random projection of all outputs.
    projected = not (len(outputs) == 1 and outputs[0].numel() == 1)
    weights_rng = np.random.default_rng(0)
    weights = [
        weights_rng.standard_normal(out.shape) if projected else np.ones(out.shape)
        for out in outputs
    ]

    def objective() -> float:
        with no_grad():
            outs = _outputs(fn(*inputs))
        return float(sum(np.sum(w * out._data) for w, out in zip(weights, outs)))

    differentiable = [k for k, out in enumerate(outputs) if out.requires_grad]
    if differentiable:
        analytic = _grad(
            [outputs[k] for k in differentiable],
            [inputs[i] for i in checked],
            grad_outputs=[weights[k].astype(outputs[k].dtype) for k in differentiable],
            allow_unused=True,
        )
    else:
        analytic = [None] * len(checked)

    for i, analytic_grad in zip(checked, analytic):
        x = inputs[i]
        original = x._data
        probe = original.copy()  # perturb a private copy; restored below
        x._data = probe
        expected = (
            np.zeros(probe.shape) if analytic_grad is None else analytic_grad._data
        )
        try:
            for index in np.ndindex(probe.shape):
                value = probe[index]
                probe[index] = value + eps
                upper = objective()
                probe[index] = value - eps
                lower = objective()
                probe[index] = value
                numeric = (upper - lower) / (2 * eps)
                got = float(expected[index])
                if not abs(numeric - got) <= atol + rtol * abs(numeric):
                    message = (
                        f"gradcheck: gradient mismatch for input {i} at index {index}: "
                        f"numerical {numeric:.8g}, analytic {got:.8g} "
                        f"(difference {abs(numeric - got):.3g})"
                    )
                    if projected:
                        message += (
                            "; the values are derivatives of sum(v * output) for a fixed "
                            "random v, since the output is not a scalar"
                        )
                    if raise_exception:
                        raise GradcheckError(message)
                    return False
        finally:
            x._data = original
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True) -> bool:
    """Check second derivatives: :func:`gradcheck` of the vector-Jacobian product.

    With v = ``grad_outputs`` (random float64 tensors that require grad when None), the
    function checked is (x, v) -> d(sum(v * fn(x)))/dx, computed by the engine with
    ``create_graph=True``; its own gradients (the second derivatives, and the Jacobian
    through v) are compared with central differences.

    >>> from autograd_core import Tensor
    >>> x = Tensor([0.3, -0.7], requires_grad=True, dtype="float64")
    >>> gradgradcheck(lambda t: (t * t * t).sin(), (x,))
    True
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    inputs = tuple(ordinary(x) for x in inputs)  # probed through their arrays below
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck: no input requires grad, so there is nothing to check")
    with enable_grad():
        outputs = _outputs(fn(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(1)
        grad_outputs = tuple(
            Tensor(rng.standard_normal(out.shape), dtype=np.float64, requires_grad=True)
            for out in outputs)
    grad_outputs = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
    count = len(inputs)

    def first_order(*args):
        xs, vs = args[:count], args[count:]
        with enable_grad():
            outs = _outputs(fn(*xs))
            grads = _grad(outs, [xs[i] for i in checked], grad_outputs=list(vs),
                          create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_order, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
