"""PyTorch's type promotion for elementwise ops, applied before NumPy computes.

NumPy and PyTorch agree on arrays of the same kind, but differ in three places that
matter for a float32 model:

* a NumPy scalar (``np.sqrt(2)`` is a float64 scalar) or a 0-d array promotes in NumPy
  (``f32_array * np.float64(2)`` is float64) but not in PyTorch (float32);
* int64 mixed with float32 gives float64 in NumPy, float32 in PyTorch;
* integer inputs to a float function (``exp``, true division) give float64 in NumPy
  and the default float dtype, float32, in PyTorch.

PyTorch's rule: operands are ranked as dimensioned tensors > 0-d tensors > scalars, and
by category bool < integer < float. The result has the highest category present;
its dtype is the promotion of the highest-ranked operands of that category, where a
Python or NumPy scalar stands for the default dtype of its category (int64, float32).

>>> import numpy as np
>>> a, b = promote(np.ones(2, np.float32), np.float64(2.0))
>>> (a * b).dtype
dtype('float32')
"""

import numpy as np

__all__ = ["promote", "result_dtype", "to_float", "default_float", "set_default_float"]

_DEFAULT = {0: np.dtype(np.bool_), 1: np.dtype(np.int64), 2: np.dtype(np.float32)}


def _category(dtype: np.dtype) -> int:
    kind = dtype.kind
    return 2 if kind in "fc" else 0 if kind == "b" else 1


def _rank_and_dtype(x):
    """(rank, dtype): rank 2 for an array with dims, 1 for a 0-d array, 0 for a scalar."""
    if isinstance(x, np.ndarray):
        return (2 if x.ndim else 1), x.dtype
    if isinstance(x, np.generic):
        return 0, _DEFAULT[_category(x.dtype)]
    if isinstance(x, bool):
        return 0, _DEFAULT[0]
    if isinstance(x, int):
        return 0, _DEFAULT[1]
    if isinstance(x, float):
        return 0, _DEFAULT[2]
    array = np.asarray(x)  # lists and other array-likes behave as arrays
    return (2 if array.ndim else 1), array.dtype


def result_dtype(*operands) -> np.dtype:
    """The dtype PyTorch gives an elementwise op on these operands."""
    best = {}  # rank -> (category, dtype) of the highest category at that rank
    for x in operands:
        if x is None:
            continue
        rank, dtype = _rank_and_dtype(x)
        category = _category(dtype)
        held = best.get(rank)
        if held is None or category > held[0]:
            best[rank] = (category, dtype)
        elif category == held[0] and rank > 0:
            best[rank] = (category, np.promote_types(held[1], dtype))
    result = None
    for rank in (2, 1, 0):  # dimensioned tensors first, then 0-d, then scalars
        if rank in best and (result is None or best[rank][0] > result[0]):
            result = best[rank]
    return result[1]


def _is_plain(x, kind) -> bool:
    """True when NumPy's own promotion already gives PyTorch's answer for this pair."""
    t = type(x)
    if t is float:
        return kind == "f"
    if t is int:
        return kind in "fiu"
    return False


def promote(a, b):
    """``a`` and ``b`` converted so that NumPy computes ``a (op) b`` in PyTorch's dtype.

    Arrays of one dtype, and arrays with Python numbers of a lower or equal category,
    are returned untouched (the fast, common path).
    """
    ta, tb = type(a), type(b)
    if ta is np.ndarray:
        if tb is np.ndarray:
            if a.dtype == b.dtype:
                return a, b
        elif _is_plain(b, a.dtype.kind):
            return a, b
    elif tb is np.ndarray and _is_plain(a, b.dtype.kind):
        return a, b
    target = result_dtype(a, b)
    return _cast(a, target), _cast(b, target)


def _cast(x, target: np.dtype):
    if isinstance(x, np.ndarray):
        return x if x.dtype == target else x.astype(target)
    if isinstance(x, (bool, int, float)) and not isinstance(x, np.generic):
        return np.asarray(x, dtype=target)
    return np.asarray(x).astype(target)


def default_float() -> np.dtype:
    """The default float dtype (float32 unless ``set_default_dtype`` changed it)."""
    return _DEFAULT[2]


def set_default_float(dtype) -> None:
    _DEFAULT[2] = np.dtype(dtype)


def to_float(x):
    """Integer or bool input of a float function becomes the default float dtype."""
    if isinstance(x, np.ndarray):
        return x if x.dtype.kind in "fc" else x.astype(_DEFAULT[2])
    if isinstance(x, np.generic):
        return x if x.dtype.kind in "fc" else _DEFAULT[2].type(x)
    return np.asarray(x, dtype=_DEFAULT[2]) if isinstance(x, (bool, int)) else x
