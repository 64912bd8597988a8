"""Adagrad (Duchi et al.), as ``torch.optim.Adagrad``.

The update (PyTorch's documented algorithm), at step t for a parameter with gradient g::

    g <- -g                                   if maximize
    g <- g + weight_decay * theta             if weight_decay != 0
    clr <- lr / (1 + (t - 1) * lr_decay)
    s <- s + g * g
    theta <- theta - clr * g / (sqrt(s) + eps)

State: ``step`` (int) and ``sum`` (s, starting at ``initial_accumulator_value``),
created for every parameter when the optimizer is built, as PyTorch does.

>>> from autograd_core import Tensor
>>> w = Tensor([1.0], requires_grad=True); w.grad = Tensor([2.0])
>>> Adagrad([w], lr=0.1).step(); round(w.item(), 6)   # s = 4: 1 - 0.1 * 2 / 2
0.9
"""

import numpy as np

from optim.optimizer import Optimizer, check_nonnegative

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``.

    Parameters
    ----------
    params : iterable of Tensors or dicts
    lr : float
        Learning rate.
    lr_decay : float
        Learning-rate decay: step t uses ``lr / (1 + (t - 1) * lr_decay)``.
    weight_decay : float
        L2 penalty added to the gradient.
    initial_accumulator_value : float
        Starting value of the sum of squared gradients.
    eps : float
        Added to the denominator for numerical stability.
    maximize : bool
        Ascend the objective.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, *, maximize=False):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, group, index):
        where = "" if index is None else f" in param group {index}"
        check_nonnegative("Adagrad", "lr", group["lr"], where)
        check_nonnegative("Adagrad", "lr_decay", group["lr_decay"], where)
        check_nonnegative("Adagrad", "eps", group["eps"], where)
        check_nonnegative("Adagrad", "weight_decay", group["weight_decay"], where)
        check_nonnegative("Adagrad", "initial_accumulator_value",
                          group["initial_accumulator_value"], where)

    def _init_group_state(self, group):
        initial = float(group["initial_accumulator_value"])
        for p in group["params"]:
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["sum"] = np.full_like(p._data, initial, order="C")

    def _update_group(self, group):
        lr = float(group["lr"])
        lr_decay = float(group["lr_decay"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        maximize = bool(group["maximize"])

        for _, theta, grad, state in self._params_with_grad(group):
            if not state:  # e.g. after load_state_dict of a state that lacked it
                state["step"] = 0
                state["sum"] = np.full_like(theta, float(group["initial_accumulator_value"]),
                                            order="C")
            state["step"] += 1
            clr = lr / (1 + (state["step"] - 1) * lr_decay)

            g = self._effective_grad(theta, grad, weight_decay, maximize)
            work = self._scratch(theta, 1)
            np.multiply(g, g, out=work)
            state["sum"] += work
            std = np.sqrt(state["sum"], out=work)
            std += eps
            update = np.divide(g, std, out=std)
            update *= clr
            theta -= update
