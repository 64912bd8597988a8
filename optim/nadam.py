"""NAdam (Adam with Nesterov momentum, Dozat), as ``torch.optim.NAdam``.

The update (PyTorch's documented algorithm), at step t for a parameter with gradient g::

    g <- -g                                        if maximize
    theta <- theta * (1 - lr * weight_decay)       decoupled_weight_decay, or
    g <- g + weight_decay * theta                  (L2 penalty in the gradient)
    mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))
    mu_{t+1} = beta1 * (1 - 0.5 * 0.96^((t + 1) * momentum_decay))
    P_t = mu_1 * ... * mu_t                        (state "mu_product")
    m <- beta1 * m + (1 - beta1) * g
    v <- beta2 * v + (1 - beta2) * g * g
    denom = sqrt(v / (1 - beta2^t)) + eps
    theta <- theta - lr * (1 - mu_t) / (1 - P_t) * g / denom
                   - lr * mu_{t+1} / (1 - P_t * mu_{t+1}) * m / denom

State: ``step`` (int), ``mu_product`` (float, starts at 1), ``exp_avg`` (m),
``exp_avg_sq`` (v). PyTorch keeps ``mu_product`` as a 0-d tensor of its default scalar
dtype; here it is a Python float (float64).

>>> from autograd_core import Tensor
>>> w = Tensor([1.0], requires_grad=True); w.grad = Tensor([2.0])
>>> NAdam([w], lr=0.1).step()   # lr * g/|g| + lr * mu_2 / (1 - mu_1 mu_2) * m / |g|
>>> round(w.item(), 4)          # mu_1, mu_2 ~ 0.45, m = 0.1 * g
0.8944
"""

import numpy as np

from optim.optimizer import (
    Optimizer,
    check_betas,
    check_nonnegative,
    lerp_,
    square_average_,
)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam, as ``torch.optim.NAdam``.

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
    momentum_decay : float
        psi of the momentum schedule mu_t = beta1 * (1 - 0.5 * 0.96^(t psi)).
    decoupled_weight_decay : bool
        Decay the weights directly instead of through the gradient.
    maximize : bool
        Ascend the objective.
    """

    _scalar_state = ("mu_product",)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, group, index):
        where = "" if index is None else f" in param group {index}"
        check_nonnegative("NAdam", "lr", group["lr"], where)
        check_betas("NAdam", group["betas"], where)
        check_nonnegative("NAdam", "eps", group["eps"], where)
        check_nonnegative("NAdam", "weight_decay", group["weight_decay"], where)
        check_nonnegative("NAdam", "momentum_decay", group["momentum_decay"], where)

    def _update_group(self, group):
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        momentum_decay = float(group["momentum_decay"])
        decoupled = bool(group["decoupled_weight_decay"])
        maximize = bool(group["maximize"])

        for _, theta, grad, state in self._params_with_grad(group):
            if not state:
                state["step"] = 0
                state["mu_product"] = 1.0
                state["exp_avg"] = np.zeros_like(theta, order="C")
                state["exp_avg_sq"] = np.zeros_like(theta, order="C")
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            state["step"] += 1
            step = state["step"]
            bias_correction2 = 1.0 - beta2**step

            g = self._effective_grad(theta, grad, 0.0 if decoupled else weight_decay,
                                     maximize)
            if weight_decay != 0 and decoupled:
                theta *= 1 - lr * weight_decay

            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
            mu_product = float(state["mu_product"]) * mu
            state["mu_product"] = mu_product
            mu_product_next = mu_product * mu_next

            work = self._scratch(theta, 1)
            lerp_(exp_avg, g, 1.0 - beta1, work)
            square_average_(exp_avg_sq, g, beta2, work)

            denom = np.divide(exp_avg_sq, bias_correction2, out=self._scratch(theta, 2))
            np.sqrt(denom, out=denom)
            denom += eps
            np.divide(g, denom, out=work)
            work *= lr * (1.0 - mu) / (1.0 - mu_product)
            theta -= work
            np.divide(exp_avg, denom, out=work)
            work *= lr * mu_next / (1.0 - mu_product_next)
            theta -= work
