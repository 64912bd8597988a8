"""Pooling layers: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d, AdaptiveMaxPool1d/2d,
MaxUnpool2d (Numba kernels behind ``autograd_core.ops.pool``; the 1-D layers run the
2-D ops on a height-1 view, as Conv1d).

>>> import nn
>>> nn.MaxPool2d(2)
MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
"""

from autograd_core.kernels import pair
from autograd_core.kernels.pool import _default_stride, _divisor
from nn import functional as F
from nn.module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "MaxUnpool2d"]


def _parse(layer, value, name, minimum, allow_none=False):
    try:
        return pair(value, name, minimum=minimum, allow_none=allow_none)
    except ValueError as error:
        raise ValueError(f"{layer}: {error}") from None


def _parse1(layer, value, name, minimum):
    """The 1-D layers' counterpart of :func:`_parse`: an int or a 1-tuple."""
    return F._single(value, name, layer, minimum)


def _check_size1(layer, output_size):
    """A 1-D adaptive layer's ``output_size``: an int, a 1-tuple or None."""
    if output_size is not None:
        _parse1(layer, output_size, "output_size", 1)


def _check_window(layer, kernel_size, stride, padding, parse=_parse):
    """Refuse bad window arguments when the layer is built (PyTorch only fails in use).

    The layer keeps the values as given, as PyTorch does (its repr shows them).
    """
    parse(layer, kernel_size, "kernel_size", 1)
    if not _default_stride(stride):
        parse(layer, stride, "stride", 1)
    parse(layer, padding, "padding", 0)


class _MaxPoolNd(Module):
    """MaxPool1d/2d's arguments, checked by ``_parse_arg`` and kept as given."""

    _layer = ""
    _parse_arg = staticmethod(_parse)

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
        _check_window(self._layer, kernel_size, stride, padding, self._parse_arg)
        self._parse_arg(self._layer, dilation, "dilation", 1)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class _AdaptivePoolNd(Module):
    """The adaptive layers' ``output_size`` (None keeps that side), checked by
    ``_check_size`` and kept as given; max pooling's also take ``return_indices``."""

    _layer = ""

    def __init__(self, output_size):
        super().__init__()
        self._check_size(self._layer, output_size)
        self.output_size = output_size

    @staticmethod
    def _check_size(layer, output_size):
        _parse(layer, output_size, "output_size", 1, allow_none=True)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    def __init__(self, output_size, return_indices: bool = False):
        super().__init__(output_size)
        self.return_indices = return_indices


class MaxPool2d(_MaxPoolNd):
    """The maximum over each kernel window; ``stride`` defaults to ``kernel_size``.

    The gradient goes to the (first) maximum of each window; ``dilation`` spaces the
    window's taps. With ``return_indices=True`` it returns ``(output, indices)`` as
    PyTorch (the indices :class:`MaxUnpool2d` takes).
    """

    _layer = "MaxPool2d"

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool2d(Module):
    """The mean over each kernel window; ``stride`` defaults to ``kernel_size``.

    With ``count_include_pad`` (default) padded zeros count in the mean's divisor;
    ``divisor_override=d`` divides every window's sum by d instead.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__()
        _check_window("AvgPool2d", kernel_size, stride, padding)
        if divisor_override is not None:
            try:
                _divisor(divisor_override)
            except ValueError as error:
                raise ValueError(f"AvgPool2d: {error}") from None
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    """Average pooling to a fixed ``output_size`` (an int, a pair; None keeps that side)."""

    _layer = "AdaptiveAvgPool2d"

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)


class MaxUnpool2d(Module):
    """The partial inverse of :class:`MaxPool2d`: each value goes back to the position
    its index names, every other pixel is zero. ``forward(input, indices,
    output_size=None)``; the output side defaults to ``(H - 1) * stride - 2 * padding +
    kernel_size``.

    >>> import nn
    >>> nn.MaxUnpool2d(2)
    MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _parse("MaxUnpool2d", kernel_size, "kernel_size", 1)
        self.stride = (self.kernel_size if stride is None
                       else _parse("MaxUnpool2d", stride, "stride", 1))
        self.padding = _parse("MaxUnpool2d", padding, "padding", 0)

    def forward(self, input, indices, output_size=None):
        return F.max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding,
                              output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling over (N, C, L) or (C, L), ``torch.nn.MaxPool1d``; ``stride``
    defaults to ``kernel_size``, ``return_indices`` as :class:`MaxPool2d`.

    >>> import nn
    >>> nn.MaxPool1d(3, stride=2)
    MaxPool1d(kernel_size=3, stride=2, padding=0, dilation=1, ceil_mode=False)
    """

    _layer = "MaxPool1d"
    _parse_arg = staticmethod(_parse1)

    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class AvgPool1d(Module):
    """1-D average pooling over (N, C, L) or (C, L), ``torch.nn.AvgPool1d`` (the
    divisor rules of :class:`AvgPool2d` along L). Like PyTorch it keeps 1-tuples.

    >>> import nn
    >>> nn.AvgPool1d(3, stride=2)
    AvgPool1d(kernel_size=(3,), stride=(2,), padding=(0,))
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True):
        super().__init__()
        self.kernel_size = (_parse1("AvgPool1d", kernel_size, "kernel_size", 1),)
        self.stride = (self.kernel_size if _default_stride(stride)
                       else (_parse1("AvgPool1d", stride, "stride", 1),))
        self.padding = (_parse1("AvgPool1d", padding, "padding", 0),)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    """Average pooling of (N, C, L) or (C, L) to a fixed length ``output_size``."""

    _layer = "AdaptiveAvgPool1d"
    _check_size = staticmethod(_check_size1)

    def forward(self, x):
        return F.adaptive_avg_pool1d(x, self.output_size)


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max pooling of (N, C, L) or (C, L) to a fixed length ``output_size``
    (``return_indices`` as :class:`MaxPool1d`)."""

    _layer = "AdaptiveMaxPool1d"
    _check_size = staticmethod(_check_size1)

    def forward(self, x):
        return F.adaptive_max_pool1d(x, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed ``output_size`` (an int, a pair; None keeps that side),
    the bins of :class:`AdaptiveAvgPool2d`; ``return_indices`` as :class:`MaxPool2d`.

    >>> import nn
    >>> nn.AdaptiveMaxPool2d((2, None))
    AdaptiveMaxPool2d(output_size=(2, None))
    """

    _layer = "AdaptiveMaxPool2d"

    def forward(self, x):
        return F.adaptive_max_pool2d(x, self.output_size, self.return_indices)
