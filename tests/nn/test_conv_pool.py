"""Conv2d and the pooling layers: bookkeeping, errors, PyTorch parity, gradcheck."""

import numpy as np
import pytest

import nn
import nn.functional as F
from autograd_core import Tensor, gradcheck, randn
from tests.reference.nn_torch import assert_close, to_torch


# ----------------------------------------------------------------- bookkeeping
def test_conv2d_parameters_and_state_dict(torch_or_skip):
    torch = torch_or_skip
    for args, kwargs in [((3, 8, 3), {}), ((4, 8, (3, 5)), {"groups": 2, "bias": False}),
                         ((6, 6, 3), {"groups": 6, "stride": 2, "padding": 1})]:
        ours = nn.Conv2d(*args, **kwargs)
        theirs = torch.nn.Conv2d(*args, **kwargs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        for key, value in theirs.state_dict().items():
            assert ours.state_dict()[key].shape == tuple(value.shape)
        assert repr(ours) == repr(theirs)
        assert ours.kernel_size == theirs.kernel_size and ours.stride == theirs.stride


def test_conv2d_argument_errors():
    with pytest.raises(ValueError, match="in_channels=3 must be divisible by groups=2"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels=5 must be divisible by groups=2"):
        nn.Conv2d(4, 5, 3, groups=2)
    with pytest.raises(ValueError, match="padding must be 'same', 'valid'"):
        nn.Conv2d(1, 1, 3, padding="full")
    with pytest.raises(ValueError, match="not supported for strided"):
        nn.Conv2d(1, 1, 3, padding="same", stride=2)
    with pytest.raises(NotImplementedError, match="padding_mode"):
        nn.Conv2d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="kernel_size must be positive"):
        nn.Conv2d(1, 1, 0)
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"in_channels=3 .* got input of shape \(2, 5, 8, 8\)"):
        conv(randn(2, 5, 8, 8))
    with pytest.raises(ValueError, match="expected 3D"):
        conv(randn(3, 8))


def test_pooling_reprs(torch_or_skip):
    tnn = torch_or_skip.nn
    for ours, theirs in [(nn.MaxPool2d(2), tnn.MaxPool2d(2)),
                         (nn.MaxPool2d(3, 2, 1, ceil_mode=True),
                          tnn.MaxPool2d(3, 2, 1, ceil_mode=True)),
                         (nn.AvgPool2d((2, 3)), tnn.AvgPool2d((2, 3))),
                         (nn.AdaptiveAvgPool2d((1, 1)), tnn.AdaptiveAvgPool2d((1, 1)))]:
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == []


# ----------------------------------------------------------------- maths against PyTorch
def _run_both(torch, ours, theirs_fn, x, rng, params=(), theirs_params=(), atol=1e-10):
    xo = Tensor(x, requires_grad=True)
    xt = to_torch(torch, x, requires_grad=True)
    out, out_t = ours(xo), theirs_fn(xt)
    diff = assert_close(out, out_t, atol=atol, rtol=atol, what="forward")
    g = rng.standard_normal(out.shape).astype(x.dtype)
    out.backward(g)
    out_t.backward(torch.from_numpy(g))
    diff = max(diff, assert_close(xo.grad, xt.grad, atol=atol, rtol=atol, what="grad x"))
    for p, pt in zip(params, theirs_params):
        diff = max(diff, assert_close(p.grad, pt.grad, atol=atol * 10, rtol=atol, what="param"))
    return diff


CONV_CASES = [
    ((2, 3, 9, 9), (3, 4, 3), {}),
    ((2, 3, 9, 8), (3, 4, (3, 2)), {"stride": 2, "padding": 1}),
    ((1, 4, 10, 10), (4, 6, 3), {"dilation": 2, "groups": 2, "padding": (2, 1)}),
    ((2, 4, 7, 7), (4, 4, 3), {"groups": 4, "bias": False}),
    ((2, 3, 8, 8), (3, 5, 4), {"padding": "same"}),  # even kernel: asymmetric padding
    ((2, 3, 8, 8), (3, 5, 3), {"padding": "valid"}),
    ((3, 7, 7), (3, 2, 1), {}),  # unbatched, 1x1
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note on even kernels
@pytest.mark.parametrize("shape,args,kwargs", CONV_CASES)
def test_conv2d_matches_pytorch(shape, args, kwargs, rng, torch_or_skip):
    torch = torch_or_skip
    ours = nn.Conv2d(*args, **kwargs).double()
    theirs = torch.nn.Conv2d(*args, **kwargs).double()
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    _run_both(torch, ours, theirs, rng.standard_normal(shape), rng,
              list(ours.parameters()), list(theirs.parameters()))


def test_conv2d_float32_and_gradcheck(rng, torch_or_skip):
    torch = torch_or_skip
    ours = nn.Conv2d(3, 4, 3, padding=1)
    theirs = torch.nn.Conv2d(3, 4, 3, padding=1)
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    _run_both(torch, ours, theirs, rng.standard_normal((2, 3, 6, 6)).astype(np.float32), rng,
              list(ours.parameters()), list(theirs.parameters()), atol=2e-5)
    small = nn.Conv2d(2, 2, 2, stride=1, padding=1).double()
    x = Tensor(rng.standard_normal((1, 2, 3, 3)), requires_grad=True)
    assert gradcheck(lambda x, w, b: small(x), (x, small.weight, small.bias))


POOL_CASES = [
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", (3,), {"stride": 2, "padding": 1}),
    ("MaxPool2d", (3,), {"stride": 2, "ceil_mode": True}),
    ("AvgPool2d", (2,), {}),
    ("AvgPool2d", (3,), {"stride": 2, "padding": 1}),
    ("AvgPool2d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}),
    ("AvgPool2d", ((2, 3),), {"ceil_mode": True}),
    ("AdaptiveAvgPool2d", (1,), {}),
    ("AdaptiveAvgPool2d", ((2, 3),), {}),
    ("AdaptiveAvgPool2d", (3,), {}),  # 7 -> 3: overlapping, uneven windows
]


@pytest.mark.parametrize("name,args,kwargs", POOL_CASES)
def test_pooling_matches_pytorch(name, args, kwargs, rng, torch_or_skip):
    torch = torch_or_skip
    ours = getattr(nn, name)(*args, **kwargs)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    _run_both(torch, ours, theirs, rng.standard_normal((2, 3, 7, 7)), rng)


def test_max_pool_return_indices(rng, torch_or_skip):
    torch = torch_or_skip
    x = rng.standard_normal((2, 3, 6, 6))
    out, idx = nn.MaxPool2d(2, return_indices=True)(Tensor(x))
    out_t, idx_t = torch.nn.MaxPool2d(2, return_indices=True)(torch.from_numpy(x))
    assert_close(out, out_t, atol=0)
    np.testing.assert_array_equal(idx.numpy(), idx_t.numpy())


def test_pooling_errors():
    with pytest.raises(ValueError, match="dilation"):
        nn.MaxPool2d(2, dilation=0)
    with pytest.raises(ValueError, match="max_pool2d"):
        nn.MaxPool2d(2)(randn(4, 4))


def test_pooling_gradcheck(rng):
    x = Tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True)
    assert gradcheck(lambda x: F.avg_pool2d(x, 2, 1), (x,))
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (2, 3)), (x,))
    assert gradcheck(lambda x: F.max_pool2d(x, 2), (x,))  # random data: no ties
