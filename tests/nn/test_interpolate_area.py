"""F.interpolate / nn.Upsample with mode='area' and mode='nearest-exact': PyTorch's values
and gradients in float64 (1e-10) for 3-D, 4-D and 5-D input, gradgradcheck, bad input."""

import numpy as np
import pytest

import autograd_core as ag
import nn
import nn.functional as F
from autograd_core import ShapeError
from autograd_core.gradcheck import gradcheck, gradgradcheck

TOL = dict(rtol=1e-10, atol=1e-12)

SHAPES = [(2, 3, 11), (2, 2, 7, 9), (1, 2, 5, 6, 7)]
# size / scale_factor options, written for any number of spatial dims d
OPTIONS = [
    lambda d: dict(size=(4,) * d),
    lambda d: dict(size=tuple(range(3, 3 + d))),
    lambda d: dict(size=tuple(range(9, 9 + d))),  # upsampling: overlapping area bins
    lambda d: dict(scale_factor=1.7),
    lambda d: dict(scale_factor=0.6),
    lambda d: dict(scale_factor=tuple([2.5, 0.5, 1.25][:d]), recompute_scale_factor=True),
    lambda d: dict(scale_factor=tuple([1 / 3, 3.0, 0.75][:d])),
]


@pytest.mark.parametrize("mode", ["area", "nearest-exact"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{len(s)}d")
@pytest.mark.parametrize("option", range(len(OPTIONS)))
def test_matches_torch(torch_or_skip, mode, shape, option):
    torch = torch_or_skip
    kwargs = OPTIONS[option](len(shape) - 2)
    data = np.random.default_rng(option).standard_normal(shape)
    x, tx = ag.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    out = F.interpolate(x, mode=mode, **kwargs)
    ref = torch.nn.functional.interpolate(tx, mode=mode, **kwargs)
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), **TOL)
    weights = np.random.default_rng(9).standard_normal(tuple(out.shape))
    (out * ag.tensor(weights)).sum().backward()
    (ref * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **TOL)


@pytest.mark.parametrize("size_in,size_out", [(3, 7), (7, 3), (5, 10), (10, 4), (1, 5),
                                              (6, 6), (13, 5)])
def test_nearest_exact_indices_match_torch_on_many_sizes(torch_or_skip, size_in, size_out):
    torch = torch_or_skip
    data = np.arange(float(size_in)).reshape(1, 1, size_in)
    for kwargs in (dict(size=size_out), dict(scale_factor=size_out / size_in)):
        out = F.interpolate(data, mode="nearest-exact", **kwargs).numpy()
        ref = torch.nn.functional.interpolate(torch.tensor(data), mode="nearest-exact",
                                              **kwargs).numpy()
        np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("mode", ["area", "nearest-exact"])
def test_upsample_layer_matches_torch(torch_or_skip, mode):
    torch = torch_or_skip
    data = np.random.default_rng(0).standard_normal((2, 3, 5, 6))
    ours = nn.Upsample(scale_factor=(1.5, 0.5), mode=mode)
    theirs = torch.nn.Upsample(scale_factor=(1.5, 0.5), mode=mode)
    np.testing.assert_allclose(ours(ag.tensor(data)).numpy(),
                               theirs(torch.tensor(data)).numpy(), **TOL)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("shape,size", [((1, 2, 7), (3,)), ((1, 2, 5, 4), (3, 6)),
                                        ((1, 1, 4, 3, 5), (2, 4, 3))])
def test_area_is_twice_differentiable(shape, size):
    x = ag.tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)
    assert gradcheck(lambda t: F.interpolate(t, size=size, mode="area"), [x])
    assert gradgradcheck(lambda t: F.interpolate(t, size=size, mode="area"), [x])


def test_bad_input():
    x = np.ones((1, 2, 4, 4))
    for mode in ("area", "nearest-exact"):
        with pytest.raises(ValueError, match="align_corners option can only be set"):
            F.interpolate(x, size=2, mode=mode, align_corners=False)
        with pytest.raises(ShapeError, match=f"mode='{mode}' expects a 3-D or 4-D or 5-D"):
            F.interpolate(np.ones((2, 4)), size=2, mode=mode)
        with pytest.raises(ShapeError, match=r"input of shape \(1, 2, 0, 4\) is empty"):
            F.interpolate(np.ones((1, 2, 0, 4)), size=2, mode=mode)
    with pytest.raises(NotImplementedError, match="'nearest-exact', 'area'"):
        F.interpolate(x, size=2, mode="lanczos")
    with pytest.raises(ValueError, match="size must have 2 entries"):
        F.interpolate(x, size=(2, 2, 2), mode="area")
