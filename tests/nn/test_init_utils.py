"""nn.init (PyTorch's formulas, default inits, seeding) and nn.utils (gradient clipping)."""

import math

import numpy as np
import pytest

import nn
from autograd_core import Tensor, manual_seed, zeros
from tests.reference.nn_torch import to_torch


def test_calculate_gain_matches_pytorch(torch_or_skip):
    torch = torch_or_skip
    for name, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                        ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                        ("selu", None)]:
        assert nn.init.calculate_gain(name, param) == pytest.approx(
            torch.nn.init.calculate_gain(name, param))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        nn.init.calculate_gain("swish")


def test_fans(torch_or_skip):
    torch = torch_or_skip
    for shape in [(3, 5), (6, 4, 3, 3), (8, 2, 5)]:
        ours = nn.init.calculate_fan_in_and_fan_out(zeros(*shape))
        theirs = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
        assert ours == theirs
    with pytest.raises(ValueError, match="at least 2 dims"):
        nn.init.xavier_uniform_(zeros(3))


BIG = (400, 300, 3, 3)  # fan_in 2700, fan_out 3600, 1.08M draws


@pytest.mark.parametrize("fn,kwargs,std", [
    (nn.init.xavier_uniform_, {"gain": 2.0}, 2.0 * math.sqrt(2 / (2700 + 3600))),
    (nn.init.xavier_normal_, {}, math.sqrt(2 / (2700 + 3600))),
    (nn.init.kaiming_uniform_, {"nonlinearity": "relu"}, math.sqrt(2 / 2700)),
    (nn.init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2 / 3600)),
    (nn.init.kaiming_normal_, {"a": 0.2}, math.sqrt(2 / (1 + 0.04)) / math.sqrt(2700)),
    (nn.init.normal_, {"std": 0.02}, 0.02),
])
def test_init_statistics(fn, kwargs, std):
    manual_seed(0)
    w = fn(zeros(*BIG), **kwargs)
    data = w.numpy()
    assert abs(data.mean()) < 4 * std / math.sqrt(data.size)
    assert data.std() == pytest.approx(std, rel=0.01)
    if fn.__name__.endswith("uniform_"):
        assert np.abs(data).max() <= math.sqrt(3) * std * (1 + 1e-6)


def test_simple_fills():
    t = zeros(2, 3)
    assert nn.init.ones_(t) is t and (t.numpy() == 1).all()
    nn.init.constant_(t, 0.5)
    assert (t.numpy() == 0.5).all()
    nn.init.zeros_(t)
    assert not t.numpy().any()
    nn.init.eye_(t)
    np.testing.assert_array_equal(t.numpy(), np.eye(2, 3))
    nn.init.uniform_(t, -2, -1)
    assert ((t.numpy() >= -2) & (t.numpy() < -1)).all()
    manual_seed(0)
    nn.init.trunc_normal_(t, std=1.0, a=-0.5, b=0.5)
    assert (np.abs(t.numpy()) <= 0.5).all()
    q = nn.init.orthogonal_(zeros(4, 6)).numpy()
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-5)
    with pytest.raises(TypeError, match="floating-point"):
        nn.init.zeros_(Tensor([1, 2]))


def test_init_works_on_parameters_without_recording():
    layer = nn.Linear(3, 2)
    nn.init.xavier_uniform_(layer.weight)
    assert layer.weight.is_leaf and layer.weight.grad_fn is None
    assert nn.init.zeros_(layer.bias) is layer.bias


@pytest.mark.parametrize("make,fan_in", [
    (lambda: nn.Linear(50, 40), 50),
    (lambda: nn.Conv2d(6, 16, 5), 6 * 25),
    (lambda: nn.Conv2d(8, 4, 3, groups=4), 2 * 9),
    (lambda: nn.Maxout(30, 5, 3), 30),
    (lambda: nn.DropConnect(20, 10, 0.5), 20),
])
def test_default_init_bounds(make, fan_in):
    manual_seed(0)
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    for p in (layer.weight, layer.bias):
        data = p.numpy()
        assert np.abs(data).max() <= bound
        assert data.dtype == np.float32
    # the weight fills its range (uniform, not a narrower distribution)
    w = layer.weight.numpy()
    assert np.abs(w).max() > 0.9 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.15)


