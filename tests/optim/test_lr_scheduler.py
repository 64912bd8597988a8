"""Learning-rate schedulers: closed forms, PyTorch's sequences, state dicts, errors."""

import math

import numpy as np
import pytest

import optim
from optim.lr_scheduler import (
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)
from tests.optim.helpers import make_params

EPOCHS = 40


def _optimizer(lrs=(0.1,)):
    params = make_params()[: len(lrs)]
    return optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], lr=1.0,
                     momentum=0.9)


def _rates(scheduler, epochs=EPOCHS):
    """The lr of every group in each epoch: the one used before each scheduler.step()."""
    rates = []
    for _ in range(epochs):
        rates.append(list(scheduler.get_last_lr()))
        scheduler.optimizer.step()
        scheduler.step()
    return np.array(rates)


# --------------------------------------------------------------------- closed forms
def test_construction_records_initial_lr_and_base_lrs():
    opt = _optimizer((0.1, 0.02))
    sched = StepLR(opt, step_size=3)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.02]
    assert sched.base_lrs == [0.1, 0.02] and sched.last_epoch == 0
    assert sched.get_last_lr() == [0.1, 0.02]


def test_step_lr_closed_form():
    rates = _rates(StepLR(_optimizer((0.1, 0.02)), step_size=7, gamma=0.5))
    e = np.arange(EPOCHS)[:, None]
    np.testing.assert_allclose(rates, np.array([[0.1, 0.02]]) * 0.5 ** (e // 7), rtol=1e-14)


def test_multistep_lr_closed_form_with_a_repeated_milestone():
    rates = _rates(MultiStepLR(_optimizer(), milestones=[25, 5, 12, 12], gamma=0.1))[:, 0]
    expected = [0.1 * 0.1 ** sum(m <= e for m in (5, 12, 12, 25)) for e in range(EPOCHS)]
    np.testing.assert_allclose(rates, expected, rtol=1e-13)


def test_exponential_lr_closed_form():
    rates = _rates(ExponentialLR(_optimizer(), gamma=0.9))[:, 0]
    np.testing.assert_allclose(rates, 0.1 * 0.9 ** np.arange(EPOCHS), rtol=1e-13)


@pytest.mark.parametrize("eta_min", [0.0, 0.01])
def test_cosine_annealing_recursion_equals_the_closed_form(eta_min):
    T = 8
    rates = _rates(CosineAnnealingLR(_optimizer((0.1, 0.05)), T_max=T, eta_min=eta_min),
                   epochs=5 * T)
    e = np.arange(5 * T)[:, None]
    base = np.array([[0.1, 0.05]])
    expected = eta_min + (base - eta_min) * (1 + np.cos(np.pi * e / T)) / 2
    np.testing.assert_allclose(rates, expected, atol=1e-12, rtol=0)
    assert rates[T, 0] == pytest.approx(eta_min, abs=1e-15)      # the bottom at T_max
    assert rates[2 * T, 0] == pytest.approx(0.1, abs=1e-12)      # and back up after


def test_lambda_lr_one_over_sqrt_t_and_one_lambda_per_group():
    opt = _optimizer((0.5, 0.1))
    rates = _rates(LambdaLR(opt, [lambda t: 1 / math.sqrt(t + 1), lambda t: 0.9**t]))
    t = np.arange(EPOCHS)
    np.testing.assert_allclose(rates[:, 0], 0.5 / np.sqrt(t + 1), rtol=1e-14)
    np.testing.assert_allclose(rates[:, 1], 0.1 * 0.9**t, rtol=1e-13)


def test_step_with_an_epoch_uses_the_closed_form():
    sched = CosineAnnealingLR(_optimizer(), T_max=10)
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(epoch=5)
    assert sched.last_epoch == 5 and sched.get_last_lr()[0] == pytest.approx(0.05, rel=1e-14)
    step = StepLR(_optimizer(), step_size=3)
    with pytest.warns(UserWarning, match="deprecated"):
        step.step(epoch=7)
    assert step.get_last_lr()[0] == pytest.approx(0.1 * 0.1**2)


def test_schedulers_chain_multiplicatively():
    opt = _optimizer()
    first, second = ExponentialLR(opt, gamma=0.9), StepLR(opt, step_size=4, gamma=0.5)
    for _ in range(10):
        opt.step()
        first.step()
        second.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.9**10 * 0.5**2, rel=1e-13)


# --------------------------------------------------------------------- against PyTorch
def _torch_rates(torch, make_scheduler, lrs=(0.1,), epochs=EPOCHS):
    params = [torch.zeros(2, requires_grad=True) for _ in lrs]
    opt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], lr=1.0,
                          momentum=0.9)
    scheduler = make_scheduler(torch.optim.lr_scheduler, opt)
    rates = []
    for _ in range(epochs):
        rates.append(list(scheduler.get_last_lr()))
        opt.step()
        scheduler.step()
    return np.array(rates)


