"""Reductions: sum, mean, max, min, var, logsumexp, softmax and log_softmax.

A reduction over axes R copies nothing forward, so backward spreads the gradient back
over R: it re-inserts the reduced axes (size 1) and broadcasts to the input's shape.

    sum:        dL/dx = broadcast(dL/dy)
    mean:       dL/dx = broadcast(dL/dy) / |R|
    max:        dL/dx = broadcast(dL/dy) at the maximum (shared evenly between ties)
    var:        dL/dx = broadcast(dL/dy) * 2 (x - mean) / (|R| - correction)
    logsumexp:  dL/dx = broadcast(dL/dy) * exp(x - y)       (= softmax(x))

``dim`` is None (all axes), an int, or a tuple of ints; negative dims count from the end.

>>> from autograd_core import Tensor
>>> x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> x.mean(dim=0).tolist()
[2.0, 3.0]
"""

import warnings
from collections import namedtuple

import numpy as np

from autograd_core.errors import DTypeError
from autograd_core.function import Function
from autograd_core.kernels.softmax import log_softmax_last_axis
from autograd_core.ops._dual import data, rebuilt
from autograd_core.ops._formula import (
    Custom,
    axis_code,
    dtype_literal,
    element_count,
    kept,
    literal,
    reduce_args,
)
from autograd_core.ops._registry import public
from autograd_core.ops._shapes import normalize_dim, normalize_dims
from autograd_core.ops.elementwise import maximum, minimum
from autograd_core.tensor import Tensor

__all__ = ["Sum", "Mean", "Max", "Min", "Var", "LogSumExp", "Softmax", "LogSoftmax"]


