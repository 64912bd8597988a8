"""Adamax (Adam with the infinity norm, Kingma & Ba), as ``torch.optim.Adamax``.

The update (PyTorch's documented algorithm), at step t for a parameter with gradient g::

    g <- -g                                    if maximize
    g <- g + weight_decay * theta              if weight_decay != 0
    m <- m + (1 - beta1) * (g - m)             (lerp: beta1 * m + (1 - beta1) * g)
    u <- max(beta2 * u, |g| + eps)
    theta <- theta - lr / (1 - beta1^t) * m / u

State: ``step`` (int), ``exp_avg`` (m), ``exp_inf`` (u), both starting at zero.

>>> from autograd_core import Tensor
>>> w = Tensor([1.0], requires_grad=True); w.grad = Tensor([2.0])
>>> Adamax([w], lr=0.1).step(); round(w.item(), 6)   # the first step moves by lr
0.9
"""

import numpy as np

from optim.optimizer import (
    Optimizer,
    check_betas,
    check_nonnegative,
    lerp_,
)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax, as ``torch.optim.Adamax``.

    Parameters
    ----------
    params : iterable of Tensors or dicts
    lr : float
        Learning rate.
    betas : (float, float)
        Decay rates of the gradient's running mean and of the running maximum, in [0, 1).
    eps : float
        Added to |g| for numerical stability.
    weight_decay : float
        L2 penalty added to the gradient.
    maximize : bool
        Ascend the objective.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, group, index):
        where = "" if index is None else f" in param group {index}"
        check_nonnegative("Adamax", "lr", group["lr"], where)
        check_betas("Adamax", group["betas"], where)
        check_nonnegative("Adamax", "eps", group["eps"], where)
        check_nonnegative("Adamax", "weight_decay", group["weight_decay"], where)

    def _update_group(self, group):
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        maximize = bool(group["maximize"])

        for _, theta, grad, state in self._params_with_grad(group):
            if not state:
                state["step"] = 0
                state["exp_avg"] = np.zeros_like(theta, order="C")
                state["exp_inf"] = np.zeros_like(theta, order="C")
            state["step"] += 1
            exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]

            g = self._effective_grad(theta, grad, weight_decay, maximize)
            work = self._scratch(theta, 1)
            lerp_(exp_avg, g, 1.0 - beta1, work)

            exp_inf *= beta2
            np.abs(g, out=work)
            work += eps
            np.maximum(exp_inf, work, out=exp_inf)

            clr = lr / (1.0 - beta1 ** state["step"])
            np.divide(exp_avg, exp_inf, out=work)
            work *= clr
            theta -= work
