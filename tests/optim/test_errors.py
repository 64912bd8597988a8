"""Bad input: a clear error naming the argument and its value."""

import math

import numpy as np
import pytest

import optim
from autograd_core import Tensor
from tests.optim.helpers import make_params

OPTIMIZERS = [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad, optim.Adadelta,
              optim.Adamax, optim.NAdam, optim.RAdam]
ADAM_LIKE = [optim.Adam, optim.AdamW, optim.Adamax, optim.NAdam, optim.RAdam]
NAMES = [cls.__name__ for cls in OPTIMIZERS]


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=NAMES)
@pytest.mark.parametrize("value, shown", [(-0.1, r"lr=-0\.1"), (math.nan, "lr=nan"),
                                          (math.inf, "lr=inf"), ("fast", "lr='fast'"),
                                          (None, "lr=None")])
def test_bad_lr(cls, value, shown):
    with pytest.raises(ValueError, match=shown):
        cls(make_params(), lr=value)


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=NAMES)
def test_negative_weight_decay(cls):
    with pytest.raises(ValueError, match=r"weight_decay=-0\.01"):
        cls(make_params(), weight_decay=-0.01)


@pytest.mark.parametrize("cls", [c for c in OPTIMIZERS if c is not optim.SGD],
                         ids=[n for n in NAMES if n != "SGD"])
def test_negative_eps(cls):
    with pytest.raises(ValueError, match=r"eps=-1e-08"):
        cls(make_params(), eps=-1e-8)


@pytest.mark.parametrize("cls", [optim.SGD, optim.RMSprop], ids=["SGD", "RMSprop"])
def test_negative_momentum(cls):
    with pytest.raises(ValueError, match=r"momentum=-0\.9"):
        cls(make_params(), lr=0.1, momentum=-0.9)


@pytest.mark.parametrize("cls", ADAM_LIKE, ids=[c.__name__ for c in ADAM_LIKE])
@pytest.mark.parametrize("betas, shown", [((1.0, 0.999), r"betas\[0\]=1\.0"),
                                          ((0.9, 1.0), r"betas\[1\]=1\.0"),
                                          ((-0.1, 0.9), r"betas\[0\]=-0\.1"),
                                          ((0.9, 1.5), r"betas\[1\]=1\.5"),
                                          ((0.9,), r"betas=\(0\.9,\)")])
def test_betas_outside_unit_interval(cls, betas, shown):
    with pytest.raises(ValueError, match=shown):
        cls(make_params(), betas=betas)


@pytest.mark.parametrize("cls", ADAM_LIKE, ids=[c.__name__ for c in ADAM_LIKE])
def test_betas_at_zero_are_allowed(cls):
    cls(make_params(), betas=(0.0, 0.0))


def test_nesterov_needs_momentum_and_no_dampening():
    with pytest.raises(ValueError, match=r"nesterov.*momentum=0"):
        optim.SGD(make_params(), lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"nesterov.*dampening=0\.1"):
        optim.SGD(make_params(), lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)


def test_other_hyperparameters():
    with pytest.raises(ValueError, match=r"alpha=-0\.5"):
        optim.RMSprop(make_params(), alpha=-0.5)
    with pytest.raises(ValueError, match=r"lr_decay=-1"):
        optim.Adagrad(make_params(), lr_decay=-1)
    with pytest.raises(ValueError, match=r"initial_accumulator_value=-0\.1"):
        optim.Adagrad(make_params(), initial_accumulator_value=-0.1)
    for rho in (-0.1, 1.5):
        with pytest.raises(ValueError, match=rf"Adadelta: invalid rho={rho}.*\[0, 1\]"):
            optim.Adadelta(make_params(), rho=rho)
    optim.Adadelta(make_params(), rho=1.0)  # PyTorch allows the closed interval
    with pytest.raises(ValueError, match=r"NAdam: invalid momentum_decay=-0\.004"):
        optim.NAdam(make_params(), momentum_decay=-4e-3)


def test_lbfgs_hyperparameters():
    params = make_params()
    with pytest.raises(ValueError, match=r"LBFGS: invalid lr=-1"):
        optim.LBFGS(params, lr=-1)
    for name in ("max_iter", "max_eval", "history_size"):
        for bad in (0, -3, 2.5):
            with pytest.raises(ValueError, match=rf"LBFGS: invalid {name}={bad}.*positive"):
                optim.LBFGS(params, **{name: bad})
    with pytest.raises(ValueError, match=r"tolerance_grad=-1e-07"):
        optim.LBFGS(params, tolerance_grad=-1e-7)
    with pytest.raises(ValueError, match=r"line_search_fn='backtracking'.*strong_wolfe"):
        optim.LBFGS(params, line_search_fn="backtracking")
    a, b = params
    with pytest.raises(ValueError, match="per-parameter options"):
        optim.LBFGS([{"params": [a]}, {"params": [b]}])
    opt = optim.LBFGS([a])
    with pytest.raises(ValueError, match="per-parameter options"):
        opt.add_param_group({"params": [b]})
    with pytest.raises(RuntimeError, match="needs a closure"):
        opt.step()
    assert optim.LBFGS([a], max_iter=8).defaults["max_eval"] == 10  # max_iter * 5 // 4


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=NAMES)
def test_bad_value_in_a_param_group_names_the_group(cls):
    a, b = make_params()
    with pytest.raises(ValueError, match=r"lr=-1.*param group 1"):
        cls([{"params": [a]}, {"params": [b], "lr": -1}])


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=NAMES)
def test_empty_parameter_list(cls):
    with pytest.raises(ValueError, match="empty parameter list"):
        cls([])
    with pytest.raises(ValueError, match="empty parameter list"):
        cls([{"params": []}])


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=NAMES)
def test_non_float_parameter(cls):
    w, _ = make_params()
    counts = Tensor(np.arange(3))
    with pytest.raises(ValueError, match=r"params\[1\].*int64"):
        cls([w, counts])


def test_wrong_kinds_of_params():
    w, b = make_params()
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="set"):
        optim.SGD({w, b}, lr=0.1)
    with pytest.raises(TypeError, match=r"params\[1\].*ndarray"):
        optim.SGD([w, np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="not a leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(ValueError, match="'params'"):
        optim.SGD([{"lr": 0.1}], lr=0.1)
