"""nn.functional utilities and argument checking: one_hot, pad, normalize, re-exports."""

import numpy as np
import pytest

import nn.functional as F
from autograd_core import Tensor, gradcheck
from tests.reference.nn_torch import assert_close, to_torch


def test_public_names_exist():
    for name in F.__all__:
        assert callable(getattr(F, name)), name
    from autograd_core.ops import conv, pool

    assert F.conv2d is conv.conv2d and F.max_pool2d is pool.max_pool2d
    assert F.avg_pool2d is pool.avg_pool2d
    assert F.adaptive_avg_pool2d is pool.adaptive_avg_pool2d


def test_one_hot(torch_or_skip):
    torch = torch_or_skip
    y = np.array([[0, 2], [1, 3]])
    ours = F.one_hot(y)
    theirs = torch.nn.functional.one_hot(torch.from_numpy(y))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.dtype == np.int64 and F.one_hot(Tensor([1]), 3).shape == (1, 3)
    with pytest.raises(IndexError, match="class value 4 is out of range for 3 classes"):
        F.one_hot(np.array([4]), 3)
    with pytest.raises(TypeError, match="integer class indices"):
        F.one_hot(np.array([1.0]))


@pytest.mark.parametrize("padding", [(1, 2), (1, 0, 2, 1), (0, 0, 1, 1, 1, 0), (-1, 2),
                                     (1, -2, 0, 1)])
def test_pad(padding, rng, torch_or_skip):
    torch = torch_or_skip
    x = rng.standard_normal((2, 3, 4, 5))
    ours = F.pad(Tensor(x, requires_grad=True), padding, value=0.5)
    theirs = torch.nn.functional.pad(torch.from_numpy(x), padding, value=0.5)
    assert_close(ours, theirs, atol=0)
    xg = Tensor(rng.standard_normal((2, 3, 3)), requires_grad=True)
    assert gradcheck(lambda t: F.pad(t, padding[:4]), (xg,))
    with pytest.raises(ValueError, match="even length"):
        F.pad(Tensor(x), (1, 2, 3))
    with pytest.raises(NotImplementedError, match="constant"):
        F.pad(Tensor(x), (1, 1), mode="reflect")


def test_normalize_and_logsigmoid(rng, torch_or_skip):
    torch = torch_or_skip
    x = rng.standard_normal((3, 4))
    assert_close(F.normalize(Tensor(x)), torch.nn.functional.normalize(torch.from_numpy(x)),
                 atol=1e-12)
    big = np.array([-800.0, -5.0, 0.0, 5.0, 800.0])
    assert_close(F.logsigmoid(Tensor(big)),
                 torch.nn.functional.logsigmoid(torch.from_numpy(big)), atol=1e-12)
    assert gradcheck(F.normalize, (Tensor(x, requires_grad=True),))


def test_normalize_has_finite_gradients_on_a_zero_row(torch_or_skip):
    torch = torch_or_skip
    x = Tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)
    F.normalize(x, dim=1).sum().backward()
    t = torch.tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)
    torch.nn.functional.normalize(t, dim=1).sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_normalize_gradcheck():
    x = Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    assert gradcheck(lambda t: F.normalize(t, dim=1), (x,))


def test_functional_norms_check_shapes():
    x = Tensor(np.zeros((4, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        F.batch_norm(x, None, None, weight=np.ones(2), training=True)
    with pytest.raises(ValueError, match="running_mean and running_var are needed"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match="spatial dims"):
        F.instance_norm(x)
    with pytest.raises(TypeError, match="floating-point"):
        F.layer_norm(Tensor([[1, 2]]), 2)


def test_losses_reject_integer_inputs_and_legacy_flags_work():
    with pytest.raises(TypeError, match="floating-point"):
        F.mse_loss(Tensor([1, 2]), Tensor([1, 2]))
    x, y = Tensor([1.0, 2.0]), Tensor([0.0, 0.0])
    with pytest.warns(DeprecationWarning):
        assert F.mse_loss(x, y, reduce=False).shape == (2,)
    with pytest.warns(DeprecationWarning):
        assert F.mse_loss(x, y, size_average=False).item() == 5.0


def test_probability_targets_keep_target_gradient(rng, torch_or_skip):
    torch = torch_or_skip
    z = rng.standard_normal((3, 4))
    t = rng.dirichlet(np.ones(4), 3)
    zt, tt = Tensor(z, requires_grad=True), Tensor(t, requires_grad=True)
    F.cross_entropy(zt, tt).backward()
    z_t, t_t = to_torch(torch, z, True), to_torch(torch, t, True)
    torch.nn.functional.cross_entropy(z_t, t_t).backward()
    assert_close(tt.grad, t_t.grad, atol=1e-12)
