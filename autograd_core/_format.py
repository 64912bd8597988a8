"""Formatting shared by the teaching tools: numbers for people, literals for Python.

Two different jobs live here:

* :func:`fmt_value` shows a value to a student: ``0.731`` for a scalar, the values of a
  small array, ``min/mean/max`` for a large one;
* :func:`literal` writes a constant as Python source that evaluates to exactly the same
  value (the generated flat code must reproduce the engine bit for bit).
"""

import math

import numpy as np

__all__ = ["fmt_number", "fmt_value", "fmt_shape", "literal", "dtype_literal"]


def fmt_number(x, digits: int = 3) -> str:
    """A number with ``digits`` significant digits: ``0.731``, ``-2``, ``1.23e-05``."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    text = f"{x:.{digits}g}"
    return "0" if text == "-0" else text


def _nested(values, digits):
    if isinstance(values, list):
        return "[" + ", ".join(_nested(v, digits) for v in values) + "]"
    return fmt_number(values, digits)


def fmt_value(value, digits: int = 3, max_elements: int = 12) -> str:
    """A value as a student reads it on a graph.

    >>> fmt_value(np.float64(0.7310585786))
    '0.731'
    >>> fmt_value(np.arange(3.0))
    '[0, 1, 2]'
    >>> fmt_value(np.arange(100.0))
    'min 0  mean 49.5  max 99'
    """
    array = np.asarray(value)
    if array.size == 1:
        return fmt_number(array.reshape(()).item(), digits)
    if array.size == 0:
        return "(empty)"
    if array.size <= max_elements:
        return _nested(array.tolist(), digits)
    if array.dtype.kind == "b":
        return f"{int(array.sum())} of {array.size} true"
    with np.errstate(all="ignore"):
        data = array.astype(np.float64)
        if np.min(data) == np.max(data):
            return f"all {fmt_number(data.flat[0], digits)}"
        return (
            f"min {fmt_number(np.min(data), digits)}  mean {fmt_number(np.mean(data), digits)}"
            f"  max {fmt_number(np.max(data), digits)}"
        )


def fmt_shape(shape, dtype=None) -> str:
    """``scalar float64`` for a 0-d value, else ``(3, 4) float32``."""
    text = "scalar" if len(shape) == 0 else "(" + ", ".join(str(s) for s in shape) + (
        ",)" if len(shape) == 1 else ")"
    )
    return f"{text} {np.dtype(dtype).name}" if dtype is not None else text


# --------------------------------------------------------------------- Python literals
def dtype_literal(dtype) -> str:
    """``np.float32`` for a NumPy dtype (or scalar type)."""
    name = np.dtype(dtype).name
    return f"np.{name}" if name != "bool" else "np.bool_"


def _float_literal(x: float) -> str:
    if math.isnan(x):
        return "np.nan"
    if math.isinf(x):
        return "np.inf" if x > 0 else "-np.inf"
    return repr(float(x))  # repr round-trips a float64 exactly


def _element_literal(x) -> str:
    if isinstance(x, (bool, np.bool_)):
        return repr(bool(x))
    if isinstance(x, (int, np.integer)):
        return repr(int(x))
    if isinstance(x, (float, np.floating)):
        return _float_literal(float(x))
    if isinstance(x, (complex, np.complexfloating)):
        return repr(complex(x))
    raise TypeError(f"no literal for array element {x!r}")


def _array_literal(array: np.ndarray) -> str:
    dtype = dtype_literal(array.dtype)
    if array.size == 0:
        return f"np.zeros({tuple(array.shape)!r}, dtype={dtype})"

    def nested(v):
        if isinstance(v, list):
            return "[" + ", ".join(nested(e) for e in v) + "]"
        return _element_literal(v)

    if array.dtype == np.float64:  # every element is written as a float: float64 already
        return f"np.array({nested(array.tolist())})"
    return f"np.array({nested(array.tolist())}, dtype={dtype})"


def literal(value) -> str:
    """Python source that evaluates (with ``import numpy as np``) to exactly ``value``.

    Handles numbers, NumPy scalars and arrays (their dtype kept), dtypes, None, slices,
    Ellipsis, strings, and tuples, lists and dicts of those.

    >>> literal(np.array([0.5, 1.0], dtype=np.float32))
    'np.array([0.5, 1.0], dtype=np.float32)'
    >>> literal((slice(None, 2), Ellipsis))
    '(slice(None, 2, None), ...)'
    """
    if value is None or value is Ellipsis:
        return "..." if value is Ellipsis else "None"
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        return _float_literal(value) if not (math.isnan(value) or math.isinf(value)) else (
            f"float({str(value)!r})"
        )
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, np.generic):
        return f"{dtype_literal(value.dtype)}({_element_literal(value.item())})"
    if isinstance(value, np.ndarray):
        return _array_literal(value)
    if isinstance(value, np.dtype):
        return f"np.dtype({value.name!r})"
    if isinstance(value, type) and issubclass(value, np.generic):
        return dtype_literal(value)
    if isinstance(value, slice):
        return f"slice({literal(value.start)}, {literal(value.stop)}, {literal(value.step)})"
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(
        f"flat_code: cannot write the constant {value!r} ({type(value).__name__}) as Python"
    )
