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

__all__ = ["unbroadcast", "normalize_dim", "normalize_dims", "broadcast_shapes",
           "broadcast_shape", "shape_arg", "resolve_shape"]


def unbroadcast(grad, shape: tuple, op: str = "backward"):
    """Sum ``grad`` over the axes that broadcasting added or stretched to reach ``shape``
    (arrays, or Tensors for gradients of gradients)."""
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
    if int(np.prod(reduced.shape)) != int(np.prod(shape)):
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


def broadcast_shape(a: tuple, b: tuple, op: str) -> tuple:
    """The broadcast shape of two shapes, from the shapes alone (NumPy's rule: align on
    the right; each pair of sizes must be equal or contain a 1), or a ShapeError.

    >>> broadcast_shape((4, 1, 3), (2, 1), "Add")
    (4, 2, 3)
    """
    if len(a) < len(b):
        a, b = b, a
    offset = len(a) - len(b)
    out = list(a)
    for i, size in enumerate(b):
        other = a[offset + i]
        if size == other or size == 1:
            continue
        if other == 1:
            out[offset + i] = size
        else:
            raise ShapeError(f"{op}: cannot broadcast shapes {tuple(a)} and {tuple(b)}")
    return tuple(out)


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


def shape_arg(shape, op: str = "shape") -> tuple:
    """Accept both ``f(2, 3)`` and ``f((2, 3))`` (a list or Size too) as a tuple of ints."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for size in shape:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            raise TypeError(f"{op}: shape entries must be ints, got {size!r} in {shape}")
    return tuple(int(s) for s in shape)


def resolve_shape(shape: tuple, size: int, old_shape: tuple, op: str) -> tuple:
    """Fill in one -1 and check that the element counts agree (a ShapeError if not)."""
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise ShapeError(f"{op}: only one dimension can be -1, got shape {shape}")
    if any(s < -1 for s in shape):
        raise ShapeError(f"{op}: invalid shape {shape}")
    known = int(np.prod([s for s in shape if s != -1]))
    if unknown:
        if known == 0 or size % known:
            raise ShapeError(
                f"{op}: cannot reshape a tensor of shape {old_shape} ({size} elements) "
                f"into shape {shape}"
            )
        shape = tuple(size // known if s == -1 else s for s in shape)
    elif known != size:
        raise ShapeError(
            f"{op}: cannot reshape a tensor of shape {old_shape} ({size} elements) into "
            f"shape {shape} ({known} elements)"
        )
    return shape
