"""Training utilities: gradient clipping, weight penalties, flat parameter vectors.

>>> import nn
>>> from autograd_core import Tensor
>>> w = nn.Parameter([3.0, 4.0]); w.grad = Tensor([3.0, 4.0])
>>> float(nn.utils.clip_grad_norm_([w], max_norm=1.0))      # the norm before clipping
5.0
>>> [round(g, 4) for g in w.grad.tolist()]
[0.6, 0.8]
"""

import math

import numpy as np

from autograd_core.errors import ShapeError
from autograd_core.tensor import Tensor

__all__ = [
    "rnn", "clip_grad_norm_", "clip_grad_value_", "l1_penalty", "l2_penalty", "elastic_net_penalty",
    "parameters_to_vector", "vector_to_parameters",
]


def _as_list(parameters) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    total = (sum over parameters of ||g||_p^p)^(1/p) (the largest |g| for p = inf);
    when total > max_norm every gradient is multiplied by max_norm / (total + 1e-6).
    Returns the total norm before clipping, as a 0-d Tensor (``float()`` it).
    """
    params = _as_list(parameters)
    max_norm = float(max_norm)
    # A negative max_norm would make the scale factor negative and reverse every
    # gradient (PyTorch does that silently); NaN would make every gradient NaN.
    if not max_norm >= 0:
        raise ValueError(
            f"clip_grad_norm_: max_norm must be a non-negative number, got {max_norm}")
    norm_type = float(norm_type)
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be positive, got {norm_type}")
    grads = [p._grad._data for p in params if p._grad is not None]
    if not grads:
        return Tensor._make(np.asarray(0.0, dtype=np.float32))
    dtype = grads[0].dtype
    if norm_type == math.inf:
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        # accumulate in float64: a float32 sum of many squares loses digits
        acc = sum(float(np.sum(np.abs(g.astype(np.float64)) ** norm_type)) for g in grads)
        total = acc ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
            f"{total}, so they cannot be clipped; set error_if_nonfinite=False to go on"
        )
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for p in params:
            if p._grad is not None:
                g = p._grad._data
                if g.flags.writeable:
                    g *= coef
                else:
                    p._grad._data = g * coef
    return Tensor._make(np.asarray(total, dtype=dtype))


def clip_grad_value_(parameters, clip_value: float, foreach=None):
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be non-negative, got {clip_value}")
    for p in _as_list(parameters):
        if p._grad is not None:
            g = p._grad._data
            if g.flags.writeable:
                np.clip(g, -clip_value, clip_value, out=g)
            else:
                p._grad._data = np.clip(g, -clip_value, clip_value)


def _penalty_terms(parameters, op: str):
    params = _as_list(parameters)
    if not params:
        raise ValueError(f"{op}: got no parameters")
    return params


def l1_penalty(parameters) -> Tensor:
    """sum over parameters of sum |w| (lasso); add lambda * it to the loss.

    Its gradient lambda * sign(w) drives small weights to exactly 0 (sparsity).
    """
    terms = [p.abs().sum() for p in _penalty_terms(parameters, "l1_penalty")]
    return _add_all(terms)


def l2_penalty(parameters) -> Tensor:
    """sum over parameters of sum w^2 (ridge, weight decay); add lambda * it to the loss.

    Its gradient is 2 lambda w: SGD with weight_decay=2 lambda does the same thing.
    """
    terms = [(p * p).sum() for p in _penalty_terms(parameters, "l2_penalty")]
    return _add_all(terms)


def elastic_net_penalty(parameters, l1: float, l2: float) -> Tensor:
    """l1 * sum |w| + l2 * sum w^2 (elastic net), over all the parameters."""
    params = _penalty_terms(parameters, "elastic_net_penalty")
    return l1 * l1_penalty(params) + l2 * l2_penalty(params)


def _add_all(terms):
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened and joined into one 1-D tensor (a copy, no graph)."""
    params = _as_list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    return Tensor._make(np.concatenate([p._data.reshape(-1) for p in params]))


def vector_to_parameters(vector, parameters):
    """Copy the consecutive slices of a 1-D ``vector`` into the parameters, in place."""
    data = vector._data if isinstance(vector, Tensor) else np.asarray(vector)
    params = _as_list(parameters)
    total = sum(p._data.size for p in params)
    if data.ndim != 1 or data.size != total:
        raise ShapeError(
            f"vector_to_parameters: expected a 1-D vector of {total} elements, got shape "
            f"{data.shape}"
        )
    offset = 0
    for p in params:
        n = p._data.size
        p._data[...] = data[offset:offset + n].reshape(p._data.shape)
        offset += n

from nn.utils import rnn  # noqa: E402  (nn.utils.rnn, as torch.nn.utils.rnn)
