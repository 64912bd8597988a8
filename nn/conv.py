"""Conv2d: 2-D cross-correlation over (N, C, H, W) inputs, PyTorch's layout and init.

The weight is (out_channels, in_channels / groups, kh, kw); the default init is
PyTorch's: weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
fan_in = in_channels / groups * kh * kw. The arithmetic is the Numba im2col kernel
behind ``autograd_core.ops.conv.conv2d``.

>>> import nn
>>> conv = nn.Conv2d(1, 6, 5, padding=2)
>>> conv.weight.shape, conv
(torch.Size([6, 1, 5, 5]), Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2)))
"""


import numpy as np

from autograd_core.errors import ShapeError
from autograd_core.kernels import pair
from nn import functional as F
from nn import init
from nn.module import Module, check_device
from nn.parameter import Parameter

__all__ = ["Conv2d", "Conv1d", "ConvTranspose2d"]


def _pair(value, name: str, minimum: int) -> tuple:
    """The project's int-or-pair parser, its errors prefixed with the layer's name."""
    try:
        return pair(value, name, minimum=minimum)
    except ValueError as error:
        raise ValueError(f"Conv2d: {error}") from None


class _ConvBase(Module):
    """What the convolution layers share: argument checks, parameters, init, input check
    and repr. Errors are prefixed with the layer's class name."""

    _layout = ""  # the accepted input ranks, for error messages

    def _check_channels(self, in_channels, out_channels, groups):
        op = type(self).__name__
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{op}: {name} must be a positive integer, got {value!r}")
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if value % groups:
                raise ValueError(f"{op}: {name}={value} must be divisible by groups={groups}")

    def _string_padding(self, padding, unit_stride: bool):
        op = type(self).__name__
        if padding not in ("same", "valid"):
            raise ValueError(f"{op}: padding must be 'same', 'valid' or ints, got {padding!r}")
        if padding == "same" and not unit_stride:
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
        return padding

    def _make_parameters(self, weight_shape, out_channels, bias, dtype):
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        self.weight = Parameter(np.zeros(weight_shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.zeros(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_init_(self.weight, self.bias)

    def _check_input(self, x, spatial: int):
        """The input's shape, after checking its rank and its channel count."""
        shape = np.shape(x)
        op = type(self).__name__
        if len(shape) not in (spatial + 1, spatial + 2):
            raise ShapeError(f"{op}: expected {self._layout} input, got input of shape {shape}")
        channels = shape[-spatial - 1]
        if channels != self.in_channels:
            raise ShapeError(
                f"{op}: expected input with in_channels={self.in_channels} (dim "
                f"{len(shape) - spatial - 1}), got input of shape {shape} with {channels} "
                "channels")
        return shape

    def extra_repr(self):
        zero, one = (0,) * len(self.kernel_size), (1,) * len(self.kernel_size)
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != zero:
            text += f", padding={self.padding}"
        if self.dilation != one:
            text += f", dilation={self.dilation}"
        if getattr(self, "output_padding", zero) != zero:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv2d(_ConvBase):
    """y[n, o] = b[o] + sum over c, i, j of W[o, c, i, j] x[n, c, s*h + d*i, s*w + d*j].

    Arguments as ``torch.nn.Conv2d``: ``padding`` is an int, a pair, ``"valid"`` (0) or
    ``"same"`` (output size = input size; stride 1 only). ``padding_mode`` must be
    ``"zeros"``.
    """

    _layout = "3D (C, H, W) or 4D (N, C, H, W)"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__()
        check_device(device, "Conv2d")
        self._check_channels(in_channels, out_channels, groups)
        if padding_mode != "zeros":
            raise NotImplementedError(
                f"Conv2d: padding_mode={padding_mode!r} is not implemented; only 'zeros'"
            )
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.dilation = _pair(dilation, "dilation", 1)
        self.padding = (self._string_padding(padding, self.stride == (1, 1))
                        if isinstance(padding, str) else _pair(padding, "padding", 0))
        self.groups = int(groups)
        self.padding_mode = padding_mode
        self._make_parameters((out_channels, in_channels // groups) + self.kernel_size,
                              out_channels, bias, dtype)

    def forward(self, x):
        self._check_input(x, 2)
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class Conv1d(_ConvBase):
    """y[n, o, t] = b[o] + sum over c, k of W[o, c, k] x[n, c, s*t + d*k - p].

    Arguments, weight layout (out_channels, in_channels / groups, kernel_size), state-dict
    keys and default init as ``torch.nn.Conv1d``; ``padding`` is an int, a 1-tuple,
    ``"valid"`` or ``"same"`` (stride 1 only); ``padding_mode`` must be ``"zeros"``. The
    arithmetic is ``F.conv1d``: Conv2d's kernel on a unit height.

    >>> import nn
    >>> nn.Conv1d(4, 8, 3, padding=1)
    Conv1d(4, 8, kernel_size=(3,), stride=(1,), padding=(1,))
    """

    _layout = "2D (C, L) or 3D (N, C, L)"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__()
        check_device(device, "Conv1d")
        self._check_channels(in_channels, out_channels, groups)
        if padding_mode != "zeros":
            raise NotImplementedError(
                f"Conv1d: padding_mode={padding_mode!r} is not implemented; only 'zeros'")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = (F._single(kernel_size, "kernel_size", "Conv1d", 1),)
        self.stride = (F._single(stride, "stride", "Conv1d", 1),)
        self.dilation = (F._single(dilation, "dilation", "Conv1d", 1),)
        self.padding = (self._string_padding(padding, self.stride == (1,))
                        if isinstance(padding, str)
                        else (F._single(padding, "padding", "Conv1d", 0),))
        self.groups = int(groups)
        self.padding_mode = padding_mode
        self._make_parameters((out_channels, in_channels // groups) + self.kernel_size,
                              out_channels, bias, dtype)

    def forward(self, x):
        self._check_input(x, 1)
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class ConvTranspose2d(_ConvBase):
    """The adjoint of a Conv2d: y = conv_transpose2d(x, W) + b, ``torch.nn.ConvTranspose2d``.

    The weight is (in_channels, out_channels / groups, kh, kw), PyTorch's layout, keys and
    default init (fan_in = out_channels / groups * kh * kw, as PyTorch computes it). The
    output side is ``(H - 1) S - 2 P + D (kh - 1) + output_padding + 1``; ``forward``
    also takes ``output_size`` (the output_padding is then derived from it, as PyTorch).

    >>> import nn
    >>> nn.ConvTranspose2d(4, 2, 3, stride=2)
    ConvTranspose2d(4, 2, kernel_size=(3, 3), stride=(2, 2))
    """

    _layout = "3D (C, H, W) or 4D (N, C, H, W)"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, output_padding=0, groups: int = 1, bias: bool = True,
                 dilation=1, padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__()
        check_device(device, "ConvTranspose2d")
        self._check_channels(in_channels, out_channels, groups)
        if padding_mode != "zeros":
            raise ValueError(f"ConvTranspose2d: only padding_mode='zeros' is supported, got "
                             f"{padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d: padding must be an int or a pair, got "
                             f"{padding!r}")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.padding = _pair(padding, "padding", 0)
        self.output_padding = _pair(output_padding, "output_padding", 0)
        self.dilation = _pair(dilation, "dilation", 1)
        self.groups = int(groups)
        self.padding_mode = padding_mode
        self._make_parameters((in_channels, out_channels // groups) + self.kernel_size,
                              out_channels, bias, dtype)

    def _output_padding(self, shape, output_size):
        if output_size is None:
            return self.output_padding
        output_size = tuple(output_size)[-2:]
        if len(output_size) != 2:
            raise ValueError(f"ConvTranspose2d: output_size must hold (H, W), got "
                             f"{output_size}")
        padding = []
        for i in range(2):
            smallest = ((shape[-2 + i] - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            extra = int(output_size[i]) - smallest
            if not 0 <= extra < self.stride[i]:
                raise ValueError(
                    f"ConvTranspose2d: requested an output size of {output_size}, but valid "
                    f"sizes for an input of shape {shape} range from "
                    f"{self._sizes(shape, 0)} to {self._sizes(shape, 1)}")
            padding.append(extra)
        return tuple(padding)

    def _sizes(self, shape, top):
        return tuple((shape[-2 + i] - 1) * self.stride[i] - 2 * self.padding[i]
                     + self.dilation[i] * (self.kernel_size[i] - 1) + 1
                     + top * (self.stride[i] - 1) for i in range(2))

    def forward(self, x, output_size=None):
        shape = self._check_input(x, 2)
        output_padding = self._output_padding(shape, output_size)
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  output_padding, self.groups, self.dilation)
