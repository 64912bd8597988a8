"""Exceptions with both the Pythonic and the PyTorch base class.

PyTorch raises ``RuntimeError`` for shape mismatches and ``IndexError`` for dims out of
range, while NumPy-minded code expects ``ValueError``. Each error here derives from both,
so ``except ValueError`` and ``except RuntimeError`` both catch a shape mismatch.

>>> issubclass(ShapeError, ValueError) and issubclass(ShapeError, RuntimeError)
True
"""


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit: broadcasting, matmul, reshape, cat, gradients."""


class DimensionError(IndexError, ValueError):
    """A ``dim`` argument outside ``[-ndim, ndim - 1]``."""


class DTypeError(TypeError, RuntimeError):
    """A dtype that an operation does not accept (e.g. an integer tensor requiring grad)."""


class GradcheckError(RuntimeError):
    """Raised by :func:`autograd_core.gradcheck` when numeric and analytic gradients differ."""
