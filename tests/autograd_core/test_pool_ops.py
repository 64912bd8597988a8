"""Pooling as graph nodes: gradients (gradcheck, PyTorch), ties, shapes and errors."""

import numpy as np
import pytest

from autograd_core import DTypeError, ShapeError, Tensor, gradcheck, no_grad
from autograd_core.gradcheck import gradgradcheck
from autograd_core.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from tests.reference.pool import avg_pool2d_ref, max_pool2d_ref


def _x(shape, dtype=np.float64, seed=0, grad=True):
    # distinct values keep max pooling differentiable for finite differences
    rng = np.random.default_rng(seed)
    data = rng.permutation(np.prod(shape)).reshape(shape).astype(dtype) / 7.0
    return Tensor(data, requires_grad=grad)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: max_pool2d(x, 2),
        lambda x: max_pool2d(x, 3, 2, 1, ceil_mode=True),
        lambda x: max_pool2d(x, (3, 2), (1, 2)),
        lambda x: avg_pool2d(x, 3, 2, 1, ceil_mode=True),
        lambda x: avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        lambda x: adaptive_avg_pool2d(x, (3, 2)),
        lambda x: adaptive_avg_pool2d(x, 1),
    ],
)
@pytest.mark.parametrize("shape", [(2, 3, 7, 6), (3, 5, 5)])
def test_gradcheck(fn, shape):
    assert gradcheck(fn, [_x(shape)])


def test_nodes_and_options():
    x = _x((1, 2, 6, 6))
    y = max_pool2d(x, 3, 2, 1)
    assert y.grad_fn.op_name == "MaxPool2d"
    assert y.grad_fn.options == dict(
        kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), ceil_mode=False, dilation=(1, 1)
    )
    assert avg_pool2d(x, 2).grad_fn.op_name == "AvgPool2d"
    assert adaptive_avg_pool2d(x, (None, 2)).grad_fn.options == dict(output_size=(6, 2))
    with no_grad():
        assert max_pool2d(x, 2).grad_fn is None


def test_max_pool_gradient_goes_to_the_first_of_tied_maxima():
    x = Tensor(np.array([[[[1.0, 1.0], [1.0, 0.0]]]]), requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 0], [0, 0]])


def test_overlapping_windows_accumulate():
    x = Tensor(
        np.array([[[[0.0, 0.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]]]), requires_grad=True
    )
    max_pool2d(x, 2, 1).sum().backward()  # the 9 wins all four windows
    assert x.grad.numpy()[0, 0, 1, 1] == 4.0


def test_against_reference_and_return_indices():
    x = _x((2, 3, 7, 7), np.float32)
    y, idx = max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True)
    ref, ridx = max_pool2d_ref(x.numpy(), (3, 3), (2, 2), (1, 1), True)
    np.testing.assert_array_equal(y.numpy(), ref)
    np.testing.assert_array_equal(idx.numpy(), ridx)
    assert idx.dtype == np.int64 and y.dtype == np.float32
    a = avg_pool2d(x, (3, 2), (2, 1), (1, 1), count_include_pad=False)
    np.testing.assert_allclose(
        a.numpy(), avg_pool2d_ref(x.numpy(), (3, 2), (2, 1), (1, 1), False, False), rtol=1e-6
    )


