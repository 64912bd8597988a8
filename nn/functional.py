"""Functional forms of the layers and losses, as ``torch.nn.functional`` (import as F).

Each function takes Tensors (NumPy arrays and numbers are treated as constants),
checks its arguments and names what is wrong, and builds one node of the graph where
the maths allows (the ops live in ``autograd_core.ops``). Layers in ``nn`` are thin
Modules around these.

>>> import nn.functional as F
>>> from autograd_core import Tensor
>>> F.relu(Tensor([-1.0, 2.0])).tolist()
[0.0, 2.0]
"""

import warnings

import numpy as np

from autograd_core.errors import DTypeError, ShapeError
from autograd_core.kernels.pool import _default_stride, pool_output_size
from autograd_core.ops import activation as _act
from autograd_core.ops import elementwise as _ew
from autograd_core.ops import linalg as _la
from autograd_core.ops import loss as _loss
from autograd_core.ops import normalization as _norm
from autograd_core.ops import reduce as _red
from autograd_core.ops._shapes import normalize_dim
from autograd_core.ops.conv import conv2d
from autograd_core.ops.dropout import DropConnect as _DropConnect
from autograd_core.ops.dropout import Dropout as _Dropout
from autograd_core.ops.dropout import dropout_mask
from autograd_core.ops.elementwise import where as _where
from autograd_core.ops.fold import fold, unfold
from autograd_core.ops.movement import cat as _cat
from autograd_core.ops.pool import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    max_pool2d,
    max_unpool2d,
)
from autograd_core.random import get_generator
from autograd_core.tensor import Tensor

__all__ = [
    # convolution and pooling (the ops of autograd_core.ops.conv / .pool)
    "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
    "max_unpool2d", "unfold", "fold",
    # linear layers
    "linear", "maxout", "drop_connect",
    # activations
    "relu", "relu6", "leaky_relu", "prelu", "elu", "selu", "softplus", "sigmoid", "tanh",
    "silu", "hardtanh", "logsigmoid", "softmax", "log_softmax",
    # regularisation and normalisation
    "dropout", "dropout2d", "batch_norm", "layer_norm", "instance_norm", "normalize",
    # losses
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "focal_loss",
    # utilities
    "one_hot", "pad",
]


# --------------------------------------------------------------------------- helpers
def _tensor(x, name: str, op: str) -> Tensor:
    """``x`` as a Tensor (arrays and numbers wrapped, no copy of a float array)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "biuf":
            raise DTypeError(f"{op}: {name} has dtype {x.dtype}, which is not numeric")
        return Tensor._make(x)
    try:
        return Tensor(x)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{op}: {name} must be a Tensor or an array, got {type(x).__name__}"
                        f" ({error})") from None


def _float_tensor(x, name: str, op: str) -> Tensor:
    t = _tensor(x, name, op)
    if t.dtype.kind != "f":
        raise DTypeError(
            f"{op}: {name} must be a floating-point tensor, got dtype {t.dtype} "
            f"(convert it with .float())"
        )
    return t


def _promoted_to_float(x, op: str) -> Tensor:
    """``x`` as a Tensor, integer and bool inputs converted to float32, PyTorch's default
    float dtype, as ``sigmoid`` and ``exp`` promote them: these activations compute in
    floats, and NumPy would otherwise truncate the result back to integers
    (``softplus([-1, 2])`` gave ``[0, 2]``). Integer tensors never require grad, so no
    graph is lost by the conversion."""
    t = _tensor(x, "input", op)
    if t.dtype.kind in "biu":
        return Tensor._make(t._data.astype(np.float32))
    return t


def _array(x) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _check_probability(p, op: str) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)):
        raise TypeError(f"{op}: p must be a number, got {type(p).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


_REDUCTIONS = ("mean", "sum", "none")


def _reduction(reduction, op: str, size_average=None, reduce=None) -> str:
    """The reduction, translating PyTorch's deprecated size_average/reduce flags."""
    if size_average is not None or reduce is not None:
        warnings.warn(
            f"{op}: size_average and reduce are deprecated; use reduction=",
            DeprecationWarning, stacklevel=3,
        )
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if (reduce and size_average) else ("sum" if reduce else "none")
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
        )
    return reduction


def _check_not_empty_mean(shape, reduction: str, op: str):
    """Refuse the mean over no elements (an empty batch).

    It is 0 / 0: PyTorch returns nan, which then silently poisons the running loss,
    the optimizer state and every weight. This library raises instead (a documented
    difference); ``reduction='sum'`` gives 0 for an empty batch, or skip such batches.
    """
    if reduction == "mean" and 0 in tuple(shape):
        raise ValueError(
            f"{op}: the mean loss of an empty batch (shape {tuple(shape)}) is 0 / 0; "
            "PyTorch returns nan here, this library raises: skip empty batches or use "
            "reduction='sum'"
        )


def _same_shape_or_warn(input, target, op: str):
    if input.shape != target.shape:
        try:
            np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ShapeError(
                f"{op}: the input of shape {input.shape} and the target of shape "
                f"{target.shape} do not broadcast"
            ) from None
        warnings.warn(
            f"{op}: using a target of shape {target.shape} with an input of shape "
            f"{input.shape}; they are broadcast together, which is rarely intended "
            "(e.g. (N, 1) against (N,) gives (N, N)). Make the shapes equal.",
            UserWarning, stacklevel=3,
        )


def _same_shape(input, target, op: str):
    if input.shape != target.shape:
        raise ShapeError(
            f"{op}: the target's shape {target.shape} must equal the input's shape "
            f"{input.shape}"
        )


# --------------------------------------------------------------------------- linear
def linear(input, weight, bias=None) -> Tensor:
    """y = x W^T + b in one node; x: (..., in), W: (out, in), b: (out,).

    >>> import nn.functional as F; from autograd_core import ones
    >>> F.linear(ones(2, 3), ones(4, 3)).shape
    torch.Size([2, 4])
    """
    # As Tensors first: a list then becomes float32 (not float64, as NumPy would make
    # it), and an object array is refused instead of giving an object output that
    # records no graph, so the layer would silently stop training.
    input = _tensor(input, "input", "linear")
    weight = _tensor(weight, "weight", "linear")
    bias = None if bias is None else _tensor(bias, "bias", "linear")
    w_shape = np.shape(weight)
    x_shape = np.shape(input)
    if len(w_shape) != 2:
        raise ShapeError(f"linear: the weight must be 2-D (out, in), got shape {w_shape}")
    if len(x_shape) == 0 or x_shape[-1] != w_shape[1]:
        raise ShapeError(
            f"linear: the input's last dim must equal in_features={w_shape[1]} of the weight "
            f"{w_shape}, got input of shape {x_shape}"
        )
    if bias is not None and np.shape(bias) != (w_shape[0],):
        raise ShapeError(
            f"linear: the bias must have shape ({w_shape[0]},), got {np.shape(bias)}"
        )
    return _la.Linear.apply(input, weight, bias)


def maxout(input, weight, bias, pieces: int) -> Tensor:
    """Maxout: y_o = max_k (W_(o,k) x + b_(o,k)), W: (out * pieces, in), rows o*pieces + k."""
    z = linear(input, weight, bias)
    out_features = z.shape[-1] // pieces
    grouped = z.reshape(*z.shape[:-1], out_features, pieces)
    # the Max op itself: Tensor.max(dim) would also compute argmax indices, unused here
    return _red.Max.apply(grouped, dim=(grouped.ndim - 1,), keepdim=False)


def drop_connect(input, weight, bias=None, p: float = 0.5, training: bool = True) -> Tensor:
    """A linear layer whose weights are dropped (probability p, inverted scaling) in
    training: y = x (W * M)^T + b, one mask M per call; all weights in eval."""
    p = _check_probability(p, "drop_connect")
    if training and p > 0:
        w = _tensor(weight, "weight", "drop_connect")
        mask = dropout_mask(w.shape, p, w.dtype, get_generator())
        weight = _DropConnect.apply(w, mask)
    return linear(input, weight, bias)


# --------------------------------------------------------------------------- activations
def relu(input, inplace: bool = False) -> Tensor:
    """max(x, 0). ``inplace`` is accepted for PyTorch code and ignored (graphs are pure)."""
    return _ew.Relu.apply(input)


