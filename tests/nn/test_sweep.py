"""nn.training.sweep: grid, random and Bayesian search locally and on a local Ray
instance, per-epoch pruning, failures and bad spaces."""

import math

import numpy as np
import pytest

from nn.training.sweep import (
    SweepInterrupted,
    choice,
    grid,
    loguniform,
    parse_dimension,
    randint,
    sweep,
    uniform,
)


def quadratic(config):
    """A smooth objective with its maximum at lr = 1e-2, wd = 0."""
    score = 1.0 - (math.log10(config["lr"]) + 2) ** 2 / 10 - config["wd"] * 1e3
    return {"val_accuracy": score, "val_loss": 1 - score}


def per_epoch(config, trial):
    """Reports each epoch; bad learning rates plateau low and are pruned."""
    quality = 1.0 - abs(math.log10(config["lr"]) + 2) / 3
    for epoch in range(1, 6):
        trial.report(epoch, val_accuracy=quality * epoch / 5)
    return {"val_accuracy": quality}


def flaky(config):
    if config["lr"] == 0.1:
        raise ValueError("diverged at lr 0.1")
    return quadratic(config)


def test_grid_over_four_configs_locally():
    space = {"lr": grid([1e-3, 1e-2]), "wd": grid([0.0, 1e-4]), "batch": 32}
    result = sweep(quadratic, space, search="grid")
    assert len(result.trials) == 4
    assert [t.config for t in result.trials] == [
        {"lr": 1e-3, "wd": 0.0, "batch": 32}, {"lr": 1e-3, "wd": 1e-4, "batch": 32},
        {"lr": 1e-2, "wd": 0.0, "batch": 32}, {"lr": 1e-2, "wd": 1e-4, "batch": 32}]
    assert all(t.status == "completed" and t.error is None for t in result.trials)
    assert result.best == {"lr": 1e-2, "wd": 0.0, "batch": 32}
    assert result.best_result["val_accuracy"] == pytest.approx(1.0)
    table = result.to_markdown()
    assert table.count("\n| ") == 5 and "**0.01**" in table and "val_loss" in table
    low = sweep(quadratic, space, search="grid", metric="val_loss", mode="min")
    assert low.best == result.best


def test_random_search_is_seeded_and_respects_bounds():
    space = {"lr": loguniform(1e-4, 1e-1), "wd": uniform(0, 1e-4), "k": randint(1, 4),
             "opt": choice(["adam", "sgd"])}
    a = sweep(quadratic, space, search="random", trials=6, seed=3)
    b = sweep(quadratic, space, search="random", trials=6, seed=3)
    assert [t.config for t in a.trials] == [t.config for t in b.trials]
    for t in a.trials:
        assert 1e-4 <= t.config["lr"] < 1e-1 and 0 <= t.config["wd"] < 1e-4
        assert t.config["k"] in (1, 2, 3) and t.config["opt"] in ("adam", "sgd")


def test_bayes_over_eight_trials_finds_the_good_region():
    space = {"lr": loguniform(1e-4, 1e-1), "wd": grid([0.0, 1e-4])}
    result = sweep(quadratic, space, search="bayes", trials=8, seed=0)
    assert len(result.trials) == 8 and all(t.status == "completed" for t in result.trials)
    assert result.best_result["val_accuracy"] > 0.9
    again = sweep(quadratic, space, search="bayes", trials=8, seed=0)
    assert [t.config for t in again.trials] == [t.config for t in result.trials]


def test_bayes_prunes_trials_that_report_badly():
    space = {"lr": grid([1e-2, 1.1e-2, 1e-4, 1e-5, 1e-6, 1e-7])}
    result = sweep(per_epoch, space, search="bayes", trials=12, seed=1)
    statuses = {t.status for t in result.trials}
    assert "pruned" in statuses and "completed" in statuses
    pruned = [t for t in result.trials if t.status == "pruned"]
    assert all(len(t.history) < 5 for t in pruned)
    assert result.best["lr"] in (1e-2, 1.1e-2)


