"""Update rules: hand-computed steps, and whole trajectories against PyTorch."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optim
from autograd_core import Tensor
from tests.optim.helpers import (
    B0,
    W0,
    X,
    Y,
    gradients,
    max_difference,
    run_ours,
    run_torch,
    torch_float64_scalars,
)

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
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.7, eps=1e-4)),
    ("Adadelta", dict(weight_decay=0.1)),
    ("Adadelta", dict(maximize=True)),
    ("Adadelta", dict(lr=0.5, rho=0.95, weight_decay=0.1, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.05, betas=(0.8, 0.95), eps=1e-6)),
    ("Adamax", dict(lr=0.05, betas=(0.3, 0.9))),
    ("Adamax", dict(lr=0.05, weight_decay=0.1)),
    ("Adamax", dict(lr=0.05, weight_decay=0.1, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.05, betas=(0.8, 0.95), eps=1e-6, momentum_decay=0.05)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.05, betas=(0.3, 0.9), weight_decay=0.1, maximize=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.05, betas=(0.8, 0.95), eps=1e-6)),
    ("RAdam", dict(lr=0.05, betas=(0.9, 0.7))),  # rho_t never exceeds 5: SGD with momentum
    ("RAdam", dict(lr=0.05, weight_decay=0.1)),
    ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.05, betas=(0.3, 0.9), weight_decay=0.1, maximize=True)),
]
NEW = ["Adadelta", "Adamax", "NAdam", "RAdam"]
ALL_NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", *NEW]


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
    if name in NEW:
        # To rounding once PyTorch's scalar state (NAdam's mu_product) is float64 too.
        with torch_float64_scalars(torch):
            theirs = run_torch(
                torch, lambda p: getattr(torch.optim, name)(p, foreach=False, **kwargs), STEPS)
        assert max_difference(ours, theirs) < 1e-12
    # The parameters did move, so the comparison means something.
    assert max_difference(ours[:1], ours[-1:]) > 1e-3


@pytest.mark.torch
@pytest.mark.parametrize("name", ALL_NAMES)
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
@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad", *NEW])
def test_missing_gradients_are_skipped_like_pytorch(torch_or_skip, name):
    torch = torch_or_skip
    kwargs = dict(lr=0.05, momentum=0.5) if name in ("SGD", "RMSprop") else dict(lr=0.05)
    skip = {0, 3, 4, 10}
    ours = run_ours(lambda p: getattr(optim, name)(p, **kwargs), STEPS, skip_bias_at=skip)
    theirs = run_torch(torch, lambda p: getattr(torch.optim, name)(p, foreach=False, **kwargs),
                       STEPS, skip_bias_at=skip)
    assert max_difference(ours, theirs) < TOLERANCE


@pytest.mark.torch
@pytest.mark.parametrize("name", ALL_NAMES)
def test_param_groups_match_pytorch(torch_or_skip, name):
    torch = torch_or_skip
    extra = {"SGD": dict(momentum=0.9), "Adam": dict(amsgrad=True), "AdamW": dict(),
             "RMSprop": dict(centered=True), "Adagrad": dict(lr_decay=0.1),
             "Adadelta": dict(rho=0.5, lr=1.0), "Adamax": dict(betas=(0.5, 0.9)),
             "NAdam": dict(weight_decay=0.1, decoupled_weight_decay=True),
             "RAdam": dict(betas=(0.7, 0.9), weight_decay=0.1)}[name]

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
    name = data.draw(st.sampled_from(ALL_NAMES))
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
    elif name == "Adadelta":
        kwargs = dict(lr=data.draw(st.floats(0.0, 2.0)), rho=data.draw(fraction),
                      eps=data.draw(st.floats(1e-8, 1e-3)))
    elif name in ("Adamax", "NAdam", "RAdam"):
        # Adamax with a short memory (small beta2) divides by |g| + eps of the latest
        # gradient alone: once the gradients are down to rounding noise, both libraries'
        # steps are that noise over itself (seen: beta2 = 0, eps 1.2e-7, 1.7e-7 apart).
        second = st.floats(0.5, 0.99) if name == "Adamax" else fraction
        kwargs = dict(lr=data.draw(rate), betas=(data.draw(fraction), data.draw(second)),
                      eps=data.draw(st.floats(1e-8, 1e-3)))
        if name == "NAdam":
            kwargs["momentum_decay"] = data.draw(st.floats(0.0, 0.1))
        if name != "Adamax":
            kwargs["decoupled_weight_decay"] = data.draw(flag)
    else:
        kwargs = dict(lr=data.draw(rate), lr_decay=data.draw(st.floats(0.0, 1.0)),
                      initial_accumulator_value=data.draw(st.floats(0.0, 1.0)),
                      eps=data.draw(st.floats(1e-10, 1e-3)))
    kwargs.update(weight_decay=data.draw(st.floats(0.0, 0.1)), maximize=data.draw(flag))
    ours = run_ours(lambda p: getattr(optim, name)(p, **kwargs), 25)
    with torch_float64_scalars(torch):
        theirs = run_torch(
            torch, lambda p: getattr(torch.optim, name)(p, foreach=False, **kwargs), 25)
    scale = max(1.0, max(float(np.abs(a).max()) for step in theirs for a in step))
    assert max_difference(ours, theirs) < TOLERANCE * scale


# --------------------------------------------------------------------- hand-computed (new)
def test_adadelta_reference_loop():
    lr, rho, eps, wd = 0.7, 0.8, 1e-4, 0.1
    x, v, u, expected = 1.0, 0.0, 0.0, []
    for _ in range(6):
        g = x**3 + wd * x
        v = rho * v + (1 - rho) * g * g
        delta = math.sqrt(u + eps) / math.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        x = x - lr * delta
        expected.append(x)
    values = _scalar_run(optim.Adadelta, lambda x: x**3, steps=6, lr=lr, rho=rho, eps=eps,
                         weight_decay=wd)
    assert values == pytest.approx(expected, rel=1e-13)


def test_adamax_reference_loop():
    lr, b1, b2, eps = 0.05, 0.8, 0.95, 1e-6
    x, m, u, expected = 1.0, 0.0, 0.0, []
    for t in range(1, 8):
        g = x**3
        m = b1 * m + (1 - b1) * g
        u = max(b2 * u, abs(g) + eps)
        x = x - lr / (1 - b1**t) * m / u
        expected.append(x)
    values = _scalar_run(optim.Adamax, lambda x: x**3, steps=7, lr=lr, betas=(b1, b2), eps=eps)
    assert values == pytest.approx(expected, rel=1e-13)


def test_nadam_reference_loop():
    lr, b1, b2, eps, psi = 0.05, 0.8, 0.95, 1e-6, 0.04
    x, m, v, product, expected = 1.0, 0.0, 0.0, 1.0, []
    for t in range(1, 8):
        g = x**3
        mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        product *= mu
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = math.sqrt(v / (1 - b2**t)) + eps
        x = x - lr * (1 - mu) / (1 - product) * g / denom \
            - lr * mu_next / (1 - product * mu_next) * m / denom
        expected.append(x)
    values = _scalar_run(optim.NAdam, lambda x: x**3, steps=7, lr=lr, betas=(b1, b2), eps=eps,
                         momentum_decay=psi)
    assert values == pytest.approx(expected, rel=1e-12)


def test_radam_reference_loop_takes_both_branches():
    lr, b1, b2, eps = 0.05, 0.8, 0.95, 1e-6
    rho_inf = 2 / (1 - b2) - 1
    x, m, v, expected, rectified = 1.0, 0.0, 0.0, [], []
    for t in range(1, 10):
        g = x**3
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
        rectified.append(rho_t > 5)
        if rho_t > 5:
            r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                          / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            x = x - lr * m_hat * math.sqrt(1 - b2**t) / (math.sqrt(v) + eps) * r
        else:
            x = x - lr * m_hat
        expected.append(x)
    assert any(rectified) and not all(rectified)
    values = _scalar_run(optim.RAdam, lambda x: x**3, steps=9, lr=lr, betas=(b1, b2), eps=eps)
    assert values == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------- LBFGS
def _loss(w, b):
    residual = X @ w + b - Y
    # helpers.gradients differentiates sum(residual^2) / (2 * rows) (its docstring's mean
    # is over the rows), plus the sine terms
    return float((residual**2).sum() / (2 * len(X)) + 0.3 * np.sin(w).sum()
                 - 0.15 * np.cos(2 * b).sum())


def test_helpers_gradient_is_the_loss_derivative():
    """LBFGS sees losses and gradients: they must belong together (central differences)."""
    gw, gb = gradients(W0, B0)
    h = 1e-6
    bumped, lowered = W0.copy(), W0.copy()
    bumped[1, 2] += h
    lowered[1, 2] -= h
    assert (_loss(bumped, B0) - _loss(lowered, B0)) / (2 * h) == pytest.approx(gw[1, 2], rel=1e-6)
    bumped, lowered = B0.copy(), B0.copy()
    bumped[0] += h
    lowered[0] -= h
    assert (_loss(W0, bumped) - _loss(W0, lowered)) / (2 * h) == pytest.approx(gb[0], rel=1e-6)


def _lbfgs_path(lib, kwargs, steps=4):
    """Parameters after each ``step(closure)``, the closure's call count, and the state."""
    if lib == "ours":
        params = [Tensor(W0.copy(), requires_grad=True), Tensor(B0.copy(), requires_grad=True)]
        opt = optim.LBFGS(params, **kwargs)

        def value(p):
            return p.numpy()

        wrap = Tensor
    else:
        torch = lib
        params = [torch.tensor(W0, requires_grad=True), torch.tensor(B0, requires_grad=True)]
        opt = torch.optim.LBFGS(params, **kwargs)

        def value(p):
            return p.detach().numpy()

        wrap = torch.tensor
    calls = []

    def closure():
        w, b = value(params[0]).copy(), value(params[1]).copy()
        gw, gb = gradients(w, b)
        params[0].grad, params[1].grad = wrap(gw), wrap(gb)
        calls.append(1)
        return wrap(np.array(_loss(w, b)))

    path, losses = [], []
    for _ in range(steps):
        losses.append(float(opt.step(closure)))
        path.append([value(p).copy() for p in params])
    state = opt.state[params[0]]
    return path, losses, len(calls), state["n_iter"], state["func_evals"]


