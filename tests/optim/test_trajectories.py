"""Update rules: hand-computed steps, and whole trajectories against PyTorch."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optim
from autograd_core import Tensor
from tests.optim.helpers import max_difference, run_ours, run_torch

STEPS = 30
TOLERANCE = 1e-7


# --------------------------------------------------------------------- hand-computed
def _scalar_run(optimizer_cls, grad_fn, x0=1.0, steps=3, **kwargs):
    x = Tensor(np.array([x0]), requires_grad=True)
    opt = optimizer_cls([x], **kwargs)
    values = []
    for _ in range(steps):
        x.grad = Tensor(np.array([grad_fn(x.numpy()[0])]))
        opt.step()
        values.append(float(x.numpy()[0]))
    return values


def test_sgd_plain_step_is_lr_times_grad():
    # f(x) = x^2 / 2: x <- x - 0.1 x = 0.9 x
    assert _scalar_run(optim.SGD, lambda x: x, lr=0.1) == pytest.approx([0.9, 0.81, 0.729])


def test_sgd_momentum_by_hand():
    # b1 = 1, x1 = 0.9; b2 = 0.9 * 1 + 0.9 = 1.8, x2 = 0.72; b3 = 1.62 + 0.72, x3 = 0.486
    values = _scalar_run(optim.SGD, lambda x: x, lr=0.1, momentum=0.9)
    assert values == pytest.approx([0.9, 0.72, 0.486], abs=1e-15)


def test_sgd_nesterov_by_hand():
    # b1 = 1, d = 1 + 0.9 = 1.9, x1 = 0.81; b2 = 0.9 + 0.81 = 1.71,
    # d = 0.81 + 0.9 * 1.71 = 2.349, x2 = 0.5751
    values = _scalar_run(optim.SGD, lambda x: x, steps=2, lr=0.1, momentum=0.9, nesterov=True)
    assert values == pytest.approx([0.81, 0.5751], abs=1e-15)


def test_sgd_dampening_and_weight_decay_by_hand():
    # g' = g + 0.5 x = 1.5 x (g = x); b1 = g'; then b = 0.9 b + 0.5 g'
    x, b, expected = 1.0, None, []
    for _ in range(3):
        g = 1.5 * x
        b = g if b is None else 0.9 * b + 0.5 * g
        x = x - 0.1 * b
        expected.append(x)
    values = _scalar_run(optim.SGD, lambda x: x, lr=0.1, momentum=0.9, dampening=0.5,
                         weight_decay=0.5)
    assert values == pytest.approx(expected, abs=1e-15)


def test_sgd_maximize_ascends():
    assert _scalar_run(optim.SGD, lambda x: x, lr=0.1, maximize=True) == pytest.approx(
        [1.1, 1.21, 1.331]
    )


def test_adam_constant_gradient_moves_lr_per_step():
    # With a constant gradient the bias-corrected moments are g and g^2 exactly, so each
    # step is lr * g / (|g| + eps).
    step = 0.01 * 3.0 / (3.0 + 1e-8)
    values = _scalar_run(optim.Adam, lambda x: 3.0, steps=5, lr=0.01)
    assert values == pytest.approx([1.0 - k * step for k in range(1, 6)], abs=1e-14)


def test_adamw_decays_weights_before_the_step():
    x, expected = 1.0, []
    for _ in range(4):
        x = x * (1 - 0.01 * 0.5) - 0.01 * 3.0 / (3.0 + 1e-8)
        expected.append(x)
    values = _scalar_run(optim.AdamW, lambda x: 3.0, steps=4, lr=0.01, weight_decay=0.5)
    assert values == pytest.approx(expected, abs=1e-14)


def test_adam_reference_loop():
    """A plain-Python transcription of the documented algorithm, on f(x) = x^4/4."""
    lr, b1, b2, eps, wd = 0.05, 0.8, 0.95, 1e-6, 0.1
    x, m, v, vmax, expected = 1.0, 0.0, 0.0, 0.0, []
    for t in range(1, 8):
        g = x**3 + wd * x
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = max(vmax, v)
        x = x - lr / (1 - b1**t) * m / (math.sqrt(vmax) / math.sqrt(1 - b2**t) + eps)
        expected.append(x)
    values = _scalar_run(optim.Adam, lambda x: x**3, steps=7, lr=lr, betas=(b1, b2), eps=eps,
                         weight_decay=wd, amsgrad=True)
    assert values == pytest.approx(expected, rel=1e-13)


def test_adam_lerp_branch_for_small_beta1():
    # beta1 <= 0.5 takes PyTorch's other lerp branch; the maths is the same.
    lr, b1, b2 = 0.05, 0.3, 0.9
    x, m, v, expected = 1.0, 0.0, 0.0, []
    for t in range(1, 6):
        g = x**3
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr / (1 - b1**t) * m / (math.sqrt(v) / math.sqrt(1 - b2**t) + 1e-8)
        expected.append(x)
    values = _scalar_run(optim.Adam, lambda x: x**3, steps=5, lr=lr, betas=(b1, b2))
    assert values == pytest.approx(expected, rel=1e-13)


def test_rmsprop_reference_loop():
    lr, alpha, eps, mom = 0.01, 0.9, 1e-8, 0.5
    x, v, mean, buf, expected = 1.0, 0.0, 0.0, 0.0, []
    for _ in range(6):
        g = x**3
        v = alpha * v + (1 - alpha) * g * g
        mean = alpha * mean + (1 - alpha) * g
        buf = mom * buf + g / (math.sqrt(v - mean * mean) + eps)
        x = x - lr * buf
        expected.append(x)
    values = _scalar_run(optim.RMSprop, lambda x: x**3, steps=6, lr=lr, alpha=alpha,
                         momentum=mom, centered=True)
    assert values == pytest.approx(expected, rel=1e-12)


def test_rmsprop_constant_gradient_by_hand():
    # v_t = (1 - alpha^t) g^2, so step t moves lr / sqrt(1 - alpha^t) (g > 0, eps ~ 0).
    x, expected = 1.0, []
    for t in range(1, 5):
        x -= 0.01 * 2.0 / (math.sqrt(1 - 0.99**t) * 2.0 + 1e-8)
        expected.append(x)
    assert _scalar_run(optim.RMSprop, lambda x: 2.0, steps=4) == pytest.approx(expected)


def test_adagrad_constant_gradient_by_hand():
    # sum_t = t g^2: step t moves lr / sqrt(t) / (1 + (t-1) lr_decay).
    x, expected = 1.0, []
    for t in range(1, 6):
        x -= 0.1 / (1 + (t - 1) * 0.5) * 2.0 / (math.sqrt(t) * 2.0 + 1e-10)
        expected.append(x)
    values = _scalar_run(optim.Adagrad, lambda x: 2.0, steps=5, lr=0.1, lr_decay=0.5)
    assert values == pytest.approx(expected, rel=1e-14)


def test_adagrad_initial_accumulator():
    # s_1 = 1 + 4 = 5: x1 = 1 - 0.1 * 2 / sqrt(5)
    values = _scalar_run(optim.Adagrad, lambda x: 2.0, steps=1, lr=0.1,
                         initial_accumulator_value=1.0)
    assert values[0] == pytest.approx(1 - 0.2 / (math.sqrt(5) + 1e-10), rel=1e-14)


# --------------------------------------------------------------------- against PyTorch
CONFIGS = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, maximize=True)),
    ("SGD", dict(lr=0.02, momentum=0.8, weight_decay=0.1, nesterov=True, maximize=True)),
    ("SGD", dict(lr=0.02, momentum=0.8, dampening=0.5, weight_decay=0.1, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.95), eps=1e-6)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, maximize=True)),
    ("Adam", dict(lr=0.05, betas=(0.3, 0.9))),
    ("Adam", dict(lr=0.05, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.05, weight_decay=0.1)),
    ("AdamW", dict(lr=0.05, amsgrad=True, betas=(0.85, 0.99), eps=1e-6)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.7)),
    ("RMSprop", dict(lr=0.01, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, maximize=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.3, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, eps=1e-4)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2,
                     maximize=True)),
]


def _config_id(config):
    name, kwargs = config
    return name + "-" + ("-".join(f"{k}={v}" for k, v in kwargs.items()) or "defaults")


@pytest.mark.torch
@pytest.mark.parametrize("config", CONFIGS, ids=[_config_id(c) for c in CONFIGS])
def test_trajectory_matches_pytorch_float64(torch_or_skip, config):
    torch = torch_or_skip
    name, kwargs = config
    ours = run_ours(lambda p: getattr(optim, name)(p, **kwargs), STEPS)
    theirs = run_torch(torch, lambda p: getattr(torch.optim, name)(p, foreach=False, **kwargs),
                       STEPS)
    assert max_difference(ours, theirs) < TOLERANCE
    # The parameters did move, so the comparison means something.
    assert max_difference(ours[:1], ours[-1:]) > 1e-3


@pytest.mark.torch
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_trajectory_matches_pytorch_float32(torch_or_skip, name):
    torch = torch_or_skip
    kwargs = dict(lr=0.01, weight_decay=0.05)
    if name == "SGD":
        kwargs["momentum"] = 0.9
    ours = run_ours(lambda p: getattr(optim, name)(p, **kwargs), STEPS, dtype=np.float32)
    theirs = run_torch(torch, lambda p: getattr(torch.optim, name)(p, foreach=False, **kwargs),
                       STEPS, dtype=np.float32)
    assert all(a.dtype == np.float32 for step in ours for a in step)
    assert max_difference(ours, theirs) < 1e-5


@pytest.mark.torch
@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_missing_gradients_are_skipped_like_pytorch(torch_or_skip, name):
    torch = torch_or_skip
    kwargs = dict(lr=0.05, momentum=0.5) if name in ("SGD", "RMSprop") else dict(lr=0.05)
    skip = {0, 3, 4, 10}
    ours = run_ours(lambda p: getattr(optim, name)(p, **kwargs), STEPS, skip_bias_at=skip)
    theirs = run_torch(torch, lambda p: getattr(torch.optim, name)(p, foreach=False, **kwargs),
                       STEPS, skip_bias_at=skip)
    assert max_difference(ours, theirs) < TOLERANCE


@pytest.mark.torch
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_param_groups_match_pytorch(torch_or_skip, name):
    torch = torch_or_skip
    extra = {"SGD": dict(momentum=0.9), "Adam": dict(amsgrad=True), "AdamW": dict(),
             "RMSprop": dict(centered=True), "Adagrad": dict(lr_decay=0.1)}[name]

    def groups(params):
        return [{"params": [params[0]], **extra}, {"params": [params[1]], "lr": 0.003}]

    ours = run_ours(lambda p: getattr(optim, name)(groups(p), lr=0.02), STEPS)
    theirs = run_torch(
        torch, lambda p: getattr(torch.optim, name)(groups(p), lr=0.02, foreach=False), STEPS
    )
    assert max_difference(ours, theirs) < TOLERANCE


@pytest.mark.torch
def test_scheduled_lr_trajectory_matches_pytorch(torch_or_skip):
    torch = torch_or_skip
    schedulers = {}

    def ours_factory(params):
        opt = optim.Adam(params, lr=0.05)
        schedulers["ours"] = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=7)
        return opt

    def theirs_factory(params):
        opt = torch.optim.Adam(params, lr=0.05, foreach=False)
        schedulers["theirs"] = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=7)
        return opt

    ours = run_ours(ours_factory, STEPS, on_step=lambda o, t: schedulers["ours"].step())
    theirs = run_torch(torch, theirs_factory, STEPS,
                       on_step=lambda o, t: schedulers["theirs"].step())
    assert max_difference(ours, theirs) < TOLERANCE


def test_training_through_the_engine_reduces_the_loss():
    """End to end: backward() fills .grad, step() updates, zero_grad() resets."""
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((32, 3)))
    y = Tensor(rng.standard_normal((32, 1)))
    w = Tensor(np.zeros((3, 1)), requires_grad=True)
    opt = optim.Adam([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = ((x @ w - y) ** 2).mean()
        loss.backward()
        return loss

    first = closure().item()
    for _ in range(50):
        loss = opt.step(closure)
    assert loss.item() < first
    best = np.linalg.lstsq(x.numpy(), y.numpy(), rcond=None)[0]
    np.testing.assert_allclose(w.numpy(), best, atol=1e-2)


@pytest.mark.torch
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_hyperparameters_match_pytorch(torch_or_skip, data):
    torch = torch_or_skip
    name = data.draw(st.sampled_from(["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]))
    rate = st.floats(0.0, 0.05)
    fraction = st.floats(0.0, 0.99)
    flag = st.booleans()
    if name == "SGD":
        momentum = data.draw(st.floats(0.01, 0.95))
        nesterov = data.draw(flag)
        kwargs = dict(lr=data.draw(rate), momentum=momentum, nesterov=nesterov,
                      dampening=0.0 if nesterov else data.draw(fraction))
    elif name in ("Adam", "AdamW"):
        kwargs = dict(lr=data.draw(rate), betas=(data.draw(fraction), data.draw(fraction)),
                      eps=data.draw(st.floats(1e-10, 1e-3)), amsgrad=data.draw(flag))
    elif name == "RMSprop":
        # With a short memory (small alpha) the centered variance v - m^2 of slowly changing
        # gradients decays like alpha^t below rounding noise, so both libraries divide by
        # noise (alpha = 0 even gives NaN in PyTorch's fused multiply-add, 0 here).
        kwargs = dict(lr=data.draw(st.floats(0.0, 0.01)), alpha=data.draw(st.floats(0.5, 0.99)),
                      eps=data.draw(st.floats(1e-8, 1e-3)), momentum=data.draw(fraction),
                      centered=data.draw(flag))
    else:
        kwargs = dict(lr=data.draw(rate), lr_decay=data.draw(st.floats(0.0, 1.0)),
                      initial_accumulator_value=data.draw(st.floats(0.0, 1.0)),
                      eps=data.draw(st.floats(1e-10, 1e-3)))
    kwargs.update(weight_decay=data.draw(st.floats(0.0, 0.1)), maximize=data.draw(flag))
    ours = run_ours(lambda p: getattr(optim, name)(p, **kwargs), 25)
    theirs = run_torch(torch, lambda p: getattr(torch.optim, name)(p, foreach=False, **kwargs),
                       25)
    scale = max(1.0, max(float(np.abs(a).max()) for step in theirs for a in step))
    assert max_difference(ours, theirs) < TOLERANCE * scale
