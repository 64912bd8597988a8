"""RMSprop (Hinton), optionally centered and with momentum, as ``torch.optim.RMSprop``.

The update (PyTorch's documented algorithm), for a parameter with gradient g::

    g <- -g                                   if maximize
    g <- g + weight_decay * theta             if weight_decay != 0
    v <- alpha * v + (1 - alpha) * g * g
    avg <- sqrt(v) + eps
    centered:  m <- m + (1 - alpha) * (g - m);  avg <- sqrt(v - m * m) + eps
    momentum:  b <- momentum * b + g / avg;     theta <- theta - lr * b
    otherwise:                                  theta <- theta - lr * g / avg

State: ``step`` (int), ``square_avg`` (v), ``grad_avg`` (m, centered only),
``momentum_buffer`` (b, momentum > 0 only; starts at zero).

>>> from autograd_core import Tensor
>>> w = Tensor([1.0], requires_grad=True); w.grad = Tensor([2.0])
>>> RMSprop([w], lr=0.01).step(); round(w.item(), 6)   # v = 0.01 * 4: 1 - 0.01 * 2 / 0.2
0.9
"""

import numpy as np

from optim.optimizer import Optimizer, check_nonnegative

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``.

    Parameters
    ----------
    params : iterable of Tensors or dicts
    lr : float
        Learning rate.
    alpha : float
        Smoothing constant of the running average of the squared gradient.
    eps : float
        Added to the denominator for numerical stability.
    weight_decay : float
        L2 penalty added to the gradient.
    momentum : float
        Momentum factor applied to the normalised step.
    centered : bool
        Normalise by an estimate of the gradient's variance instead of its raw second
        moment.
    maximize : bool
        Ascend the objective.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, group, index):
        where = "" if index is None else f" in param group {index}"
        check_nonnegative("RMSprop", "lr", group["lr"], where)
        check_nonnegative("RMSprop", "alpha", group["alpha"], where)
        check_nonnegative("RMSprop", "eps", group["eps"], where)
        check_nonnegative("RMSprop", "weight_decay", group["weight_decay"], where)
        check_nonnegative("RMSprop", "momentum", group["momentum"], where)

    def _update_group(self, group):
        lr = float(group["lr"])
        alpha = float(group["alpha"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        momentum = float(group["momentum"])
        centered = bool(group["centered"])
        maximize = bool(group["maximize"])
        mean_weight = 1.0 - alpha

        for _, theta, grad, state in self._params_with_grad(group):
            if not state:
                state["step"] = 0
                state["square_avg"] = np.zeros_like(theta, order="C")
            if momentum > 0 and "momentum_buffer" not in state:
                state["momentum_buffer"] = np.zeros_like(theta, order="C")
            if centered and "grad_avg" not in state:
                state["grad_avg"] = np.zeros_like(theta, order="C")
            state["step"] += 1
            square_avg = state["square_avg"]

            g = self._effective_grad(theta, grad, weight_decay, maximize)
            work = self._scratch(theta, 1)

            square_avg *= alpha
            np.multiply(g, 1.0 - alpha, out=work)
            work *= g
            square_avg += work

            if centered:
                grad_avg = state["grad_avg"]
                # lerp as PyTorch evaluates it: from the nearer end, for accuracy.
                np.subtract(g, grad_avg, out=work)
                if mean_weight < 0.5:
                    work *= mean_weight
                    grad_avg += work
                else:
                    work *= 1.0 - mean_weight
                    np.subtract(g, work, out=grad_avg)
                np.multiply(grad_avg, grad_avg, out=work)
                np.subtract(square_avg, work, out=work)
                avg = np.sqrt(work, out=work)
            else:
                avg = np.sqrt(square_avg, out=work)
            avg += eps

            ratio = np.divide(g, avg, out=avg)
            if momentum > 0:
                buffer = state["momentum_buffer"]
                buffer *= momentum
                buffer += ratio
                np.multiply(buffer, lr, out=ratio)
                theta -= ratio
            else:
                ratio *= lr
                theta -= ratio