LBFGS_CONFIGS = [
    dict(),
    dict(lr=0.5, max_iter=5, history_size=3),
    dict(lr=0.8, max_iter=7, max_eval=5, history_size=1),
    dict(tolerance_grad=1e-3, tolerance_change=1e-5),
    dict(line_search_fn="strong_wolfe"),
    dict(line_search_fn="strong_wolfe", lr=0.8, max_iter=4, history_size=2),
    dict(line_search_fn="strong_wolfe", max_iter=30, max_eval=12),
]


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", LBFGS_CONFIGS,
                         ids=["-".join(f"{k}={v}" for k, v in c.items()) or "defaults"
                              for c in LBFGS_CONFIGS])
def test_lbfgs_matches_pytorch(torch_or_skip, kwargs):
    ours = _lbfgs_path("ours", kwargs)
    theirs = _lbfgs_path(torch_or_skip, kwargs)
    assert max_difference(ours[0], theirs[0]) < 1e-10
    assert ours[1] == pytest.approx(theirs[1], rel=1e-10)
    assert ours[2:] == theirs[2:]  # closure calls, iterations, evaluations
    assert max_difference(ours[0][:1], [(W0, B0)]) > 1e-2


def test_lbfgs_minimises_a_quadratic_exactly_through_the_engine():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((6, 4))
    target = rng.standard_normal(6)
    x = Tensor(np.zeros(4), requires_grad=True)
    # tight tolerances: the defaults stop once the loss changes by < 1e-9 (as PyTorch)
    opt = optim.LBFGS([x], line_search_fn="strong_wolfe", history_size=5,
                      tolerance_grad=1e-12, tolerance_change=1e-15)
    at, tt = Tensor(a), Tensor(target)

    def closure():
        opt.zero_grad()
        loss = ((at @ x - tt) ** 2).sum()
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    np.testing.assert_allclose(x.numpy(), np.linalg.lstsq(a, target, rcond=None)[0], atol=1e-8)