SCHEDULES = [
    ("StepLR", dict(step_size=5, gamma=0.3)),
    ("MultiStepLR", dict(milestones=[3, 9, 9, 20], gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.93)),
    ("CosineAnnealingLR", dict(T_max=7)),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.004)),
    ("CosineAnnealingLR", dict(T_max=1)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.05, end_factor=0.8, total_iters=13)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.0, total_iters=30)),
    ("CosineAnnealingWarmRestarts", dict(T_0=5)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.001)),
    ("OneCycleLR", dict(max_lr=[0.5, 0.2], total_steps=40, cycle_momentum=False)),
    ("OneCycleLR", dict(max_lr=0.3, epochs=4, steps_per_epoch=10, pct_start=0.25,
                        anneal_strategy="linear", cycle_momentum=False)),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=41, three_phase=True, div_factor=10.0,
                        final_div_factor=100.0, cycle_momentum=False)),
]


@pytest.mark.torch
@pytest.mark.parametrize("name, kwargs", SCHEDULES,
                         ids=[f"{n}-{'-'.join(map(str, k.values()))}" for n, k in SCHEDULES])
def test_matches_pytorch(torch_or_skip, name, kwargs):
    lrs = (0.1, 0.03)
    ours = _rates(getattr(optim.lr_scheduler, name)(_optimizer(lrs), **kwargs))
    theirs = _torch_rates(torch_or_skip, lambda m, o: getattr(m, name)(o, **kwargs), lrs)
    np.testing.assert_allclose(ours, theirs, atol=1e-12, rtol=0)


@pytest.mark.torch
def test_lambda_lr_matches_pytorch(torch_or_skip):
    fns = [lambda t: 1 / math.sqrt(t + 1), lambda t: 0.95**t]
    ours = _rates(LambdaLR(_optimizer((0.5, 0.1)), fns))
    theirs = _torch_rates(torch_or_skip, lambda m, o: m.LambdaLR(o, fns), (0.5, 0.1))
    np.testing.assert_allclose(ours, theirs, atol=1e-15, rtol=0)


@pytest.mark.torch
def test_chained_and_resumed_schedulers_match_pytorch(torch_or_skip):
    torch = torch_or_skip

    def run(module, opt, make_group_lr=None):
        cosine = module.CosineAnnealingLR(opt, T_max=6, eta_min=0.001)
        decay = module.ExponentialLR(opt, gamma=0.97)
        rates = []
        for _ in range(30):
            rates.append(opt.param_groups[0]["lr"])
            opt.step()
            cosine.step()
            decay.step()
        # Resume a new scheduler mid-way with last_epoch (needs initial_lr, set above).
        resumed = module.CosineAnnealingLR(opt, T_max=6, last_epoch=29)
        for _ in range(10):
            rates.append(opt.param_groups[0]["lr"])
            opt.step()
            resumed.step()
        return rates

    ours = run(optim.lr_scheduler, _optimizer())
    theirs = run(torch.optim.lr_scheduler,
                 torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1))
    np.testing.assert_allclose(ours, theirs, atol=1e-12, rtol=0)


RESUMED = SCHEDULES[:5] + [("MultiStepLR", dict(milestones=[5, 8])),
                           ("LambdaLR", dict(lr_lambda=lambda t: 0.8**t)),
                           ("LinearLR", dict(start_factor=0.1, total_iters=10)),
                           ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2))]


@pytest.mark.torch
@pytest.mark.parametrize("last_epoch", [4, 6])
@pytest.mark.parametrize("name, kwargs", RESUMED, ids=[n for n, _ in RESUMED])
def test_resuming_with_last_epoch_matches_pytorch(torch_or_skip, name, kwargs, last_epoch):
    torch = torch_or_skip

    def run(module, opt):
        opt.param_groups[0]["initial_lr"] = 1.0
        scheduler = getattr(module, name)(opt, last_epoch=last_epoch, **kwargs)
        rates = []
        for _ in range(15):
            rates.append(scheduler.get_last_lr()[0])
            opt.step()
            scheduler.step()
        return rates, scheduler.last_epoch

    ours = run(optim.lr_scheduler, _optimizer())
    theirs = run(torch.optim.lr_scheduler,
                 torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1))
    assert ours[1] == theirs[1]
    np.testing.assert_allclose(ours[0], theirs[0], atol=1e-15, rtol=0)


