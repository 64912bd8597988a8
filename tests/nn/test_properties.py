"""Property tests (hypothesis): random shapes and options against PyTorch."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nn
import nn.functional as F
from autograd_core import Tensor
from tests.reference.nn_torch import assert_close

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(
    n=st.integers(1, 6), classes=st.integers(1, 5), spatial=st.sampled_from([(), (2,), (2, 3)]),
    smoothing=st.sampled_from([0.0, 0.05, 0.5]), weighted=st.booleans(),
    reduction=st.sampled_from(["mean", "sum", "none"]), scale=st.sampled_from([1.0, 30.0]),
    seed=st.integers(0, 2**16),
)
def test_cross_entropy_random_cases(n, classes, spatial, smoothing, weighted, reduction,
                                    scale, seed, torch_or_skip):
    torch = torch_or_skip
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, classes) + spatial) * scale
    y = rng.integers(0, classes, (n,) + spatial)
    y.flat[0] = -100  # at least one ignored position
    w = rng.uniform(0.2, 2, classes) if weighted else None
    if reduction == "mean" and (y == -100).all():
        y.flat[0] = 0
    zo = Tensor(z, requires_grad=True)
    zt = torch.from_numpy(z).requires_grad_()
    out = F.cross_entropy(zo, y, weight=w, reduction=reduction, label_smoothing=smoothing)
    out_t = torch.nn.functional.cross_entropy(
        zt, torch.from_numpy(y), weight=None if w is None else torch.from_numpy(w),
        reduction=reduction, label_smoothing=smoothing)
    assert_close(out, out_t, atol=1e-9, rtol=1e-9)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    out_t.backward(torch.from_numpy(g))
    assert_close(zo.grad, zt.grad, atol=1e-9, rtol=1e-9)


@SETTINGS
@given(
    n=st.integers(2, 5), c=st.integers(1, 4), hw=st.sampled_from([(1, 1), (2, 3), (4, 4)]),
    momentum=st.sampled_from([0.1, 0.9, None]), affine=st.booleans(),
    steps=st.integers(1, 3), seed=st.integers(0, 2**16),
)
def test_batch_norm_random_cases(n, c, hw, momentum, affine, steps, seed, torch_or_skip):
    torch = torch_or_skip
    rng = np.random.default_rng(seed)
    ours = nn.BatchNorm2d(c, momentum=momentum, affine=affine).double()
    theirs = torch.nn.BatchNorm2d(c, momentum=momentum, affine=affine).double()
    for _ in range(steps):
        x = rng.standard_normal((n, c) + hw) * rng.uniform(0.1, 10) + rng.uniform(-5, 5)
        xo = Tensor(x, requires_grad=True)
        xt = torch.from_numpy(x).requires_grad_()
        out, out_t = ours(xo), theirs(xt)
        assert_close(out, out_t, atol=1e-8, rtol=1e-8)
        g = rng.standard_normal(out.shape)
        out.backward(g)
        out_t.backward(torch.from_numpy(g))
        assert_close(xo.grad, xt.grad, atol=1e-8, rtol=1e-7)
    for key, value in theirs.state_dict().items():
        assert_close(ours.state_dict()[key], value, atol=1e-10, rtol=1e-10, what=key)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@SETTINGS
@given(values=st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=1, max_size=12))
def test_activations_never_overflow(values, dtype):
    x = Tensor(np.array(values, dtype=dtype), requires_grad=True)
    for fn in (F.elu, F.selu, F.softplus, F.silu, F.sigmoid, F.logsigmoid,
               lambda t: F.log_softmax(t, 0), lambda t: F.softmax(t, 0)):
        out = fn(x)
        assert np.isfinite(out.numpy()).all()
        out.sum().backward()
        assert np.isfinite(x.grad.numpy()).all()
        x.grad = None
