"""Adam and AdamW (decoupled weight decay), as ``torch.optim.Adam`` / ``AdamW``.

The update (PyTorch's documented algorithm), at step t for a parameter with gradient g::

    g <- -g                                        if maximize
    theta <- theta * (1 - lr * weight_decay)       AdamW (decoupled decay), or
    g <- g + weight_decay * theta                  Adam (L2 penalty in the gradient)
    m <- m + (1 - beta1) * (g - m)                 (lerp: beta1 * m + (1 - beta1) * g)
    v <- beta2 * v + (1 - beta2) * g * g
    v_max <- max(v_max, v)                         if amsgrad (and v_max replaces v below)
    denom <- sqrt(v) / sqrt(1 - beta2^t) + eps
    theta <- theta - lr / (1 - beta1^t) * m / denom

State: ``step`` (int), ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (v_max,
with amsgrad only). The operations run in PyTorch's order, so float64 trajectories agree
with PyTorch to rounding.

>>> from autograd_core import Tensor
>>> w = Tensor([1.0], requires_grad=True); w.grad = Tensor([2.0])
>>> Adam([w], lr=0.1).step(); round(w.item(), 6)   # the first step moves by lr
0.9
"""

import math

import numpy as np

from autograd_core.kernels.optimizer_steps import adam_step
from optim.optimizer import (
    Optimizer,
    check_betas,
    check_nonnegative,
    lerp_,
    square_average_,
)

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba), optionally AMSGrad, as ``torch.optim.Adam``.

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
        L2 penalty added to the gradient (or, with ``decoupled_weight_decay``, AdamW's
        decay of the weights).
    amsgrad : bool
        Use the running maximum of the second moment (AMSGrad).
    maximize : bool
        Ascend the objective.
    decoupled_weight_decay : bool
        Decay the weights directly (AdamW) instead of through the gradient.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _validate_group(self, group, index):
        owner = type(self).__name__
        where = "" if index is None else f" in param group {index}"
        check_nonnegative(owner, "lr", group["lr"], where)
        check_betas(owner, group["betas"], where)
        check_nonnegative(owner, "eps", group["eps"], where)
        check_nonnegative(owner, "weight_decay", group["weight_decay"], where)

    def _update_group(self, group):
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        amsgrad = bool(group["amsgrad"])
        maximize = bool(group["maximize"])
        decoupled = bool(group.get("decoupled_weight_decay", False))
        mean_weight = 1.0 - beta1

        for _, theta, grad, state in self._params_with_grad(group):
            if not state:
                state["step"] = 0
                state["exp_avg"] = np.zeros_like(theta, order="C")
                state["exp_avg_sq"] = np.zeros_like(theta, order="C")
                if amsgrad:
                    state["max_exp_avg_sq"] = np.zeros_like(theta, order="C")
            elif amsgrad and "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = np.zeros_like(theta, order="C")
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            state["step"] += 1
            step = state["step"]

            g = self._effective_grad(theta, grad, 0.0 if decoupled else weight_decay,
                                     maximize)
            if weight_decay != 0 and decoupled:
                theta *= 1 - lr * weight_decay

            bias_correction1 = 1.0 - beta1**step
            bias_correction2_sqrt = math.sqrt(1.0 - beta2**step)
            step_size = lr / bias_correction1
            if adam_step(theta, g, exp_avg, exp_avg_sq,
                         state["max_exp_avg_sq"] if amsgrad else None, beta1=beta1,
                         beta2=beta2, eps=eps, bias_correction2_sqrt=bias_correction2_sqrt,
                         step_size=step_size):
                continue  # the fused pass (kernels.optimizer_steps): the same bits

            work = self._scratch(theta, 1)
            lerp_(exp_avg, g, mean_weight, work)
            square_average_(exp_avg_sq, g, beta2, work)

            second = exp_avg_sq
            if amsgrad:
                second = np.maximum(state["max_exp_avg_sq"], exp_avg_sq,
                                    out=state["max_exp_avg_sq"])

            denom = np.sqrt(second, out=work)
            denom /= bias_correction2_sqrt
            denom += eps
            update = np.divide(exp_avg, denom, out=denom)
            update *= step_size
            theta -= update


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``.

    The weights shrink by ``lr * weight_decay`` of themselves before the Adam step,
    instead of the decay entering the gradient; default ``weight_decay=1e-2``.

    >>> from autograd_core import Tensor
    >>> w = Tensor([1.0], requires_grad=True); w.grad = Tensor([2.0])
    >>> AdamW([w], lr=0.1, weight_decay=0.5).step(); round(w.item(), 6)  # 1 * 0.95 - 0.1
    0.85
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)