PLATEAU = [
    dict(),
    dict(mode="max", factor=0.5, patience=2),
    dict(mode="min", threshold_mode="abs", threshold=0.05, patience=1, cooldown=2),
    dict(mode="max", threshold_mode="abs", threshold=0.01, patience=0, min_lr=0.02),
    dict(patience=1, factor=0.3, min_lr=[0.001, 0.01], cooldown=1),
    dict(patience=0, factor=0.9, eps=1e-3),
]


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", PLATEAU, ids=[str(i) for i in range(len(PLATEAU))])
def test_reduce_on_plateau_matches_pytorch(torch_or_skip, kwargs):
    torch = torch_or_skip
    rng = np.random.default_rng(3)
    metrics = np.concatenate([np.linspace(1.0, 0.5, 10), 0.5 + 0.02 * rng.standard_normal(50)])

    def run(module, opt):
        scheduler = module.ReduceLROnPlateau(opt, **kwargs)
        rates = []
        for metric in metrics:
            opt.step()
            scheduler.step(float(metric))
            rates.append(list(scheduler.get_last_lr()))
        return np.array(rates)

    ours = run(optim.lr_scheduler, _optimizer((0.1, 0.05)))
    tparams = [torch.zeros(1, requires_grad=True) for _ in range(2)]
    theirs = run(torch.optim.lr_scheduler, torch.optim.SGD(
        [{"params": [tparams[0]], "lr": 0.1}, {"params": [tparams[1]], "lr": 0.05}], lr=1.0))
    np.testing.assert_allclose(ours, theirs, atol=1e-15, rtol=0)
    assert np.unique(ours[:, 0]).size > 1  # it did reduce


def test_reduce_on_plateau_by_hand():
    opt = _optimizer()
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1)
    seen = []
    for metric in [1.0] * 7 + [0.1] + [0.2] * 3:
        sched.step(metric)
        seen.append(opt.param_groups[0]["lr"])
    # best 1.0: the 3rd bad epoch (> patience 2) halves the rate, then one cooldown epoch
    # does not count; 0.1 is a new best, and three epochs at 0.2 halve it again.
    assert seen == [0.1] * 3 + [0.05] * 7 + [0.025]
    assert sched.best == 0.1 and sched.last_epoch == 11


# --------------------------------------------------------------------- state dicts
@pytest.mark.parametrize("make", [
    lambda o: StepLR(o, step_size=4, gamma=0.5),
    lambda o: MultiStepLR(o, milestones=[3, 7, 7, 15]),
    lambda o: ExponentialLR(o, gamma=0.9),
    lambda o: CosineAnnealingLR(o, T_max=5, eta_min=0.01),
    lambda o: LinearLR(o, start_factor=0.2, total_iters=15),
    lambda o: CosineAnnealingWarmRestarts(o, T_0=2, T_mult=3, eta_min=0.001),
    lambda o: OneCycleLR(o, max_lr=0.4, total_steps=29),
], ids=["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
        "CosineAnnealingWarmRestarts", "OneCycleLR"])
def test_state_dict_round_trip_continues_identically(make):
    opt = _optimizer((0.1, 0.02))
    sched = make(opt)
    _rates(sched, 9)
    state = sched.state_dict()
    saved_optimizer = opt.state_dict()
    expected = _rates(sched, 20)

    other_opt = _optimizer((0.7, 0.7))
    # PyTorch's order: build the scheduler, then load both states (a scheduler built on
    # a loaded optimizer would scale its already scheduled lr once more: LinearLR)
    other = make(other_opt)
    other_opt.load_state_dict(saved_optimizer)
    # npz turns lists into arrays: load must take them back.
    other.load_state_dict({k: np.asarray(v) if isinstance(v, list) else v
                           for k, v in state.items()})
    np.testing.assert_array_equal(_rates(other, 20), expected)
    assert all(isinstance(v, (int, float, bool, list, str)) for v in state.values())


def test_lambda_lr_state_dict_keeps_callable_objects_state():
    class Warmup:
        def __init__(self, steps):
            self.steps = steps

        def __call__(self, t):
            return min(1.0, (t + 1) / self.steps)

    sched = LambdaLR(_optimizer(), [Warmup(5)])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"steps": 5}]
    other = LambdaLR(_optimizer(), [Warmup(100)])
    other.load_state_dict(state)
    assert other.lr_lambdas[0].steps == 5
    plain = LambdaLR(_optimizer(), lambda t: 1.0).state_dict()
    assert plain["lr_lambdas"] == [None]