def _expand_reduced(grad, axes, keepdim: bool, shape: tuple):
    """Put the reduced axes back (size 1) and broadcast ``grad`` to ``shape`` (a view).

    Written with ``reshape`` and ``np.broadcast_to`` so it runs on arrays and, for
    gradients of gradients, on Tensors.
    """
    if not keepdim and axes is not None:
        grad = grad.reshape(tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return np.broadcast_to(grad, shape)


def _count(shape: tuple, axes) -> int:
    if axes is None:
        return int(np.prod(shape))
    return int(np.prod([shape[a] for a in axes]))


def _sum_backward(v, i):
    return f"np.broadcast_to({kept(v, v.g)}, {literal(v.shape(0))})"


class Sum(Function):
    """y = sum over ``dim`` of x;  dy/dx = 1 for every summed element."""

    twice_differentiable = True

    formula = Custom(
        "Σ", lambda v: [f"{v.out} = np.sum({v.args[0]}{reduce_args(v)})"], _sum_backward,
        lambda v, i: "1 (each summed element)")

    @staticmethod
    def forward(ctx, x, *, dim=None, keepdim=False):
        ctx.shape = x.shape
        return np.sum(x, axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        return _expand_reduced(grad, ctx.options["dim"], ctx.options["keepdim"], ctx.shape)


def _mean_backward(v, i):
    n = element_count(v.shape(0), v.opt.get("dim"))
    return f"np.broadcast_to({kept(v, f'{v.g} / {n}')}, {literal(v.shape(0))})"


class Mean(Function):
    """y = mean over ``dim`` of x;  dy/dx = 1 / n for the n averaged elements."""

    twice_differentiable = True

    formula = Custom(
        "mean", lambda v: [f"{v.out} = np.mean({v.args[0]}{reduce_args(v)})"], _mean_backward,
        lambda v, i: f"1/{element_count(v.shape(0), v.opt.get('dim'))}")

    @staticmethod
    def forward(ctx, x, *, dim=None, keepdim=False):
        ctx.shape = x.shape
        return np.mean(x, axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        dim, keepdim = ctx.options["dim"], ctx.options["keepdim"]
        scaled = grad / _count(ctx.shape, dim)
        return _expand_reduced(scaled, dim, keepdim, ctx.shape)


def _extreme_backward(ctx, grad, pick):
    """Route the gradient of max/min to the extreme element(s).

    For a single ``dim`` the gradient goes to the first extreme along it (PyTorch's
    ``max(dim)``); for all axes or several it is shared evenly between ties (``amax``).
    """
    x, out_keep = ctx.saved_tensors
    dim, keepdim = ctx.options["dim"], ctx.options["keepdim"]
    grad_keep = grad if keepdim or dim is None else np.expand_dims(grad, dim)
    if dim is not None and len(dim) == 1:
        axis = dim[0]
        values = x._data if isinstance(x, Tensor) else x
        index = pick(values, axis=axis, keepdims=True)
        if isinstance(grad, Tensor):  # create_graph: a mask that records as a where
            first = np.zeros(values.shape, dtype=bool)
            np.put_along_axis(first, index, True, axis=axis)
            return np.where(first, grad_keep, 0)
        grad_x = np.zeros(x.shape, dtype=grad.dtype)
        np.put_along_axis(grad_x, index, grad_keep, axis=axis)
        return grad_x
    # A NaN is the maximum of anything it is in (as in PyTorch): it gets the gradient.
    hits = (x == out_keep) | (np.isnan(x) & np.isnan(out_keep))
    counts = np.sum(hits, axis=dim, keepdims=True)
    return grad_keep * hits / counts


class _Extreme(Function):
    """max or min over ``dim``: the gradient goes to the extreme element(s)."""

    twice_differentiable = True

    reduce_fn = staticmethod(np.max)
    pick_fn = staticmethod(np.argmax)

    @classmethod
    def forward(cls, ctx, x, *, dim=None, keepdim=False):
        if x.size == 0:
            raise ValueError(f"{cls.__name__.lower()}: cannot reduce an empty tensor")
        out_keep = cls.reduce_fn(x, axis=dim, keepdims=True)
        ctx.save_for_backward(x, out_keep)
        return out_keep if keepdim else np.squeeze(out_keep, axis=dim)

    @classmethod
    def backward(cls, ctx, grad):
        return _extreme_backward(ctx, grad, cls.pick_fn)


def _extreme_rule(np_name, arg_name, word):
    def forward(v):
        return [f"{v.out} = np.{np_name}({v.args[0]}{reduce_args(v)})"]

    def backward(v, i):
        dim = v.opt.get("dim")
        grad_keep = kept(v, v.g)
        x = v.args[0]
        if dim is not None and len(dim) == 1:
            axis = dim[0]
            t = v.tmp("grad")
            setup = [
                f"{t} = np.zeros({literal(v.shape(0))}, dtype={dtype_literal(v.grad_dtype)})",
                f"np.put_along_axis({t}, np.{arg_name}({x}, axis={axis}, keepdims=True), "
                f"{grad_keep}, axis={axis})",
            ]
            return setup, t
        out_keep = kept(v, v.out)
        hits = f"({x} == {out_keep})"
        if np.isnan(v.value(0)).any():  # the engine lets a NaN maximum take the gradient
            hits = f"(({x} == {out_keep}) | (np.isnan({x}) & np.isnan({out_keep})))"
        return f"{grad_keep} * {hits} / np.sum({hits}, axis={axis_code(dim)}, keepdims=True)"

    return Custom(np_name, forward, backward, lambda v, i: f"1 at the {word}, else 0")


class Max(_Extreme):
    """y = max over ``dim`` of x;  dy/dx = 1 at the maximum, 0 elsewhere."""

    formula = _extreme_rule("max", "argmax", "max")

    reduce_fn = staticmethod(np.max)
    pick_fn = staticmethod(np.argmax)


class Min(_Extreme):
    """y = min over ``dim`` of x;  dy/dx = 1 at the minimum, 0 elsewhere."""

    formula = _extreme_rule("min", "argmin", "min")

    reduce_fn = staticmethod(np.min)
    pick_fn = staticmethod(np.argmin)


def _degrees_of_freedom(v) -> int:
    return max(element_count(v.shape(0), v.opt.get("dim")) - v.opt.get("correction", 1), 0)


def _var_forward(v):
    dim, keepdim = v.opt.get("dim"), v.opt.get("keepdim", False)
    dof = max(element_count(v.shape(0), dim) - v.opt.get("correction", 1), 0)
    c = v.tmp("centered")
    return [
        f"{c} = {v.args[0]} - np.mean({v.args[0]}, axis={axis_code(dim)}, keepdims=True)",
        f"{v.out} = np.sum({c} * {c}, axis={axis_code(dim)}, keepdims={keepdim!r}) / {dof}",
    ]


def _var_backward(v, i):
    dof = max(element_count(v.shape(0), v.opt.get("dim")) - v.opt.get("correction", 1), 0)
    scale = f"(2 / {dof})" if dof else "np.nan"  # no degrees of freedom: nan, as the engine
    return f"{kept(v, v.g)} * {scale} * {v.tmp('centered')}"


class Var(Function):
    """y = sum (x - mean)^2 / (n - correction);  dy/dx = 2 (x - mean) / (n - correction).

    ``correction=1`` is the unbiased estimate (PyTorch's default), 0 the biased one.
    """

    twice_differentiable = True

    formula = Custom(
        "var", _var_forward, _var_backward,
        lambda v, i: f"2({v.args[0]} − mean)/{_degrees_of_freedom(v)}")

    @staticmethod
    def forward(ctx, x, *, dim=None, keepdim=False, correction=1):
        centered = x - np.mean(x, axis=dim, keepdims=True)
        dof = max(_count(x.shape, dim) - correction, 0)
        ctx.save_for_backward(centered, x)
        ctx.dof = dof
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(centered * centered, axis=dim, keepdims=keepdim) / dof

    @staticmethod
    def backward(ctx, grad):
        centered, x = ctx.saved_tensors
        dim, keepdim = ctx.options["dim"], ctx.options["keepdim"]
        if isinstance(x, Tensor):  # create_graph: the centring must record too
            centered = x - np.mean(x, axis=dim, keepdims=True)
        grad = grad if keepdim or dim is None else np.expand_dims(grad, dim)
        # n - correction = 0 (one value, unbiased): nan, as PyTorch, not ZeroDivisionError
        scale = 2 / ctx.dof if ctx.dof else np.nan
        return grad * scale * centered


def _stable_max(x: np.ndarray, dim) -> np.ndarray:
    """max over ``dim`` (kept), with infinite maxima replaced by 0 so x - m stays finite;
    0 over an empty ``dim`` (a softmax of nothing is empty, a logsumexp -inf)."""
    if np.size(x) == 0:
        return np.zeros_like(np.sum(x, axis=dim, keepdims=True))
    m = np.max(x, axis=dim, keepdims=True)
    return np.where(np.isfinite(m), m, 0)


def _lse_forward(v):
    dim, keepdim = v.opt.get("dim"), v.opt.get("keepdim", False)
    m, k = v.tmp("max"), v.tmp("keep")
    x = v.args[0]
    lines = [
        f"{m} = stable_max({x}, {axis_code(dim)})",
        f"{k} = {m} + np.log(np.sum(np.exp({x} - {m}), axis={axis_code(dim)}, keepdims=True))",
    ]
    if keepdim:
        lines.append(f"{v.out} = {k}")
    else:
        lines.append(f"{v.out} = np.squeeze({k}, axis={axis_code(dim)})")
    return lines


def _lse_backward(v, i):
    weights = f"np.exp({v.args[0]} - {v.tmp('keep')})"
    if np.isneginf(v.output._data).any():  # slices of only -inf get 0, as in the engine
        weights = f"np.where(np.isneginf({v.tmp('keep')}), 0, {weights})"
    return f"{kept(v, v.g)} * {weights}"


class LogSumExp(Function):
    """y = log sum exp(x) = m + log sum exp(x - m) with m = max x;  dy/dx = exp(x - y)."""

    twice_differentiable = True

    formula = Custom(
        "logΣexp", _lse_forward, _lse_backward,
        lambda v, i: f"softmax({v.args[0]})", helpers=["stable_max"])

    @staticmethod
    def forward(ctx, x, *, dim=None, keepdim=False):
        m = _stable_max(x, dim)
        with np.errstate(divide="ignore"):
            out_keep = m + np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True))
        ctx.save_for_backward(x, out_keep)
        return out_keep if keepdim else np.squeeze(out_keep, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        x, out_keep = ctx.saved_tensors
        dim, keepdim = ctx.options["dim"], ctx.options["keepdim"]
        grad = grad if keepdim or dim is None else np.expand_dims(grad, dim)
        if isinstance(x, Tensor):
            # create_graph: y must depend on x in the recorded graph (the saved y is a
            # constant), so it is recomputed from x around the same shift
            shift = np.asarray(out_keep)
            finite = np.where(np.isfinite(shift), shift, 0)
            out_keep = finite + np.log(np.sum(np.exp(x - finite), axis=dim, keepdims=True))
        # a slice of only -inf has logsumexp -inf and weights exp(-inf - -inf) = nan;
        # its elements have no influence, so their gradient is 0 (as PyTorch)
        with np.errstate(invalid="ignore"):
            weights = np.exp(x - out_keep)
        return grad * np.where(np.isneginf(np.asarray(out_keep)), 0, weights)


def _softmax_forward(v):
    e, dim, x = v.tmp("exp"), v.opt["dim"], v.args[0]
    return [f"{e} = np.exp({x} - stable_max({x}, {dim}))",
            f"{v.out} = {e} / np.sum({e}, axis={dim}, keepdims=True)"]


class Softmax(Function):
    """y_i = exp(x_i - m) / sum_j exp(x_j - m) along ``dim``;  dL/dx = y (g - sum(g y))."""

    twice_differentiable = True

    formula = Custom(
        "softmax", _softmax_forward,
        lambda v, i: f"{v.out} * ({v.g} - np.sum({v.g} * {v.out}, axis={v.opt['dim']}, "
                     "keepdims=True))",
        lambda v, i: "diag(y) − y yᵀ", helpers=["stable_max"])

    @staticmethod
    def forward(ctx, x, *, dim):
        e = np.exp(x - _stable_max(x, dim))
        out = e / np.sum(e, axis=dim, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        dim = ctx.options["dim"]
        return out * (grad - np.sum(grad * out, axis=dim, keepdims=True))


def log_softmax_array(x: np.ndarray, dim: int) -> np.ndarray:
    """``x - m - log(sum(exp(x - m)))`` along ``dim`` on an array, ``m`` the stable max:
    ``LogSoftmax``'s forward and the losses' (``ops.loss.log_softmax``).  Float32 rows
    of ``kernels.softmax.LOG_SOFTMAX_MIN_ELEMENTS`` or more along the last axis take the
    fused kernel; the rest this formula (the flat code's)."""
    if dim in (-1, np.ndim(x) - 1):
        fused = log_softmax_last_axis(x)
        if fused is not None:
            return fused
    shifted = x - _stable_max(x, dim)
    with np.errstate(divide="ignore"):  # log(0) = -inf: an all -inf row, or no entries
        return shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))


def _log_softmax_forward(v):
    sh, dim, x = v.tmp("shifted"), v.opt["dim"], v.args[0]
    return [f"{sh} = {x} - stable_max({x}, {dim})",
            f"{v.out} = {sh} - np.log(np.sum(np.exp({sh}), axis={dim}, keepdims=True))"]


class LogSoftmax(Function):
    """y = x - logsumexp(x) along ``dim``;  dL/dx = g - softmax(x) sum(g)."""

    twice_differentiable = True

    formula = Custom(
        "log_softmax", _log_softmax_forward,
        lambda v, i: f"{v.g} - np.exp({v.out}) * np.sum({v.g}, axis={v.opt['dim']}, "
                     "keepdims=True)",
        lambda v, i: "1 − softmax", helpers=["stable_max"])

    @staticmethod
    def forward(ctx, x, *, dim):
        out = log_softmax_array(x, dim)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        dim = ctx.options["dim"]
        return grad - np.exp(out) * np.sum(grad, axis=dim, keepdims=True)


# --------------------------------------------------------------------- functional forms
class return_types:  # noqa: N801 - torch.return_types
    """The named tuples reductions over one dim return, as ``torch.return_types``."""

    max = namedtuple("max", ["values", "indices"])
    min = namedtuple("min", ["values", "indices"])


def _dim(dim, axis, op):
    """``dim``, or NumPy's spelling ``axis`` (PyTorch accepts both)."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}() got both 'dim' and 'axis'")
        return axis
    return dim


def _keep(keepdim, keepdims):
    return keepdim if keepdims is None else keepdims


@public(name="sum", numpy=(np.sum,), ops=(Sum,))
def sum_(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):  # noqa: A001
    """Sum over ``dim`` (all dims when None); ``dtype`` casts first."""
    x = _cast(input, dtype)
    axes = normalize_dims(_dim(dim, axis, "sum"), x.ndim, "sum")
    return Sum.apply(x, dim=axes, keepdim=bool(_keep(keepdim, keepdims)))


@public(numpy=(np.mean,), ops=(Mean,))
def mean(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """Mean over ``dim`` (all dims when None); floating-point tensors only."""
    x = _cast(input, dtype)
    if x.dtype.kind != "f":
        raise DTypeError(f"mean needs a floating-point tensor, got {x.dtype}; "
                         "pass dtype=float32 or call .float() first")
    axes = normalize_dims(_dim(dim, axis, "mean"), x.ndim, "mean")
    return Mean.apply(x, dim=axes, keepdim=bool(_keep(keepdim, keepdims)))


def _extreme(op_class, result, pick, name):
    def fn(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
        x = _tensor(input)
        dim = _dim(dim, axis, name)
        keepdim = bool(_keep(keepdim, keepdims))
        if isinstance(dim, Tensor):  # torch.max(a, b): the elementwise form
            return (maximum if name == "max" else minimum)(x, dim)
        if dim is None:
            return op_class.apply(x, dim=None, keepdim=False)
        if isinstance(dim, (tuple, list)):
            raise TypeError(f"{name}(dim) takes one dim; use a{name}(dim=...) for several")
        axes = normalize_dims(dim, x.ndim, name)
        values = op_class.apply(x, dim=axes, keepdim=keepdim)
        return result(values, _arg(x, dim, keepdim, pick, name))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"The {name}imum of all elements, or over one ``dim`` the named tuple "
                  f"``(values, indices)`` (``torch.{name}``); ``{name}(a, b)`` is "
                  f"``{name}imum``. The gradient goes to the first extreme along ``dim``.")
    return fn


max_ = public(ops=(Max,))(_extreme(Max, return_types.max, np.argmax, "max"))
min_ = public(ops=(Min,))(_extreme(Min, return_types.min, np.argmin, "min"))


def _amax_amin(op_class, name, np_fns):
    def fn(input, dim=(), keepdim=False, *, axis=None, keepdims=None, out=None, **unused):
        x = _tensor(input)
        dim = _dim(None if dim == () else dim, axis, name)
        axes = normalize_dims(dim, x.ndim, name)
        return op_class.apply(x, dim=axes, keepdim=bool(_keep(keepdim, keepdims)))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"The extreme values over ``dim`` (all dims when empty), gradient shared "
                  f"evenly between ties (``torch.{name}``).")
    return public(numpy=np_fns, ops=(op_class,))(fn)


amax = _amax_amin(Max, "amax", (np.amax, np.max))
amin = _amax_amin(Min, "amin", (np.amin, np.min))


def _correction(unbiased, correction, ddof, op):
    if ddof is not None:
        correction = ddof
    if correction is None:
        correction = 1 if unbiased in (None, True) else 0
    return correction


@public(numpy=(np.var,), ops=(Var,))
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
        keepdims=None, ddof=None):
    """Variance over ``dim``: sum (x - mean)^2 / (n - correction); ``correction=1``
    (PyTorch's default, ``unbiased=True``) or 0. One element with correction 1 gives
    nan with a warning, as in PyTorch."""
    x = _tensor(input)
    if isinstance(unbiased, (int, tuple, list)) and not isinstance(unbiased, bool):
        dim, unbiased = unbiased, None  # var(x, 0): dim given positionally after input
    axes = normalize_dims(_dim(dim, axis, "var"), x.ndim, "var")
    correction = _correction(unbiased, correction, ddof, "var")
    count = element_count_of(x.shape, axes)
    if count - correction <= 0:
        warnings.warn(f"var: degrees of freedom <= 0 for {count} element(s) with "
                      f"correction={correction}; the result is nan", RuntimeWarning,
                      stacklevel=2)
    return Var.apply(x, dim=axes, keepdim=bool(_keep(keepdim, keepdims)),
                     correction=correction)


@public(numpy=(np.std,), ops=(Var,))
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
        keepdims=None, ddof=None):
    """Standard deviation: the square root of :func:`var` (same arguments)."""
    return var(input, dim, unbiased, keepdim, correction=correction, axis=axis,
               keepdims=keepdims, ddof=ddof).sqrt()


@public(ops=(LogSumExp,))
def logsumexp(input, dim, keepdim=False):
    """log sum exp over ``dim``, computed without overflow."""
    x = _tensor(input)
    axes = normalize_dims(dim, x.ndim, "logsumexp")
    return LogSumExp.apply(x, dim=axes, keepdim=keepdim)


@public(ops=(Softmax,))
def softmax(input, dim, dtype=None):
    """e^x / sum e^x over ``dim``."""
    x = _cast(input, dtype)
    return Softmax.apply(x, dim=normalize_dim(dim, x.ndim, "softmax"))


@public(ops=(LogSoftmax,))
def log_softmax(input, dim, dtype=None):
    """x - logsumexp(x) over ``dim``."""
    x = _cast(input, dtype)
    return LogSoftmax.apply(x, dim=normalize_dim(dim, x.ndim, "log_softmax"))


def _arg(x, dim, keepdim, pick, op):
    if dim is None:
        return Tensor._make(np.asarray(pick(x._data), dtype=np.int64))
    axis = normalize_dim(dim, x.ndim, op)
    if x.ndim == 0:
        return Tensor._make(np.asarray(0, dtype=np.int64))
    return Tensor._make(np.asarray(pick(x._data, axis=axis, keepdims=keepdim), dtype=np.int64))


@public(numpy=(np.argmax,))
def argmax(input, dim=None, keepdim=False, *, axis=None):
    """Index of the largest value (over the flattened tensor when ``dim`` is None)."""
    return _arg(_tensor(input), _dim(dim, axis, "argmax"), keepdim, np.argmax, "argmax")


@public(numpy=(np.argmin,))
def argmin(input, dim=None, keepdim=False, *, axis=None):
    """Index of the smallest value (over the flattened tensor when ``dim`` is None)."""
    return _arg(_tensor(input), _dim(dim, axis, "argmin"), keepdim, np.argmin, "argmin")


def _logical(np_fn, name):
    def fn(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
        x = _tensor(input)
        axes = normalize_dims(_dim(dim, axis, name), x.ndim, name)
        return Tensor._make(np.asarray(np_fn(x._data, axis=axes,
                                             keepdims=bool(_keep(keepdim, keepdims)))))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Whether {name} elements (over ``dim``) are true, as a bool tensor."
    return public(numpy=(np_fn,))(fn)


all_ = _logical(np.all, "all")
any_ = _logical(np.any, "any")


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _cast(x, dtype):
    x = _tensor(x)
    return x if dtype is None else x.to(dtype)


def element_count_of(shape, axes) -> int:
    return _count(shape, axes)


# --------------------------------------------------------------------- more reductions (issue 13)
# The named tuples PyTorch returns from the ops below (torch.return_types.<name>).
for _name in ("sort", "topk", "kthvalue", "median", "mode", "cummax", "cummin", "aminmax"):
    setattr(return_types, _name, namedtuple(
        _name, ["min", "max"] if _name == "aminmax" else ["values", "indices"]))
del _name


def _to_last(x: np.ndarray, axes):
    """``x`` with the ``axes`` moved to the end and merged into one; and how to undo it."""
    axes = tuple(range(x.ndim)) if axes is None else tuple(axes)
    rest = tuple(a for a in range(x.ndim) if a not in axes)
    moved = np.transpose(x, rest + axes)
    shape = moved.shape
    return moved.reshape(shape[:len(rest)] + (-1,)), (rest + axes, shape)


def _from_last(y: np.ndarray, undo):
    order, shape = undo
    return np.transpose(y.reshape(shape), np.argsort(order))


def _product_of_others(x: np.ndarray) -> np.ndarray:
    """prod_{j != i} x_j along the last axis, exact when some x_j are 0 (no division)."""
    if x.shape[-1] == 0:
        return x * 1  # an empty product has no elements to differentiate
    ones = np.ones(x.shape[:-1] + (1,), dtype=x.dtype)
    left = np.cumprod(np.concatenate([ones, x[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, x[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return left * right


class Prod(Function):
    """y = prod over ``dim`` of x;  dy/dx_i = prod_{j != i} x_j (= y / x_i without zeros).

    Twice differentiable: the products of the others are cumulative products and
    concatenations, which record on Tensors (create_graph).
    """

    twice_differentiable = True

    formula = Custom(
        "Π", lambda v: [f"{v.out} = np.prod({v.args[0]}{reduce_args(v)})"],
        local=lambda v, i: f"Π_(j≠i) {v.args[0]}_j")

    @staticmethod
    def forward(ctx, x, *, dim=None, keepdim=False):
        ctx.save_for_backward(x)
        return np.prod(x, axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        dim, keepdim = ctx.options["dim"], ctx.options["keepdim"]
        grad = _expand_reduced(grad, dim, keepdim, x.shape)
        flat, undo = _to_last(x, dim)
        return grad * _from_last(_product_of_others(flat), undo)


def _reverse_cumsum(a, axis):
    return np.flip(np.cumsum(np.flip(a, axis), axis=axis), axis)


class CumSum(Function):
    """y_j = sum_{i <= j} x_i along ``dim``;  dL/dx_i = sum_{j >= i} dL/dy_j."""

    twice_differentiable = True
    formula = Custom(
        "cumsum", lambda v: [f"{v.out} = np.cumsum({v.args[0]}, axis={v.opt['dim']})"],
        lambda v, i: f"np.flip(np.cumsum(np.flip({v.g}, {v.opt['dim']}), axis={v.opt['dim']}), "
                     f"{v.opt['dim']})",
        lambda v, i: "1 for each later sum")

    @staticmethod
    def forward(ctx, x, *, dim):
        return np.cumsum(x, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return _reverse_cumsum(grad, ctx.options["dim"])


class CumProd(Function):
    """y_j = prod_{i <= j} x_i along ``dim``;  dL/dx_i = sum_{j >= i} dL/dy_j y_j / x_i,
    computed without dividing where some x are 0. Twice differentiable."""

    twice_differentiable = True

    formula = Custom(
        "cumprod", lambda v: [f"{v.out} = np.cumprod({v.args[0]}, axis={v.opt['dim']})"],
        local=lambda v, i: "Π_(k≤j, k≠i) x_k")

    @staticmethod
    def forward(ctx, x, *, dim):
        out = np.cumprod(x, axis=dim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        dim = ctx.options["dim"]
        if not np.any(data(x) == 0):
            return _reverse_cumsum(grad * out, dim) / x
        # With zeros: d y_j / d x_i = prod_{k <= j, k != i} x_k; one cumprod per i
        # (x_i replaced by 1), written without assignments so that it also records.
        xm, gm = np.moveaxis(x, dim, -1), np.moveaxis(grad, dim, -1)
        one = np.ones(xm.shape[:-1] + (1,), dtype=data(x).dtype)
        columns = []
        for i in range(xm.shape[-1]):
            replaced = np.concatenate([one, xm[..., i + 1:]], axis=-1)
            before = np.prod(xm[..., :i], axis=-1, keepdims=True)
            columns.append(np.sum(gm[..., i:] * before * np.cumprod(replaced, axis=-1), -1))
        return np.moveaxis(np.stack(columns, axis=-1), -1, dim)


class LogCumSumExp(Function):
    """y_j = log sum_{i <= j} e^(x_i) along ``dim``;  dL/dx_i = sum_{j >= i} dL/dy_j
    e^(x_i - y_j) (each factor at most 1, so nothing overflows). Twice differentiable
    (y is the saved output, so on Tensors its dependence on x records)."""

    twice_differentiable = True

    formula = Custom(
        "logcumsumexp",
        lambda v: [f"{v.out} = np.logaddexp.accumulate({v.args[0]}, axis={v.opt['dim']})"],
        local=lambda v, i: "e^(x_i − y_j) for j ≥ i")

    @staticmethod
    def forward(ctx, x, *, dim):
        out = np.logaddexp.accumulate(x, axis=dim) if x.size else x.copy()
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        dim = ctx.options["dim"]
        xm, om, gm = (np.moveaxis(a, dim, -1) for a in (x, out, grad))
        n = xm.shape[-1]
        later = np.triu(np.ones((n, n), dtype=bool))  # later[i, j]: j >= i
        with np.errstate(invalid="ignore", over="ignore"):
            weights = np.exp(xm[..., :, None] - om[..., None, :])
        weights = np.where(later & np.isfinite(data(weights)), weights, 0)
        return np.moveaxis(np.sum(weights * gm[..., None, :], axis=-1), -1, dim)


def _norm_kept(x, ord, dim):  # noqa: A002 - torch's name
    """(sum |x|^p)^(1/p) over ``dim`` with the reduced axes kept (arrays or Tensors)."""
    a = np.abs(x)
    if ord == np.inf:
        return np.max(a, axis=dim, keepdims=True) if np.size(a) else np.zeros(())
    if ord == -np.inf:
        return np.min(a, axis=dim, keepdims=True)
    if ord == 0:
        return np.sum(data(a) != 0, axis=dim, keepdims=True).astype(data(x).dtype)
    if ord == 1:
        return np.sum(a, axis=dim, keepdims=True)
    if ord == 2:
        return np.sqrt(np.sum(a * a, axis=dim, keepdims=True))
    with np.errstate(divide="ignore"):
        return np.sum(a ** ord, axis=dim, keepdims=True) ** (1.0 / ord)


class Norm(Function):
    """y = (sum |x|^p)^(1/p) over ``dim``;  dy/dx = sign(x) |x|^(p-1) / y^(p-1).

    p = 2 gives x / y; p = 1 sign(x); p = inf the gradient at the largest |x| (shared
    between ties); p = 0 counts nonzeros (gradient 0). Where y = 0 the gradient is 0
    (as PyTorch: a subgradient, not 0/0). Twice differentiable away from those points.
    """

    twice_differentiable = True

    formula = Custom(
        "‖·‖", local=lambda v: f"sign({v.args[0]})|{v.args[0]}|^(p−1) / ‖{v.args[0]}‖^(p−1)")

    @staticmethod
    def forward(ctx, x, *, ord=2.0, dim=None, keepdim=False):  # noqa: A002 - torch's name
        out = _norm_kept(x, ord, dim)
        ctx.save_for_backward(x, out)
        return out if keepdim else np.squeeze(out, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        p, dim, keepdim = ctx.options["ord"], ctx.options["dim"], ctx.options["keepdim"]
        g = grad if keepdim or dim is None else np.expand_dims(grad, dim)
        if p == 0:
            return np.zeros(x.shape, dtype=grad.dtype)
        if p == 1:
            return g * np.sign(x)
        if p in (np.inf, -np.inf):
            hits = np.abs(data(x)) == data(out)
            return g * np.sign(x) * hits / np.sum(hits, axis=dim, keepdims=True)
        # the saved kept-dims norm is not the output (unless keepdim): on Tensors it is
        # rebuilt from x so the second derivative sees it depend on x
        out = rebuilt(out, x, lambda x: _norm_kept(x, p, dim))
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 2:
                local = x / out
            else:
                local = np.sign(x) * np.abs(x) ** (p - 1) / out ** (p - 1)
        return g * np.where(data(out) == 0, 0, local)


# Functional forms ----------------------------------------------------------------
def _one_dim(dim, x, op):
    if dim is None:
        raise TypeError(f"{op}() missing required argument 'dim'")
    return normalize_dim(dim, max(x.ndim, 1), op) if x.ndim else 0


@public(numpy=(np.prod,), ops=(Prod,))
def prod(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """The product over ``dim`` (all elements when None); integers give int64."""
    x = _cast(input, dtype)
    if dtype is None and x.dtype.kind in "biu":
        x = x.to(np.int64)
    axes = normalize_dims(_dim(dim, axis, "prod"), x.ndim, "prod")
    return Prod.apply(x, dim=axes, keepdim=bool(_keep(keepdim, keepdims)))


def _cumulative(op_class, name, doc, integer_ok=True):
    def fn(input, dim=None, *, dtype=None, axis=None, out=None):
        if out is not None:
            raise TypeError(f"{name}: out= is not supported; assign the result instead")
        x = _cast(input, dtype)
        dim = _dim(dim, axis, name)
        if dtype is None and x.dtype.kind in "biu":
            if not integer_ok:
                raise DTypeError(f"{name} needs a floating-point tensor, got {x.dtype}")
            x = x.to(np.int64)
        if x.ndim == 0:
            _one_dim(dim, x, name)
            return op_class.apply(x.reshape(1), dim=0).reshape(())
        return op_class.apply(x, dim=_one_dim(dim, x, name))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return public(ops=(op_class,))(fn)


cumsum = _cumulative(CumSum, "cumsum", "Running sums along ``dim``; integers give int64.")
cumprod = _cumulative(CumProd, "cumprod", "Running products along ``dim``.")
logcumsumexp = _cumulative(LogCumSumExp, "logcumsumexp",
                           "log of the running sums of e^x along ``dim``, without overflow.",
                           integer_ok=False)


def _np_cumulative(fn):
    def call(a, axis=None, dtype=None, out=None):
        x = _cast(a, dtype)
        if axis is None:  # NumPy flattens first
            x, axis = x.reshape(-1), 0
        return fn(x, axis, out=out)

    return call


from autograd_core.ops._registry import NUMPY as _NUMPY  # noqa: E402

_NUMPY[np.cumsum] = _np_cumulative(cumsum)
_NUMPY[np.cumprod] = _np_cumulative(cumprod)


def _running_extreme(x: np.ndarray, axis: int, better):
    """Running max/min along ``axis`` and the index each came from (the last of ties,
    as PyTorch)."""
    xm = np.moveaxis(x, axis, -1)
    values = np.empty_like(xm)
    indices = np.empty(xm.shape, dtype=np.int64)
    if xm.shape[-1]:
        best, where = xm[..., 0].copy(), np.zeros(xm.shape[:-1], dtype=np.int64)
        for j in range(xm.shape[-1]):
            take = better(xm[..., j], best) | (xm[..., j] == best) | np.isnan(xm[..., j])
            take &= ~np.isnan(best) | np.isnan(xm[..., j])
            best = np.where(take, xm[..., j], best)
            where = np.where(take, j, where)
            values[..., j], indices[..., j] = best, where
    return np.moveaxis(values, -1, axis), np.moveaxis(indices, -1, axis)


def _cum_extreme(name, better, result):
    def fn(input, dim, *, axis=None):
        x = _tensor(input)
        dim = _dim(dim, axis, name)
        if x.ndim == 0:
            return result(x, Tensor._make(np.asarray(0, dtype=np.int64)))
        axis_ = _one_dim(dim, x, name)
        _, indices = _running_extreme(x._data, axis_, better)
        from autograd_core.ops.indexing import gather

        return result(gather(x, axis_, indices), Tensor._make(indices))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"The running {name[3:]}imum along ``dim`` and where it came from: the named "
                  f"tuple ``(values, indices)``; the gradient goes to that element.")
    return public()(fn)


cummax = _cum_extreme("cummax", np.greater, return_types.cummax)
cummin = _cum_extreme("cummin", np.less, return_types.cummin)


def _norm_dims(x, dim):
    return normalize_dims(dim, x.ndim, "norm")


def _ord_value(ord_):
    if isinstance(ord_, str):
        raise ValueError(f"vector_norm: ord must be a number, got {ord_!r}")
    return float(ord_)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """(sum |x|^ord)^(1/ord) over ``dim`` (all elements when None); ``ord`` may be inf,
    -inf or 0 (the count of nonzeros). Floating-point tensors only."""
    x = _cast(x, dtype)
    if x.dtype.kind != "f":
        raise DTypeError(f"vector_norm needs a floating-point tensor, got {x.dtype}")
    return Norm.apply(x, ord=_ord_value(ord), dim=_norm_dims(x, dim), keepdim=bool(keepdim))


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):  # noqa: A002
    """Matrix norms over the two ``dim``: 'fro', 1, -1, inf, -inf (2, -2 and 'nuc' need
    singular values, which this library does not compute)."""
    x = _cast(A, dtype)
    if x.ndim < 2:
        raise ValueError(f"matrix_norm: needs at least 2 dims, got shape {tuple(x.shape)}")
    d0, d1 = (normalize_dim(d, x.ndim, "matrix_norm") for d in dim)
    if ord == "fro":
        return vector_norm(x, 2, (d0, d1), keepdim)
    if ord in (1, -1, np.inf, -np.inf):
        summed, other = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = x.abs().sum(dim=summed, keepdim=True)
        pick = amax if ord > 0 else amin
        out = pick(sums, dim=other, keepdim=True)
        return out if keepdim else out.squeeze((d0, d1))
    raise NotImplementedError(
        f"matrix_norm: ord={ord!r} needs singular values (an SVD), which this library does "
        "not compute; use ord='fro', 1, -1, inf or -inf")


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """``torch.linalg.norm``: a vector norm (1-D input or one dim) or a matrix norm
    (2-D input or two dims); ord=None is the 2-norm / Frobenius norm."""
    x = _cast(A, dtype)
    if dim is not None and not isinstance(dim, (tuple, list)):
        dim = (dim,)
    if ord is None:
        return vector_norm(x, 2, dim, keepdim)
    if (dim is not None and len(dim) == 2) or (dim is None and x.ndim == 2):
        return matrix_norm(x, ord, dim if dim is not None else (-2, -1), keepdim)
    if dim is None and x.ndim != 1:
        raise ValueError(f"linalg.norm: a numeric ord needs a 1-D or 2-D input or dim, got "
                         f"shape {tuple(x.shape)}")
    return vector_norm(x, ord, dim, keepdim)


@public(ops=(Norm,))
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """``torch.norm``: the p-norm over ``dim`` (all elements when None); p='fro' is the
    2-norm of the flattened dims, p='nuc' is not supported."""
    x = _cast(input, dtype)
    if p == "fro":
        if dim is not None and not isinstance(dim, (tuple, list)):
            dim = (dim,)
        return vector_norm(x, 2, dim, keepdim)
    if p == "nuc":
        return matrix_norm(x, "nuc")
    return vector_norm(x, p, dim, keepdim)


def _np_norm(x, ord=None, axis=None, keepdims=False):
    return linalg_norm(x, ord, axis, keepdims)


_NUMPY[np.linalg.norm] = _np_norm


@public(ops=(Var, Mean))
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim`` in one call (a tuple, as ``torch.var_mean``)."""
    x = _tensor(input)
    if isinstance(unbiased, (int, tuple, list)) and not isinstance(unbiased, bool):
        dim, unbiased = unbiased, None
    return (var(x, dim, unbiased, keepdim, correction=correction),
            mean(x, dim, keepdim))


@public(ops=(Var, Mean))
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim`` in one call (a tuple, as ``torch.std_mean``)."""
    v, m = var_mean(input, dim, unbiased, keepdim, correction=correction)
    return v.sqrt(), m


@public(ops=(Max, Min))
def aminmax(input, *, dim=None, keepdim=False):
    """The named tuple ``(min, max)`` over ``dim`` (all elements when None)."""
    return return_types.aminmax(amin(input, () if dim is None else dim, keepdim),
                                amax(input, () if dim is None else dim, keepdim))


@public(numpy=(np.count_nonzero,))
def count_nonzero(input, dim=None):
    """The number of nonzero elements over ``dim`` (an int64 tensor)."""
    x = _tensor(input)
    axes = normalize_dims(dim, x.ndim, "count_nonzero")
    return Tensor._make(np.asarray(np.count_nonzero(x._data, axis=axes), dtype=np.int64))