def test_default_init_same_bound_as_pytorch(torch_or_skip):
    torch = torch_or_skip
    torch.manual_seed(0)
    theirs = torch.nn.Conv2d(6, 16, 5)
    ours = nn.Conv2d(6, 16, 5)
    t_bound = theirs.weight.detach().abs().max().item()
    o_bound = np.abs(ours.weight.numpy()).max()
    assert o_bound == pytest.approx(t_bound, rel=0.05)
    assert np.abs(ours.weight.numpy()).max() <= 1 / math.sqrt(150)


def test_init_draws_from_the_current_generator():
    manual_seed(7)
    a = nn.Linear(4, 4).weight.numpy().copy()
    manual_seed(7)  # replaces the generator: init must fetch the new one
    b = nn.Linear(4, 4).weight.numpy().copy()
    np.testing.assert_array_equal(a, b)
    c = nn.Linear(4, 4).weight.numpy()
    assert not np.array_equal(a, c)


# ----------------------------------------------------------------- clipping
def _with_grads(rng):
    params = [nn.Parameter(rng.standard_normal((3, 4))), nn.Parameter(rng.standard_normal(5)),
              nn.Parameter(rng.standard_normal(2))]
    for p in params[:2]:
        p.grad = Tensor(rng.standard_normal(p.shape) * 3)
    return params  # the last one has no grad


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_matches_pytorch(norm_type, rng, torch_or_skip):
    torch = torch_or_skip
    params = _with_grads(rng)
    theirs = [to_torch(torch, p, requires_grad=True) for p in params]
    for p, t in zip(params, theirs):
        if p.grad is not None:
            t.grad = to_torch(torch, p.grad)
    total = nn.utils.clip_grad_norm_(params, 1.5, norm_type=norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(theirs, 1.5, norm_type=norm_type)
    assert float(total) == pytest.approx(total_t.item(), rel=1e-12)
    for p, t in zip(params, theirs):
        if p.grad is not None:
            np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_leaves_small_gradients_and_handles_nonfinite(rng):
    p = nn.Parameter([1.0, 1.0])
    p.grad = Tensor([0.3, 0.4])
    assert float(nn.utils.clip_grad_norm_(p, 1.0)) == pytest.approx(0.5)
    np.testing.assert_allclose(p.grad.numpy(), [0.3, 0.4])
    p.grad = Tensor([np.inf, 0.0])
    with pytest.raises(RuntimeError, match="cannot be clipped"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert float(nn.utils.clip_grad_norm_([nn.Parameter([1.0])], 1.0)) == 0.0


def test_clip_grad_value(rng):
    params = _with_grads(rng)
    nn.utils.clip_grad_value_(params, 0.5)
    for p in params[:2]:
        assert np.abs(p.grad.numpy()).max() <= 0.5
    assert params[2].grad is None


def test_parameters_to_vector_round_trip():
    model = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(model.parameters())
    assert vec.shape == (8,)
    nn.utils.vector_to_parameters(vec * 0 + 1, model.parameters())
    assert (model.weight.numpy() == 1).all() and (model.bias.numpy() == 1).all()
    with pytest.raises(ValueError, match="8 elements"):
        nn.utils.vector_to_parameters(np.zeros(7), model.parameters())


@pytest.mark.parametrize("max_norm", [-1.0, float("nan")])
def test_clip_grad_norm_refuses_a_negative_or_nan_max_norm(max_norm):
    w = nn.Parameter([3.0, 4.0])
    w.grad = Tensor([3.0, 4.0])
    with pytest.raises(ValueError, match=r"max_norm must be a non-negative number, got"):
        nn.utils.clip_grad_norm_([w], max_norm=max_norm)
    assert w.grad.tolist() == [3.0, 4.0]  # untouched, not reversed
    with pytest.raises(ValueError, match="norm_type must be positive, got nan"):
        nn.utils.clip_grad_norm_([w], max_norm=1.0, norm_type=float("nan"))