def test_reduce_on_plateau_state_dict_round_trip():
    opt = _optimizer()
    sched = ReduceLROnPlateau(opt, patience=1, cooldown=1)
    for metric in [1.0, 0.9, 0.95, 0.96]:
        sched.step(metric)
    state = sched.state_dict()
    other = ReduceLROnPlateau(_optimizer(), mode="max")
    other.load_state_dict(state)
    assert other.mode == "min" and other.best == 0.9 and other.num_bad_epochs == 0
    assert other.cooldown_counter == sched.cooldown_counter


# --------------------------------------------------------------------- errors
def test_scheduler_errors():
    opt = _optimizer()
    with pytest.raises(TypeError, match="not an Optimizer"):
        StepLR("sgd", step_size=2)
    with pytest.raises(ValueError, match="step_size=0"):
        StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max=0"):
        CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match=r"milestones"):
        MultiStepLR(opt, milestones=[2.5])
    with pytest.raises(ValueError, match="2 lr_lambdas"):
        LambdaLR(_optimizer((0.1, 0.2)), [lambda t: 1.0])
    with pytest.raises(KeyError, match="initial_lr"):
        StepLR(_optimizer(), step_size=2, last_epoch=5)


@pytest.mark.parametrize("kwargs, shown", [
    (dict(factor=1.0), "factor=1.0"),
    (dict(factor=-0.5), "factor=-0.5"),
    (dict(mode="lowest"), "mode='lowest'"),
    (dict(threshold_mode="relative"), "threshold_mode='relative'"),
    (dict(patience=-1), "patience=-1"),
    (dict(min_lr=[0.1, 0.2]), "2 min_lrs|1 min_lrs"),
])
def test_reduce_on_plateau_errors(kwargs, shown):
    with pytest.raises(ValueError, match=shown):
        ReduceLROnPlateau(_optimizer(), **kwargs)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "0.5", None])
def test_lambda_lr_refuses_a_factor_that_is_not_a_finite_number(bad):
    opt = _optimizer()
    sched = LambdaLR(opt, lambda epoch: 1.0 if epoch == 0 else bad)
    with pytest.raises(ValueError, match=r"lr_lambda\[0\]\(1\) returned .*finite number"):
        sched.step()
    assert opt.param_groups[0]["lr"] == 0.1  # left as it was


# --------------------------------------------------------------------- the newer schedulers
def _momentum(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


@pytest.mark.torch
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
@pytest.mark.parametrize("kwargs", [
    dict(max_lr=[0.5, 0.2], total_steps=40),
    dict(max_lr=0.5, total_steps=37, three_phase=True, anneal_strategy="linear",
         base_momentum=[0.7, 0.8], max_momentum=0.99),
], ids=["two-phase-cos", "three-phase-linear"])
def test_one_cycle_rates_and_momenta_match_pytorch(torch_or_skip, optimizer, kwargs):
    torch = torch_or_skip

    def run(lib, params):
        extra = dict(momentum=0.5) if optimizer == "SGD" else {}
        opt = getattr(lib, optimizer)([{"params": [params[0]]}, {"params": [params[1]]}],
                                      lr=1.0, **extra)
        sched = lib.lr_scheduler.OneCycleLR(opt, **kwargs)
        rows = []
        for _ in range(sched.total_steps):
            rows.append(sched.get_last_lr() + [_momentum(g) for g in opt.param_groups])
            opt.step()
            sched.step()
        return np.array(rows)

    ours = run(optim, make_params())
    theirs = run(torch.optim, [torch.zeros(1, requires_grad=True) for _ in range(2)])
    np.testing.assert_allclose(ours, theirs, atol=1e-14, rtol=0)
    # the rate goes up then down to max_lr / div_factor / final_div_factor
    assert 0.49 < ours[:, 0].max() <= 0.5 and ours[-1, 0] < 1e-4


def test_one_cycle_refuses_to_step_past_total_steps():
    opt = _optimizer()
    sched = OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="tried to step 4 times; total_steps is 3"):
        sched.step()


@pytest.mark.torch
def test_warm_restarts_with_fractional_epochs_match_pytorch(torch_or_skip):
    torch = torch_or_skip

    def run(lib, param):
        opt = lib.SGD([param], lr=0.1)
        sched = lib.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=0.01)
        rates = []
        for epoch in range(9):
            for batch in range(4):
                opt.step()
                sched.step(epoch + batch / 4)
                rates.append(sched.get_last_lr()[0])
        return rates, sched.T_i, sched.last_epoch

    ours = run(optim, make_params()[0])
    theirs = run(torch.optim, torch.zeros(1, requires_grad=True))
    np.testing.assert_allclose(ours[0], theirs[0], atol=1e-15, rtol=0)
    assert ours[1:] == theirs[1:]


