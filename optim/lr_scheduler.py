"""Learning-rate schedulers, as ``torch.optim.lr_scheduler``.

A scheduler sets ``group["lr"]`` of its optimizer's param groups. The convention is
PyTorch's: build it after the optimizer (it records ``group["initial_lr"]`` and its
``base_lrs``; ``last_epoch`` becomes 0), then call ``scheduler.step()`` once per epoch
*after* ``optimizer.step()``. ``get_last_lr()`` returns the rates it set last.

The epoch-based schedulers use PyTorch's recursive ("chainable") formulas, each step
multiplying the current rate, so several schedulers can act on one optimizer; used
alone they equal the closed forms (``_get_closed_form_lr``, also used by the
deprecated ``step(epoch)``).

The 1/sqrt(t) decay of the slides, ``eta_t = eta / sqrt(t + 1)``:

>>> import math
>>> from autograd_core import Tensor
>>> from optim import SGD
>>> from optim.lr_scheduler import LambdaLR
>>> opt = SGD([Tensor([0.0], requires_grad=True)], lr=0.5)
>>> sched = LambdaLR(opt, lambda t: 1 / math.sqrt(t + 1))
>>> rates = []
>>> for epoch in range(4):
...     rates.append(round(sched.get_last_lr()[0], 4))
...     opt.step()                       # (after a forward/backward pass)
...     sched.step()
>>> rates                                # 0.5 / sqrt(1), / sqrt(2), / sqrt(3), / sqrt(4)
[0.5, 0.3536, 0.2887, 0.25]
"""

import math
import numbers
import types
import warnings
from bisect import bisect_right
from collections import Counter

from optim.optimizer import Optimizer, check_nonnegative

__all__ = [
    "LRScheduler",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "LambdaLR",
    "ReduceLROnPlateau",
    "LinearLR",
    "SequentialLR",
    "CosineAnnealingWarmRestarts",
    "OneCycleLR",
]


