"""The pooling family beyond the 2-D basics: avg_pool2d's divisor_override, adaptive max
pooling (2-D and 1-D), 1-D max/avg/adaptive pooling and their layers. PyTorch's values,
indices and gradients in float64 (1e-10), gradgradcheck, layers and bad input."""

import numpy as np
import pytest

import autograd_core as ag
import nn
import nn.functional as F
from autograd_core import DTypeError, ShapeError
from autograd_core.gradcheck import gradcheck, gradgradcheck

TOL = dict(rtol=1e-10, atol=1e-12)


def _distinct(shape, seed=0):
    # distinct values: max pooling has one argmax per window (finite differences agree)
    rng = np.random.default_rng(seed)
    return rng.permutation(int(np.prod(shape))).reshape(shape) / 7.0 - 1.0


def _compare(torch, ours, theirs, data, with_indices=False):
    """Forward (and indices) and the gradient of a random weighting, against PyTorch."""
    x = ag.tensor(data, requires_grad=True)
    tx = torch.tensor(data, requires_grad=True)
    out, tout = ours(x), theirs(tx)
    if with_indices:
        (out, idx), (tout, tidx) = out, tout
        assert idx.dtype == np.int64
        np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    assert tuple(out.shape) == tuple(tout.shape)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), **TOL)
    weights = np.random.default_rng(1).standard_normal(tuple(out.shape))
    (out * ag.tensor(weights)).sum().backward()
    (tout * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **TOL)


# ----------------------------------------------------------------- divisor_override

DIVISOR_CASES = [  # (shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor)
    ((2, 3, 7, 6), 3, 2, 1, False, True, 4),
    ((2, 3, 7, 6), 3, 2, 1, True, True, 5),
    ((1, 2, 8, 7), (3, 2), (2, 3), (1, 1), True, False, 2),
    ((3, 6, 5), 2, 1, 0, False, False, 3),  # unbatched
    ((1, 2, 5, 5), 3, 2, 1, True, False, -3),  # PyTorch allows a negative divisor
]


@pytest.mark.parametrize("shape,k,s,p,ceil,cip,d", DIVISOR_CASES)
def test_divisor_override_matches_torch(torch_or_skip, shape, k, s, p, ceil, cip, d):
    tf = torch_or_skip.nn.functional
    _compare(torch_or_skip, lambda x: F.avg_pool2d(x, k, s, p, ceil, cip, d),
             lambda x: tf.avg_pool2d(x, k, s, p, ceil, cip, d), _distinct(shape))


def test_divisor_override_layer_and_gradgradcheck(torch_or_skip):
    data = _distinct((2, 2, 6, 5))
    layer = nn.AvgPool2d(3, 2, 1, ceil_mode=True, divisor_override=7)
    theirs = torch_or_skip.nn.AvgPool2d(3, 2, 1, ceil_mode=True, divisor_override=7)
    _compare(torch_or_skip, layer, theirs, data)
    assert repr(layer) == repr(theirs)
    x = ag.tensor(data[:1], requires_grad=True)
    assert gradcheck(lambda t: F.avg_pool2d(t, 3, 2, 1, True, False, 3), [x])
    assert gradgradcheck(lambda t: F.avg_pool2d(t, 3, 2, 1, True, False, 3), [x])


