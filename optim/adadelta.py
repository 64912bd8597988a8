"""Adadelta (Zeiler), as ``torch.optim.Adadelta``.

The update (PyTorch's documented algorithm), for a parameter with gradient g::

    g <- -g                                    if maximize
    g <- g + weight_decay * theta              if weight_decay != 0
    v <- rho * v + (1 - rho) * g * g           (running mean of squared gradients)
    delta <- sqrt(u + eps) / sqrt(v + eps) * g
    u <- rho * u + (1 - rho) * delta * delta   (running mean of squared updates)
    theta <- theta - lr * delta

State: ``step`` (int), ``square_avg`` (v), ``acc_delta`` (u), both starting at zero.

>>> from autograd_core import Tensor
>>> w = Tensor([1.0], requires_grad=True); w.grad = Tensor([2.0])
>>> Adadelta([w], lr=1.0).step(); round(w.item(), 6)  # sqrt(1e-6) / sqrt(0.4 + 1e-6) * 2
0.996838
"""

import numpy as np

from optim.optimizer import Optimizer, _number, check_nonnegative

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta``.

    Parameters
    ----------
    params : iterable of Tensors or dicts
    lr : float
        Scale of the computed step (1.0 is Zeiler's method).
    rho : float
        Decay rate of both running averages, in [0, 1].
    eps : float
        Added inside both square roots.
    weight_decay : float
        L2 penalty added to the gradient.
    maximize : bool
        Ascend the objective.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, group, index):
        where = "" if index is None else f" in param group {index}"
        check_nonnegative("Adadelta", "lr", group["lr"], where)
        rho = _number("Adadelta", "rho", group["rho"], where)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta: invalid rho={group['rho']!r}{where}; it must be in [0, 1]")
        check_nonnegative("Adadelta", "eps", group["eps"], where)
        check_nonnegative("Adadelta", "weight_decay", group["weight_decay"], where)

    def _update_group(self, group):
        lr = float(group["lr"])
        rho = float(group["rho"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        maximize = bool(group["maximize"])

        for _, theta, grad, state in self._params_with_grad(group):
            if not state:
                state["step"] = 0
                state["square_avg"] = np.zeros_like(theta, order="C")
                state["acc_delta"] = np.zeros_like(theta, order="C")
            state["step"] += 1
            square_avg, acc_delta = state["square_avg"], state["acc_delta"]

            g = self._effective_grad(theta, grad, weight_decay, maximize)
            work = self._scratch(theta, 1)
            delta = self._scratch(theta, 2)

            square_avg *= rho
            np.multiply(g, 1.0 - rho, out=work)
            work *= g
            square_avg += work

            np.add(square_avg, eps, out=work)
            std = np.sqrt(work, out=work)
            np.add(acc_delta, eps, out=delta)
            np.sqrt(delta, out=delta)
            delta /= std
            delta *= g

            acc_delta *= rho
            np.multiply(delta, 1.0 - rho, out=work)
            work *= delta
            acc_delta += work

            delta *= lr
            theta -= delta
