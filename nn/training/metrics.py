"""Metrics for the training loop: ``accuracy`` and the name -> function table.

>>> import numpy as np
>>> accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))
0.5
"""

import numpy as np

from autograd_core.tensor import Tensor

__all__ = ["accuracy", "resolve_metrics"]


def accuracy(outputs, targets) -> float:
    """Fraction of rows whose largest output is the target class.

    ``targets`` are class indices (N,) or class probabilities (N, K) (e.g. from mixup),
    in which case the most probable class counts.
    """
    out = outputs._data if isinstance(outputs, Tensor) else np.asarray(outputs)
    tgt = targets._data if isinstance(targets, Tensor) else np.asarray(targets)
    if tgt.ndim == out.ndim and tgt.shape == out.shape:
        tgt = tgt.argmax(axis=1)
    return float(np.mean(out.argmax(axis=1) == tgt))


_METRICS = {"accuracy": accuracy, "acc": accuracy}


def resolve_metrics(metrics):
    resolved = {}
    for metric in metrics or ():
        if isinstance(metric, str):
            if metric not in _METRICS:
                raise ValueError(f"unknown metric {metric!r}; known: {sorted(_METRICS)} or a "
                                 "callable fn(outputs, targets) -> float")
            resolved["accuracy" if metric == "acc" else metric] = _METRICS[metric]
        elif callable(metric):
            resolved[getattr(metric, "__name__", "metric")] = metric
        else:
            raise TypeError(f"metrics must be names or callables, got {metric!r}")
    return resolved
