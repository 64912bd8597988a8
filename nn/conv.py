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


class Conv2d(Module):
    """y[n, o] = b[o] + sum over c, i, j of W[o, c, i, j] x[n, c, s*h + d*i, s*w + d*j].

    Arguments as ``torch.nn.Conv2d``: ``padding`` is an int, a pair, ``"valid"`` (0) or
    ``"same"`` (output size = input size; stride 1 only). ``padding_mode`` must be
    ``"zeros"``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__()
        check_device(device, "Conv2d")
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Conv2d: {name} must be a positive integer, got {value!r}")
        if in_channels % groups:
            raise ValueError(f"Conv2d: in_channels={in_channels} must be divisible by "
                             f"groups={groups}")
        if out_channels % groups:
            raise ValueError(f"Conv2d: out_channels={out_channels} must be divisible by "
                             f"groups={groups}")
        if padding_mode != "zeros":
            raise NotImplementedError(
                f"Conv2d: padding_mode={padding_mode!r} is not implemented; only 'zeros'"
            )
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.dilation = _pair(dilation, "dilation", 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv2d: padding must be 'same', 'valid' or ints, got "
                                 f"{padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("Conv2d: padding='same' is not supported for strided "
                                 "convolutions")
            self.padding = padding
        else:
            self.padding = _pair(padding, "padding", 0)
        self.groups = int(groups)
        self.padding_mode = padding_mode
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(np.zeros(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.zeros(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_init_(self.weight, self.bias)

    def forward(self, x):
        shape = np.shape(x)
        if len(shape) not in (3, 4):
            raise ShapeError(
                f"Conv2d: expected 3D (C, H, W) or 4D (N, C, H, W) input, got input of shape "
                f"{shape}"
            )
        channels = shape[-3]
        if channels != self.in_channels:
            raise ShapeError(
                f"Conv2d: expected input with in_channels={self.in_channels} (dim "
                f"{len(shape) - 3}), got input of shape {shape} with {channels} channels"
            )
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                         self.groups)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv1d(Module):
    """y[n, o, t] = b[o] + sum over c, k of W[o, c, k] x[n, c, s*t + d*k - p].

    Arguments, weight layout (out_channels, in_channels / groups, kernel_size), state-dict
    keys and default init as ``torch.nn.Conv1d``; ``padding`` is an int, a 1-tuple,
    ``"valid"`` or ``"same"`` (stride 1 only); ``padding_mode`` must be ``"zeros"``. The
    arithmetic is ``F.conv1d``: Conv2d's kernel on a unit height.

    >>> import nn
    >>> nn.Conv1d(4, 8, 3, padding=1)
    Conv1d(4, 8, kernel_size=(3,), stride=(1,), padding=(1,))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__()
        check_device(device, "Conv1d")
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Conv1d: {name} must be a positive integer, got {value!r}")
        if in_channels % groups:
            raise ValueError(f"Conv1d: in_channels={in_channels} must be divisible by "
                             f"groups={groups}")
        if out_channels % groups:
            raise ValueError(f"Conv1d: out_channels={out_channels} must be divisible by "
                             f"groups={groups}")
        if padding_mode != "zeros":
            raise NotImplementedError(
                f"Conv1d: padding_mode={padding_mode!r} is not implemented; only 'zeros'")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = (F._single(kernel_size, "kernel_size", "Conv1d", 1),)
        self.stride = (F._single(stride, "stride", "Conv1d", 1),)
        self.dilation = (F._single(dilation, "dilation", "Conv1d", 1),)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv1d: padding must be 'same', 'valid' or ints, got "
                                 f"{padding!r}")
            if padding == "same" and self.stride != (1,):
                raise ValueError("Conv1d: padding='same' is not supported for strided "
                                 "convolutions")
            self.padding = padding
        else:
            self.padding = (F._single(padding, "padding", "Conv1d", 0),)
        self.groups = int(groups)
        self.padding_mode = padding_mode
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(np.zeros(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.zeros(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_init_(self.weight, self.bias)

    def forward(self, x):
        shape = np.shape(x)
        if len(shape) not in (2, 3):
            raise ShapeError(f"Conv1d: expected 2D (C, L) or 3D (N, C, L) input, got input "
                             f"of shape {shape}")
        if shape[-2] != self.in_channels:
            raise ShapeError(
                f"Conv1d: expected input with in_channels={self.in_channels} (dim "
                f"{len(shape) - 2}), got input of shape {shape} with {shape[-2]} channels")
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,):
            text += f", padding={self.padding}"
        if self.dilation != (1,):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class ConvTranspose2d(Module):
    """The adjoint of a Conv2d: y = conv_transpose2d(x, W) + b, ``torch.nn.ConvTranspose2d``.

    The weight is (in_channels, out_channels / groups, kh, kw), PyTorch's layout, keys and
    default init (fan_in = out_channels / groups * kh * kw, as PyTorch computes it). The
    output side is ``(H - 1) S - 2 P + D (kh - 1) + output_padding + 1``; ``forward``
    also takes ``output_size`` (the output_padding is then derived from it, as PyTorch).

    >>> import nn
    >>> nn.ConvTranspose2d(4, 2, 3, stride=2)
    ConvTranspose2d(4, 2, kernel_size=(3, 3), stride=(2, 2))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, output_padding=0, groups: int = 1, bias: bool = True,
                 dilation=1, padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__()
        check_device(device, "ConvTranspose2d")
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"ConvTranspose2d: {name} must be a positive integer, got "
                                 f"{value!r}")
        if in_channels % groups:
            raise ValueError(f"ConvTranspose2d: in_channels={in_channels} must be divisible "
                             f"by groups={groups}")
        if out_channels % groups:
            raise ValueError(f"ConvTranspose2d: out_channels={out_channels} must be "
                             f"divisible by groups={groups}")
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
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        shape = (in_channels, out_channels // groups) + self.kernel_size
        self.weight = Parameter(np.zeros(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.zeros(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_init_(self.weight, self.bias)

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
        shape = np.shape(x)
        if len(shape) not in (3, 4):
            raise ShapeError(f"ConvTranspose2d: expected 3D (C, H, W) or 4D (N, C, H, W) "
                             f"input, got input of shape {shape}")
        if shape[-3] != self.in_channels:
            raise ShapeError(
                f"ConvTranspose2d: expected input with in_channels={self.in_channels} (dim "
                f"{len(shape) - 3}), got input of shape {shape} with {shape[-3]} channels")
        output_padding = self._output_padding(shape, output_size)
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  output_padding, self.groups, self.dilation)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text
