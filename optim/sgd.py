"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay.

The update (PyTorch's documented algorithm), for each parameter with gradient g::

    g <- -g                                  if maximize
    g <- g + weight_decay * theta            if weight_decay != 0
    b <- g                                   on the first step with momentum
    b <- momentum * b + (1 - dampening) * g  afterwards
    g <- g + momentum * b                    if nesterov
    g <- b                                   otherwise (when momentum != 0)
    theta <- theta - lr * g

``state[p]["momentum_buffer"]`` holds ``b`` (only when momentum != 0).

>>> from autograd_core import Tensor
>>> w = Tensor([1.0], requires_grad=True); w.grad = Tensor([2.0])
>>> SGD([w], lr=0.1, momentum=0.9).step(); round(w.item(), 6)   # 1 - 0.1 * 2
0.8
"""

import numpy as np

from autograd_core.kernels.optimizer_steps import sgd_momentum_step
from optim.optimizer import Optimizer, check_nonnegative

__all__ = ["SGD"]


class SGD(Optimizer):
    """SGD, optionally with (Nesterov) momentum, as ``torch.optim.SGD``.

    Parameters
    ----------
    params : iterable of Tensors or dicts
    lr : float
        Learning rate (PyTorch's default 1e-3).
    momentum : float
        Momentum factor; 0 is plain SGD.
    dampening : float
        Scales the gradient added to the momentum buffer by ``1 - dampening``.
    weight_decay : float
        L2 penalty coefficient added to the gradient.
    nesterov : bool
        Nesterov momentum (needs momentum > 0 and dampening = 0).
    maximize : bool
        Ascend the objective instead of descending it.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, group, index):
        where = "" if index is None else f" in param group {index}"
        check_nonnegative("SGD", "lr", group["lr"], where)
        momentum = check_nonnegative("SGD", "momentum", group["momentum"], where)
        dampening = check_nonnegative("SGD", "dampening", group["dampening"], where)
        check_nonnegative("SGD", "weight_decay", group["weight_decay"], where)
        if group["nesterov"] and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"SGD: nesterov=True{where} requires momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']!r}, dampening={group['dampening']!r}"
            )

    def _update_group(self, group):
        lr = float(group["lr"])
        momentum = float(group["momentum"])
        dampening = float(group["dampening"])
        weight_decay = float(group["weight_decay"])
        nesterov = bool(group["nesterov"])
        maximize = bool(group["maximize"])

        for p in group["params"]:
            if p._grad is None:
                continue
            theta = p._data
            grad = self._grad_array(p)
            # The caller's gradient (read only) or scratch slot 0.
            direction = self._effective_grad(theta, grad, weight_decay, maximize)

            if momentum != 0:
                state = self.state[p]
                buffer = state.get("momentum_buffer")
                if buffer is not None and sgd_momentum_step(
                        theta, direction, buffer, lr=lr, momentum=momentum,
                        dampening=dampening, nesterov=nesterov):
                    continue  # the fused pass (kernels.optimizer_steps): same bits
                if buffer is None:
                    buffer = np.array(direction, dtype=theta.dtype, order="C", copy=True)
                    state["momentum_buffer"] = buffer
                else:
                    buffer *= momentum
                    if dampening == 0:
                        buffer += direction
                    else:
                        scaled = np.multiply(direction, 1 - dampening, out=self._scratch(theta, 1))
                        buffer += scaled
                if nesterov:
                    ahead = np.multiply(buffer, momentum, out=self._scratch(theta, 1))
                    direction = np.add(direction, ahead, out=ahead)
                else:
                    direction = buffer

            step = self._scratch(theta, 1)
            np.multiply(direction, lr, out=step)
            theta -= step
