"""RAdam (rectified Adam, Liu et al.), as ``torch.optim.RAdam``.

The update (PyTorch's documented algorithm), at step t for a parameter with gradient g::

    g <- -g                                        if maximize
    theta <- theta * (1 - lr * weight_decay)       decoupled_weight_decay, or
    g <- g + weight_decay * theta                  (L2 penalty in the gradient)
    m <- beta1 * m + (1 - beta1) * g
    v <- beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1^t)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
    if rho_t > 5:   (the variance of the adaptive rate is tractable)
        r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        theta <- theta - lr * m_hat * sqrt(1 - beta2^t) / (sqrt(v) + eps) * r_t
    else:           (plain momentum SGD)
        theta <- theta - lr * m_hat

State: ``step`` (int), ``exp_avg`` (m), ``exp_avg_sq`` (v).

>>> from autograd_core import Tensor
>>> w = Tensor([1.0], requires_grad=True); w.grad = Tensor([2.0])
>>> RAdam([w], lr=0.1).step(); round(w.item(), 6)   # rho_1 = 1 <= 5: w - lr * g
0.8
"""

import math

import numpy as np

from optim.optimizer import (
    Optimizer,
    check_betas,
    check_nonnegative,
    lerp_,
    square_average_,
)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam, as ``torch.optim.RAdam``.

    Parameters
    ----------
    params : iterable of Tensors or dicts
    lr : float
        Learning rate.
    betas : (float, float)
        Decay rates of the gradient's running mean and of its square's, in [0, 1).
    eps : float
        Added to the denominator for numerical stability.
    weight_decay : float
        L2 penalty (or, with ``decoupled_weight_decay``, AdamW-style decay).
    decoupled_weight_decay : bool
        Decay the weights directly instead of through the gradient.
    maximize : bool
        Ascend the objective.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, group, index):
        where = "" if index is None else f" in param group {index}"
        check_nonnegative("RAdam", "lr", group["lr"], where)
        check_betas("RAdam", group["betas"], where)
        check_nonnegative("RAdam", "eps", group["eps"], where)
        check_nonnegative("RAdam", "weight_decay", group["weight_decay"], where)

    def _update_group(self, group):
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        decoupled = bool(group["decoupled_weight_decay"])
        maximize = bool(group["maximize"])
        rho_inf = 2.0 / (1.0 - beta2) - 1.0

        for _, theta, grad, state in self._params_with_grad(group):
            if not state:
                state["step"] = 0
                state["exp_avg"] = np.zeros_like(theta, order="C")
                state["exp_avg_sq"] = np.zeros_like(theta, order="C")
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            state["step"] += 1
            step = state["step"]

            g = self._effective_grad(theta, grad, 0.0 if decoupled else weight_decay,
                                     maximize)
            if weight_decay != 0 and decoupled:
                theta *= 1 - lr * weight_decay

            work = self._scratch(theta, 1)
            lerp_(exp_avg, g, 1.0 - beta1, work)
            square_average_(exp_avg_sq, g, beta2, work)

            bias_correction1 = 1.0 - beta1**step
            bias_correction2 = 1.0 - beta2**step
            rho_t = rho_inf - 2.0 * step * beta2**step / bias_correction2

            update = np.divide(exp_avg, bias_correction1, out=work)
            update *= lr
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                                 / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                adaptive = np.sqrt(exp_avg_sq, out=self._scratch(theta, 2))
                adaptive += eps
                np.divide(math.sqrt(bias_correction2), adaptive, out=adaptive)
                update *= adaptive
                update *= rect
            theta -= update
