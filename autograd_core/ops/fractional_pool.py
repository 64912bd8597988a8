"""Fractional max pooling (Graham, 2014) as one node, with PyTorch's pooling regions.

Each (sample, channel) plane gets its own pseudo-random, overlapping-or-touching
windows of a fixed ``kernel_size`` whose starts grow by alpha = (in - k) / (out - 1) on
average: for a sample u in [0, 1) (``random_samples[n, c]`` = (u_w, u_h), PyTorch's
order),

    start_i = int((i + u) alpha) - int(u alpha)   (i < out - 1),   start_(out-1) = in - k

computed in the input's dtype as PyTorch does, so equal samples give equal windows.
y = the max of each window; dL/dx adds dL/dy at each window's (first) argmax. That
scatter is linear in dL/dy, so for ``create_graph`` it is recorded as a scatter-add
node (whose own gradient gathers at the same positions).

>>> import numpy as np
>>> from autograd_core import Tensor
>>> x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
>>> y = FractionalMaxPool2d.apply(x, np.zeros((1, 1, 2)), kernel_size=(2, 2),
...                               output_size=(2, 2))
>>> y.numpy()[0, 0].tolist()
[[5.0, 7.0], [13.0, 15.0]]
"""

import numpy as np

from autograd_core.function import Function
from autograd_core.ops._formula import Custom
from autograd_core.ops.movement import _ScatterAdd
from autograd_core.tensor import Tensor

__all__ = ["FractionalMaxPool2d", "fractional_intervals"]


def fractional_intervals(samples, in_size: int, out_size: int, pool: int):
    """(planes, out_size) window starts for one axis, one sample per plane."""
    dtype = samples.dtype.type
    starts = np.empty(samples.shape + (out_size,), dtype=np.int64)
    if out_size > 1:
        alpha = dtype(in_size - pool) / dtype(out_size - 1)
        i = np.arange(out_size - 1, dtype=samples.dtype)
        first = ((i + samples[..., None]) * alpha).astype(np.int64)
        starts[..., :-1] = first - (samples[..., None] * alpha).astype(np.int64)
    starts[..., -1] = in_size - pool
    return starts


def windows_argmax(x, samples, kernel_size, output_size):
    """(y, flat argmax h * W + w per plane) for x (N, C, H, W)."""
    n, c, height, width = x.shape
    kh, kw = kernel_size
    oh, ow = output_size
    rows = fractional_intervals(samples[..., 1], height, oh, kh)  # (N, C, oh)
    cols = fractional_intervals(samples[..., 0], width, ow, kw)  # (N, C, ow)
    r = rows[:, :, :, None, None, None] + np.arange(kh)[:, None]  # (N,C,oh,1,kh,1)
    q = cols[:, :, None, :, None, None] + np.arange(kw)  # (N,C,1,ow,1,kw)
    flat = (r * width + q).reshape(n, c, oh, ow, kh * kw)
    planes = x.reshape(n, c, height * width)
    values = np.take_along_axis(planes, flat.reshape(n, c, -1), axis=2).reshape(flat.shape)
    best = np.argmax(values, axis=-1)  # the first maximum (NaN counts as maximum)
    index = np.take_along_axis(flat, best[..., None], axis=-1)[..., 0]
    out = np.take_along_axis(values, best[..., None], axis=-1)[..., 0]
    return out, index


class FractionalMaxPool2d(Function):
    """y = max over PyTorch's fractional windows (module docstring); x (N, C, H, W),
    ``random_samples`` (N, C, 2) a constant."""

    formula = Custom("FractionalMaxPool2d", local=lambda v, i: "1 at each window's argmax"
                     if i == 0 else None)
    twice_differentiable = True  # on a Tensor grad the scatter is a node of its own

    @staticmethod
    def forward(ctx, x, random_samples, *, kernel_size, output_size):
        out, index = windows_argmax(x, random_samples.astype(x.dtype, copy=False),
                                    kernel_size, output_size)
        ctx.indices = index
        ctx.input_shape = x.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        n, c, height, width = ctx.input_shape
        index = ctx.indices.reshape(n, c, -1)
        planes = np.arange(n * c).reshape(n, c, 1)
        positions = (planes * height * width + index).reshape(-1)
        if isinstance(grad, Tensor):  # create_graph: a scatter-add node
            flat = _ScatterAdd.apply(grad.reshape(-1), index=(positions,),
                                     shape=(n * c * height * width,))
            return flat.reshape(ctx.input_shape), None
        grad_x = np.zeros((n, c, height * width), dtype=grad.dtype)
        flat = grad_x.reshape(-1)
        np.add.at(flat, positions, grad.reshape(-1))
        return grad_x.reshape(ctx.input_shape), None
