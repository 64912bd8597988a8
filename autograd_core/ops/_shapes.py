"""Shape helpers shared by every op: broadcasting's reduction and dim checks.

Broadcasting copies an input along new leading axes and along axes of size 1. In
backward each copy received its own gradient, so the input's gradient is the sum over
those copies::

    y = x + b,  x: (N, D), b: (D,)    =>    dL/db = sum_n dL/dy[n, :]

:func:`unbroadcast` is the one place where that sum is done (the engine calls it for
every input whose gradient comes back in the broadcast shape).

>>> import numpy as np
>>> unbroadcast(np.ones((4, 3)), (3,)).tolist()
[4.0, 4.0, 4.0]
"""

import numpy as np

from autograd_core.errors import DimensionError, ShapeError

__all__ = ["unbroadcast", "normalize_dim", "normalize_dims", "broadcast_shapes"]


def unbroadcast(grad: np.ndarray, shape: tuple, op: str = "backward") -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched to reach ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        raise ShapeError(
            f"{op}: gradient of shape {grad.shape} has fewer dims than its input {shape}"
        )
    axes = tuple(range(extra)) + tuple(
        extra + i
        for i, size in enumerate(shape)
        if size == 1 and grad.shape[extra + i] != 1
    )
    reduced = grad.sum(axis=axes, keepdims=True) if axes else grad
    if reduced.size != int(np.prod(shape)):
        raise ShapeError(
            f"{op}: gradient of shape {grad.shape} does not broadcast to its input's "
            f"shape {shape}"
        )
    return reduced.reshape(shape)


def broadcast_shapes(*shapes, op: str = "broadcast") -> tuple:
    """NumPy's broadcast result shape, or a ShapeError that names the op and the shapes."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        listed = " and ".join(str(tuple(s)) for s in shapes)
        raise ShapeError(f"{op}: cannot broadcast shapes {listed}") from None


def normalize_dim(dim, ndim: int, op: str, new_axis: bool = False) -> int:
    """A single dim in ``[-ndim, ndim)`` as a non-negative axis (0-d tensors accept 0/-1).

    With ``new_axis`` (unsqueeze, stack) the dim names a position for an inserted axis,
    so ``[-ndim - 1, ndim]`` is valid.
    """
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    bound = ndim + 1 if new_axis else max(ndim, 1)
    if not -bound <= dim < bound:
        raise DimensionError(
            f"{op}: dim {dim} is out of range for a tensor with {ndim} dimension(s) "
            f"(expected a dim in [{-bound}, {bound - 1}])"
        )
    return int(dim) % bound


def normalize_dims(dim, ndim: int, op: str):
    """``None`` (all axes) or a sorted tuple of distinct non-negative axes."""
    if dim is None:
        return None
    dims = (dim,) if not isinstance(dim, (tuple, list)) else tuple(dim)
    axes = tuple(sorted(normalize_dim(d, ndim, op) for d in dims))
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dim {dim!r} names the same axis twice")
    if ndim == 0:
        return None  # reducing a 0-d tensor over dim 0 is the identity, as in PyTorch
    return axes
