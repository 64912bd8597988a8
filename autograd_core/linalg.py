"""``torch.linalg``: the norms (vector, matrix, either), and the products it re-exports.

>>> import autograd_core as torch
>>> torch.linalg.vector_norm(torch.tensor([3.0, 4.0])).item()
5.0
"""

from autograd_core.ops.linalg import matmul, tensordot
from autograd_core.ops.reduce import linalg_norm as norm
from autograd_core.ops.reduce import matrix_norm, vector_norm

__all__ = ["norm", "vector_norm", "matrix_norm", "matmul", "tensordot", "vecdot"]


def vecdot(x, y, *, dim=-1):
    """The dot product of ``x`` and ``y`` along ``dim`` (broadcasting)."""
    return (x * y).sum(dim)
