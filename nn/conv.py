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
from nn import functional as F
from nn import init
from nn.module import Module, check_device
from nn.parameter import Parameter

__all__ = ["Conv2d", "pair"]


def pair(value, name: str, layer: str) -> tuple:
    """An int or a pair of ints as a pair of non-negative ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value), int(value))
    try:
        value = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(
            f"{layer}: {name} must be an int or a pair of ints, got {value!r}"
        ) from None
    if len(value) != 2 or min(value) < 0:
        raise ValueError(f"{layer}: {name} must be an int or a pair of non-negative ints, "
                         f"got {value!r}")
    return value


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
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d")
        if min(self.kernel_size) < 1:
            raise ValueError(f"Conv2d: kernel_size must be positive, got {kernel_size!r}")
        self.stride = pair(stride, "stride", "Conv2d")
        if min(self.stride) < 1:
            raise ValueError(f"Conv2d: stride must be positive, got {stride!r}")
        self.dilation = pair(dilation, "dilation", "Conv2d")
        if min(self.dilation) < 1:
            raise ValueError(f"Conv2d: dilation must be positive, got {dilation!r}")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv2d: padding must be 'same', 'valid' or ints, got "
                                 f"{padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("Conv2d: padding='same' is not supported for strided "
                                 "convolutions")
            self.padding = padding
        else:
            self.padding = pair(padding, "padding", "Conv2d")
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
