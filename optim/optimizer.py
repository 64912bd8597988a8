"""The optimizer base class: parameter groups, per-parameter state, state dicts.

As ``torch.optim.Optimizer``. An optimizer holds ``param_groups`` (a list of dicts, each
with ``"params"`` and its own hyperparameters, missing ones filled from ``defaults``)
and ``state`` (a dict keyed by parameter). ``step()`` updates every parameter whose
``.grad`` is not None, in place on its array and without recording a graph.

State: ``optimizer.state[p]`` is a dict with PyTorch's key names holding **NumPy
arrays** of ``p``'s shape and dtype (``momentum_buffer``, ``exp_avg``, ...) and
``step`` as a Python ``int`` (PyTorch keeps a 0-d float tensor; the value is the same).
``state_dict()`` refers to parameters by their index across all groups, as PyTorch,
and holds only copies of the arrays, Python numbers, strings, tuples and lists, so it
survives an ``.npz`` round trip; ``load_state_dict`` accepts it back (0-d arrays and
arrays in place of tuples included).

>>> import numpy as np
>>> from autograd_core import Tensor
>>> from optim import SGD
>>> w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
>>> opt = SGD([w], lr=0.5)
>>> (w * w).sum().backward()             # grad = 2w
>>> opt.step(); w.data.tolist()          # w - 0.5 * 2w
[0.0, 0.0]
"""

import math
import numbers
from collections import defaultdict

import numpy as np

from autograd_core.grad_mode import enable_grad
from autograd_core.tensor import Tensor
from autograd_core.versions import mark_modified

__all__ = ["Optimizer"]


class _Workspace:
    """Scratch arrays reused across steps, so an update allocates nothing.

    One flat buffer per (dtype, slot), grown to the largest parameter seen; a request
    returns a view of its head reshaped like the parameter.
    """

    def __init__(self):
        self._buffers = {}

    def like(self, array: np.ndarray, slot: int) -> np.ndarray:
        key = (array.dtype, slot)
        buffer = self._buffers.get(key)
        if buffer is None or buffer.size < array.size:
            buffer = np.empty(array.size, dtype=array.dtype)
            self._buffers[key] = buffer
        return buffer[: array.size].reshape(array.shape)


# --------------------------------------------------------------------- validation
def _number(owner: str, name: str, value, where: str) -> float:
    """``value`` as a Python float (so NumPy treats it as a weak scalar), or ValueError."""
    if isinstance(value, Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{owner}: invalid {name}={value!r}{where}; it must be a real number")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{owner}: invalid {name}={value!r}{where}; it must be finite")
    return value


def check_nonnegative(owner: str, name: str, value, where: str = "") -> float:
    """Raise ValueError naming ``name`` and ``value`` unless it is a finite number >= 0."""
    number = _number(owner, name, value, where)
    if number < 0:
        raise ValueError(f"{owner}: invalid {name}={value!r}{where}; it must be >= 0")
    return number


def lerp_(avg, g, weight, work):
    """``avg <- avg + weight * (g - avg)`` in place, from the nearer end, as PyTorch
    evaluates it (for accuracy); ``work`` is scratch of ``avg``'s shape."""
    np.subtract(g, avg, out=work)
    if weight < 0.5:
        work *= weight
        avg += work
    else:
        work *= 1.0 - weight
        np.subtract(g, work, out=avg)


def square_average_(avg_sq, g, beta2, work):
    """``avg_sq <- beta2 avg_sq + (1 - beta2) g^2`` in place (Adam's second moment)."""
    avg_sq *= beta2
    np.multiply(g, 1.0 - beta2, out=work)
    work *= g
    avg_sq += work


def check_betas(owner: str, betas, where: str = ""):
    """Raise ValueError unless ``betas`` is a pair of numbers in [0, 1)."""
    try:
        pair = tuple(betas)
    except TypeError:
        pair = None
    if pair is None or len(pair) != 2:
        raise ValueError(
            f"{owner}: invalid betas={betas!r}{where}; it must be a pair (beta1, beta2)"
        )
    for i, beta in enumerate(pair):
        number = _number(owner, f"betas[{i}]", beta, where)
        if not 0.0 <= number < 1.0:
            raise ValueError(
                f"{owner}: invalid betas[{i}]={beta!r}{where} (betas={betas!r}); "
                "each beta must be in [0, 1)"
            )


def _coerce_like(value, current):
    """A loaded hyperparameter in the Python type the optimizer uses (npz gives arrays)."""
    if isinstance(current, tuple) and isinstance(value, (np.ndarray, list)):
        return tuple(v.item() if isinstance(v, np.generic) else v for v in np.asarray(value))
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


