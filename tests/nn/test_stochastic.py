"""StochasticDepth (torchvision's semantics) and FractionalMaxPool2d (PyTorch's, with the
same random samples)."""

import numpy as np
import pytest

import nn
from autograd_core import Tensor, gradcheck, manual_seed, ones
from autograd_core.errors import ShapeError
from tests.reference.nn_torch import assert_close


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth_drops_whole_branches(mode):
    manual_seed(0)
    sd = nn.StochasticDepth(0.25, mode)
    x = ones(400, 3, 2)
    y = sd(x).numpy()
    values = set(np.unique(y).tolist())
    assert values <= {0.0, float(np.float32(1) / np.float32(0.75))}
    per_sample = y.reshape(400, -1)
    assert np.all(per_sample == per_sample[:, :1])  # one decision per sample
    if mode == "batch":
        assert len(np.unique(per_sample)) == 1
    else:
        kept = (per_sample[:, 0] > 0).mean()
        assert 0.65 < kept < 0.85
    sd.eval()
    assert sd(x) is x
    assert repr(sd) == "StochasticDepth(p=0.25, mode=row)".replace("row", mode)


def test_stochastic_depth_matches_torchvision_semantics_in_expectation():
    manual_seed(1)
    sd = nn.StochasticDepth(0.5, "row")
    x = Tensor(np.full((20000, 1), 2.0), requires_grad=True)
    y = sd(x)
    assert abs(y.numpy().mean() - 2.0) < 0.05
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy() / 2.0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.StochasticDepth(1.5, "row")
    with pytest.raises(ValueError, match="'batch' or 'row'"):
        nn.StochasticDepth(0.5, "col")


@pytest.mark.parametrize("kernel,size,ratio,shape", [
    (2, (3, 3), None, (2, 3, 7, 7)),
    ((3, 2), (4, 5), None, (1, 2, 9, 8)),
    (2, None, 0.5, (2, 2, 10, 9)),
    (3, 5, None, (3, 11, 11)),  # unbatched
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fractional_max_pool_matches_torch(torch_or_skip, rng, kernel, size, ratio, shape,
                                           dtype):
    torch = torch_or_skip
    x = rng.standard_normal(shape).astype(dtype)
    planes = shape[:-2] if len(shape) == 4 else (1, shape[0])
    samples = rng.random(tuple(planes) + (2,)).astype(dtype)
    kw = dict(kernel_size=kernel, output_size=size, output_ratio=ratio, return_indices=True)
    ours = nn.FractionalMaxPool2d(**kw, _random_samples=Tensor(samples))
    theirs = torch.nn.FractionalMaxPool2d(**kw, _random_samples=torch.from_numpy(samples))
    xo, xt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (out, idx), (out_t, idx_t) = ours(xo), theirs(xt)
    assert_close(out, out_t, atol=0)
    np.testing.assert_array_equal(idx.numpy(), idx_t.numpy())
    g = rng.standard_normal(out.shape).astype(dtype)
    out.backward(Tensor(g))
    out_t.backward(torch.from_numpy(g))
    assert_close(xo.grad, xt.grad, atol=1e-6 if dtype == np.float32 else 1e-12)


def test_fractional_max_pool_seeded_and_checked(rng):
    x = Tensor(rng.standard_normal((2, 3, 9, 9)), requires_grad=True)
    pool = nn.FractionalMaxPool2d(2, output_ratio=0.5)
    manual_seed(5)
    a = pool(x)
    manual_seed(5)
    b = pool(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    samples = rng.random((2, 3, 2))
    assert gradcheck(lambda x: nn.FractionalMaxPool2d(3, 4, _random_samples=samples)(x), (x,))
    with pytest.raises(ValueError, match="output_size or an output_ratio|output size"):
        nn.FractionalMaxPool2d(2)
    with pytest.raises(ValueError, match="does not fit"):
        nn.FractionalMaxPool2d(3, output_size=8)(x)
    with pytest.raises(ShapeError, match="_random_samples must have shape"):
        nn.FractionalMaxPool2d(2, 4, _random_samples=np.zeros((1, 3, 2)))(x)
