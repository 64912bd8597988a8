"""``out=``: PyTorch's way of writing a result into an existing tensor.

The op runs as usual; the result is then copied into ``out`` (cast to its dtype) and
``out`` is returned. As in PyTorch, ``out`` may not take part in a graph: writing into
a tensor that requires grad (while grad mode is on) raises, and the result of an
``out=`` call is never differentiable.
"""

import numpy as np

from autograd_core import versions
from autograd_core.grad_mode import _state

__all__ = ["write_out"]


def write_out(result, out, op: str):
    """``result`` itself when ``out`` is None, else ``out`` holding its values."""
    if out is None:
        return result
    from autograd_core.tensor import Tensor

    if not isinstance(out, Tensor):
        raise TypeError(f"{op}: out= must be a Tensor, got {type(out).__name__}")
    if _state.enabled and (out._requires_grad or result._requires_grad):
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic "
                           "differentiation; call it without out= (or under no_grad())")
    if result._data.dtype.kind == "f" and out._data.dtype.kind in "biu":
        raise RuntimeError(f"{op}: result type {result.dtype} can't be cast to the desired "
                           f"output type {out.dtype}")
    if out._data.shape == result._data.shape and out._data.flags.writeable:
        np.copyto(out._data, result._data, casting="unsafe")
    else:  # PyTorch resizes out to the result's shape
        out._data = result._data.astype(out._data.dtype, copy=True)
    versions.mark_modified(out)
    return out