def test_unbatched_and_array_inputs():
    y = max_pool2d(np.arange(32.0).reshape(2, 4, 4), 2)
    assert isinstance(y, Tensor) and y.shape == (2, 2, 2)
    assert adaptive_avg_pool2d(np.ones((3, 5, 5), np.float32), 1).shape == (3, 1, 1)
    assert avg_pool2d(np.ones((3, 5, 5)), 2, ceil_mode=True).shape == (3, 3, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_torch(torch_or_skip, dtype):
    torch = torch_or_skip
    F = torch.nn.functional
    x = _x((2, 3, 9, 8), dtype)
    cases = [
        (
            lambda t: max_pool2d(t, 3, 2, 1, ceil_mode=True),
            lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True),
        ),
        (lambda t: avg_pool2d(t, 2, ceil_mode=True), lambda t: F.avg_pool2d(t, 2, ceil_mode=True)),
        (
            lambda t: avg_pool2d(t, 3, 2, 1, count_include_pad=False),
            lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False),
        ),
        (lambda t: adaptive_avg_pool2d(t, (4, 3)), lambda t: F.adaptive_avg_pool2d(t, (4, 3))),
    ]
    for ours, theirs in cases:
        mine = Tensor(x.numpy().copy(), requires_grad=True)
        tx = torch.tensor(x.numpy(), requires_grad=True)
        y, ty = ours(mine), theirs(tx)
        go = np.random.default_rng(0).standard_normal(y.shape).astype(dtype)
        y.backward(Tensor(go))
        ty.backward(torch.tensor(go))
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(mine.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-7)
        assert mine.grad.dtype == dtype


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: max_pool2d(np.ones((4, 4)), 2), ShapeError, "3-D"),
        (lambda: max_pool2d(np.ones((1, 1, 4, 4)), 2, padding=2), ShapeError, "at most half"),
        (lambda: max_pool2d(np.ones((1, 1, 4, 4)), 5), ShapeError, "empty"),
        (lambda: avg_pool2d(np.ones((1, 1, 4, 4)), 2, stride=0), ShapeError, "stride"),
        (lambda: avg_pool2d(np.ones((1, 1, 4, 4)), 2, padding=-1), ShapeError, "non-negative"),
        (lambda: adaptive_avg_pool2d(np.ones((1, 1, 4, 4)), (0, 2)), ShapeError, "positive"),
        (lambda: max_pool2d(np.ones((1, 1, 4, 4), np.int64), 2), DTypeError, "int64"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_an_empty_batch_gives_an_empty_result_and_zero_gradients():
    import autograd_core as ag
    from autograd_core.ops.conv import conv2d
    from autograd_core.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d

    x = ag.randn(0, 3, 6, 6, requires_grad=True)
    w = ag.randn(4, 3, 3, 3, requires_grad=True)
    y = conv2d(x, w, padding=1)
    assert y.shape == (0, 4, 6, 6)
    total = (y.sum() + max_pool2d(x, 2).sum() + avg_pool2d(x, 3, 1, 1).sum()
             + adaptive_avg_pool2d(x, 2).sum())
    total.backward()
    assert x.grad.shape == (0, 3, 6, 6) and not w.grad.numpy().any()
    assert max_pool2d(x, 2).shape == (0, 3, 3, 3)


def test_return_indices_comes_from_one_forward_and_matches_torch(torch_or_skip):
    import autograd_core as ag
    from autograd_core.ops.pool import max_pool2d

    torch = torch_or_skip
    a = np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(np.float32)
    for leaf in (ag.Tensor(a, requires_grad=True), ag.Tensor(a), ag.Tensor(a[0])):
        out, indices = max_pool2d(leaf, 2, ceil_mode=True, return_indices=True)
        ref, ref_indices = torch.nn.functional.max_pool2d(
            torch.tensor(leaf.numpy()), 2, ceil_mode=True, return_indices=True)
        np.testing.assert_array_equal(indices.numpy(), ref_indices.numpy())
        np.testing.assert_array_equal(out.numpy(), ref.numpy())
        assert out.requires_grad == leaf.requires_grad


def test_geometry_is_computed_once_and_kernels_are_called_unchecked(monkeypatch):
    """The functional forms validate once; the nodes reuse that geometry and call the
    kernels' private entry points, not the public ones that validate again."""
    from autograd_core.kernels import pool as kernels
    from autograd_core.ops import pool as ops

    def public(*args, **kwargs):
        raise AssertionError("the op called a validating public kernel")

    for name in ("max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
                 "avg_pool2d_backward", "adaptive_avg_pool2d_forward",
                 "adaptive_avg_pool2d_backward"):
        monkeypatch.setattr(kernels, name, public)
    ops._cached_pool_geometry.cache_clear()
    x = Tensor(np.arange(2 * 3 * 9 * 7, dtype=np.float32).reshape(2, 3, 9, 7),
               requires_grad=True)
    (max_pool2d(x, [3], padding=1).sum() + avg_pool2d(x, 2, [2, 1]).sum()
     + adaptive_avg_pool2d(x, (None, 2)).sum()).backward()
    info = ops._cached_pool_geometry.cache_info()
    assert (info.misses, info.hits) == (2, 2)  # one per pooling call, found by its node
    assert x.grad.shape == x.shape


# ------------------------------------------------------------ dilation (max pooling)
# (input shape, kernel_size, stride, padding, dilation, ceil_mode)
DILATED = [
    ((2, 3, 9, 8), 3, 2, 1, 2, False),
    ((2, 3, 9, 8), 3, 2, 1, 2, True),
    ((1, 2, 7, 10), (2, 3), (1, 2), (1, 1), (3, 2), True),
    ((3, 8, 7), 2, None, 0, (1, 3), False),  # unbatched
    ((2, 1, 6, 6), 3, 1, 0, 1, True),  # dilation 1 through the same path
]


@pytest.mark.parametrize("shape,k,s,p,d,ceil", DILATED)
def test_dilated_max_pool_matches_torch(torch_or_skip, shape, k, s, p, d, ceil):
    torch = torch_or_skip
    x = _x(shape, seed=3)
    mine = Tensor(x.numpy().copy(), requires_grad=True)
    tx = torch.tensor(x.numpy(), requires_grad=True)
    y, idx = max_pool2d(mine, k, s, p, d, ceil, return_indices=True)
    ty, tidx = torch.nn.functional.max_pool2d(tx, k, s, p, d, ceil_mode=ceil,
                                              return_indices=True)
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    go = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(Tensor(go))
    ty.backward(torch.tensor(go))
    np.testing.assert_allclose(mine.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_dilated_max_pool_gradcheck_and_layer():
    import nn

    x = _x((1, 2, 7, 7), seed=4)
    assert gradcheck(lambda t: max_pool2d(t, 3, 1, 1, dilation=2), (x,))
    layer = nn.MaxPool2d(3, 1, 1, dilation=2, return_indices=True)
    out, idx = layer(x)
    np.testing.assert_array_equal(out.numpy(), max_pool2d(x, 3, 1, 1, 2).numpy())
    assert repr(layer) == ("MaxPool2d(kernel_size=3, stride=1, padding=1, dilation=2, "
                           "ceil_mode=False)")


def test_a_dilated_window_in_the_padding_only_is_minus_infinity_without_gradient():
    # PyTorch's index for it (6) lies outside the 2x2 plane; no gradient goes there.
    x = Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    y, idx = max_pool2d(x, 2, 1, 1, dilation=3, return_indices=True)
    assert y.tolist() == [[[[-np.inf]]]] and idx.tolist() == [[[[6]]]]
    y.sum().backward()
    assert not x.grad.numpy().any()


# ------------------------------------------------------------ gradients of gradients
DOUBLE = [
    ("max", lambda t: max_pool2d(t, 3, 2, 1, ceil_mode=True)),
    ("max_dilated", lambda t: max_pool2d(t, 2, 1, 1, dilation=2)),
    ("avg", lambda t: avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
    ("avg_pad", lambda t: avg_pool2d(t, 2, 1, 1)),
    ("adaptive", lambda t: adaptive_avg_pool2d(t, (3, 2))),
]


@pytest.mark.parametrize("name,fn", DOUBLE, ids=[d[0] for d in DOUBLE])
@pytest.mark.parametrize("shape", [(2, 2, 5, 6), (2, 5, 5)])
def test_gradgradcheck(name, fn, shape):
    x = _x(shape, seed=5)
    assert gradgradcheck(lambda t: fn(t) ** 2, (x,))


def _second_derivative(lib, fn, x, v):
    """(dL/dx, d/dx <dL/dx, v>) for L = sum(w * fn(x)^2), via create_graph."""
    y = fn(x)
    w = lib.tensor(np.linspace(-1, 1, int(np.prod(tuple(y.shape)))).reshape(tuple(y.shape)))
    (g,) = lib.autograd.grad((y * y * w).sum(), x, create_graph=True)
    (h,) = lib.autograd.grad((g * lib.tensor(v)).sum(), x)
    return g.detach().numpy(), h.numpy()


@pytest.mark.parametrize("name", [d[0] for d in DOUBLE])
def test_second_derivatives_match_torch(torch_or_skip, name):
    import autograd_core as ag

    torch = torch_or_skip
    tf = torch.nn.functional
    theirs = {
        "max": lambda t: tf.max_pool2d(t, 3, 2, 1, ceil_mode=True),
        "max_dilated": lambda t: tf.max_pool2d(t, 2, 1, 1, dilation=2),
        "avg": lambda t: tf.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        "avg_pad": lambda t: tf.avg_pool2d(t, 2, 1, 1),
        "adaptive": lambda t: tf.adaptive_avg_pool2d(t, (3, 2)),
    }[name]
    ours = dict(DOUBLE)[name]
    x = _x((2, 3, 7, 6), seed=6).numpy()
    v = np.random.default_rng(7).standard_normal(x.shape)
    mine = _second_derivative(ag, ours, Tensor(x, requires_grad=True), v)
    other = _second_derivative(torch, theirs, torch.tensor(x, requires_grad=True), v)
    for a, b in zip(mine, other):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
