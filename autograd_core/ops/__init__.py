"""The ops: forward/backward pairs (``Function`` subclasses) and their functional forms.

Grouped by kind: ``elementwise``, ``reduce``, ``movement``, ``linalg``, ``conv``, ``pool``.
The functions here take Tensors (or numbers and arrays, treated as constants) and are
re-exported from ``autograd_core``.

>>> from autograd_core import Tensor, cat
>>> cat([Tensor([1.0]), Tensor([2.0, 3.0])]).tolist()
[1.0, 2.0, 3.0]
"""

import numpy as np

from autograd_core._keywords import keyword_aliases
from autograd_core.errors import DTypeError, ShapeError
from autograd_core.ops import elementwise, linalg, movement, reduce
from autograd_core.ops._shapes import normalize_dim, unbroadcast
from autograd_core.tensor import Tensor

__all__ = [
    "cat", "concatenate", "stack", "where", "maximum", "minimum", "matmul", "linear",
    "unbroadcast", "exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu",
]


def _as_sequence(tensors, op):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op} expects a list or tuple of tensors, got {type(tensors).__name__}")
    if len(tensors) == 0:
        raise ValueError(f"{op} needs at least one tensor")
    return tuple(tensors)


@keyword_aliases(ts="tensors")
def cat(tensors, dim=0) -> Tensor:
    """Join tensors along an existing dim; all other dims must match.

    dL/dx_i is the slice of dL/dy that x_i occupies.
    """
    tensors = _as_sequence(tensors, "cat")
    shapes = [np.shape(t) for t in tensors]
    ndim = len(shapes[0])
    if ndim == 0:
        raise ShapeError("cat: zero-dimensional tensors cannot be concatenated; use stack")
    axis = normalize_dim(dim, ndim, "cat")
    for i, shape in enumerate(shapes):
        if len(shape) != ndim or shape[:axis] + shape[axis + 1:] != \
                shapes[0][:axis] + shapes[0][axis + 1:]:
            raise ShapeError(
                f"cat: tensors must have the same shape except in dim {dim}; tensor 0 has "
                f"shape {shapes[0]} and tensor {i} has shape {shape}"
            )
    return movement.Cat.apply(*tensors, dim=axis)


concatenate = cat


@keyword_aliases(ts="tensors")
def stack(tensors, dim=0) -> Tensor:
    """Join same-shaped tensors along a new dim ``dim``."""
    tensors = _as_sequence(tensors, "stack")
    shapes = [np.shape(t) for t in tensors]
    for i, shape in enumerate(shapes):
        if shape != shapes[0]:
            raise ShapeError(
                f"stack: all tensors must have the same shape; tensor 0 has shape "
                f"{shapes[0]} and tensor {i} has shape {shape}"
            )
    axis = normalize_dim(dim, len(shapes[0]), "stack", new_axis=True)
    return movement.Stack.apply(*tensors, dim=axis)


@keyword_aliases(cond="condition")
def where(condition, a, b) -> Tensor:
    """Elementwise choice: ``a`` where ``condition`` is true, else ``b`` (broadcasting)."""
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise DTypeError(f"where: the condition must be a bool tensor, got dtype {cond.dtype}")
    return elementwise.Where.apply(cond, a, b)


def maximum(a, b) -> Tensor:
    """Elementwise maximum; on ties each input gets half the gradient."""
    return elementwise.Maximum.apply(a, b)


def minimum(a, b) -> Tensor:
    """Elementwise minimum; on ties each input gets half the gradient."""
    return elementwise.Minimum.apply(a, b)


def matmul(a, b) -> Tensor:
    return linalg.MatMul.apply(a, b)


def linear(x, weight, bias=None) -> Tensor:
    """y = x W^T + b in one node (``torch.nn.functional.linear``)."""
    return linalg.Linear.apply(x, weight, bias)


def exp(x) -> Tensor:
    """e^x elementwise (``x.exp()``)."""
    return elementwise.Exp.apply(x)


def log(x) -> Tensor:
    """Natural logarithm elementwise (``x.log()``)."""
    return elementwise.Log.apply(x)


def sqrt(x) -> Tensor:
    return elementwise.Sqrt.apply(x)


def abs(x) -> Tensor:  # noqa: A001 - the torch name
    return elementwise.Abs.apply(x)


def sin(x) -> Tensor:
    return elementwise.Sin.apply(x)


def cos(x) -> Tensor:
    return elementwise.Cos.apply(x)


def tanh(x) -> Tensor:
    return elementwise.Tanh.apply(x)


def sigmoid(x) -> Tensor:
    return elementwise.Sigmoid.apply(x)


def relu(x) -> Tensor:
    return elementwise.Relu.apply(x)
