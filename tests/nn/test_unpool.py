"""max_unpool2d and nn.MaxUnpool2d: PyTorch's values, sizes and gradients (float64,
1e-10), gradients of gradients, the layer, and bad input."""

import numpy as np
import pytest

import autograd_core as ag
import nn
import nn.functional as F
from autograd_core import DTypeError, ShapeError
from autograd_core.gradcheck import gradcheck, gradgradcheck

TOL = dict(rtol=1e-10, atol=1e-12)

# (image shape, kernel_size, stride, padding, output_size given to max_unpool2d)
CASES = [
    ((2, 3, 6, 6), 2, None, 0, None),
    ((2, 3, 7, 6), 2, None, 0, (7, 6)),  # the cut last row comes back with output_size
    ((1, 2, 9, 8), 3, 2, 1, (9, 8)),
    ((1, 2, 10, 8), 3, 2, 1, (1, 2, 10, 8)),  # a full 4-D size
    ((3, 5, 7), (2, 3), (1, 2), (1, 1), None),  # unbatched, overlapping windows
]


def _image(shape, seed=0):
    return np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) / 9.0


@pytest.mark.parametrize("shape,k,s,p,size", CASES)
def test_matches_torch(torch_or_skip, shape, k, s, p, size):
    torch = torch_or_skip
    tf = torch.nn.functional
    image = _image(shape)
    pooled, idx = F.max_pool2d(image, k, s, p, return_indices=True)
    tpooled, tidx = tf.max_pool2d(torch.tensor(image), k, s, p, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    values = np.random.default_rng(1).standard_normal(tuple(pooled.shape))
    mine, other = ag.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    out = F.max_unpool2d(mine, idx, k, s, p, size)
    ref = tf.max_unpool2d(other, tidx, k, s, p, size)
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), **TOL)
    weights = np.random.default_rng(2).standard_normal(tuple(ref.shape))
    out.backward(ag.tensor(weights))
    ref.backward(torch.tensor(weights))
    np.testing.assert_allclose(mine.grad.numpy(), other.grad.numpy(), **TOL)


def test_gradients_flow_through_pooling_and_unpooling(torch_or_skip):
    torch = torch_or_skip
    tf = torch.nn.functional
    image = _image((2, 2, 6, 5), seed=3)
    x, tx = ag.tensor(image, requires_grad=True), torch.tensor(image, requires_grad=True)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    ty, tidx = tf.max_pool2d(tx, 2, return_indices=True)
    (F.max_unpool2d(y * y, idx, 2, output_size=(6, 5)) * x).sum().backward()
    (tf.max_unpool2d(ty * ty, tidx, 2, output_size=(6, 5)) * tx).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **TOL)


def test_gradgradcheck_and_second_derivatives_match_torch(torch_or_skip):
    torch = torch_or_skip
    tf = torch.nn.functional
    image = _image((1, 2, 5, 5), seed=4)
    # Distinct indices: the unpooling is then linear and finite differences apply.
    _, distinct = F.max_pool2d(image, 2, return_indices=True)
    values = np.random.default_rng(5).standard_normal(tuple(distinct.shape))

    def fn(t):
        return F.max_unpool2d(t, distinct, 2, output_size=(5, 5)) ** 2

    assert gradcheck(fn, (ag.tensor(values, requires_grad=True),))
    assert gradgradcheck(fn, (ag.tensor(values, requires_grad=True),))

    # Overlapping windows repeat maxima; the gradient is PyTorch's gather all the same.
    _, idx = F.max_pool2d(image, 2, 1, return_indices=True)
    _, tidx = tf.max_pool2d(torch.tensor(image), 2, 1, return_indices=True)
    values = np.random.default_rng(8).standard_normal(tuple(idx.shape))

    v = np.random.default_rng(6).standard_normal(values.shape)
    results = []
    for lib, unpool, index in ((ag, F.max_unpool2d, idx), (torch, tf.max_unpool2d, tidx)):
        t = lib.tensor(values, requires_grad=True)
        y = unpool(t * t, index, 2, 1)
        (g,) = lib.autograd.grad((y * y).sum(), t, create_graph=True)
        (h,) = lib.autograd.grad((g * lib.tensor(v)).sum(), t)
        results.append((g.detach().numpy(), h.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, **TOL)


def test_layer_matches_torch(torch_or_skip):
    torch = torch_or_skip
    image = _image((2, 3, 7, 7), seed=7)
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    y, idx = pool(ag.tensor(image))
    ty, tidx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(image))
    ref = torch.nn.MaxUnpool2d(2)(ty, tidx, output_size=(2, 3, 7, 7))
    np.testing.assert_array_equal(unpool(y, idx, output_size=(2, 3, 7, 7)).numpy(), ref.numpy())
    assert repr(unpool) == repr(torch.nn.MaxUnpool2d(2))
    assert repr(nn.MaxUnpool2d((2, 3), 1, 1)) == repr(torch.nn.MaxUnpool2d((2, 3), 1, 1))


def _pooled():
    return F.max_pool2d(_image((1, 1, 4, 4)), 2, return_indices=True)


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: F.max_unpool2d(_pooled()[0], _pooled()[1].to(ag.int32), 2), DTypeError,
         "int64"),
        (lambda: F.max_unpool2d(_pooled()[0], _pooled()[1][0], 2), ShapeError, "shape"),
        (lambda: F.max_unpool2d(_pooled()[0], _pooled()[1] + 20, 2), ValueError,
         "invalid max index"),
        (lambda: F.max_unpool2d(_pooled()[0], _pooled()[1], 2, output_size=(6, 4)),
         ValueError, "must be between 2 and 6"),
        (lambda: F.max_unpool2d(_pooled()[0], _pooled()[1], 2, output_size=(4,)),
         ValueError, "2 or 4 entries"),
        (lambda: F.max_unpool2d(_pooled()[0][0], _pooled()[1][0], 2, output_size=(1, 4, 4)),
         ValueError, "2 or 4 entries"),  # as PyTorch, also for an unbatched input
        (lambda: F.max_unpool2d(np.ones((2, 2)), np.zeros((2, 2), np.int64), 2), ShapeError,
         "3-D"),
        (lambda: nn.MaxUnpool2d(0), ValueError, "kernel_size"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("shape", [(1, 2, 5, 5), (2, 5, 5)])
def test_flat_code_writes_unpooling_out(shape):
    from tests.autograd_core.viz.helpers import assert_flat_code_matches_engine

    x = ag.Tensor(_image(shape, seed=9), requires_grad=True, name="x")
    y, idx = F.max_pool2d(x, 2, 1, return_indices=True)
    source = assert_flat_code_matches_engine((F.max_unpool2d(y * y, idx, 2, 1) * 2.0).sum())
    assert "np.put_along_axis(" in source and "np.take_along_axis(" in source