def test_divisor_override_bad_values():
    x = ag.tensor(np.ones((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="avg_pool2d: divisor_override must be non-zero"):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(ValueError, match="divisor_override must be an integer, got 1.5"):
        F.avg_pool2d(x, 2, divisor_override=1.5)
    with pytest.raises(ValueError, match="AvgPool2d: divisor_override must be non-zero"):
        nn.AvgPool2d(2, divisor_override=0)


# ------------------------------------------------------------------ adaptive max 2-D

@pytest.mark.parametrize("shape,size", [
    ((2, 3, 7, 6), (3, 4)), ((2, 3, 7, 6), (7, 6)), ((1, 2, 5, 9), (2, None)),
    ((3, 5, 8), 3), ((2, 1, 4, 4), 1), ((1, 2, 3, 5), (6, 7)),  # bins overlap (upsampling)
])
def test_adaptive_max_pool2d_matches_torch(torch_or_skip, shape, size):
    tf = torch_or_skip.nn.functional
    data = _distinct(shape)
    _compare(torch_or_skip, lambda x: F.adaptive_max_pool2d(x, size, return_indices=True),
             lambda x: tf.adaptive_max_pool2d(x, size, return_indices=True), data, True)
    _compare(torch_or_skip, nn.AdaptiveMaxPool2d(size),
             torch_or_skip.nn.AdaptiveMaxPool2d(size), data)


def test_adaptive_max_pool2d_ties_and_nan_follow_torch(torch_or_skip):
    tf = torch_or_skip.nn.functional
    data = np.zeros((1, 1, 4, 4))
    data[0, 0, 1, 2] = data[0, 0, 3, 0] = np.nan
    _, idx = F.adaptive_max_pool2d(data, (2, 1), return_indices=True)
    _, tidx = tf.adaptive_max_pool2d(torch_or_skip.tensor(data), (2, 1), return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


def test_adaptive_max_pool2d_twice_differentiable_and_unpoolable():
    x = ag.tensor(_distinct((1, 2, 5, 7)), requires_grad=True)
    assert gradgradcheck(lambda t: F.adaptive_max_pool2d(t, (2, 3)), [x])
    out, idx = F.adaptive_max_pool2d(x, (2, 3), return_indices=True)
    back = F.max_unpool2d(out, idx, 3, output_size=(5, 7))  # the maxima where they were
    flat = idx.numpy().reshape(1, 2, -1)
    for image in (x.numpy(), back.numpy()):
        np.testing.assert_array_equal(
            np.take_along_axis(image.reshape(1, 2, -1), flat, axis=2),
            out.numpy().reshape(1, 2, -1))


def test_adaptive_max_pool2d_bad_input():
    with pytest.raises(ShapeError, match="adaptive_max_pool2d: expected a 3-D .* got shape"):
        F.adaptive_max_pool2d(np.ones((4, 4)), 2)
    with pytest.raises(DTypeError, match="float32 or float64"):
        F.adaptive_max_pool2d(np.ones((1, 4, 4), dtype=np.int64), 2)
    with pytest.raises(ShapeError, match="adaptive_max_pool2d: output_size"):
        F.adaptive_max_pool2d(np.ones((1, 4, 4)), 0)
    with pytest.raises(ValueError, match="AdaptiveMaxPool2d: output_size"):
        nn.AdaptiveMaxPool2d((2, 0))


# ----------------------------------------------------------------------- 1-D pooling

MAX1D = [  # (shape, kernel, stride, padding, dilation, ceil_mode)
    ((2, 3, 11), 3, None, 0, 1, False),
    ((2, 3, 11), 3, 2, 1, 1, True),
    ((1, 2, 12), 2, 3, 1, 3, True),
    ((4, 9), (4,), (2,), (2,), (1,), False),  # unbatched, 1-tuples
]


@pytest.mark.parametrize("shape,k,s,p,d,ceil", MAX1D)
def test_max_pool1d_matches_torch(torch_or_skip, shape, k, s, p, d, ceil):
    torch = torch_or_skip
    data = _distinct(shape)
    _compare(torch, lambda x: F.max_pool1d(x, k, s, p, d, ceil, return_indices=True),
             lambda x: torch.nn.functional.max_pool1d(x, k, s, p, d, ceil, return_indices=True),
             data, True)
    _compare(torch, nn.MaxPool1d(k, s, p, d, ceil_mode=ceil),
             torch.nn.MaxPool1d(k, s, p, d, ceil_mode=ceil), data)
    assert repr(nn.MaxPool1d(k, s, p, d, ceil_mode=ceil)) == repr(
        torch.nn.MaxPool1d(k, s, p, d, ceil_mode=ceil))


AVG1D = [  # (shape, kernel, stride, padding, ceil_mode, count_include_pad)
    ((2, 3, 11), 3, None, 0, False, True),
    ((2, 3, 11), 3, 2, 1, True, True),
    ((1, 2, 10), 4, 3, 2, True, False),
    ((4, 9), 2, 1, 1, False, False),
]


@pytest.mark.parametrize("shape,k,s,p,ceil,cip", AVG1D)
def test_avg_pool1d_matches_torch(torch_or_skip, shape, k, s, p, ceil, cip):
    torch = torch_or_skip
    data = _distinct(shape)
    _compare(torch, lambda x: F.avg_pool1d(x, k, s, p, ceil, cip),
             lambda x: torch.nn.functional.avg_pool1d(x, k, s, p, ceil, cip), data)
    ours, theirs = nn.AvgPool1d(k, s, p, ceil, cip), torch.nn.AvgPool1d(k, s, p, ceil, cip)
    _compare(torch, ours, theirs, data)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("shape,size", [((2, 3, 11), 4), ((2, 3, 5), 8), ((3, 7), (3,)),
                                        ((1, 2, 6), None)])
def test_adaptive_pool1d_matches_torch(torch_or_skip, shape, size):
    torch = torch_or_skip
    tf = torch.nn.functional
    data = _distinct(shape)
    _compare(torch, lambda x: F.adaptive_avg_pool1d(x, size),
             lambda x: tf.adaptive_avg_pool1d(x, size if size else shape[-1]), data)
    _compare(torch, lambda x: F.adaptive_max_pool1d(x, size, return_indices=True),
             lambda x: tf.adaptive_max_pool1d(x, size if size else shape[-1],
                                              return_indices=True), data, True)
    if size is not None:
        _compare(torch, nn.AdaptiveAvgPool1d(size), torch.nn.AdaptiveAvgPool1d(size), data)
        _compare(torch, nn.AdaptiveMaxPool1d(size, return_indices=True),
                 torch.nn.AdaptiveMaxPool1d(size, return_indices=True), data, True)
        assert repr(nn.AdaptiveMaxPool1d(size)) == repr(torch.nn.AdaptiveMaxPool1d(size))


@pytest.mark.parametrize("fn", [
    lambda t: F.max_pool1d(t, 3, 2, 1, dilation=2, ceil_mode=True),
    lambda t: F.avg_pool1d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda t: F.adaptive_avg_pool1d(t, 4),
    lambda t: F.adaptive_max_pool1d(t, 3),
])
def test_1d_pools_are_twice_differentiable(fn):
    x = ag.tensor(_distinct((2, 2, 9)), requires_grad=True)
    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


def test_1d_pool_bad_input():
    with pytest.raises(ShapeError, match=r"max_pool1d: expected a 2-D \(C, L\) or 3-D"):
        F.max_pool1d(np.ones((1, 2, 3, 4)), 2)
    with pytest.raises(DTypeError, match="avg_pool1d: input must be a floating-point"):
        F.avg_pool1d(np.ones((1, 2, 4), dtype=np.int64), 2)
    with pytest.raises(ValueError, match="max_pool1d: kernel_size must be an int or a 1-tuple"):
        F.max_pool1d(np.ones((1, 2, 4)), (2, 2))
    with pytest.raises(ValueError, match="max_pool1d: stride must be positive"):
        F.max_pool1d(np.ones((1, 2, 4)), 2, 0)
    with pytest.raises(ShapeError, match="max_pool1d: padding 2 must be at most half the "
                                         "kernel size 2"):
        F.max_pool1d(np.ones((1, 2, 8)), 2, padding=2)
    with pytest.raises(ShapeError, match=r"avg_pool1d: the output would be empty: input "
                                         r"\(1, 2, 4\) \(length 4\), kernel_size 5"):
        F.avg_pool1d(np.ones((1, 2, 4)), 5)
    with pytest.raises(ShapeError, match="max_pool1d: .*dilation 3 give length 0"):
        F.max_pool1d(np.ones((2, 6)), 3, dilation=3)
    with pytest.raises(ValueError, match="adaptive_avg_pool1d: output_size must be positive"):
        F.adaptive_avg_pool1d(np.ones((1, 2, 4)), 0)
    with pytest.raises(ValueError, match="MaxPool1d: dilation must be positive"):
        nn.MaxPool1d(2, dilation=0)
    with pytest.raises(ValueError, match="AvgPool1d: kernel_size must be an int or a 1-tuple"):
        nn.AvgPool1d((2, 3))