def _check_optimizer(owner: str, optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: {type(optimizer).__name__} is not an Optimizer")


def _check_positive_int(owner: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{owner}: invalid {name}={value!r}; it must be a positive integer")
    return int(value)


class LRScheduler:
    """Base class of the epoch-based schedulers (as ``torch.optim.lr_scheduler.LRScheduler``).

    Subclasses implement ``get_lr()``: the new rates from ``last_epoch``, the groups'
    current ``lr`` and ``base_lrs``.
    """

    def __init__(self, optimizer, last_epoch: int = -1):
        owner = type(self).__name__
        _check_optimizer(owner, optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{owner}: param 'initial_lr' is not specified in param_groups[{i}] "
                        f"when resuming with last_epoch={last_epoch}"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        # As PyTorch (2.x): the constructor steps once, to last_epoch + 1; the chainable
        # schedulers keep the current rates in that step, so resuming with last_epoch
        # does not move the rate one step ahead of itself.
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list:
        raise NotImplementedError

    def get_last_lr(self) -> list:
        """The learning rates of the param groups as the last ``step()`` set them."""
        return self._last_lr

    def step(self, epoch=None):
        """Advance one epoch (or, deprecated, jump to ``epoch``) and set the groups' lr."""
        self._step_count += 1
        if epoch is not None:
            warnings.warn(
                "scheduler.step(epoch) is deprecated (as in PyTorch): call step() once per "
                "epoch; with an epoch the closed form is used",
                UserWarning,
                stacklevel=2,
            )
        self._update_lr(epoch)

    def _initial_step(self):
        """The constructor's step, again (SequentialLR restarts its first scheduler)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def _update_lr(self, epoch=None):
        """Set the groups' lr for the next epoch, or for ``epoch`` by the closed form."""
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", None)
            values = closed_form() if closed_form is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        """Everything but the optimizer (Python numbers and lists)."""
        return {
            key: (list(value) if isinstance(value, list) else value)
            for key, value in self.__dict__.items()
            if key != "optimizer"
        }

    def load_state_dict(self, state_dict: dict):
        self.__dict__.update(
            {key: _plain(value) for key, value in state_dict.items()}
        )

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self._last_lr})"


def _plain(value):
    """Values restored from an npz file as Python numbers and lists."""
    tolist = getattr(value, "tolist", None)
    return tolist() if tolist is not None else value


_LRScheduler = LRScheduler  # PyTorch's old name


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs.

    ``lr_e = base_lr * gamma ** (e // step_size)``

    >>> sched = StepLR(opt, step_size=30, gamma=0.1)  # doctest: +SKIP
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = _check_positive_int("StepLR", "step_size", step_size)
        self.gamma = check_nonnegative("StepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the rate by ``gamma`` at each milestone epoch (a repeated one, repeatedly).

    ``lr_e = base_lr * gamma ** (number of milestones <= e)``

    >>> sched = MultiStepLR(opt, milestones=[30, 80], gamma=0.1)  # doctest: +SKIP
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        milestones = list(milestones)
        for m in milestones:
            if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 0:
                raise ValueError(
                    f"MultiStepLR: invalid milestones={milestones!r}; they must be "
                    "non-negative integers"
                )
        self.milestones = Counter(int(m) for m in milestones)
        self.gamma = check_nonnegative("MultiStepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return [group["lr"] for group in self.optimizer.param_groups]
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base_lr in self.base_lrs]

    def state_dict(self):
        state = super().state_dict()
        state["milestones"] = sorted(self.milestones.elements())  # npz-friendly
        return state

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        saved = self.milestones  # a list (ours) or a Counter (PyTorch's)
        elements = Counter(saved).elements() if isinstance(saved, dict) else saved
        self.milestones = Counter(int(m) for m in elements)


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch: ``lr_e = base_lr * gamma ** e``.

    >>> sched = ExponentialLR(opt, gamma=0.95)  # doctest: +SKIP
    """

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = check_nonnegative("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma**self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the base rate to ``eta_min`` over ``T_max`` epochs (SGDR
    without restarts): closed form, for epoch e,

    ``lr_e = eta_min + (base_lr - eta_min) * (1 + cos(pi * e / T_max)) / 2``

    computed, as PyTorch does, by the recursion

    ``lr_e = eta_min + (lr_{e-1} - eta_min) * (1 + cos(pi e / T)) / (1 + cos(pi (e-1) / T))``

    except where the denominator vanishes (e - 1 = T_max mod 2 T_max), where
    ``lr_e = lr_{e-1} + (base_lr - eta_min) * (1 - cos(pi / T_max)) / 2``. After
    ``T_max`` the rate climbs back up (the cosine continues), as in PyTorch.

    >>> sched = CosineAnnealingLR(opt, T_max=100, eta_min=1e-5)  # doctest: +SKIP
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = _check_positive_int("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = check_nonnegative("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        epoch, period, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return [group["lr"] for group in groups]
        if (epoch - 1 - period) % (2 * period) == 0:
            return [group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / period)) / 2
                    for base_lr, group in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * epoch / period)) / (
            1 + math.cos(math.pi * (epoch - 1) / period)
        )
        return [ratio * (group["lr"] - eta_min) + eta_min for group in groups]

    def _get_closed_form_lr(self):
        return [
            self.eta_min
            + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
            for base_lr in self.base_lrs
        ]


class LambdaLR(LRScheduler):
    """Set each group's rate to ``base_lr * lr_lambda(epoch)``.

    ``lr_lambda`` is a function of the epoch, or a list of them, one per param group.
    The slides' decay ``eta / sqrt(t + 1)``:
    ``LambdaLR(opt, lambda t: 1 / math.sqrt(t + 1))``.

    >>> sched = LambdaLR(opt, lambda epoch: 0.95 ** epoch)  # doctest: +SKIP
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        _check_optimizer("LambdaLR", optimizer)
        groups = optimizer.param_groups
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(groups):
                raise ValueError(
                    f"LambdaLR: expected {len(groups)} lr_lambdas (one per param group), "
                    f"but got {len(lr_lambda)}"
                )
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(groups)
        for i, fn in enumerate(self.lr_lambdas):
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda[{i}] is not callable: {fn!r}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        rates = []
        for i, (fn, base_lr) in enumerate(zip(self.lr_lambdas, self.base_lrs)):
            factor = fn(self.last_epoch)
            # Checked before any group changes: a NaN rate would turn every weight NaN
            # at the next step, with no error anywhere.
            if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or \
                    not math.isfinite(factor):
                raise ValueError(
                    f"LambdaLR: lr_lambda[{i}]({self.last_epoch}) returned {factor!r}; it "
                    "must return a finite number (the factor of the base learning rate)"
                )
            rates.append(base_lr * factor)
        return rates

    def state_dict(self):
        """As PyTorch: plain functions are not saved; a callable object's ``__dict__`` is."""
        state = {key: value for key, value in super().state_dict().items() if key != "lr_lambdas"}
        state["lr_lambdas"] = [
            None if isinstance(fn, types.FunctionType) else dict(getattr(fn, "__dict__", {}))
            for fn in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        saved = state_dict.pop("lr_lambdas", None) or []
        super().load_state_dict(state_dict)
        for fn, attributes in zip(self.lr_lambdas, saved):
            if attributes is not None:
                fn.__dict__.update(attributes)


class ReduceLROnPlateau(LRScheduler):
    """Reduce the rate by ``factor`` when a metric stops improving.

    Call ``scheduler.step(metric)`` after each validation. An epoch is an improvement
    when ``metric < best * (1 - threshold)`` (mode ``"min"``, threshold_mode ``"rel"``),
    ``metric < best - threshold`` (``"abs"``), or the mirror images for ``"max"``. After
    more than ``patience`` epochs without one, each group's rate becomes
    ``max(lr * factor, min_lr)`` (unless that changes it by less than ``eps``), then
    ``cooldown`` epochs pass before bad epochs count again.

    >>> sched = ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=3)  # doctest: +SKIP
    >>> sched.step(val_loss)                                                # doctest: +SKIP
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        owner = "ReduceLROnPlateau"
        _check_optimizer(owner, optimizer)
        factor_value = check_nonnegative(owner, "factor", factor)
        if factor_value >= 1.0:
            raise ValueError(f"{owner}: invalid factor={factor!r}; it must be < 1.0")
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) or patience < 0:
            raise ValueError(f"{owner}: invalid patience={patience!r}; it must be an integer >= 0")
        if isinstance(cooldown, bool) or not isinstance(cooldown, numbers.Integral) or cooldown < 0:
            raise ValueError(f"{owner}: invalid cooldown={cooldown!r}; it must be an integer >= 0")
        check_nonnegative(owner, "threshold", threshold)
        check_nonnegative(owner, "eps", eps)
        self.optimizer = optimizer
        self.factor = factor_value
        groups = optimizer.param_groups
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(groups):
                raise ValueError(
                    f"{owner}: expected {len(groups)} min_lrs (one per param group), "
                    f"got {len(min_lr)}"
                )
            self.default_min_lr = None
            self.min_lrs = [check_nonnegative(owner, "min_lr", m) for m in min_lr]
        else:
            self.default_min_lr = check_nonnegative(owner, "min_lr", min_lr)
            self.min_lrs = [self.default_min_lr] * len(groups)
        self.patience = int(patience)
        self.cooldown = int(cooldown)
        self.cooldown_counter = 0
        self.mode = mode
        self.threshold = float(threshold)
        self.threshold_mode = threshold_mode
        self.eps = float(eps)
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in groups]
        self._init_is_better()
        self._reset()

    def _init_is_better(self):
        if self.mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: invalid mode={self.mode!r}; use 'min' or 'max'")
        if self.threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"ReduceLROnPlateau: invalid threshold_mode={self.threshold_mode!r}; use "
                "'rel' or 'abs'"
            )
        self.mode_worse = math.inf if self.mode == "min" else -math.inf

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def get_lr(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def step(self, metrics, epoch=None):
        """Record this epoch's metric (a number or one-element Tensor/array)."""
        current = float(metrics)
        if epoch is not None:
            warnings.warn("ReduceLROnPlateau.step(metrics, epoch): the epoch argument is "
                          "deprecated (as in PyTorch)", UserWarning, stacklevel=2)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(self.min_lrs) != len(groups):
            if self.default_min_lr is None:
                raise RuntimeError(
                    "ReduceLROnPlateau: the optimizer has "
                    f"{len(groups)} param groups but min_lr lists {len(self.min_lrs)}"
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self._init_is_better()


def _fraction(owner: str, name: str, value, low: float, high: float, low_open=False) -> float:
    """``value`` as a float in [low, high] (or (low, high]), else ValueError naming it."""
    number = check_nonnegative(owner, name, value) if low >= 0 else float(value)
    if number > high or number < low or (low_open and number == low):
        bracket = "(" if low_open else "["
        raise ValueError(
            f"{owner}: invalid {name}={value!r}; it must be in {bracket}{low}, {high}]"
        )
    return number


def _per_group(owner: str, name: str, optimizer, value) -> list:
    """One value per param group: a list/tuple of that length, or one value for all."""
    groups = optimizer.param_groups
    if isinstance(value, (list, tuple)):
        if len(value) != len(groups):
            raise ValueError(
                f"{owner}: expected {len(groups)} values for {name} (one per param group), "
                f"but got {len(value)}"
            )
        return list(value)
    return [value] * len(groups)


class LinearLR(LRScheduler):
    """Scale the rate linearly from ``start_factor`` to ``end_factor`` of the base rate
    over ``total_iters`` epochs, then keep it:

    ``lr_e = base_lr * (start + (end - start) * min(e, total_iters) / total_iters)``

    computed, as PyTorch does, by multiplying the current rate by
    ``1 + (end - start) / (total_iters * start + (e - 1) * (end - start))``.

    >>> from autograd_core import Tensor
    >>> from optim import SGD
    >>> opt = SGD([Tensor([0.0], requires_grad=True)], lr=0.1)
    >>> sched = LinearLR(opt, start_factor=0.5, total_iters=4)
    >>> rates = []
    >>> for _ in range(6):
    ...     rates.append(round(sched.get_last_lr()[0], 6)); opt.step(); sched.step()
    >>> rates
    [0.05, 0.0625, 0.075, 0.0875, 0.1, 0.1]
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        self.start_factor = _fraction("LinearLR", "start_factor", start_factor, 0.0, 1.0,
                                      low_open=True)
        self.end_factor = _fraction("LinearLR", "end_factor", end_factor, 0.0, 1.0)
        self.total_iters = _check_positive_int("LinearLR", "total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return [group["lr"] for group in groups]
        change = self.end_factor - self.start_factor
        factor = 1.0 + change / (self.total_iters * self.start_factor
                                 + (self.last_epoch - 1) * change)
        return [group["lr"] * factor for group in groups]

    def _get_closed_form_lr(self):
        change = self.end_factor - self.start_factor
        fraction = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base_lr * (self.start_factor + change * fraction) for base_lr in self.base_lrs]


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at the ``milestones`` epochs.

    Scheduler i runs from epoch ``milestones[i - 1]`` on; at its milestone it starts
    from its own epoch 0 (its closed form there), as PyTorch. All must share
    ``optimizer``. The classic warm-up then decay:

    >>> from autograd_core import Tensor
    >>> from optim import SGD
    >>> opt = SGD([Tensor([0.0], requires_grad=True)], lr=0.1)
    >>> warmup = LinearLR(opt, start_factor=0.1, total_iters=2)
    >>> decay = ExponentialLR(opt, gamma=0.5)
    >>> sched = SequentialLR(opt, [warmup, decay], milestones=[2])
    >>> rates = []
    >>> for _ in range(5):
    ...     rates.append(round(sched.get_last_lr()[0], 6)); opt.step(); sched.step()
    >>> rates
    [0.01, 0.055, 0.1, 0.05, 0.025]
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        _check_optimizer("SequentialLR", optimizer)
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("SequentialLR: expected at least one scheduler, got none")
        for i, scheduler in enumerate(schedulers):
            if not hasattr(scheduler, "optimizer"):
                raise TypeError(
                    f"SequentialLR: schedulers[{i}] ({type(scheduler).__name__}) has no "
                    "optimizer attribute"
                )
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(
                    f"SequentialLR: schedulers[{i}] is a ReduceLROnPlateau, which needs a "
                    "metric in step(); it cannot be sequenced"
                )
            if scheduler.optimizer is not optimizer:
                raise ValueError(
                    f"SequentialLR: schedulers[{i}] ({type(scheduler).__name__}) belongs to "
                    "another optimizer; all must use the optimizer given to SequentialLR"
                )
        milestones = list(milestones)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: expected {len(schedulers) - 1} milestones (one fewer than "
                f"the {len(schedulers)} schedulers), but got {len(milestones)}"
            )
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # The schedulers' constructors each stepped once: undo that and restart the first.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo(self)
        index = bisect_right(self._milestones, 0)
        self._schedulers[index]._initial_step()
        self._last_lr = schedulers[index].get_last_lr()

    def _undo(self, scheduler):
        if hasattr(scheduler, "_schedulers"):
            for inner in scheduler._schedulers:
                self._undo(inner)
        elif hasattr(scheduler, "last_epoch"):
            scheduler.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)  # a new phase starts at its own epoch 0
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        state = {key: (list(value) if isinstance(value, list) else value)
                 for key, value in self.__dict__.items()
                 if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        inner = state_dict.pop("_schedulers")
        super().load_state_dict(state_dict)
        for scheduler, saved in zip(self._schedulers, inner):
            scheduler.load_state_dict(saved)


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter):

    ``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2``

    where ``T_cur`` counts epochs since the last restart and the i-th period is
    ``T_i = T_0 * T_mult ** i``. ``step(epoch)`` takes fractional epochs
    (``epoch + batch / batches``) to anneal within an epoch, as PyTorch (no warning).

    >>> from autograd_core import Tensor
    >>> from optim import SGD
    >>> opt = SGD([Tensor([0.0], requires_grad=True)], lr=1.0)
    >>> sched = CosineAnnealingWarmRestarts(opt, T_0=2)
    >>> rates = []
    >>> for _ in range(5):
    ...     rates.append(round(sched.get_last_lr()[0], 6)); opt.step(); sched.step()
    >>> rates
    [1.0, 0.5, 1.0, 0.5, 1.0]
    """

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        owner = "CosineAnnealingWarmRestarts"
        self.T_0 = _check_positive_int(owner, "T_0", T_0)
        self.T_mult = _check_positive_int(owner, "T_mult", T_mult)
        self.eta_min = check_nonnegative(owner, "eta_min", eta_min)
        self.T_i = self.T_0
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        cosine = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (base_lr - self.eta_min) * cosine for base_lr in self.base_lrs]

    def step(self, epoch=None):
        """Advance one epoch, or set the position to ``epoch`` (may be fractional)."""
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur %= self.T_i
                self.T_i *= self.T_mult
        else:
            if epoch < 0:
                raise ValueError(
                    f"CosineAnnealingWarmRestarts: invalid epoch={epoch!r}; it must be >= 0"
                )
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    # the number of whole periods before epoch: sum T_0 T_mult^k <= epoch
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult**n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin): the rate rises from ``max_lr / div_factor`` to
    ``max_lr`` over the first ``pct_start`` of ``total_steps``, then falls to
    ``max_lr / div_factor / final_div_factor``; the momentum (or Adam's beta1) moves the
    opposite way between ``max_momentum`` and ``base_momentum``. Step it once per
    batch. Within a phase from ``a`` to ``b`` at fraction ``p`` of it:
    ``cos``: ``b + (a - b) * (1 + cos(pi p)) / 2``; ``linear``: ``a + (b - a) p``.
    ``three_phase`` goes back down to the initial rate before the final annealing.

    >>> from autograd_core import Tensor
    >>> from optim import SGD
    >>> opt = SGD([Tensor([0.0], requires_grad=True)], lr=0.1, momentum=0.9)
    >>> sched = OneCycleLR(opt, max_lr=1.0, total_steps=5, pct_start=0.4,
    ...                    anneal_strategy="linear")
    >>> rates = []
    >>> for _ in range(5):
    ...     rates.append(round(sched.get_last_lr()[0], 6)); opt.step(); sched.step()
    >>> rates
    [0.04, 1.0, 0.666668, 0.333336, 4e-06]
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True,
                 base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, last_epoch=-1):
        owner = "OneCycleLR"
        _check_optimizer(owner, optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            self.total_steps = _check_positive_int(owner, "total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (_check_positive_int(owner, "epochs", epochs)
                                * _check_positive_int(owner, "steps_per_epoch",
                                                      steps_per_epoch))
        else:
            raise ValueError(
                "OneCycleLR: you must give either total_steps or (epochs and "
                "steps_per_epoch)"
            )
        pct_start = _fraction(owner, "pct_start", pct_start, 0.0, 1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"OneCycleLR: invalid anneal_strategy={anneal_strategy!r}; it must be 'cos' "
                "or 'linear'"
            )
        self._anneal_func_type = anneal_strategy
        div_factor = _positive(owner, "div_factor", div_factor)
        final_div_factor = _positive(owner, "final_div_factor", final_div_factor)

        up_end = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                dict(end_step=up_end, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=float(2 * pct_start * self.total_steps) - 2, start_lr="max_lr",
                     end_lr="initial_lr", start_momentum="base_momentum",
                     end_momentum="max_momentum"),
                dict(end_step=self.total_steps - 1, start_lr="initial_lr", end_lr="min_lr",
                     start_momentum="max_momentum", end_momentum="max_momentum"),
            ]
        else:
            self._schedule_phases = [
                dict(end_step=up_end, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=self.total_steps - 1, start_lr="max_lr", end_lr="min_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum"),
            ]

        max_lrs = [check_nonnegative(owner, "max_lr", v)
                   for v in _per_group(owner, "max_lr", optimizer, max_lr)]
        if last_epoch == -1:
            for value, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = value / div_factor
                group["max_lr"] = value
                group["min_lr"] = group["initial_lr"] / final_div_factor

        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    f"OneCycleLR: cycle_momentum=True needs an optimizer with momentum or "
                    f"betas, and {type(optimizer).__name__} has neither; pass "
                    "cycle_momentum=False"
                )
            self.use_beta1 = "betas" in optimizer.defaults
            max_momentums = _per_group(owner, "max_momentum", optimizer, max_momentum)
            base_momentums = _per_group(owner, "base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for high, low, group in zip(max_momentums, base_momentums,
                                            optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (high, *group["betas"][1:])
                    else:
                        group["momentum"] = high
                    group["max_momentum"] = high
                    group["base_momentum"] = low
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"OneCycleLR: tried to step {step} times; total_steps is "
                f"{self.total_steps} (give a larger total_steps or epochs)"
            )
        rates = []
        phases = self._schedule_phases
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(phases):
                end_step = phase["end_step"]
                if step <= end_step or i == len(phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lr = self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]],
                                                group[phase["end_momentum"]], pct)
                    break
                start_step = end_step
            rates.append(lr)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return rates


def _positive(owner: str, name: str, value) -> float:
    number = check_nonnegative(owner, name, value)
    if number == 0:
        raise ValueError(f"{owner}: invalid {name}={value!r}; it must be > 0")
    return number
