"""The same sweeps through Ray Tune on a local Ray instance that this module starts
(one instance for all of them: starting Ray takes most of the time)."""

import os

import pytest

from nn.training.sweep import grid, loguniform, sweep
from tests.nn.test_sweep import flaky, per_epoch, quadratic

ray = pytest.importorskip("ray", reason="the sweep extra (ray[tune]) is not installed")
pytest.importorskip("ray.tune", reason="Ray is installed without Tune (pip install 'ray[tune]')")


@pytest.fixture(scope="module")
def local_ray():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.pathsep.join([root] + [p for p in os.environ.get("PYTHONPATH", "").split(
        os.pathsep) if p])
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 configure_logging=False, runtime_env={"env_vars": {"PYTHONPATH": path}})
    except Exception as error:  # e.g. no shared memory or ports in a sandbox
        pytest.skip(f"a local Ray instance could not start: {type(error).__name__}: {error}")
    yield
    ray.shutdown()


def test_grid_and_failures_on_ray_match_the_local_backend(local_ray):
    space = {"lr": grid([1e-2, 0.1]), "wd": grid([0.0, 1e-4])}
    local = sweep(flaky, space)
    on_ray = sweep(flaky, space, backend="ray")
    assert on_ray.backend == "ray" and len(on_ray.trials) == 4
    assert [t.config for t in on_ray.trials] == [t.config for t in local.trials]
    assert [t.status for t in on_ray.trials] == [t.status for t in local.trials]
    errors = [t.error for t in on_ray.trials if t.status == "error"]
    assert errors == ["ValueError: diverged at lr 0.1"] * 2
    for ours, theirs in zip(on_ray.trials, local.trials):
        if theirs.status == "completed":
            assert ours.metrics == pytest.approx(theirs.metrics)
    assert on_ray.best == local.best == {"lr": 1e-2, "wd": 0.0}


def test_bayes_over_eight_trials_on_ray(local_ray):
    result = sweep(quadratic, {"lr": loguniform(1e-4, 1e-1), "wd": grid([0.0, 1e-4])},
                   search="bayes", trials=8, backend="ray", seed=0)
    assert len(result.trials) == 8 and {t.status for t in result.trials} == {"completed"}
    assert result.best_result["val_accuracy"] > 0.8


@pytest.mark.slow  # another ~15 s of Tune on 2 busy cores
def test_per_epoch_reports_reach_tune(local_ray):
    result = sweep(per_epoch, {"lr": grid([1e-2, 1e-5])}, backend="ray")
    assert [t.status for t in result.trials] == ["completed", "completed"]
    assert result.best == {"lr": 1e-2}
