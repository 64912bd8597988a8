"""Helpers that run one backward rule on NumPy arrays and, for ``create_graph``, on Tensors.

A twice-differentiable op writes its backward once. On an ordinary backward the rule
gets arrays and must stay as fast as before; inside ``create_graph=True`` the engine
hands it Tensors (the saved inputs and output, and the incoming gradient) and every
operation it does is recorded. Operators, the registered NumPy functions (``np.where``,
``np.exp``, ``np.sum``...) and Tensor methods already dispatch; the few steps that do
not (a saved intermediate, a mask, a cast, a scatter) go through the functions here,
which take the array path first at the cost of one type check.

The one rule to remember: an array the forward *derived* (``sigmoid(x)``, ``x - mean``)
is saved as a constant, so on the Tensor path it must be rebuilt from the input it came
from, or the second derivative would miss its dependence on ``x``: with ``rebuilt``
from a saved input, with ``from_inputs`` from the node's inputs (nothing more saved).

>>> import numpy as np
>>> from autograd_core import Tensor
>>> x = np.array([0.0, 2.0])
>>> saved = np.tanh(x)
>>> rebuilt(saved, x, np.tanh) is saved  # arrays: the saved value, nothing recomputed
True
>>> rebuilt(saved, Tensor(x, requires_grad=True), np.tanh).grad_fn is not None
True
"""

import numpy as np

from autograd_core.ops.elementwise import _array as data  # the array behind x (masks, indices)
from autograd_core.ops.elementwise import stable_sigmoid
from autograd_core.tensor import Tensor

__all__ = ["data", "rebuilt", "from_inputs", "blend", "cast", "subtract_from", "sigmoid",
           "erf", "halves", "add_at", "put_along", "add_along", "take_along", "take",
           "zero_at"]


def rebuilt(saved, source, compute):
    """``saved`` when ``source`` (a saved input or output) is an array; ``compute(source)``
    when it is a Tensor (create_graph), so the graph records how the forward derived it."""
    return compute(source) if isinstance(source, Tensor) else saved


def from_inputs(ctx, saved, compute):
    """``saved`` in an ordinary backward; in a create_graph one, ``compute(*inputs)`` from
    the node's inputs as Tensors of the graph (``ctx.inputs``). Nothing beyond ``saved``
    is kept for the array path: an input the rule does not otherwise need is not saved
    (and held in memory) just for the rare second derivative."""
    if ctx._saved_view is None:  # the engine sets the view only on the create_graph path
        return saved
    inputs = ctx.inputs
    for i, x in enumerate(inputs):
        # not saved, so Context.check_versions cannot see it: the same check here
        if isinstance(x, Tensor) and x._version > ctx.epoch:
            raise RuntimeError(
                f"backward: input {i} of {ctx.op_name} (shape {x.shape}) was modified in "
                "place after the forward pass, so the gradient of its gradient would be "
                "wrong. Make in-place changes after the backward, or use an out-of-place op."
            )
    return compute(*inputs)


def _dtype(*values):
    for v in values:
        if isinstance(v, (Tensor, np.ndarray, np.generic)):
            return v.dtype
    return np.result_type(*values)


def blend(mask, a, b):
    """a where the boolean array ``mask`` else b, exactly, as m a + (1 - m) b.

    (np.where with an unpredictable mask is ~10x slower than this arithmetic; 0 * b and
    1 * a round to nothing, so the result equals np.where bit for bit.) ``a`` and ``b``
    may be Tensors; the mask is a constant.
    """
    m = mask.astype(_dtype(a, b))
    return m * a + (1 - m) * b


def subtract_from(target, value):
    """target - value: in place into ``target`` on arrays (a fresh array the rule owns,
    which saves an allocation), a recorded subtraction on Tensors."""
    if isinstance(target, Tensor) or isinstance(value, Tensor):
        return target - value
    target -= value
    return target


def cast(x, dtype):
    """``x`` as ``dtype`` (no copy when it already is), array or Tensor."""
    if isinstance(x, Tensor):
        return x if x.dtype == dtype else x.to(dtype)
    return x.astype(dtype, copy=False)


def sigmoid(x):
    """The logistic function without overflow, on arrays or as the recorded op."""
    if isinstance(x, Tensor):
        return x.sigmoid()
    return stable_sigmoid(x)


def erf(x):
    """erf elementwise: the Numba kernel on arrays, the recorded ``Erf`` op on Tensors."""
    if isinstance(x, Tensor):
        return x.erf()
    from autograd_core.kernels.recurrent import erf as erf_kernel

    return erf_kernel(x)


def halves(x, dim):
    """The two halves of ``x`` along ``dim`` (as views of arrays, as ops on Tensors)."""
    if isinstance(x, Tensor):
        return x.chunk(2, dim=dim)
    return np.split(x, 2, axis=dim)


def add_at(shape, index, values):
    """An array of ``shape`` with ``values`` added at ``index`` (NumPy indexing; repeated
    positions accumulate): ``np.add.at`` on arrays, a recorded scatter-add on Tensors
    (GetItem's adjoint, whose own gradient is the gather ``grad[index]``)."""
    from autograd_core.ops.movement import _scatter_add, _ScatterAdd

    if isinstance(values, Tensor):
        return _ScatterAdd.apply(values, index=index, shape=tuple(shape))
    return _scatter_add(values, index, tuple(shape))


def _along_mask(shape, index, axis):
    mask = np.zeros(shape, dtype=bool)
    np.put_along_axis(mask, index, True, axis)
    return mask


def put_along(shape, index, values, axis):
    """Zeros of ``shape`` with ``values`` at ``index`` along ``axis`` (the positions of
    ``np.put_along_axis``; ``values`` broadcast against ``index``)."""
    if isinstance(values, Tensor):
        return np.where(_along_mask(shape, index, axis), values, 0)
    out = np.zeros(shape, dtype=values.dtype)
    np.put_along_axis(out, index, values, axis)
    return out


def add_along(target, index, values, axis):
    """``target`` plus ``values`` at ``index`` along ``axis`` (in place on arrays: only the
    picked elements are touched; a recorded masked add on Tensors)."""
    if isinstance(target, Tensor) or isinstance(values, Tensor):
        return target + np.where(_along_mask(target.shape, index, axis), values, 0)
    np.put_along_axis(target, index, np.take_along_axis(target, index, axis) + values, axis)
    return target


def take_along(values, index, axis):
    """``np.take_along_axis`` on arrays, the recorded ``gather`` on Tensors."""
    if isinstance(values, Tensor):
        return values.take_along_dim(np.asarray(index), axis)
    return np.take_along_axis(values, index, axis)


def take(values, index, axis):
    """``np.take(values, index, axis)`` on arrays, the recorded ``index_select`` on Tensors."""
    if isinstance(values, Tensor):
        return values.index_select(axis, np.asarray(index))
    return np.take(values, index, axis=axis)


def zero_at(values, index):
    """A copy of ``values`` with 0 at ``index`` (NumPy indexing): an assignment into a
    copy on arrays, a product with the constant mask of kept elements on Tensors."""
    if isinstance(values, Tensor):
        kept = np.ones(values.shape, dtype=bool)
        kept[index] = False
        return values * kept
    out = np.array(values, copy=True)
    out[index] = 0
    return out