# --------------------------------------------------------------------- the base class
class Optimizer:
    """Base class of all optimizers (as ``torch.optim.Optimizer``).

    Parameters
    ----------
    params : iterable
        Tensors, ``(name, tensor)`` pairs, or dicts (parameter groups) with a
        ``"params"`` entry and per-group hyperparameters.
    defaults : dict
        Hyperparameters for groups that do not set their own.

    Subclasses implement ``_validate_group(group, index)`` (raise ValueError on bad
    hyperparameters) and ``_update_group(group)`` (the update rule for one group), or
    override ``step`` as in PyTorch.
    """

    # Per-parameter state entries that are Python floats, not arrays (NAdam's
    # "mu_product"; PyTorch keeps them as 0-d tensors).
    _scalar_state = ()

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        self._workspace = _Workspace()
        self._validate_group(self.defaults, None)

        owner = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(
                f"{owner}: params must be an iterable of Tensors or dicts, but got a single "
                "Tensor; wrap it in a list: [tensor]"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{owner}: params must be an ordered collection (list, tuple, generator); "
                "the order of a set changes between runs and state_dict refers to it"
            )
        groups = [params] if isinstance(params, dict) else list(params)
        if not groups:
            raise ValueError(f"{owner}: got an empty parameter list (params=[])")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ----------------------------------------------------------------- groups
    def add_param_group(self, param_group: dict):
        """Add a group of parameters (a dict with ``"params"``) with its own settings.

        Missing hyperparameters come from ``defaults``. A parameter already in another
        group is an error.
        """
        owner = type(self).__name__
        index = len(self.param_groups)
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{owner}: a param group must be a dict, got {type(param_group).__name__}"
            )
        if "params" not in param_group:
            raise ValueError(f"{owner}: param group {index} has no 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{owner}: the params of param group {index} must be an ordered collection, "
                "not a set"
            )
        else:
            params = list(params)
        if not params:
            raise ValueError(f"{owner}: param group {index} has an empty parameter list")

        named = [isinstance(p, tuple) for p in params]
        if any(named):
            if not all(named) or not all(len(p) == 2 for p in params):
                raise ValueError(
                    f"{owner}: param group {index} mixes tensors and (name, tensor) pairs"
                )
            param_group["param_names"] = [name for name, _ in params]
            params = [p for _, p in params]

        seen = set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{owner}: can only optimize Tensors, but params[{i}] of param group "
                    f"{index} is a {type(p).__name__}"
                )
            if p.dtype.kind != "f":
                raise ValueError(
                    f"{owner}: params[{i}] of param group {index} has dtype {p.dtype}; only "
                    "floating-point tensors can be optimized"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{owner}: params[{i}] of param group {index} is not a leaf (it has "
                    f"grad_fn {p.grad_fn.name}); optimize the tensors you created, or "
                    "detach() it"
                )
            if id(p) in seen:
                raise ValueError(
                    f"{owner}: params[{i}] of param group {index} appears twice in the group"
                )
            seen.add(id(p))
        param_group["params"] = params

        for name, default in self.defaults.items():
            param_group.setdefault(name, default)
        self._validate_group(param_group, index)

        for other, group in enumerate(self.param_groups):
            if any(id(p) in seen for p in group["params"]):
                raise ValueError(
                    f"{owner}: some parameters of param group {index} are already in param "
                    f"group {other}; a parameter can be in one group only"
                )
        self.param_groups.append(param_group)
        self._init_group_state(param_group)

    def _validate_group(self, group: dict, index):
        """Raise ValueError on a bad hyperparameter (``index`` None for the defaults)."""

    def _init_group_state(self, group: dict):
        """Create state eagerly for a new group (PyTorch's Adagrad does); lazy by default."""

    # ----------------------------------------------------------------- stepping
    def zero_grad(self, set_to_none: bool = True):
        """Reset every parameter's gradient: to None (the default) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                if set_to_none:
                    p._grad = None
                elif grad._data.flags.writeable:
                    grad._data[...] = 0
                else:
                    grad._data = np.zeros_like(p._data)

    def step(self, closure=None):
        """Update the parameters once; returns ``closure()``'s loss when given.

        ``closure`` re-evaluates the model and returns the loss (it runs with grad mode
        on, so it can call ``backward``).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
            for p in group["params"]:
                if p._grad is not None:
                    mark_modified(p)  # changed in place: graphs that saved it must not use it
        return loss

    def _update_group(self, group: dict):
        raise NotImplementedError(
            f"{type(self).__name__} must implement step() or _update_group(group)"
        )

    def _params_with_grad(self, group: dict):
        """For each parameter of ``group`` that has a gradient: ``(p, its array, its
        gradient as an array of its dtype (read only), its state dict)``."""
        for p in group["params"]:
            if p._grad is not None:
                yield p, p._data, self._grad_array(p), self.state[p]

    @staticmethod
    def _grad_array(p: Tensor) -> np.ndarray:
        """The gradient of ``p`` as an array of ``p``'s dtype (never written to)."""
        grad = p._grad._data
        if grad.dtype != p._data.dtype:
            grad = grad.astype(p._data.dtype)
        return grad

    def _scratch(self, like: np.ndarray, slot: int) -> np.ndarray:
        return self._workspace.like(like, slot)

    def _effective_grad(self, theta, grad, weight_decay: float, maximize: bool):
        """``(-grad if maximize else grad) + weight_decay * theta``, PyTorch's order.

        Returns ``grad`` itself when there is nothing to do (the caller must not write
        to it), else scratch slot 0.
        """
        if weight_decay != 0:
            out = np.multiply(theta, weight_decay, out=self._scratch(theta, 0))
            if maximize:
                return np.subtract(out, grad, out=out)
            return np.add(grad, out, out=out)
        if maximize:
            return np.negative(grad, out=self._scratch(theta, 0))
        return grad

    # ----------------------------------------------------------------- state dicts
    def state_dict(self) -> dict:
        """``{"state": {index: {name: value}}, "param_groups": [{..., "params": [index]}]}``.

        Parameters are numbered in group order, as PyTorch. Arrays are copies.
        """
        indices = {}
        groups = []
        for group in self.param_groups:
            packed = {
                key: (list(value) if isinstance(value, list) else value)
                for key, value in group.items()
                if key != "params"
            }
            packed["params"] = []
            for p in group["params"]:
                indices[id(p)] = len(indices)
                packed["params"].append(indices[id(p)])
            groups.append(packed)
        state = {}
        for p, entries in self.state.items():
            if not entries or id(p) not in indices:
                continue
            state[indices[id(p)]] = {
                name: (value.copy() if isinstance(value, np.ndarray) else value)
                for name, value in entries.items()
            }
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: dict):
        """Restore ``state`` and the groups' hyperparameters from :meth:`state_dict`.

        The optimizer must have the same groups of the same sizes. Arrays are copied and
        cast to their parameter's dtype; their shapes must match.
        """
        owner = type(self).__name__
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(
                f"{owner}.load_state_dict: expected a dict with 'state' and 'param_groups'"
            )
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{owner}.load_state_dict: the state dict has {len(saved_groups)} param "
                f"groups, the optimizer {len(self.param_groups)}"
            )
        by_index = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            saved_ids = [int(k) for k in np.asarray(saved["params"]).reshape(-1)]
            if len(saved_ids) != len(group["params"]):
                raise ValueError(
                    f"{owner}.load_state_dict: param group {i} has {len(saved_ids)} "
                    f"parameters in the state dict, {len(group['params'])} in the optimizer"
                )
            by_index.update(zip(saved_ids, group["params"]))

        state = defaultdict(dict)
        for key, entries in state_dict["state"].items():
            try:
                p = by_index[int(key)]
            except (KeyError, ValueError, TypeError):
                raise ValueError(
                    f"{owner}.load_state_dict: state for parameter {key!r}, which no param "
                    "group lists"
                ) from None
            restored = {}
            for name, value in entries.items():
                if name == "step":
                    restored[name] = int(np.asarray(value).item())
                elif name in self._scalar_state:
                    restored[name] = float(np.asarray(value).item())
                elif isinstance(value, (np.ndarray, Tensor)):
                    array = np.array(np.asarray(value), dtype=p.dtype, copy=True)
                    if array.shape != p.shape:
                        raise ValueError(
                            f"{owner}.load_state_dict: state {name!r} of parameter {key} has "
                            f"shape {array.shape}, the parameter {p.shape}"
                        )
                    restored[name] = array
                else:
                    restored[name] = _coerce_like(value, None)
            state[p] = restored

        new_groups = []
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            new_group = {"params": group["params"]}
            for key, value in saved.items():
                if key != "params":
                    new_group[key] = _coerce_like(value, group.get(key, self.defaults.get(key)))
            self._validate_group(new_group, i)
            new_groups.append(new_group)
        self.state = state
        self.param_groups = new_groups

    # ----------------------------------------------------------------- display
    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            if i:
                lines.append("")  # PyTorch separates groups by an empty line
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_workspace"] = _Workspace()  # scratch, not worth pickling or deep-copying
        return state