def test_a_failing_trial_is_recorded_and_the_sweep_goes_on():
    seen = []
    result = sweep(flaky, {"lr": grid([1e-3, 0.1, 1e-2]), "wd": 0.0},
                   on_trial_end=lambda trial, so_far: seen.append(len(so_far.trials)))
    statuses = [t.status for t in result.trials]
    assert statuses == ["completed", "error", "completed"] and seen == [1, 2, 3]
    assert result.trials[1].error == "ValueError: diverged at lr 0.1"
    assert "error: ValueError: diverged at lr 0.1" in result.to_markdown()
    assert result.best["lr"] == 1e-2
    missing = sweep(lambda c: {"loss": 1.0}, {"lr": grid([1.0])})
    assert missing.trials[0].status == "error" and "val_accuracy" in missing.trials[0].error
    assert missing.best is None and "no trial completed" in missing.to_markdown()


def test_ctrl_c_keeps_the_finished_trials():
    def interrupted(config):
        if config["lr"] == 3:
            raise KeyboardInterrupt
        return {"val_accuracy": config["lr"]}

    with pytest.raises(SweepInterrupted) as info:
        sweep(interrupted, {"lr": grid([1, 2, 3, 4])})
    result = info.value.result
    assert isinstance(info.value, KeyboardInterrupt) and result.interrupted
    assert [t.config["lr"] for t in result.trials] == [1, 2] and result.best == {"lr": 2}
    assert "interrupted" in result.to_markdown()


@pytest.mark.parametrize("make, message", [
    (lambda: grid([]), "at least one value"),
    (lambda: loguniform(0, 1), "> 0"),
    (lambda: loguniform(-1, 1), "> 0"),
    (lambda: uniform(2, 1), "low < high"),
    (lambda: randint(1.5, 3), "integers"),
    (lambda: choice([]), "at least one value"),
])
def test_bad_dimensions_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_options_raise_before_anything_runs():
    calls = []

    def objective(config):
        calls.append(config)
        return {"val_accuracy": 1.0}

    space = {"lr": grid([1.0])}
    for kwargs, message in [({"search": "hyperband"}, "unknown search"),
                            ({"backend": "slurm"}, "unknown backend"),
                            ({"mode": "up"}, "mode"), ({"trials": 0}, "trials"),
                            ({"max_concurrent": 0}, "max_concurrent")]:
        with pytest.raises(ValueError, match=message):
            sweep(objective, space, **kwargs)
    with pytest.raises(ValueError, match="non-empty"):
        sweep(objective, {})
    with pytest.raises(ValueError, match="wrap it"):
        sweep(objective, {"lr": [1, 2]})
    assert calls == []


def test_parse_dimension():
    name, dim = parse_dimension("lr=loguniform:1e-4:1e-1")
    assert name == "lr" and isinstance(dim, loguniform) and (dim.low, dim.high) == (1e-4, 0.1)
    name, dim = parse_dimension("wd=grid:0,1e-5,1e-4")
    assert name == "wd" and dim.values == [0, 1e-5, 1e-4]
    assert parse_dimension("optimizer=choice:adam,sgd")[1].values == ["adam", "sgd"]
    assert parse_dimension("epochs=3") == ("epochs", 3)
    with pytest.raises(ValueError, match="> 0"):
        parse_dimension("lr=loguniform:0:1")
    with pytest.raises(ValueError, match="at least one value"):
        parse_dimension("wd=grid:")
    with pytest.raises(ValueError, match="unknown kind"):
        parse_dimension("lr=normal:0:1")
    with pytest.raises(ValueError, match="NAME=KIND"):
        parse_dimension("lr")


def test_a_local_process_pool_runs_the_same_trials():
    space = {"lr": grid([1e-3, 1e-2]), "wd": grid([0.0, 1e-4])}
    serial = sweep(quadratic, space)
    pooled = sweep(quadratic, space, max_concurrent=2)
    assert [(t.config, t.metrics) for t in pooled.trials] == \
        [(t.config, t.metrics) for t in serial.trials]
    bayes = sweep(per_epoch, {"lr": loguniform(1e-5, 1e-1)}, search="bayes", trials=6,
                  max_concurrent=2)
    assert len(bayes.trials) == 6 and bayes.best is not None
    with pytest.raises(ValueError, match="picklable"):
        sweep(lambda c: {"val_accuracy": 1.0}, space, max_concurrent=2)


def test_plot_has_a_panel_per_hyperparameter(tmp_path):
    pytest.importorskip("matplotlib")
    from nn.training.sweep import plot_sweep

    result = sweep(quadratic, {"lr": grid([1e-3, 1e-2]), "wd": grid([0.0, 1e-4])})
    path = tmp_path / "sweep.png"
    assert plot_sweep(result, path) is None
    assert path.stat().st_size > 1000
    assert np.isfinite(result.best_result["val_accuracy"])
