"""Linear layers: Identity, Linear, Maxout, and the shape helpers Flatten, Unflatten.

Linear's weight is (out_features, in_features), PyTorch's layout, and its default
initialisation is PyTorch's: weight and bias from U(-1/sqrt(in), 1/sqrt(in)).

>>> import nn
>>> layer = nn.Linear(3, 2)
>>> layer.weight.shape, layer.bias.shape
(torch.Size([2, 3]), torch.Size([2]))
"""


import numpy as np

from autograd_core.errors import ShapeError
from autograd_core.tensor import Tensor
from nn import functional as F
from nn import init
from nn.module import Module, check_device
from nn.parameter import Parameter

__all__ = ["Identity", "Linear", "Maxout", "Flatten", "Unflatten"]


def _positive_int(value, name: str, layer: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _empty(shape, dtype) -> np.ndarray:
    from autograd_core.ops._dtypes import default_float  # set_default_dtype's choice

    return np.zeros(shape, dtype=default_float() if dtype is None else np.dtype(dtype))


def check_features(x, expected: int, layer: str):
    """Raise a ShapeError naming both sizes when x's last dim is not ``expected``."""
    shape = np.shape(x)
    if len(shape) == 0 or shape[-1] != expected:
        raise ShapeError(
            f"{layer}: expected input with last dim in_features={expected}, got input of "
            f"shape {shape} (last dim {shape[-1] if shape else 'missing'})"
        )


class Identity(Module):
    """Returns its input; arguments are accepted and ignored (as PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """y = x W^T + b, W: (out_features, in_features), one fused node.

    Init (PyTorch's): W, b ~ U(-k, k) with k = 1 / sqrt(in_features).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__()
        check_device(device, type(self).__name__)
        self.in_features = _positive_int(in_features, "in_features", "Linear")
        self.out_features = _positive_int(out_features, "out_features", "Linear")
        _add_linear_parameters(self, out_features, in_features, bias, dtype)

    def reset_parameters(self):
        init.default_init_(self.weight, self.bias)

    def forward(self, x):
        check_features(x, self.in_features, "Linear")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


def _add_linear_parameters(module, rows, in_features, bias, dtype):
    """Register ``weight`` (rows, in_features) and ``bias`` (rows,) or None, initialised."""
    module.weight = Parameter(_empty((rows, in_features), dtype))
    if bias:
        module.bias = Parameter(_empty((rows,), dtype))
    else:
        module.register_parameter("bias", None)
    module.reset_parameters()


class Maxout(Module):
    """Maxout (Goodfellow et al., 2013): y_o = max_k (w_(o,k) . x + b_(o,k)), k < pieces.

    One fused Linear to out_features * pieces units (weight rows o * pieces + k), then a
    max over the pieces; initialised as a Linear with the same in_features.
    """

    def __init__(self, in_features: int, out_features: int, pieces: int, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        check_device(device, "Maxout")
        self.in_features = _positive_int(in_features, "in_features", "Maxout")
        self.out_features = _positive_int(out_features, "out_features", "Maxout")
        self.pieces = _positive_int(pieces, "pieces", "Maxout")
        _add_linear_parameters(self, out_features * pieces, in_features, bias, dtype)

    def reset_parameters(self):
        init.default_init_(self.weight, self.bias)

    def forward(self, x):
        check_features(x, self.in_features, "Maxout")
        return F.maxout(x, self.weight, self.bias, self.pieces)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"pieces={self.pieces}, bias={self.bias is not None}")


class Flatten(Module):
    """Merge dims start_dim..end_dim into one (default: all but the batch dim)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x):
        if not isinstance(x, Tensor):
            x = Tensor._make(np.asarray(x))
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (the inverse of Flatten)."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, x):
        dim = self.dim % x.ndim
        return x.reshape(*x.shape[:dim], *self.unflattened_size, *x.shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Bilinear(Module):
    """y_k = x1^T A_k x2 + b_k: weight (out_features, in1_features, in2_features), bias
    (out_features,), both U(-1/sqrt(in1), 1/sqrt(in1)) as PyTorch."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        check_device(device, "Bilinear")
        self.in1_features = _positive_int(in1_features, "in1_features", "Bilinear")
        self.in2_features = _positive_int(in2_features, "in2_features", "Bilinear")
        self.out_features = _positive_int(out_features, "out_features", "Bilinear")
        self.weight = Parameter(_empty((out_features, in1_features, in2_features), dtype))
        if bias:
            self.bias = Parameter(_empty((out_features,), dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / np.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


__all__ += ["Bilinear"]