def test_lbfgs_state_dict_round_trip_continues_identically():
    import io

    params = [Tensor(W0.copy(), requires_grad=True), Tensor(B0.copy(), requires_grad=True)]
    opt = optim.LBFGS(params, max_iter=3, history_size=4)

    def closure_for(ps):
        def closure():
            gw, gb = gradients(ps[0].numpy(), ps[1].numpy())
            ps[0].grad, ps[1].grad = Tensor(gw), Tensor(gb)
            return Tensor(np.array(_loss(ps[0].numpy(), ps[1].numpy())))
        return closure

    for _ in range(3):
        opt.step(closure_for(params))
    saved = opt.state_dict()
    values = [p.numpy().copy() for p in params]
    for _ in range(3):
        opt.step(closure_for(params))
    expected = [p.numpy().copy() for p in params]

    # through npz: lists of arrays become one stacked array, floats 0-d arrays
    entries = saved["state"][0]
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in entries.items() if v is not None})
    buffer.seek(0)
    with np.load(buffer) as npz:
        loaded = {k: npz[k] for k in npz.files}
    fresh = [Tensor(v.copy(), requires_grad=True) for v in values]
    other = optim.LBFGS(fresh, lr=0.1)
    other.load_state_dict({"state": {0: loaded}, "param_groups": saved["param_groups"]})
    assert other.param_groups[0]["lr"] == 1 and other.param_groups[0]["history_size"] == 4
    for _ in range(3):
        other.step(closure_for(fresh))
    for a, b in zip(expected, fresh):
        np.testing.assert_array_equal(a, b.numpy())
    bad = dict(loaded, d=np.zeros(3))
    with pytest.raises(ValueError, match="state 'd' has 3 entries, the parameters 15"):
        other.load_state_dict({"state": {0: bad}, "param_groups": saved["param_groups"]})
