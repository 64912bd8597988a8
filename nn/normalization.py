"""Normalisation layers: BatchNorm1d, BatchNorm2d, LayerNorm, InstanceNorm2d.

BatchNorm follows PyTorch exactly: the batch mean and the biased variance normalise
in training, the running estimates are updated with

    running = (1 - momentum) running + momentum * batch statistic

(the unbiased variance for ``running_var``; ``momentum=None`` gives the cumulative
average, factor 1 / num_batches_tracked), and eval mode normalises with them. The
buffers are named as PyTorch's (``running_mean``, ``running_var``,
``num_batches_tracked``), so state dicts match.

>>> import nn
>>> bn = nn.BatchNorm2d(3)
>>> list(bn.state_dict())
['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
"""

import math

import numpy as np

from autograd_core.errors import ShapeError
from autograd_core.tensor import Tensor
from nn import functional as F
from nn.module import Module, check_device
from nn.parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "InstanceNorm2d"]


def _float_dtype(dtype):
    return np.dtype(np.float32 if dtype is None else dtype)


class _NormBase(Module):
    """Shared parameters and buffers of the batch and instance norms."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum=0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True):
        super().__init__()
        check_device(device, type(self).__name__)
        if isinstance(num_features, bool) or not isinstance(num_features, int) or \
                num_features < 1:
            raise ValueError(
                f"{type(self).__name__}: num_features must be a positive int, got {num_features!r}"
            )
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{type(self).__name__}: momentum must be in [0, 1], got {momentum}")
        dtype = _float_dtype(dtype)
        self.num_features = num_features
        self.eps = F._check_eps(eps, type(self).__name__)
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self.use_bias = bias
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor._make(np.zeros(num_features, dtype)))
            self.register_buffer("running_var", Tensor._make(np.ones(num_features, dtype)))
            self.register_buffer("num_batches_tracked",
                                 Tensor._make(np.zeros((), dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            self.weight._data[...] = 1
            if self.bias is not None:
                self.bias._data[...] = 0

    def _check_input(self, x):
        raise NotImplementedError

    def _update_factor(self) -> float:
        """The weight of this batch in the running estimates (and count the batch)."""
        self.num_batches_tracked._data += 1
        if self.momentum is None:
            return 1.0 / float(self.num_batches_tracked._data)
        return self.momentum

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.affine and self.use_bias}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    _expected_dims: tuple = ()

    def _check_input(self, x):
        shape = np.shape(x)
        if len(shape) not in self._expected_dims:
            dims = " or ".join(f"{d}D" for d in self._expected_dims)
            raise ShapeError(
                f"{type(self).__name__}: expected {dims} input, got input of shape {shape}"
            )
        if shape[1] != self.num_features:
            raise ShapeError(
                f"{type(self).__name__}: expected {self.num_features} channels (dim 1), got "
                f"input of shape {shape} with {shape[1]}"
            )
        if self.training and math.prod(shape) // shape[1] <= 1:
            raise ValueError(
                f"{type(self).__name__}: expected more than 1 value per channel when "
                f"training, got input of shape {shape} (use a batch of 2 or more, or eval())"
            )

    def forward(self, x):
        self._check_input(x)
        use_batch_stats = self.training or self.running_mean is None
        factor = 0.0
        if self.training and self.track_running_stats:
            factor = self._update_factor()
        update = self.training and self.track_running_stats
        return F.batch_norm(
            x,
            self.running_mean if update or not use_batch_stats else None,
            self.running_var if update or not use_batch_stats else None,
            self.weight, self.bias, training=use_batch_stats, momentum=factor, eps=self.eps,
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs over N (and L), per channel C."""

    _expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs over N, H, W, per channel C."""

    _expected_dims = (4,)


class InstanceNorm2d(_NormBase):
    """Normalise each sample's channel planes over (H, W); input (N, C, H, W) or
    (C, H, W). PyTorch's defaults: no affine parameters, no running estimates (with
    ``track_running_stats=True`` eval mode normalises with them)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None, *, bias: bool = True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def forward(self, x):
        shape = np.shape(x)
        if len(shape) not in (3, 4):
            raise ShapeError(
                f"InstanceNorm2d: expected 3D (C, H, W) or 4D (N, C, H, W) input, got input "
                f"of shape {shape}"
            )
        unbatched = len(shape) == 3
        if unbatched:
            x = x.unsqueeze(0) if isinstance(x, Tensor) else Tensor._make(np.asarray(x)[None])
        if x.shape[1] != self.num_features and (self.affine or self.track_running_stats):
            raise ShapeError(
                f"InstanceNorm2d: expected {self.num_features} channels, got input of shape "
                f"{shape}"
            )
        use_input_stats = self.training or not self.track_running_stats
        # As PyTorch: the momentum is used as it is and num_batches_tracked stays 0.
        out = F.instance_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias,
            use_input_stats=use_input_stats,
            momentum=self.momentum if self.momentum is not None else 0.0, eps=self.eps,
        )
        return out.squeeze(0) if unbatched else out


def _affine_parameters(module, shape, affine: bool, bias: bool, dtype):
    """The weight (ones) and bias (zeros) of ``shape``, or None where there are none."""
    dtype = _float_dtype(dtype)
    module.register_parameter(
        "weight", Parameter(np.ones(shape, dtype=dtype)) if affine else None)
    module.register_parameter(
        "bias", Parameter(np.zeros(shape, dtype=dtype)) if affine and bias else None)


def _reset_affine(module):
    if module.weight is not None:
        module.weight._data[...] = 1
    if module.bias is not None:
        module.bias._data[...] = 0


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dims of each sample:
    y = w (x - mu) / sqrt(var + eps) + b, w and b of shape ``normalized_shape``
    (ones and zeros), mu and the biased var per sample."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        check_device(device, "LayerNorm")
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        if not self.normalized_shape or min(self.normalized_shape) < 1:
            raise ValueError(
                f"LayerNorm: normalized_shape must be non-empty and positive, got "
                f"{self.normalized_shape}"
            )
        self.eps = F._check_eps(eps, "LayerNorm")
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine, bias, dtype)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalise groups of ``num_channels / num_groups`` channels of each sample (over
    those channels and all positions), then a per-channel affine map (weight ones, bias
    zeros, shape (C,))."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, bias: bool = True, device=None, dtype=None):
        super().__init__()
        check_device(device, "GroupNorm")
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels must be divisible by num_groups, got "
                             f"num_channels={num_channels} and num_groups={num_groups}")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps = F._check_eps(eps, "GroupNorm")
        self.affine = affine
        _affine_parameters(self, (num_channels,), affine, bias, dtype)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


__all__ += ["GroupNorm"]