SEQUENCES = {
    "warmup-cosine": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=10)],
        milestones=[5]),
    "three": lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, factor=0.5, total_iters=3) if hasattr(m, "ConstantLR")
            else m.LambdaLR(o, lambda e: 0.5 if e < 3 else 1.0),
            m.ExponentialLR(o, gamma=0.9), m.StepLR(o, step_size=4, gamma=0.5)],
        milestones=[4, 12]),
    "restarts-after-linear": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.25, total_iters=4),
            m.CosineAnnealingWarmRestarts(o, T_0=5)], milestones=[6]),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", list(SEQUENCES))
def test_sequential_lr_matches_pytorch(torch_or_skip, name):
    make = SEQUENCES[name]
    if name == "three":
        # the same LambdaLR on both sides (ConstantLR is not in optim yet)
        def make(m, o):
            return m.SequentialLR(o, [m.LambdaLR(o, lambda e: 0.5 if e < 3 else 1.0),
                                      m.ExponentialLR(o, gamma=0.9),
                                      m.StepLR(o, step_size=4, gamma=0.5)], milestones=[4, 12])
    lrs = (0.1, 0.03)
    opt = _optimizer(lrs)
    ours = _rates(make(optim.lr_scheduler, opt))
    theirs = _torch_rates(torch_or_skip, make, lrs)
    np.testing.assert_allclose(ours, theirs, atol=1e-14, rtol=0)


def test_sequential_lr_state_dict_round_trip():
    def make(o):
        return SequentialLR(o, [LinearLR(o, start_factor=0.1, total_iters=5),
                                ExponentialLR(o, gamma=0.8)], milestones=[5])

    opt = _optimizer((0.1, 0.02))
    sched = make(opt)
    _rates(sched, 3)
    state = sched.state_dict()
    saved_optimizer = opt.state_dict()
    expected = _rates(sched, 12)
    other_opt = _optimizer((0.7, 0.7))
    # PyTorch's order: build the scheduler, then load both states (a scheduler built on
    # a loaded optimizer would scale its already scheduled lr once more: LinearLR)
    other = make(other_opt)
    other_opt.load_state_dict(saved_optimizer)
    other.load_state_dict(state)
    np.testing.assert_array_equal(_rates(other, 12), expected)
    assert [type(s) for s in state["_schedulers"]] == [dict, dict]


def test_newer_scheduler_errors():
    opt = _optimizer()
    with pytest.raises(ValueError, match=r"start_factor=0\.0.*\(0\.0, 1\.0\]"):
        LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match=r"end_factor=1\.5"):
        LinearLR(opt, end_factor=1.5)
    with pytest.raises(ValueError, match="total_iters=0"):
        LinearLR(opt, total_iters=0)
    with pytest.raises(ValueError, match="T_0=0"):
        CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match=r"T_mult=1\.5"):
        CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=1.5)
    with pytest.raises(ValueError, match="epoch=-1"):
        CosineAnnealingWarmRestarts(opt, T_0=2).step(-1)
    with pytest.raises(ValueError, match="total_steps or"):
        OneCycleLR(opt, max_lr=0.1, epochs=3)
    with pytest.raises(ValueError, match="total_steps=0"):
        OneCycleLR(opt, max_lr=0.1, total_steps=0)
    with pytest.raises(ValueError, match=r"pct_start=1\.5"):
        OneCycleLR(opt, max_lr=0.1, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="anneal_strategy='cosine'"):
        OneCycleLR(opt, max_lr=0.1, total_steps=10, anneal_strategy="cosine")
    with pytest.raises(ValueError, match="expected 1 values for max_lr.*got 2"):
        OneCycleLR(opt, max_lr=[0.1, 0.2], total_steps=10)
    with pytest.raises(ValueError, match="div_factor=0"):
        OneCycleLR(opt, max_lr=0.1, total_steps=10, div_factor=0)
    with pytest.raises(ValueError, match="cycle_momentum=True.*Adagrad"):
        OneCycleLR(optim.Adagrad(make_params()), max_lr=0.1, total_steps=10)
    first = LinearLR(opt)
    with pytest.raises(ValueError, match="expected 1 milestones"):
        SequentialLR(opt, [first, ExponentialLR(opt, gamma=0.9)], milestones=[2, 4])
    with pytest.raises(ValueError, match="another optimizer"):
        SequentialLR(opt, [first, ExponentialLR(_optimizer(), gamma=0.9)], milestones=[2])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        SequentialLR(opt, [first, ReduceLROnPlateau(opt)], milestones=[2])
