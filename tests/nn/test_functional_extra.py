"""nn fixes from review: normalize at zero rows, integer images in Normalize."""

import numpy as np

import autograd_core as ag
import nn.functional as F
from nn.transforms import Normalize


def test_normalize_has_finite_gradients_on_a_zero_row(torch_or_skip):
    torch = torch_or_skip
    x = ag.Tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)
    F.normalize(x, dim=1).sum().backward()
    t = torch.tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)
    torch.nn.functional.normalize(t, dim=1).sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_normalize_gradcheck():
    x = ag.Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    assert ag.gradcheck(lambda t: F.normalize(t, dim=1), (x,))


def test_normalize_transform_turns_integer_images_into_floats():
    out = Normalize([0.5], [0.5])(np.full((1, 2, 2), 200, np.uint8))
    assert out.dtype == np.float32 and np.allclose(out, (200 - 0.5) / 0.5)
