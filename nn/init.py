"""Weight initialisation, as ``torch.nn.init``: each function fills a tensor in place.

Every random draw comes from ``autograd_core.random.get_generator()``, fetched at each
call (``manual_seed`` replaces the generator), in float64 and then cast to the
tensor's dtype, so a seed gives the same values in float32 and float64 models.

Fans: for a weight of shape (out, in, k1, k2, ...) the receptive field is
r = k1 * k2 * ..., fan_in = in * r and fan_out = out * r (a Linear has r = 1).

* Xavier/Glorot:  std = gain * sqrt(2 / (fan_in + fan_out)); uniform bound sqrt(3) * std.
* Kaiming/He:     std = gain / sqrt(fan), fan = fan_in (mode="fan_in") or fan_out;
  gain = calculate_gain(nonlinearity, a), uniform bound sqrt(3) * std.

PyTorch's default for Linear and Conv2d weights is kaiming_uniform_(w, a=sqrt(5)),
which works out to U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

>>> import nn
>>> from autograd_core import zeros, manual_seed
>>> _ = manual_seed(0)
>>> w = nn.init.kaiming_uniform_(zeros(64, 32), nonlinearity="relu")
>>> bool(abs(w.numpy()).max() <= (6 / 32) ** 0.5)
True
"""

import math

import numpy as np

from autograd_core.random import get_generator
from autograd_core.tensor import Tensor
from autograd_core.versions import mark_modified

__all__ = [
    "default_init_",
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
    "eye_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
    "orthogonal_", "calculate_fan_in_and_fan_out",
]

_LINEAR_GAINS = (
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "sigmoid", "identity",
)


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table).

    linear/conv/sigmoid: 1;  tanh: 5/3;  relu: sqrt(2);
    leaky_relu: sqrt(2 / (1 + slope^2)) with slope ``param`` (default 0.01);  selu: 3/4.
    """
    if nonlinearity in _LINEAR_GAINS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _check(tensor, op: str) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op} expects a Tensor (or Parameter), got {type(tensor).__name__}")
    if tensor._data.dtype.kind != "f":
        raise TypeError(f"{op} needs a floating-point tensor, got dtype {tensor.dtype}")
    return tensor


def _fill(tensor: Tensor, values) -> Tensor:
    """Write ``values`` into the tensor's array in place (no graph is recorded)."""
    data = tensor._data
    if data.flags.writeable:
        np.copyto(data, values, casting="unsafe")
        mark_modified(tensor)
    else:
        tensor._data = np.array(np.broadcast_to(values, data.shape), dtype=data.dtype)
    return tensor


def calculate_fan_in_and_fan_out(tensor) -> tuple:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel); needs 2 or more dims."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out need a tensor with at least 2 dims, got shape {tuple(shape)}"
        )
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a: float = 0.0, b: float = 1.0):
    """Fill with U(a, b)."""
    _check(tensor, "uniform_")
    if not a <= b:
        raise ValueError(f"uniform_: the lower bound a={a} exceeds the upper bound b={b}")
    return _fill(tensor, get_generator().uniform(a, b, size=tensor.shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0):
    """Fill with N(mean, std^2)."""
    _check(tensor, "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    return _fill(tensor, get_generator().normal(mean, std, size=tensor.shape))


def trunc_normal_(tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0):
    """Fill with N(mean, std^2) restricted to [a, b] (redrawing values outside)."""
    _check(tensor, "trunc_normal_")
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    rng = get_generator()
    values = rng.normal(mean, std, size=tensor.shape)
    outside = (values < a) | (values > b)
    for _ in range(1000):
        if not outside.any():
            break
        values[outside] = rng.normal(mean, std, size=int(outside.sum()))
        outside = (values < a) | (values > b)
    return _fill(tensor, np.clip(values, a, b))


def constant_(tensor, val: float):
    """Fill with the constant ``val``."""
    _check(tensor, "constant_")
    return _fill(tensor, val)


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def eye_(tensor):
    """Fill a 2-D tensor with the identity matrix."""
    _check(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError(f"eye_ needs a 2-D tensor, got shape {tuple(tensor.shape)}")
    return _fill(tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor, gain: float = 1.0):
    """Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    _check(tensor, "xavier_uniform_")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill(tensor, get_generator().uniform(-bound, bound, size=tensor.shape))


def xavier_normal_(tensor, gain: float = 1.0):
    """Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    _check(tensor, "xavier_normal_")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(tensor, get_generator().normal(0.0, std, size=tensor.shape))


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu"):
    """He uniform: U(-b, b), b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a)."""
    _check(tensor, "kaiming_uniform_")
    fan = _fan(tensor, mode)
    if fan == 0:
        return tensor  # an empty weight: nothing to draw (PyTorch warns and skips)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return _fill(tensor, get_generator().uniform(-bound, bound, size=tensor.shape))


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu"):
    """He normal: N(0, std^2), std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a)."""
    _check(tensor, "kaiming_normal_")
    fan = _fan(tensor, mode)
    if fan == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _fill(tensor, get_generator().normal(0.0, std, size=tensor.shape))


def orthogonal_(tensor, gain: float = 1.0):
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one, times gain."""
    _check(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_ needs at least 2 dims, got shape {tuple(tensor.shape)}")
    rows = tensor.shape[0]
    cols = tensor._data.size // rows
    flat = get_generator().standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # makes the decomposition unique (uniform over orthogonals)
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def default_init_(weight, bias=None):
    """PyTorch's default initialisation of Linear and Conv layers, in place.

    weight ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch writes it as ``kaiming_uniform_``
    with ``a = sqrt(5)``), and the bias from the same range (0 when fan_in is 0).

    >>> from autograd_core import zeros
    >>> w = default_init_(zeros(3, 4))
    >>> bool((abs(w.data) <= 0.5).all())
    True
    """
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound)
    return weight
