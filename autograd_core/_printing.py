"""How a Tensor prints: PyTorch's format, so printed output reads the same.

``tensor([1., 2.])`` when every value is a whole number, ``tensor([1.5000, 2.0000])``
(four decimals) otherwise, scientific notation (``1.0000e-05``) when the magnitudes span
more than a factor 1000 or leave [1e-4, 1e8); elements padded to one width; more than
1000 elements summarised with ``...``. After the values: ``dtype=torch.float64`` when
the dtype is not the default for its kind, then ``grad_fn=<MulBackward0>`` or
``requires_grad=True``.

>>> import numpy as np
>>> tensor_repr(np.array([1.0, 2.5], dtype=np.float32))
'tensor([1.0000, 2.5000])'
"""

import numpy as np

__all__ = ["tensor_repr", "dtype_name"]

_DEFAULT_DTYPES = (np.dtype(np.int64), np.dtype(np.bool_))


def dtype_name(dtype) -> str:
    """``torch.float32`` for NumPy's float32 (and the other dtypes alike)."""
    name = np.dtype(dtype).name
    return "torch." + {"bool": "bool"}.get(name, name)


def _float_formatter(data: np.ndarray):
    finite = data[np.isfinite(data)]
    nonzero = np.abs(finite[finite != 0]).astype(np.float64)
    whole = bool(np.all(finite == np.round(finite))) if finite.size else True
    sci = False
    if nonzero.size:
        big, small = nonzero.max(), nonzero.min()
        sci = big > 1e8 if whole else (big / small > 1000 or big > 1e8 or small < 1e-4)
    if sci:
        def fmt(x):
            return f"{x:.4e}"
    elif whole:
        def fmt(x):
            return f"{x:.0f}." if np.isfinite(x) else str(x)
    else:
        def fmt(x):
            return f"{x:.4f}"

    def show(x):
        return fmt(x) if np.isfinite(x) else ("nan" if np.isnan(x) else
                                              ("inf" if x > 0 else "-inf"))
    return show


def _values(data: np.ndarray) -> str:
    summarise = data.size > 1000
    shown = data
    if summarise:  # only the elements that are printed decide the format
        edges = [np.concatenate([np.take(data, range(min(3, n)), axis=d),
                                 np.take(data, range(max(n - 3, 0), n), axis=d)], axis=d)
                 for d, n in enumerate(data.shape)][-1:]
        shown = edges[0] if edges else data
    if data.dtype.kind == "f":
        show = _float_formatter(shown.astype(np.float64) if shown.dtype == np.float16
                                else shown)
    elif data.dtype.kind == "b":
        def show(x):
            return str(bool(x))
    else:
        def show(x):
            return str(int(x))
    if data.ndim == 0:
        return show(data.item())
    flat = shown.reshape(-1)
    if data.dtype.kind == "f":  # PyTorch pads to the widest finite value
        flat = flat[np.isfinite(flat)]
    width = max((len(show(x)) for x in flat), default=0)
    kind = "float_kind" if data.dtype.kind == "f" else "bool" if data.dtype.kind == "b" \
        else "int_kind"
    return np.array2string(
        data, separator=", ", prefix="tensor(", max_line_width=80,
        threshold=1000, edgeitems=3, formatter={kind: lambda x: show(x).rjust(width)})


def tensor_repr(data: np.ndarray, grad_fn=None, requires_grad=False, name=None) -> str:
    """The text ``repr(tensor)`` shows, as PyTorch prints it."""
    body = _values(data)
    extras = []
    if data.size == 0 and data.ndim != 1:
        extras.append(f"size={tuple(data.shape)}")
    if data.dtype not in _DEFAULT_DTYPES and data.dtype != np.float32:
        extras.append(f"dtype={dtype_name(data.dtype)}")
    if grad_fn is not None:
        extras.append(f"grad_fn=<{grad_fn}>")
    elif requires_grad:
        extras.append("requires_grad=True")
    if name:
        extras.append(f"name={name!r}")
    if data.size == 0:
        body = "[]"
    return "tensor(" + ", ".join([body] + extras) + ")"
