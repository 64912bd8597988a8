"""Fold and Unfold: sliding blocks to columns and back (``F.fold`` / ``F.unfold``, the
im2col / col2im kernels behind ``autograd_core.ops.fold``).

>>> import nn
>>> nn.Unfold(kernel_size=(2, 3))
Unfold(kernel_size=(2, 3), dilation=1, padding=0, stride=1)
"""

from nn import functional as F
from nn.module import Module

__all__ = ["Fold", "Unfold"]


class Unfold(Module):
    """(N, C, H, W) -> (N, C*kh*kw, L): every sliding block of the input as a column
    (``torch.nn.Unfold``); unbatched (C, H, W) -> (C*kh*kw, L)."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Module):
    """(N, C*kh*kw, L) -> (N, C, H, W) with ``(H, W) = output_size``: every column added
    back onto its block (``torch.nn.Fold``, the adjoint of :class:`Unfold`)."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")