def relu6(input, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return _act.Hardtanh.apply(input, min_val=0.0, max_val=6.0)


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """clip(x, min_val, max_val)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} exceeds max_val {max_val}")
    return _act.Hardtanh.apply(input, min_val=float(min_val), max_val=float(max_val))


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise."""
    return _act.LeakyRelu.apply(input, negative_slope=float(negative_slope))


def prelu(input, weight) -> Tensor:
    """x for x > 0, w_c x otherwise; w has 1 element or one per channel (dim 1)."""
    w_size = int(np.size(_array(weight)))
    x_shape = np.shape(input)
    if w_size != 1:
        channels = x_shape[1] if len(x_shape) >= 2 else (x_shape[0] if x_shape else 1)
        if w_size != channels:
            raise ShapeError(
                f"prelu: the weight has {w_size} elements but the input of shape {x_shape} "
                f"has {channels} channels (dim 1); use 1 or {channels} parameters"
            )
    return _act.PRelu.apply(input, weight)


def elu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (e^x - 1) otherwise."""
    return _act.Elu.apply(_promoted_to_float(input, "elu"), alpha=float(alpha))


def selu(input, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with scale ~ 1.0507, alpha ~ 1.6733 (self-normalising)."""
    return _act.Selu.apply(_promoted_to_float(input, "selu"))


def softplus(input, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, and x where beta x > threshold."""
    if beta == 0:
        raise ValueError("softplus: beta must not be 0")
    return _act.Softplus.apply(_promoted_to_float(input, "softplus"), beta=float(beta),
                               threshold=float(threshold))


# the same functions as torch.sigmoid and torch.tanh (one definition, in the ops)
sigmoid = _ew.sigmoid
tanh = _ew.tanh


def silu(input, inplace: bool = False) -> Tensor:
    """x sigmoid(x) (swish)."""
    return _act.Silu.apply(_promoted_to_float(input, "silu"))


def logsigmoid(input) -> Tensor:
    """log sigmoid(x) = -softplus(-x), stable for large |x|."""
    return -_act.Softplus.apply(-_promoted_to_float(input, "logsigmoid"), beta=1.0,
                                threshold=np.inf)


def _softmax_dim(ndim: int, dim, op: str) -> int:
    if dim is None:
        # PyTorch's legacy choice, with its warning
        warnings.warn(
            f"{op}: implicit dimension choice is deprecated; pass dim= explicitly",
            UserWarning, stacklevel=3,
        )
        dim = 0 if ndim in (0, 1, 3) else 1
    return normalize_dim(dim, ndim, op)


def _softmax_input(input, dtype, op: str) -> Tensor:
    """The float Tensor a softmax runs on: ``dtype`` applied first, as PyTorch does (so
    an integer input may name a float dtype)."""
    x = _tensor(input, "input", op)
    return _float_tensor(x if dtype is None else x.to(dtype), "input", op)


def softmax(input, dim=None, dtype=None) -> Tensor:
    """exp(x_i - m) / sum_j exp(x_j - m) along ``dim`` (m = max, so it never overflows)."""
    x = _softmax_input(input, dtype, "softmax")
    return _red.Softmax.apply(x, dim=_softmax_dim(x.ndim, dim, "softmax"))


def log_softmax(input, dim=None, dtype=None) -> Tensor:
    """x - logsumexp(x) along ``dim``, stable (never the log of a rounded-to-0 softmax)."""
    x = _softmax_input(input, dtype, "log_softmax")
    return _red.LogSoftmax.apply(x, dim=_softmax_dim(x.ndim, dim, "log_softmax"))


# --------------------------------------------------------------------------- dropout
def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: zero each element with probability p, scale the rest by
    1 / (1 - p); the identity when ``training`` is False or p = 0.

    The mask comes from ``autograd_core.random.get_generator()`` (``manual_seed``).
    """
    p = _check_probability(p, "dropout")
    if not training or p == 0.0:
        return input
    x = _float_tensor(input, "input", "dropout")
    return _Dropout.apply(x, dropout_mask(x.shape, p, x.dtype, get_generator()))


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout for (N, C, H, W) or (C, H, W): whole feature maps are zeroed."""
    p = _check_probability(p, "dropout2d")
    if not training or p == 0.0:
        return input
    x = _float_tensor(input, "input", "dropout2d")
    if x.ndim not in (3, 4):
        raise ShapeError(f"dropout2d: expected a 3-D or 4-D input, got shape {x.shape}")
    mask_shape = x.shape[:-2] + (1, 1)
    return _Dropout.apply(x, dropout_mask(mask_shape, p, x.dtype, get_generator()))


# --------------------------------------------------------------------------- normalisation
def _param_shape_check(value, shape: tuple, name: str, op: str):
    if value is not None and np.shape(value) != shape:
        raise ShapeError(f"{op}: {name} must have shape {shape}, got {np.shape(value)}")


def _update_running(running, batch_stat, factor: float):
    """running <- (1 - factor) running + factor batch_stat, in place (no graph)."""
    if running is None:
        return
    data = running._data if isinstance(running, Tensor) else running
    data *= 1.0 - factor
    data += factor * batch_stat.astype(data.dtype, copy=False)


def _check_eps(eps, op: str, positive: bool = False) -> float:
    """``eps`` as a float; refuse a negative or non-finite one (and, when ``positive``,
    zero: the variance of a constant batch is 0, so 1 / sqrt(0 + 0) is inf).

    With eps < 0, var + eps is negative or zero for small variances and the output NaN
    or inf without any other sign. PyTorch raises for batch_norm's eps <= 0 in training
    ("eps must be positive during training") and returns NaN elsewhere; here a negative
    eps is always an error.
    """
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: eps must be a number, got {type(eps).__name__}")
    eps = float(eps)
    if not np.isfinite(eps) or eps < 0 or (positive and eps == 0):
        need = "positive" if positive else "non-negative"
        raise ValueError(
            f"{op}: eps must be a finite {need} number"
            + (" during training" if positive else "") + f", but got {eps}"
            " (it is added to the variance under the square root; a negative eps gives NaN)"
        )
    return eps


def batch_norm(input, running_mean, running_var, weight=None, bias=None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over all axes but the channel axis 1, in one node.

    Training: normalise with the batch mean and biased variance, and update the running
    estimates in place: running = (1 - momentum) running + momentum * batch statistic,
    with the *unbiased* batch variance (PyTorch's convention). Otherwise normalise with
    ``running_mean`` and ``running_var``. y = w (x - mu) / sqrt(var + eps) + b.
    """
    eps = _check_eps(eps, "batch_norm", positive=training)
    x = _float_tensor(input, "input", "batch_norm")
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expected an input with 2 or more dims, got {x.shape}")
    channels = x.shape[1]
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        _param_shape_check(value, (channels,), name, "batch_norm")
    count = x._data.size // channels
    if training:
        if count <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"of shape {x.shape}"
            )
        out, mean, var = _norm.batch_norm_training(x, weight, bias, float(eps))
        if running_mean is not None or running_var is not None:
            _update_running(running_mean, mean, momentum)
            _update_running(running_var, var * (count / (count - 1)), momentum)
        return out
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are needed when not training")
    return _norm.BatchNorm.apply(
        x, weight, bias, _array(running_mean), _array(running_var), training=False,
        eps=float(eps),
    )


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` axes of each sample, in one node:
    y = w (x - mu) / sqrt(var + eps) + b, mu and the biased var over those axes."""
    eps = _check_eps(eps, "layer_norm")
    x = _float_tensor(input, "input", "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x.shape[x.ndim - k:] != shape or x.ndim < k:
        raise ShapeError(
            f"layer_norm: expected an input whose trailing shape is {shape}, got input of "
            f"shape {x.shape}"
        )
    _param_shape_check(weight, shape, "weight", "layer_norm")
    _param_shape_check(bias, shape, "bias", "layer_norm")
    return _norm.LayerNorm.apply(x, weight, bias, normalized_ndim=k, eps=float(eps))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Tensor:
    """Normalise each (sample, channel) plane over its spatial axes, in one node.

    With running estimates given and ``use_input_stats``, they are updated with the
    batch average of the per-instance statistics (unbiased variance, as PyTorch);
    ``use_input_stats=False`` normalises with them instead.
    """
    eps = _check_eps(eps, "instance_norm")
    x = _float_tensor(input, "input", "instance_norm")
    if x.ndim < 3:
        raise ShapeError(
            f"instance_norm: expected an input of shape (N, C, ...) with spatial dims, got "
            f"{x.shape}"
        )
    channels = x.shape[1]
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        _param_shape_check(value, (channels,), name, "instance_norm")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: use_input_stats=False needs running estimates")
        return _norm.BatchNorm.apply(
            x, weight, bias, _array(running_mean), _array(running_var), training=False,
            eps=float(eps),
        )
    count = x._data.size // (x.shape[0] * channels)
    if count <= 1:
        raise ValueError(
            f"instance_norm: expected more than 1 spatial element per channel, got input of "
            f"shape {x.shape}"
        )
    if running_mean is None and running_var is None:
        return _norm.InstanceNorm.apply(x, weight, bias, eps=float(eps))
    # running estimates: the op's own statistics, recorded as a node or not
    out, mean, var = _norm.instance_norm_statistics(x, weight, bias, float(eps))
    _update_running(running_mean, mean.mean(axis=0), momentum)
    _update_running(running_var, (var * (count / (count - 1))).mean(axis=0), momentum)
    return out


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``.

    A zero row has norm 0, where d||x||/dx is undefined (0 * inf); the norm is taken
    through ``where`` on both sides so its gradient there is 0 and the row's gradient
    is the 1/eps of the division alone, as in PyTorch.
    """
    x = _float_tensor(input, "input", "normalize")
    axis = normalize_dim(dim, x.ndim, "normalize")
    # the vector-norm op gives 0 (not 0 * inf) as the gradient of a zero row's norm and
    # handles p = 0 (the count of nonzeros, gradient 0) and p = inf
    norm = _red.vector_norm(x, p, dim=axis, keepdim=True)
    return x / norm.clamp(min=eps)


# --------------------------------------------------------------------------- losses
def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    """Mean squared error: mean of (x - y)^2 (or its sum, or per element).

    The mean of an empty batch raises a ValueError (PyTorch returns nan: 0 / 0).
    """
    reduction = _reduction(reduction, "mse_loss", size_average, reduce)
    x = _float_tensor(input, "input", "mse_loss")
    y = _tensor(target, "target", "mse_loss")
    _same_shape_or_warn(x, y, "mse_loss")
    _check_not_empty_mean(np.broadcast_shapes(x.shape, y.shape), reduction, "mse_loss")
    return _loss.MseLoss.apply(x, y, reduction=reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    """Mean absolute error: mean of |x - y|."""
    reduction = _reduction(reduction, "l1_loss", size_average, reduce)
    x = _float_tensor(input, "input", "l1_loss")
    y = _tensor(target, "target", "l1_loss")
    _same_shape_or_warn(x, y, "l1_loss")
    _check_not_empty_mean(np.broadcast_shapes(x.shape, y.shape), reduction, "l1_loss")
    return _loss.L1Loss.apply(x, y, reduction=reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0):
    """Huber: d^2 / 2 for |d| < delta, delta (|d| - delta / 2) beyond (d = x - y)."""
    reduction = _reduction(reduction, "huber_loss")
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    x = _float_tensor(input, "input", "huber_loss")
    y = _tensor(target, "target", "huber_loss")
    _same_shape_or_warn(x, y, "huber_loss")
    _check_not_empty_mean(np.broadcast_shapes(x.shape, y.shape), reduction, "huber_loss")
    return _loss.HuberLoss.apply(x, y, reduction=reduction, delta=float(delta))


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0):
    """Smooth L1: d^2 / (2 beta) for |d| < beta, |d| - beta / 2 beyond (= huber / beta)."""
    reduction = _reduction(reduction, "smooth_l1_loss", size_average, reduce)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    return huber_loss(input, target, reduction=reduction, delta=beta) / float(beta)


def _class_weight(weight, classes: int, op: str):
    if weight is None:
        return None
    if isinstance(weight, str):
        raise TypeError(
            f"{op}: the third argument is the class weight; pass the reduction by keyword: "
            f"reduction={weight!r}"
        )
    w = _array(weight)
    if w.shape != (classes,):
        raise ShapeError(
            f"{op}: weight must have one entry per class, shape ({classes},), got {w.shape}"
        )
    return w


def _check_class_indices(target: np.ndarray, input_shape: tuple, axis: int, classes: int,
                         ignore_index: int, op: str):
    expected = input_shape[:axis] + input_shape[axis + 1:]
    if target.shape != expected:
        raise ShapeError(
            f"{op}: for input of shape {input_shape} (classes on dim {axis}) the class-index "
            f"target must have shape {expected}, got {target.shape}"
        )
    bad = (target != ignore_index) & ((target < 0) | (target >= classes))
    if bad.any():
        value = target[bad].flat[0]
        raise IndexError(
            f"{op}: target value {value} is out of range for {classes} classes "
            f"(class indices must be in [0, {classes - 1}]"
            + (f", or ignore_index={ignore_index})" if ignore_index is not None else ")")
        )


def _classification_input(input, op: str):
    z = _float_tensor(input, "input", op)
    if z.ndim == 0:
        raise ShapeError(f"{op}: the input needs a class dim; got a 0-d tensor")
    axis = 1 if z.ndim >= 2 else 0
    return z, axis, z.shape[axis]


def _check_target_weights(target, weight, ignore_index, reduction, op):
    """Refuse a mean over no targets or over targets whose class weights sum to 0.

    The mean divides by the summed weights of the non-ignored targets: an empty batch,
    or one whose targets all have class weight 0, divides 0 by 0. PyTorch returns nan;
    this library raises (``reduction='sum'`` gives 0). A batch whose targets are all
    ``ignore_index`` only warns, as before (see ``_warn_all_ignored``).
    """
    if reduction != "mean":
        return
    _check_not_empty_mean(target.shape, reduction, op)
    if weight is None:
        return
    kept = target[target != ignore_index]
    if kept.size and np.sum(weight[kept.astype(np.intp)]) == 0:
        classes = sorted({int(c) for c in np.unique(kept)})
        raise ValueError(
            f"{op}: the class weights of this batch's targets (classes {classes[:10]}) sum "
            f"to {np.sum(weight[kept.astype(np.intp)])}, so their weighted mean is 0 / 0 "
            "(PyTorch returns nan); give those classes a non-zero weight or use "
            "reduction='sum'"
        )


def _warn_all_ignored(target, ignore_index, reduction, op):
    if reduction == "mean" and target.size and not np.any(target != ignore_index):
        warnings.warn(
            f"{op}: every target equals ignore_index={ignore_index}, so the mean loss is "
            "0 / 0 = nan (as in PyTorch); use reduction='sum' to get 0 for such batches",
            RuntimeWarning, stacklevel=3,
        )


def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100,
                  reduce=None, reduction: str = "mean", label_smoothing: float = 0.0):
    """Cross entropy of logits (classes on dim 1, or dim 0 for a single (C,) sample)
    against class indices or class probabilities (a float target of the input's shape).

    One fused, stable node: loss = -sum_c q_c log_softmax(z)_c, with q the one-hot target
    smoothed by ``label_smoothing`` e: q = (1 - e) onehot + e / C. ``weight`` (C,)
    weights classes; positions whose target is ``ignore_index`` count for nothing. The
    mean divides by the summed target weights (the number of non-ignored targets).
    The mean of an empty batch, or of targets whose class weights sum to 0, is 0 / 0:
    PyTorch returns nan, this function raises a ValueError saying so (a documented
    difference; ``reduction='sum'`` gives 0). All targets ignored only warns.

    >>> import nn.functional as F; from autograd_core import Tensor
    >>> round(F.cross_entropy(Tensor([[2.0, 0.0]]), [0]).item(), 4)
    0.1269
    """
    op = "cross_entropy"
    reduction = _reduction(reduction, op, size_average, reduce)
    z, axis, classes = _classification_input(input, op)
    w = _class_weight(weight, classes, op)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    t = target if isinstance(target, Tensor) else _tensor(target, "target", op)
    kind = t.dtype.kind
    if kind == "f" and t.shape == z.shape:
        # the mean over probability targets divides by the number of positions
        _check_not_empty_mean(z.shape[:axis] + z.shape[axis + 1:], reduction, op)
        return _loss.CrossEntropy.apply(z, t, w, ignore_index=ignore_index,
                                        reduction=reduction,
                                        label_smoothing=float(label_smoothing))
    if kind not in "iu":
        raise DTypeError(
            f"{op}: the target must hold integer class indices of shape "
            f"{z.shape[:axis] + z.shape[axis + 1:]} or class probabilities of the input's "
            f"shape {z.shape}; got dtype {t.dtype} and shape {t.shape}"
            + (" (convert class indices with .long())" if kind == "f" else "")
        )
    indices = t._data
    _check_class_indices(indices, z.shape, axis, classes, ignore_index, op)
    _check_target_weights(indices, w, ignore_index, reduction, op)
    _warn_all_ignored(indices, ignore_index, reduction, op)
    return _loss.CrossEntropy.apply(z, indices, w, ignore_index=ignore_index,
                                    reduction=reduction, label_smoothing=float(label_smoothing))


def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean"):
    """Negative log-likelihood of log-probabilities: -w_y x_y, averaged over the summed
    target weights. ``log_softmax`` then ``nll_loss`` equals ``cross_entropy``."""
    op = "nll_loss"
    reduction = _reduction(reduction, op, size_average, reduce)
    x, axis, classes = _classification_input(input, op)
    w = _class_weight(weight, classes, op)
    t = _array(target)
    if t.dtype.kind not in "iu":
        raise DTypeError(f"{op}: the target must hold integer class indices, got dtype {t.dtype}")
    _check_class_indices(t, x.shape, axis, classes, ignore_index, op)
    _check_target_weights(t, w, ignore_index, reduction, op)
    _warn_all_ignored(t, ignore_index, reduction, op)
    return _loss.NllLoss.apply(x, t, w, ignore_index=ignore_index, reduction=reduction)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean"):
    """-w (y log p + (1 - y) log(1 - p)) for probabilities p in [0, 1] (logs clamped at
    -100, as PyTorch). Prefer ``binary_cross_entropy_with_logits``: it is stable."""
    op = "binary_cross_entropy"
    reduction = _reduction(reduction, op, size_average, reduce)
    p = _float_tensor(input, "input", op)
    y = _tensor(target, "target", op)
    _same_shape(p, y, op)
    data = p._data
    if data.size and not ((data >= 0) & (data <= 1)).all():
        bad = data[~((data >= 0) & (data <= 1))].flat[0]
        raise ValueError(
            f"{op}: all elements of the input must be probabilities in [0, 1], found {bad} "
            "(apply sigmoid first, or use binary_cross_entropy_with_logits)"
        )
    target_data = y._data
    if target_data.size and not ((target_data >= 0) & (target_data <= 1)).all():
        bad = target_data[~((target_data >= 0) & (target_data <= 1))].flat[0]
        raise ValueError(
            f"{op}: all elements of the target should be between 0 and 1 (as PyTorch "
            f"requires), found {bad}"
        )
    _check_not_empty_mean(p.shape, reduction, op)
    return _loss.BinaryCrossEntropy.apply(p, y, None if weight is None else _array(weight),
                                          reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction: str = "mean", pos_weight=None):
    """sigmoid + binary cross entropy in one stable node:
    l = w ((1 - y) z + (1 + (pw - 1) y) log(1 + e^-z)), softplus computed without overflow.
    ``pos_weight`` weights positives, broadcast along the last dim (one per class)."""
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(reduction, op, size_average, reduce)
    z = _float_tensor(input, "input", op)
    y = _tensor(target, "target", op)
    _same_shape(z, y, op)
    if y.dtype.kind != "f":
        y = Tensor._make(y._data.astype(z.dtype))
    pw = None if pos_weight is None else _array(pos_weight)
    _check_not_empty_mean(z.shape, reduction, op)
    return _loss.BinaryCrossEntropyWithLogits.apply(
        z, y, None if weight is None else _array(weight), pw, reduction=reduction
    )


def focal_loss(input, target, gamma: float = 2.0, alpha=None, reduction: str = "mean"):
    """Multi-class focal loss: -alpha_y (1 - p_y)^gamma log p_y, p = softmax(logits).

    Down-weights easy examples (p_y near 1); gamma = 0 gives cross entropy. ``alpha`` is
    None, one number, or one weight per class. The mean is over the positions.
    """
    op = "focal_loss"
    reduction = _reduction(reduction, op)
    if gamma < 0:
        raise ValueError(f"{op}: gamma must be non-negative, got {gamma}")
    z, axis, classes = _classification_input(input, op)
    t = _array(target)
    if t.dtype.kind not in "iu":
        raise DTypeError(f"{op}: the target must hold integer class indices, got dtype {t.dtype}")
    _check_class_indices(t, z.shape, axis, classes, None, op)
    _check_not_empty_mean(t.shape, reduction, op)
    a = None
    if alpha is not None:
        a = np.asarray(_array(alpha), dtype=z.dtype)
        if a.ndim != 0 and a.shape != (classes,):
            raise ShapeError(
                f"{op}: alpha must be a number or have one entry per class ({classes},), "
                f"got shape {a.shape}"
            )
    return _loss.FocalLoss.apply(z, t, a, gamma=float(gamma), reduction=reduction)


# --------------------------------------------------------------------------- utilities
def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """Class indices of shape (...) to an int64 tensor of shape (..., num_classes)."""
    t = _array(tensor)
    if t.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: expects integer class indices, got dtype {t.dtype}")
    if num_classes == -1:
        num_classes = int(t.max()) + 1 if t.size else 0
    if t.size and (t.min() < 0 or t.max() >= num_classes):
        bad = t[(t < 0) | (t >= num_classes)].flat[0]
        raise IndexError(f"one_hot: class value {bad} is out of range for {num_classes} classes")
    out = np.zeros(t.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, t[..., None].astype(np.int64), 1, axis=-1)
    return Tensor._make(out)


def pad(input, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad (or, with negative sizes, crop) the last dims: ``pad = (left, right, top,
    bottom, ...)`` starting from the last dim, as PyTorch.

    ``mode``: ``'constant'`` (fill with ``value``, any number of dims), or ``'reflect'``
    (mirror without repeating the edge: ``[a b c d]`` padded by 2 -> ``c b [a b c d] c b``),
    ``'replicate'`` (repeat the edge) and ``'circular'`` (wrap around), which pad the
    last 1, 2 or 3 dims of a batched or unbatched input (2-D/3-D, 3-D/4-D or 4-D/5-D),
    as PyTorch. Those three are one index_select per padded dim, so the gradient of a
    source element is the sum over every output position that copies it.

    >>> pad(Tensor(np.arange(4.0).reshape(1, 4)), (2, 1), mode="reflect").tolist()
    [[2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0]]
    """
    if mode in _PAD_INDEX:
        return _pad_by_index(input, pad, mode)
    if mode != "constant":
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or "
                         f"'circular', got {mode!r}")
    x = _tensor(input, "input", "pad")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(
            f"pad: the padding {tuple(pad)} must have an even length of at most 2 * {x.ndim}"
        )
    for i in range(len(pad) // 2):
        dim = x.ndim - 1 - i
        before, after = int(pad[2 * i]), int(pad[2 * i + 1])
        if before < 0 or after < 0:
            index = [slice(None)] * x.ndim
            index[dim] = slice(max(-before, 0), x.shape[dim] - max(-after, 0))
            x = x[tuple(index)]
            before, after = max(before, 0), max(after, 0)
        parts = []
        for size in (before, after):
            shape = list(x.shape)
            shape[dim] = size
            parts.append(Tensor._make(np.full(shape, value, dtype=x.dtype)) if size else None)
        pieces = [t for t in (parts[0], x, parts[1]) if t is not None]
        if len(pieces) > 1:
            x = _cat(pieces, dim=dim)
    return x



def _reflect_index(i: np.ndarray, n: int) -> np.ndarray:
    # mirror about 0 and n - 1 without repeating them (period 2n - 2); one fold suffices
    # because pads are < n
    i = np.abs(i)
    return (n - 1) - np.abs((n - 1) - i)


_PAD_INDEX = {
    "reflect": _reflect_index,
    "replicate": lambda i, n: np.clip(i, 0, n - 1),
    "circular": lambda i, n: np.mod(i, n),
}


def _pad_by_index(input, pad, mode: str) -> Tensor:
    from autograd_core.ops.indexing import index_select

    x = _tensor(input, "input", "pad")
    pad = tuple(pad)
    if len(pad) % 2 or not 2 <= len(pad) <= 6 or not all(
            isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in pad):
        raise ValueError(f"pad: mode={mode!r} takes 2, 4 or 6 integer pad sizes, got {pad}")
    dims = len(pad) // 2
    if x.ndim not in (dims + 1, dims + 2):
        # PyTorch's error type: the combination is one it does not implement
        raise NotImplementedError(
            f"pad: mode={mode!r} (non-constant padding) with {len(pad)} pad sizes expects "
            f"a {dims + 1}-D or {dims + 2}-D input, got shape {tuple(x.shape)}")
    for i in range(dims):
        dim = x.ndim - 1 - i
        before, after = int(pad[2 * i]), int(pad[2 * i + 1])
        n = x.shape[dim]
        if before < 0 or after < 0:
            raise ValueError(f"pad: mode={mode!r} needs non-negative pad sizes, got {pad}")
        if mode == "reflect" and (before >= n or after >= n):
            raise ValueError(
                f"pad: reflect padding ({before}, {after}) must be smaller than the size "
                f"{n} of dim {dim} (input shape {tuple(x.shape)})")
        if mode == "circular" and (before > n or after > n):
            raise ValueError(
                f"pad: circular padding ({before}, {after}) must be at most the size {n} "
                f"of dim {dim} (input shape {tuple(x.shape)})")
        if mode == "replicate" and n == 0 and (before or after):
            raise ValueError(f"pad: cannot replicate-pad the empty dim {dim} of shape "
                             f"{tuple(x.shape)}")
        if before or after:
            index = _PAD_INDEX[mode](np.arange(-before, n + after), n).astype(np.int64)
            x = index_select(x, dim, index)
    return x


# ====================================================== sequence and attention layers
# (embeddings, more activations and losses, group norm, bilinear, attention, stochastic
# depth; the recurrent layers' op is autograd_core.ops.recurrent)
from autograd_core.ops import attention as _attn  # noqa: E402
from autograd_core.ops import embedding as _emb  # noqa: E402

__all__ += [
    "embedding", "embedding_bag", "gelu", "mish", "hardswish", "hardsigmoid", "softsign",
    "celu", "glu", "softmin", "kl_div", "cosine_embedding_loss", "margin_ranking_loss",
    "triplet_margin_loss", "pairwise_distance", "cosine_similarity", "group_norm",
    "bilinear", "scaled_dot_product_attention", "stochastic_depth",
]


def _index_array(x, op: str) -> np.ndarray:
    array = x._data if isinstance(x, Tensor) else np.asarray(x)
    if array.dtype.kind not in "iu":
        raise DTypeError(
            f"{op}: expected indices of an integer dtype (int64 or int32), got {array.dtype}; "
            "use .long()")
    return array


def _padding_index(padding_idx, num_embeddings: int, op: str):
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"{op}: padding_idx must be within num_embeddings "
                         f"({num_embeddings}), got {padding_idx}")
    return int(padding_idx) % num_embeddings


def _renorm_rows(weight, idx, max_norm, norm_type):
    """Rescale, in place and outside the graph, the rows of ``weight`` that ``idx``
    picks whose p-norm exceeds max_norm to norm max_norm (PyTorch's embedding_renorm_)."""
    data = weight._data if isinstance(weight, Tensor) else weight
    rows = np.unique(idx)
    norms = np.sum(np.abs(data[rows]) ** norm_type, axis=1) ** (1.0 / norm_type)
    big = norms > max_norm
    scale = max_norm / (norms[big] + 1e-7)
    data[rows[big]] *= scale[:, None].astype(data.dtype)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) picked by the integer ``input``: output
    ``input.shape + (dim,)``. The row ``padding_idx`` gets no gradient; with ``max_norm``
    the picked rows are first renormalised in place (as PyTorch). ``sparse`` is accepted
    and gives a dense gradient.

    >>> import nn.functional as F; from autograd_core import Tensor
    >>> F.embedding(Tensor([1]), Tensor([[0.0, 1.0], [2.0, 3.0]])).tolist()
    [[2.0, 3.0]]
    """
    weight = _float_tensor(weight, "weight", "embedding")
    if weight.ndim != 2:
        raise ShapeError(f"embedding: the weight must be 2-D (num_embeddings, embedding_dim), "
                         f"got shape {tuple(weight.shape)}")
    num = weight.shape[0]
    idx = _emb.check_indices(_index_array(input, "embedding"), num, "embedding")
    padding_idx = _padding_index(padding_idx, num, "embedding")
    if max_norm is not None:
        _renorm_rows(weight, idx, float(max_norm), float(norm_type))
    return _emb.Embedding.apply(weight, idx, padding_idx=padding_idx,
                                scale_grad_by_freq=bool(scale_grad_by_freq))


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights=None, include_last_offset: bool = False,
                  padding_idx=None) -> Tensor:
    """Sums, means or maxima of bags of embeddings, without forming the (n, dim) rows in
    the graph: ``input`` (B, L) is B bags of L indices; a 1-D ``input`` with ``offsets``
    (B,) (or B + 1 with ``include_last_offset``) starts bag b at offsets[b].
    ``per_sample_weights`` (like input) scale each row (mode 'sum' only); entries equal
    to ``padding_idx`` are left out; an empty bag gives zeros."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode has to be one of sum, mean or max, got {mode!r}")
    if scale_grad_by_freq:
        raise NotImplementedError("embedding_bag: scale_grad_by_freq is not implemented")
    weight = _float_tensor(weight, "weight", "embedding_bag")
    if weight.ndim != 2:
        raise ShapeError(f"embedding_bag: the weight must be 2-D, got shape {tuple(weight.shape)}")
    num = weight.shape[0]
    idx = _emb.check_indices(_index_array(input, "embedding_bag"), num, "embedding_bag")
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: if input is 2D, then offsets has to be None, as "
                             "input is treated is a mini-batch of fixed length sequences")
        bags, length = idx.shape
        bag_of = np.repeat(np.arange(bags), length)
        flat = idx.reshape(-1)
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError("embedding_bag: offsets has to be a 1D Tensor but got None")
        starts = _index_array(offsets, "embedding_bag").astype(np.int64)
        if starts.ndim != 1:
            raise ShapeError(f"embedding_bag: offsets has to be a 1D Tensor, got shape "
                             f"{starts.shape}")
        if starts.size and starts[0] != 0:
            raise ValueError(f"embedding_bag: offsets[0] has to be 0, i.e., the first sequence "
                             f"in the mini-batch has to start from position 0. However, got "
                             f"{int(starts[0])}")
        if np.any(np.diff(starts) < 0) or (starts.size and starts[-1] > idx.size):
            raise ValueError(f"embedding_bag: offsets must be non-decreasing and at most "
                             f"{idx.size}, got {starts.tolist()}")
        if include_last_offset:
            starts = starts[:-1]
        bags = starts.size
        bag_of = np.searchsorted(starts, np.arange(idx.size), side="right") - 1
        flat = idx
    else:
        raise ShapeError(f"embedding_bag: input has to be 1D or 2D Tensor, but got Tensor of "
                         f"dimension {idx.ndim}")
    bag_of = bag_of.astype(np.int64)
    padding_idx = _padding_index(padding_idx, num, "embedding_bag")
    if padding_idx is not None:
        bag_of = np.where(flat == padding_idx, -1, bag_of)
    psw = None
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                f"supported for mode='sum' (got mode='{mode}')")
        psw = _float_tensor(per_sample_weights, "per_sample_weights", "embedding_bag")
        if tuple(psw.shape) != tuple(idx.shape):
            raise ShapeError(f"embedding_bag: per_sample_weights must have the shape of the "
                             f"input {tuple(idx.shape)}, got {tuple(psw.shape)}")
        psw = psw.reshape(-1)
    if max_norm is not None:
        _renorm_rows(weight, flat, float(max_norm), float(norm_type))
    return _emb.EmbeddingBag.apply(weight, flat, bag_of, psw, bags=int(bags), mode=mode)


def gelu(input, approximate: str = "none") -> Tensor:
    """x Phi(x) (Phi the standard normal CDF), or its tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _act.Gelu.apply(_promoted_to_float(input, "gelu"), approximate=approximate)


def mish(input, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x))."""
    return _act.Mish.apply(_promoted_to_float(input, "mish"))


def hardswish(input, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6."""
    return _act.Hardswish.apply(_promoted_to_float(input, "hardswish"))


def hardsigmoid(input, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    return _act.Hardsigmoid.apply(_promoted_to_float(input, "hardsigmoid"))


def softsign(input) -> Tensor:
    """x / (1 + |x|)."""
    return _act.Softsign.apply(_promoted_to_float(input, "softsign"))


def celu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha (e^(x / alpha) - 1))."""
    if alpha == 0:
        raise ValueError("celu: ZeroDivisionError: alpha cannot be 0 for CELU")
    return _act.Celu.apply(_promoted_to_float(input, "celu"), alpha=float(alpha))


def glu(input, dim: int = -1) -> Tensor:
    """a sigmoid(b), a and b the two halves of the input along ``dim``."""
    x = _float_tensor(input, "input", "glu")
    if x.ndim == 0:
        raise ShapeError("glu: does not support scalars because halving size must be even")
    axis = normalize_dim(dim, x.ndim, "glu")
    if x.shape[axis] % 2:
        raise ShapeError(f"glu: Halving dimension must be even, but dimension {axis} is size "
                         f"{x.shape[axis]} (input shape {tuple(x.shape)})")
    return _act.Glu.apply(x, dim=axis)


def softmin(input, dim=None, dtype=None) -> Tensor:
    """softmax(-x) along ``dim``."""
    x = _float_tensor(input, "input", "softmin")
    if dtype is not None:
        x = x.to(dtype)
    return _red.Softmax.apply(-x, dim=_softmax_dim(x.ndim, dim, "softmin"))


def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL divergence with ``input`` as log-probabilities: t (log t - x) per element
    (e^t (t - x) with ``log_target``); reduction 'batchmean' divides by the batch size
    (the true KL of each sample's distribution, averaged), 'mean' by the element count."""
    if reduction == "batchmean":
        if size_average is not None or reduce is not None:
            reduction = _reduction("mean", "kl_div", size_average, reduce)
    else:
        reduction = _reduction(reduction, "kl_div", size_average, reduce)
    x = _float_tensor(input, "input", "kl_div")
    t = _tensor(target, "target", "kl_div")
    _same_shape_or_warn(x, t, "kl_div")
    return _loss.KlDivLoss.apply(x, t, reduction=reduction, log_target=bool(log_target))


def _reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, size_average=None,
                          reduce=None, reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1 (PyTorch's
    formula: cos = x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)))."""
    reduction = _reduction(reduction, "cosine_embedding_loss", size_average, reduce)
    x1 = _float_tensor(input1, "input1", "cosine_embedding_loss")
    x2 = _float_tensor(input2, "input2", "cosine_embedding_loss")
    y = _array(target)
    if x1.shape != x2.shape or x1.ndim not in (1, 2):
        raise ShapeError(f"cosine_embedding_loss: input1 and input2 must have the same 1-D or "
                         f"2-D shape, got {tuple(x1.shape)} and {tuple(x2.shape)}")
    expected = x1.shape[:-1]
    if y.shape != tuple(expected):
        raise ShapeError(f"cosine_embedding_loss: the target must have shape "
                         f"{tuple(expected)} (one +1/-1 per pair), got {y.shape}")
    eps = 1e-12
    prod = (x1 * x2).sum(-1)
    mag1 = (x1 * x1).sum(-1) + eps
    mag2 = (x2 * x2).sum(-1) + eps
    cos = prod / (mag1 * mag2).sqrt()
    zero = np.zeros((), dtype=x1.dtype)
    loss = _where(y == 1, 1 - cos, zero) + _where(y == -1, (cos - margin).clamp(min=0), zero)
    return _reduce_loss(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin: float = 0.0, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, -y (x1 - x2) + margin) per element."""
    reduction = _reduction(reduction, "margin_ranking_loss", size_average, reduce)
    x1 = _float_tensor(input1, "input1", "margin_ranking_loss")
    x2 = _float_tensor(input2, "input2", "margin_ranking_loss")
    y = _tensor(target, "target", "margin_ranking_loss")
    if not (x1.shape == x2.shape == y.shape):
        raise ShapeError(f"margin_ranking_loss: input1, input2 and target must have the same "
                         f"shape, got {tuple(x1.shape)}, {tuple(x2.shape)} and "
                         f"{tuple(y.shape)}")
    return _reduce_loss((-y * (x1 - x2) + margin).clamp(min=0), reduction)


def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
    """||x1 - x2 + eps||_p along the last dim."""
    a = _float_tensor(x1, "x1", "pairwise_distance")
    b = _float_tensor(x2, "x2", "pairwise_distance")
    d = (a - b + eps).abs()
    return (d ** p).sum(-1, keepdim=keepdim) ** (1.0 / p)


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1.x2 / (max(||x1||, eps) max(||x2||, eps)) along ``dim``."""
    a = _float_tensor(x1, "x1", "cosine_similarity")
    b = _float_tensor(x2, "x2", "cosine_similarity")
    na = (a * a).sum(dim, keepdim=True).sqrt().clamp(min=eps)
    nb = (b * b).sum(dim, keepdim=True).sqrt().clamp(min=eps)
    return ((a / na) * (b / nb)).sum(dim)


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0), d the pairwise p-norm distance; with ``swap``
    d(a, n) is replaced by min(d(a, n), d(p, n))."""
    reduction = _reduction(reduction, "triplet_margin_loss", size_average, reduce)
    shapes = [np.shape(t) for t in (anchor, positive, negative)]
    if len(set(len(s) for s in shapes)) != 1 or len(shapes[0]) not in (1, 2):
        raise ShapeError(f"triplet_margin_loss: anchor, positive and negative must all be 1-D "
                         f"or all 2-D, got shapes {shapes}")
    if margin <= 0:
        raise ValueError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_swap = pairwise_distance(positive, negative, p, eps)
        d_neg = _ew.Minimum.apply(d_neg, d_swap)
    return _reduce_loss((margin + d_pos - d_neg).clamp(min=0), reduction)


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalise each group of C / num_groups channels of each sample over its channels and
    positions (biased variance), then y = w_c xhat + b_c; one node."""
    eps = _check_eps(eps, "group_norm")
    x = _float_tensor(input, "input", "group_norm")
    if x.ndim < 2:
        raise ShapeError(f"group_norm: expected an input of shape (N, C, *), got "
                         f"{tuple(x.shape)}")
    channels = x.shape[1]
    if num_groups <= 0 or channels % num_groups:
        raise ValueError(f"group_norm: Expected number of channels in input to be divisible by "
                         f"num_groups, but got input of shape {tuple(x.shape)} and num_groups="
                         f"{num_groups}")
    _param_shape_check(weight, (channels,), "weight", "group_norm")
    _param_shape_check(bias, (channels,), "bias", "group_norm")
    return _norm.GroupNorm.apply(x, weight, bias, num_groups=int(num_groups), eps=eps)


def bilinear(input1, input2, weight, bias=None) -> Tensor:
    """y_k = x1^T A_k x2 + b_k; x1 (..., in1), x2 (..., in2), A (out, in1, in2)."""
    x1 = _float_tensor(input1, "input1", "bilinear")
    x2 = _float_tensor(input2, "input2", "bilinear")
    w = _float_tensor(weight, "weight", "bilinear")
    if w.ndim != 3 or x1.shape[-1:] != w.shape[1:2] or x2.shape[-1:] != w.shape[2:] or \
            x1.shape[:-1] != x2.shape[:-1]:
        raise ShapeError(f"bilinear: expected input1 (..., {w.shape[1] if w.ndim == 3 else '?'}),"
                         f" input2 (..., {w.shape[2] if w.ndim == 3 else '?'}) with the same "
                         f"leading dims and a 3-D weight, got {tuple(x1.shape)}, "
                         f"{tuple(x2.shape)} and weight {tuple(w.shape)}")
    lead = x1.shape[:-1]
    a = x1.reshape(-1, x1.shape[-1])
    b = x2.reshape(-1, x2.shape[-1])
    # (out, n, in2) = x1 A_k for each k, then the dot with x2 per row
    left = a @ w
    y = (left * b).sum(-1).transpose(0, 1)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, w.shape[0])


def _attention_bias(attn_mask, shape, dtype, op: str):
    """A bool mask (True = may attend) or a float mask (added) as an additive bias."""
    if attn_mask is None:
        return None
    mask = attn_mask
    array = _array(mask)
    if array.dtype.kind not in "bf":
        raise DTypeError(f"{op}: attn_mask must be bool or floating point, got {array.dtype}")
    try:
        np.broadcast_shapes(array.shape, shape)
    except ValueError:
        raise ShapeError(f"{op}: attn_mask of shape {array.shape} does not broadcast to the "
                         f"attention weights' shape {shape} (..., L, S)") from None
    if array.dtype.kind == "b":
        return np.where(array, 0.0, -np.inf).astype(dtype)
    return mask if isinstance(mask, Tensor) else array.astype(dtype)


def _grouped_heads(t, q, name: str, op: str) -> Tensor:
    """Grouped-query attention's key or value ``t``: each of its heads (dim -3) serves
    q_heads / t_heads consecutive query heads, so it is repeated that many times in
    place (PyTorch's ``repeat_interleave``, for key and value each)."""
    heads, own = q.shape[-3], t.shape[-3]
    if own == heads:
        return t
    if own == 0 or heads % own:
        raise ShapeError(f"{op}: enable_gqa needs the query heads ({heads}) to be a "
                         f"multiple of the {name} heads, got query {tuple(q.shape)} and "
                         f"{name} {tuple(t.shape)}")
    return t.repeat_interleave(heads // own, dim=-3)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale=None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q k^T / sqrt(E) + mask) v in one node (``ops.attention``).

    q (..., L, E), k (..., S, E), v (..., S, Ev); ``attn_mask`` broadcastable to
    (..., L, S): bool (True = may attend) or float (added); ``is_causal`` masks the
    future (j > i); ``dropout_p`` drops attention weights (always, as PyTorch: pass 0
    in eval); ``scale`` defaults to 1 / sqrt(E). The batch dims of q, k and v broadcast
    against each other. ``enable_gqa``: grouped-query attention, k and v with fewer
    heads (dim -3) than q, each serving q_heads / kv_heads consecutive query heads.

    >>> import nn.functional as F; from autograd_core import ones
    >>> F.scaled_dot_product_attention(ones(2, 3, 4), ones(2, 5, 4), ones(2, 5, 6)).shape
    torch.Size([2, 3, 6])
    """
    op = "scaled_dot_product_attention"
    q = _float_tensor(query, "query", op)
    k = _float_tensor(key, "key", op)
    v = _float_tensor(value, "value", op)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ShapeError(f"{op}: query, key and value must be at least 2-D (..., L, E), got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ShapeError(f"{op}: expected query (..., L, E), key (..., S, E) and value "
                         f"(..., S, Ev), got {tuple(q.shape)}, {tuple(k.shape)}, "
                         f"{tuple(v.shape)}")
    if is_causal and attn_mask is not None:
        raise ValueError(f"{op}: pass either attn_mask or is_causal=True, not both")
    if enable_gqa and q.ndim >= 3 and k.ndim >= 3 and v.ndim >= 3:
        k, v = _grouped_heads(k, q, "key", op), _grouped_heads(v, q, "value", op)
    length, source = q.shape[-2], k.shape[-2]
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ShapeError(f"{op}: the batch dims of query {tuple(q.shape)}, key "
                         f"{tuple(k.shape)} and value {tuple(v.shape)} do not broadcast") from None
    if tuple(q.shape[:-2]) != tuple(batch):
        # the output has the broadcast batch shape: a query broadcast up to it
        q = q.expand(*(tuple(batch) + tuple(q.shape[-2:])))
    scores_shape = tuple(batch) + (length, source)
    if is_causal:
        attn_mask = np.tril(np.ones((length, source), dtype=bool))
    bias = _attention_bias(attn_mask, scores_shape, q.dtype, op)
    p = _check_probability(dropout_p, op)
    mask = None
    if p > 0:
        mask = dropout_mask(scores_shape, p, q.dtype, get_generator())
    s = float(1.0 / np.sqrt(q.shape[-1])) if scale is None else float(scale)
    return _attn.ScaledDotProductAttention.apply(q, k, v, bias, mask, scale=s)


def stochastic_depth(input, p: float, mode: str, training: bool = True) -> Tensor:
    """Stochastic depth (Huang et al. 2016), torchvision's ``stochastic_depth``: in
    training, zero the whole input (a residual branch's output) with probability ``p``,
    per sample (``mode='row'``) or for the whole batch (``'batch'``), and scale the kept
    ones by 1 / (1 - p), so the expectation is unchanged and eval is the identity."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"stochastic_depth: drop probability has to be between 0 and 1, but "
                         f"got {p}")
    if mode not in ("batch", "row"):
        raise ValueError(f"stochastic_depth: mode has to be either 'batch' or 'row', but got "
                         f"{mode}")
    if not training or p == 0.0:
        return input
    x = _float_tensor(input, "input", "stochastic_depth")
    shape = (x.shape[0],) + (1,) * (x.ndim - 1) if mode == "row" else (1,) * x.ndim
    survival = 1.0 - p
    noise = (get_generator().random(shape) < survival).astype(x.dtype)
    if survival > 0:
        noise /= survival
    return x * Tensor._make(noise)


__all__ += ["ctc_loss"]


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """Connectionist temporal classification loss (see ``ops.loss.CtcLoss``).

    ``log_probs`` (T, N, C) log-softmax outputs (or (T, C) unbatched); ``targets``
    (N, S) padded or 1-D concatenated; ``input_lengths``, ``target_lengths`` (N,).
    'mean' divides each sample's loss by its target length, then averages; an
    impossible alignment gives inf (0 and no gradient with ``zero_infinity``).
    """
    op = "ctc_loss"
    reduction = _reduction(reduction, op)
    lp = _float_tensor(log_probs, "log_probs", op)
    unbatched = lp.ndim == 2
    if unbatched:
        lp = lp.unsqueeze(1)
    if lp.ndim != 3:
        raise ShapeError(f"{op}: log_probs must be (T, N, C) or (T, C), got shape "
                         f"{tuple(np.shape(log_probs))}")
    steps, batch, classes = lp.shape
    tg = _index_array(targets, op).astype(np.int64)
    il = np.atleast_1d(_index_array(input_lengths, op)).astype(np.int64)
    tl = np.atleast_1d(_index_array(target_lengths, op)).astype(np.int64)
    if unbatched and tg.ndim == 1:
        tg = tg[None]
    if il.shape != (batch,) or tl.shape != (batch,):
        raise ShapeError(f"{op}: input_lengths and target_lengths must have one entry per "
                         f"sample ({batch}), got shapes {il.shape} and {tl.shape}")
    if not 0 <= blank < classes:
        raise ValueError(f"{op}: blank must be in the label range [0, {classes}), got {blank}")
    if np.any(il > steps) or np.any(il < 0):
        raise ValueError(f"{op}: Expected input_lengths to have value at most {steps} (and "
                         f"non-negative), but got {il.tolist()}")
    if np.any(tl < 0):
        raise ValueError(f"{op}: target_lengths must be non-negative, got {tl.tolist()}")
    if tg.ndim == 2:
        if tg.shape[0] != batch or (tl.size and tg.shape[1] < tl.max()):
            raise ShapeError(f"{op}: targets of shape {tg.shape} do not hold the target "
                             f"lengths {tl.tolist()} of {batch} samples")
    elif tg.ndim == 1:
        if tg.size != tl.sum():
            raise ShapeError(f"{op}: 1-D targets must hold sum(target_lengths) = {tl.sum()} "
                             f"labels, got {tg.size}")
    else:
        raise ShapeError(f"{op}: targets must be 1-D or 2-D, got shape {tg.shape}")
    if tg.size and (tg.min() < 0 or tg.max() >= classes):
        raise IndexError(f"{op}: target labels must be in [0, {classes}), got values from "
                         f"{int(tg.min())} to {int(tg.max())}")
    out = _loss.CtcLoss.apply(lp, tg, il, tl, blank=int(blank), reduction=reduction,
                              zero_infinity=bool(zero_infinity))
    return out.squeeze(0) if unbatched and reduction == "none" else out


# ====================================================== the conv family beyond conv2d
# (conv1d on conv2d, interpolation and pixel shuffle as compositions of indexing and
# arithmetic: every gradient comes from the ops they are built of)
__all__ += ["conv1d"]


def _single(value, name: str, op: str, minimum: int) -> int:
    """An int or a 1-tuple (PyTorch's ``_single``) -> int, checked against ``minimum``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{op}: {name} must be an int or a 1-tuple, got {value!r}")
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{op}: {name} must be an int or a 1-tuple, got {value!r}")
    if value < minimum:
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{op}: {name} must be {kind}, got {value}")
    return int(value)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-D cross-correlation, ``torch.nn.functional.conv1d``:
    y[n, o, t] = b[o] + sum over c, k of W[o, c, k] x[n, c, s*t + d*k - p].

    ``input``: (N, C, L) or unbatched (C, L); ``weight``: (OC, C // groups, k);
    ``padding``: int, 1-tuple, ``'valid'`` or ``'same'`` (stride 1; an odd total puts
    the extra element on the right, as PyTorch). It is ``conv2d`` on a unit height:
    the input becomes (N, C, 1, L), the weight (OC, C // groups, 1, k), and the height
    axis is dropped again, so values and gradients are conv2d's.

    >>> conv1d(np.ones((1, 1, 5)), np.ones((1, 1, 3)), padding="same").tolist()
    [[[2.0, 3.0, 3.0, 3.0, 2.0]]]
    """
    x = _float_tensor(input, "input", "conv1d")
    w = _float_tensor(weight, "weight", "conv1d")
    if x.ndim not in (2, 3):
        raise ShapeError("conv1d: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape "
                         f"{tuple(x.shape)}")
    if w.ndim != 3:
        raise ShapeError("conv1d: expected a 3-D weight (out_channels, in_channels / "
                         f"groups, kernel_size), got shape {tuple(w.shape)}")
    stride = _single(stride, "stride", "conv1d", 1)
    dilation = _single(dilation, "dilation", "conv1d", 1)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"conv1d: padding must be 'same', 'valid' or an int, got "
                             f"{padding!r}")
        if padding == "same" and stride != 1:
            raise ValueError("conv1d: padding='same' is not supported for strided "
                             "convolutions")
        padding2d = padding
    else:
        padding2d = (0, _single(padding, "padding", "conv1d", 0))
    try:
        out = conv2d(x.unsqueeze(-2), w.unsqueeze(-2), bias, (1, stride), padding2d,
                     (1, dilation), groups)
    except ShapeError as error:  # conv2d's geometry message, in 1-D terms
        raise ShapeError(str(error).replace("conv2d", "conv1d") + f" (input "
                         f"{tuple(x.shape)}, weight {tuple(w.shape)})") from None
    return out.squeeze(-2)


# 1-D pooling: the 2-D ops on a height-1 view (N, C, 1, L), as conv1d; the window is
# (1, k), so the height adds nothing and the plane-local indices h * W + w are w.
__all__ += ["max_pool1d", "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d"]


def _pool1d_input(input, op: str) -> Tensor:
    x = _float_tensor(input, "input", op)
    if x.ndim not in (2, 3):
        raise ShapeError(f"{op}: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape "
                         f"{tuple(x.shape)}")
    return x


def _pool1d_window(op, kernel_size, stride, padding):
    kernel = _single(kernel_size, "kernel_size", op, 1)
    if _default_stride(stride):
        stride = kernel
    return kernel, _single(stride, "stride", op, 1), _single(padding, "padding", op, 0)


def _check_window1d(op, x, kernel, stride, padding, ceil_mode, dilation=1):
    """PyTorch's two window rules in 1-D terms (the 2-D op would name pairs)."""
    if padding > kernel // 2:
        raise ShapeError(f"{op}: padding {padding} must be at most half the kernel size "
                         f"{kernel}")
    length = x.shape[-1]
    out = pool_output_size(length, kernel, stride, padding, bool(ceil_mode), dilation)
    if out < 1:
        raise ShapeError(f"{op}: the output would be empty: input {tuple(x.shape)} (length "
                         f"{length}), kernel_size {kernel}, stride {stride}, padding "
                         f"{padding}, dilation {dilation} give length {out}")


def _in_1d_terms(error, op2d: str, op: str, x):
    return type(error)(str(error).replace(op2d, op).replace("2-D", "1-D")
                       + f" (input {tuple(x.shape)})")


def _squeeze_height(result, return_indices):
    if return_indices:
        out, indices = result
        return out.squeeze(-2), indices.squeeze(-2)
    return result.squeeze(-2)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling, ``torch.nn.functional.max_pool1d``: max_pool2d on (N, C, 1, L).

    ``return_indices=True`` also gives the int64 positions (along L) of the maxima.

    >>> max_pool1d(np.array([[[1.0, 3.0, 2.0, 0.0, 5.0]]]), 2).tolist()
    [[[3.0, 2.0]]]
    """
    x = _pool1d_input(input, "max_pool1d")
    kernel, stride, padding = _pool1d_window("max_pool1d", kernel_size, stride, padding)
    dilation = _single(dilation, "dilation", "max_pool1d", 1)
    _check_window1d("max_pool1d", x, kernel, stride, padding, ceil_mode, dilation)
    try:
        result = max_pool2d(x.unsqueeze(-2), (1, kernel), (1, stride), (0, padding),
                            (1, dilation), ceil_mode, return_indices)
    except ShapeError as error:
        raise _in_1d_terms(error, "max_pool2d", "max_pool1d", x) from None
    return _squeeze_height(result, return_indices)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True) -> Tensor:
    """1-D average pooling, ``torch.nn.functional.avg_pool1d``: avg_pool2d on (N, C, 1, L)
    (the same divisor rules along L).

    >>> avg_pool1d(np.array([[[1.0, 3.0, 2.0, 0.0]]]), 2).tolist()
    [[[2.0, 1.0]]]
    """
    x = _pool1d_input(input, "avg_pool1d")
    kernel, stride, padding = _pool1d_window("avg_pool1d", kernel_size, stride, padding)
    _check_window1d("avg_pool1d", x, kernel, stride, padding, ceil_mode)
    try:
        out = avg_pool2d(x.unsqueeze(-2), (1, kernel), (1, stride), (0, padding), ceil_mode,
                         count_include_pad)
    except ShapeError as error:
        raise _in_1d_terms(error, "avg_pool2d", "avg_pool1d", x) from None
    return out.squeeze(-2)


def _adaptive_size1d(output_size, op: str, length: int) -> int:
    if isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        output_size = output_size[0]
    if output_size is None:
        return length
    return _single(output_size, "output_size", op, 1)


def adaptive_avg_pool1d(input, output_size) -> Tensor:
    """1-D adaptive average pooling, ``torch.nn.functional.adaptive_avg_pool1d``: bin i of
    L covers ``floor(i L / out) .. ceil((i + 1) L / out)``.

    >>> adaptive_avg_pool1d(np.array([[[1.0, 3.0, 2.0, 0.0, 5.0]]]), 2).tolist()
    [[[2.0, 2.3333333333333335]]]
    """
    x = _pool1d_input(input, "adaptive_avg_pool1d")
    size = _adaptive_size1d(output_size, "adaptive_avg_pool1d", x.shape[-1])
    return adaptive_avg_pool2d(x.unsqueeze(-2), (1, size)).squeeze(-2)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """1-D adaptive max pooling, ``torch.nn.functional.adaptive_max_pool1d`` (the bins
    of :func:`adaptive_avg_pool1d`; ``return_indices`` as in :func:`max_pool1d`).

    >>> adaptive_max_pool1d(np.array([[[1.0, 3.0, 2.0, 0.0, 5.0]]]), 2).tolist()
    [[[3.0, 5.0]]]
    """
    x = _pool1d_input(input, "adaptive_max_pool1d")
    size = _adaptive_size1d(output_size, "adaptive_max_pool1d", x.shape[-1])
    return _squeeze_height(adaptive_max_pool2d(x.unsqueeze(-2), (1, size), return_indices),
                           return_indices)


__all__ += ["interpolate", "upsample", "pixel_shuffle", "pixel_unshuffle"]

_INTERPOLATE_DIMS = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "area": (1, 2, 3),
                     "linear": (1,), "bilinear": (2,), "bicubic": (2,), "trilinear": (3,)}
_NOT_INTERPOLATING = ("nearest", "nearest-exact", "area")  # align_corners must stay None


def _spatial(value, dims: int, name: str, cast):
    """``value`` (a number or a sequence of ``dims`` numbers) as a ``dims``-tuple."""
    if isinstance(value, (tuple, list)):
        if len(value) != dims:
            raise ValueError(f"interpolate: {name} must have {dims} entries for a "
                             f"{dims + 2}-D input, got {tuple(value)}")
        return tuple(cast(v) for v in value)
    return (cast(value),) * dims


def _nearest_source(size_in: int, size_out: int, scale, offset: float = 0.0) -> np.ndarray:
    # PyTorch computes the nearest scale in float32 (1/scale_factor, else in/out) and
    # floors (dst + offset) * scale; doing the same keeps the picked index identical at
    # ties. offset 0 is 'nearest', 0.5 (the output pixel centre) 'nearest-exact'.
    s = np.float32(1.0 / scale) if scale else np.float32(size_in) / np.float32(size_out)
    dst = np.arange(size_out, dtype=np.float32) + np.float32(offset)
    src = np.floor(dst * s).astype(np.int64)
    return np.minimum(src, size_in - 1)


def _area(x: Tensor, sizes: tuple) -> Tensor:
    """``mode='area'``: adaptive average pooling to ``sizes`` (PyTorch's definition).

    A 3-D (N, C, L) input pools a height-1 view; a 5-D (N, C, D, H, W) one pools H, W
    on (N, C*D, H, W) and then D on (N, C, D, OH*OW) (bins are boxes, so the mean over a
    box is the mean over D of the means over H x W; only the summation order differs).
    """
    if x.ndim == 3:
        return adaptive_avg_pool2d(x.unsqueeze(-2), (1,) + sizes).squeeze(-2)
    if x.ndim == 4:
        return adaptive_avg_pool2d(x, sizes)
    n, c, d, h, w = x.shape
    od, oh, ow = sizes
    planes = adaptive_avg_pool2d(x.reshape(n, c * d, h, w), (oh, ow))
    return adaptive_avg_pool2d(planes.reshape(n, c, d, oh * ow), (od, oh * ow)).reshape(
        n, c, od, oh, ow)


def _source_position(size_in: int, size_out: int, scale, align_corners: bool):
    """The (fractional, unclamped) input position of each output position."""
    dst = np.arange(size_out, dtype=np.float64)
    if align_corners:  # the corner pixels' centres line up: src = dst (in-1)/(out-1)
        return dst * ((size_in - 1) / (size_out - 1) if size_out > 1 else 0.0)
    s = 1.0 / scale if scale else size_in / size_out  # pixel centres
    return (dst + 0.5) * s - 0.5


def _linear_source(size_in: int, size_out: int, scale, align_corners: bool):
    """Left index, right index and the right weight of each output position."""
    # clamped at the left edge (a no-op with align_corners, where src >= 0)
    src = np.maximum(_source_position(size_in, size_out, scale, align_corners), 0.0)
    left = np.minimum(np.floor(src).astype(np.int64), size_in - 1)
    right = np.minimum(left + 1, size_in - 1)
    return left, right, src - left


_CUBIC_A = -0.75  # PyTorch's (and OpenCV's) Keys cubic convolution coefficient


def _cubic_source(size_in: int, size_out: int, scale, align_corners: bool):
    """The four taps (clamped indices) and their weights for each output position.

    src as for linear but never clamped (taps outside the input repeat its edge);
    with t = src - floor(src) the weights are Keys' kernel at distances 1+t, t, 1-t
    and 2-t: W(d) = (A+2)d^3 - (A+3)d^2 + 1 for d <= 1, Ad^3 - 5Ad^2 + 8Ad - 4A for
    1 < d < 2, A = -0.75.
    """
    src = _source_position(size_in, size_out, scale, align_corners)
    base = np.floor(src).astype(np.int64)
    t = src - base
    a = _CUBIC_A

    def near(d):
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    taps = [np.clip(base + k, 0, size_in - 1) for k in (-1, 0, 1, 2)]
    return taps, [far(1 + t), near(t), near(1 - t), far(2 - t)]


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest",
                align_corners=None, recompute_scale_factor=None, antialias: bool = False):
    """Resize the spatial dims (all but N, C), ``torch.nn.functional.interpolate``.

    ``mode='nearest'`` (3-D, 4-D or 5-D input): y[..., i] = x[..., floor(i * s)] with
    ``s = 1/scale_factor`` (or in/out when ``size`` is given); ``'nearest-exact'``
    takes the pixel centres, y[..., i] = x[..., min(floor((i + 0.5) s), in - 1)].
    ``'area'`` (3-D, 4-D or 5-D) is adaptive average pooling to the output size (the
    scale factor only sets that size). ``'linear'`` (3-D),
    ``'bilinear'`` (4-D) and ``'trilinear'`` (5-D): per axis
    y[i] = (1 - t) x[l] + t x[l + 1] with l = floor(src), t = src - l, where
    src = i (in-1)/(out-1) with ``align_corners=True`` and src = max((i + 0.5) s - 0.5, 0)
    otherwise (pixel centres). Bilinear is the linear rule along H and then along W (the
    weights are products, so it is the same sum), trilinear along D, H and W.
    ``'bicubic'`` (4-D) is Keys' cubic convolution (A = -0.75, as PyTorch) per axis: four
    taps l-1 .. l+2 (clamped to the edge) with src not clamped.
    Built from index_select and arithmetic, so the gradients are those ops'.
    Give exactly one of ``size`` (ints) and ``scale_factor`` (numbers): the output size
    is ``floor(in * scale_factor)``.

    >>> interpolate(Tensor(np.array([[[0.0, 1.0]]])), scale_factor=2).tolist()
    [[[0.0, 0.0, 1.0, 1.0]]]
    """
    x = _float_tensor(input, "input", "interpolate")
    if mode not in _INTERPOLATE_DIMS:
        raise NotImplementedError(
            f"interpolate: mode={mode!r} is not implemented; use 'nearest', "
            "'nearest-exact', 'area', 'linear', 'bilinear', 'bicubic' or 'trilinear'")
    dims = x.ndim - 2
    if dims not in _INTERPOLATE_DIMS[mode]:
        wanted = " or ".join(f"{d + 2}-D" for d in _INTERPOLATE_DIMS[mode])
        raise ShapeError(f"interpolate: mode={mode!r} expects a {wanted} input (N, C, ...), "
                         f"got shape {tuple(x.shape)}")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not implemented")
    if mode in _NOT_INTERPOLATING:
        if align_corners is not None:
            raise ValueError("interpolate: align_corners option can only be set with the "
                             "interpolating modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor, got "
                         f"size={size!r}, scale_factor={scale_factor!r}")
    if size is not None:
        sizes = _spatial(size, dims, "size", int)
        if any(s < 1 for s in sizes):
            raise ValueError(f"interpolate: the output size must be positive, got {sizes}")
        scales = (None,) * dims
    else:
        scales = _spatial(scale_factor, dims, "scale_factor", float)
        if any(not s > 0 for s in scales):
            raise ValueError(f"interpolate: scale_factor must be positive, got {scales}")
        sizes = tuple(int(np.floor(n * s)) for n, s in zip(x.shape[2:], scales))
        if any(s < 1 for s in sizes):
            raise ValueError(f"interpolate: input spatial size {tuple(x.shape[2:])} times "
                             f"scale_factor {scales} gives an empty output {sizes}")
        if recompute_scale_factor:  # PyTorch then forgets the factor and uses in/out
            scales = (None,) * dims
    if 0 in x.shape[2:]:
        raise ShapeError(f"interpolate: input of shape {tuple(x.shape)} is empty")
    if mode == "area":
        return _area(x, sizes)
    from autograd_core.ops.indexing import index_select

    for axis, (n_out, scale) in enumerate(zip(sizes, scales)):
        dim = 2 + axis
        n_in = x.shape[dim]
        if n_in == 0:
            raise ShapeError(f"interpolate: input of shape {tuple(x.shape)} is empty")
        if mode in ("nearest", "nearest-exact"):
            offset = 0.5 if mode == "nearest-exact" else 0.0
            x = index_select(x, dim, _nearest_source(n_in, n_out, scale, offset))
            continue
        shape = [1] * x.ndim
        shape[dim] = n_out
        if mode == "bicubic":
            taps, weights = _cubic_source(n_in, n_out, scale, align_corners)
            terms = [index_select(x, dim, tap) * Tensor._make(w.astype(x.dtype).reshape(shape))
                     for tap, w in zip(taps, weights)]
            x = terms[0] + terms[1] + terms[2] + terms[3]
            continue
        left, right, t = _linear_source(n_in, n_out, scale, align_corners)
        t = Tensor._make(t.astype(x.dtype).reshape(shape))
        x = index_select(x, dim, left) * (1 - t) + index_select(x, dim, right) * t
    return x


def upsample(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None):
    """``torch.nn.functional.upsample``: ``interpolate`` under its old name."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def _shuffle_factor(factor, name: str, op: str) -> int:
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"{op}: {name} must be a positive integer, got {factor!r}")
    return int(factor)


def pixel_shuffle(input, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): y[c, h r + i, w r + j] = x[c r^2 + i r + j, h, w].

    A reshape to (*, C, r, r, H, W), a permute to (*, C, H, r, W, r) and a reshape.

    >>> pixel_shuffle(Tensor(np.arange(4.0).reshape(4, 1, 1)), 2).tolist()
    [[[0.0, 1.0], [2.0, 3.0]]]
    """
    x = _tensor(input, "input", "pixel_shuffle")
    r = _shuffle_factor(upscale_factor, "upscale_factor", "pixel_shuffle")
    if x.ndim < 3:
        raise ShapeError(f"pixel_shuffle: expected an input of at least 3 dims (*, C, H, W), "
                         f"got shape {tuple(x.shape)}")
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise ShapeError(f"pixel_shuffle: the channels {c} of shape {tuple(x.shape)} must be "
                         f"divisible by upscale_factor ** 2 = {r * r}")
    k = len(lead)
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of ``pixel_shuffle``."""
    x = _tensor(input, "input", "pixel_unshuffle")
    r = _shuffle_factor(downscale_factor, "downscale_factor", "pixel_unshuffle")
    if x.ndim < 3:
        raise ShapeError(f"pixel_unshuffle: expected an input of at least 3 dims (*, C, H, "
                         f"W), got shape {tuple(x.shape)}")
    *lead, c, h, w = x.shape
    if h % r or w % r:
        raise ShapeError(f"pixel_unshuffle: the height {h} and width {w} of shape "
                         f"{tuple(x.shape)} must be divisible by downscale_factor = {r}")
    k = len(lead)
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)


from autograd_core.ops.conv_transpose import conv_transpose2d  # noqa: E402

__all__ += ["conv_transpose2d"]
