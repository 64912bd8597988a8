"""NumPy on Tensors: ufuncs and array functions that keep the graph, or say why not.

``np.exp(t)``, ``np.sum(t, axis=1)``, ``np.concatenate([a, b])``: a NumPy function or
ufunc that an op registered for (``ops._registry``, ``public(numpy=...)``) runs as that
op, so its gradient flows. Any other NumPy function on a Tensor that requires grad
raises a ``TypeError`` naming the function (its result would silently leave the graph);
on Tensors that do not require grad it runs on the arrays and returns arrays.

>>> import numpy as np
>>> from autograd_core import Tensor
>>> x = Tensor([1.0, 2.0], requires_grad=True)
>>> np.sum(np.exp(x)).backward()
>>> [round(v, 3) for v in x.grad.tolist()]
[2.718, 7.389]
"""


import numpy as np

from autograd_core.grad_mode import _state
from autograd_core.ops import _registry

__all__ = ["array_ufunc", "array_function"]

# NumPy functions that only look at a tensor (its shape, or values compared as data)
# and return no value a gradient could flow through: allowed on any Tensor.
_QUERIES = frozenset(getattr(np, name) for name in (
    "shape", "ndim", "size", "allclose", "isclose", "array_equal", "array_equiv",
    "result_type", "can_cast", "count_nonzero", "nonzero", "argwhere", "flatnonzero",
    "argsort", "searchsorted", "iscomplexobj", "isrealobj", "isscalar", "shares_memory",
    "may_share_memory", "array_repr", "array_str", "unique", "histogram", "bincount",
    "digitize", "copyto", "lexsort", "isin", "in1d", "all", "any", "array", "asarray",
    "asanyarray", "ascontiguousarray", "save", "savez",
    "savez_compressed", "full_like", "zeros_like", "ones_like", "empty_like",
) if hasattr(np, name))
# Ufuncs whose result carries no gradient: comparisons and tests give bools, rounding
# is flat almost everywhere.
_FLAT_UFUNCS = frozenset(getattr(np, name) for name in (
    "sign", "floor", "ceil", "trunc", "rint", "signbit", "isnan", "isinf", "isfinite",
    "logical_not", "logical_and", "logical_or", "logical_xor", "bitwise_and",
    "bitwise_or", "bitwise_xor", "invert", "floor_divide", "remainder", "fmod",
) if hasattr(np, name))


def _tensor_type():
    from autograd_core.tensor import Tensor

    return Tensor


def _any_requires_grad(values) -> bool:
    Tensor = _tensor_type()
    for value in values:
        if isinstance(value, Tensor):
            if value._requires_grad:
                return True
        elif isinstance(value, (list, tuple)) and _any_requires_grad(value):
            return True
    return False


def _unwrap(value):
    Tensor = _tensor_type()
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    return value


def _refuse(name, what):
    raise TypeError(
        f"numpy.{name} on a Tensor that requires grad would return a plain array and drop "
        f"the gradient; {what}. Use the Tensor method or autograd_core.{name} if it exists, "
        "or call .detach() (or .numpy()) first to leave the graph on purpose"
    )


def array_ufunc(self, ufunc, method, *inputs, **kwargs):
    """``__array_ufunc__``: a registered ufunc runs as its op; others on arrays."""
    reflected = _REFLECTED.get(ufunc) if method == "__call__" else None
    if reflected is not None and len(inputs) == 2 and inputs[1] is self and not kwargs \
            and type(inputs[0]) in _NUMBERS:
        # ``np.float64(2.0) * t``: NumPy asks here first; the tensor's own reflected
        # operator gives the same op (and the lean scalar path, ``scalar_graph``)
        return getattr(inputs[1], reflected)(inputs[0])
    op = _registry.NUMPY.get(ufunc) if method == "__call__" else None
    grads = _state.enabled and _any_requires_grad(inputs)
    if op is not None and not kwargs:
        return op(*inputs)
    if grads and ufunc not in _FLAT_UFUNCS and not _gives_bool(ufunc):
        _refuse(getattr(ufunc, "__name__", str(ufunc)),
                "this ufunc (or its keyword arguments) has no differentiable form here")
    arrays = [_unwrap(x) for x in inputs]
    if "out" in kwargs:
        kwargs["out"] = tuple(_unwrap(x) for x in kwargs["out"])
    return getattr(ufunc, method)(*arrays, **kwargs)


#: The ufuncs of ``number <op> tensor`` and the Tensor operator that computes them.
_REFLECTED = {np.add: "__radd__", np.subtract: "__rsub__", np.multiply: "__rmul__",
              np.true_divide: "__rtruediv__"}
_NUMBERS = frozenset((np.float64, np.float32, np.float16, np.int64, np.int32, np.int16,
                      np.int8, np.uint8, np.bool_))

#: Queries answered from the Tensor's array at once: ``np.shape(t)`` is what layers
#: call to check their inputs, and the general path (unwrap the arguments, call NumPy)
#: cost 8 us of a batch norm layer's 120 on a small plane, four times per call.
_ATTRIBUTE_QUERIES = {np.shape: "shape", np.ndim: "ndim", np.size: "size"}


def array_function(self, func, types, args, kwargs):
    """``__array_function__``: with gradients wanted, a registered NumPy function runs as
    its op and any other is refused; without, NumPy runs on the arrays."""
    attribute = _ATTRIBUTE_QUERIES.get(func)
    if attribute is not None and len(args) == 1 and args[0] is self and not kwargs:
        return getattr(self._data, attribute)
    if func not in _QUERIES and _state.enabled and (
            _any_requires_grad(args) or _any_requires_grad(tuple(kwargs.values()))):
        op = _registry.NUMPY.get(func)
        if op is None:
            _refuse(func.__name__, "it has no differentiable form here")
        try:
            return op(*args, **kwargs)
        except TypeError as error:
            _refuse(func.__name__, f"these arguments are not supported ({error})")
    return func(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()})


def _gives_bool(ufunc) -> bool:
    """Whether every loop of ``ufunc`` returns bools (comparisons, tests)."""
    return all(t.endswith("?") for t in ufunc.types)
