"""Dropout as one node: multiply by a mask that was drawn before the op ran.

Inverted dropout keeps each element with probability 1 - p and scales the survivors
by 1 / (1 - p), so the expected output equals the input and evaluation needs no
rescaling. The caller draws the scaled mask m (with the project's seeded generator)
and passes it in as an array: forward stays a pure function of its inputs, so the
teaching tools can re-run it and get the same result.

    y = x * m,   m_i in {0, 1 / (1 - p)};   dL/dx = dL/dy * m

>>> import numpy as np
>>> from autograd_core import Tensor
>>> from autograd_core.ops.dropout import Dropout, dropout_mask
>>> rng = np.random.default_rng(0)
>>> Dropout.apply(Tensor([1.0, 1.0, 1.0, 1.0]), dropout_mask((4,), 0.5, np.float32, rng)).tolist()
[2.0, 2.0, 2.0, 0.0]
"""

import numpy as np

from autograd_core.function import Function
from autograd_core.ops._formula import Custom

__all__ = ["Dropout", "DropConnect", "dropout_mask"]


def dropout_mask(shape, p: float, dtype, generator: np.random.Generator) -> np.ndarray:
    """A mask of ``shape`` with zeros (probability p) and 1 / (1 - p) elsewhere."""
    if p >= 1:
        return np.zeros(shape, dtype=dtype)
    keep = generator.random(shape, dtype=np.float32) >= p
    return keep.astype(dtype) * np.asarray(1.0 / (1.0 - p), dtype=dtype)


_DROP = Custom("dropout", lambda v: [f"{v.out} = {v.args[0]} * {v.args[1]}"],
               lambda v, i: f"{v.g} * {v.args[1]}" if i == 0 else None,
               lambda v, i: "mask (0 or 1/(1−p))" if i == 0 else None)


class Dropout(Function):
    """y = x * mask (mask already scaled by 1 / (1 - p));  dL/dx = dL/dy * mask."""

    formula = _DROP
    twice_differentiable = True  # grad * mask records as one Mul (the mask a constant)

    @staticmethod
    def forward(ctx, x, mask):
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad * mask, None


class DropConnect(Dropout):
    """Dropout applied to a weight matrix (the same maths; its own name in graphs)."""

    formula = _DROP
