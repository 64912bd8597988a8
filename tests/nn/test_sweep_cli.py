"""``autograd-train sweep`` and ``autograd-train --workers N``."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nn.training.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_sweep_command_writes_table_plot_and_json(tmp_path, capsys):
    pytest.importorskip("sklearn")
    out = tmp_path / "sweep"
    code = main(["sweep", "--space", "lr=grid:0.005,0.02", "wd=0", "--epochs", "2",
                 "--model", "mlp", "--output-dir", str(out), "--quiet"])
    assert code == 0
    table = (out / "sweep.md").read_text()
    assert table.count("| completed |") + table.count("| **completed** |") == 2
    data = json.loads((out / "sweep.json").read_text())
    assert len(data["trials"]) == 2 and data["best"]["lr"] in (0.005, 0.02)
    assert all(len(t["history"]) == 2 for t in data["trials"])  # reported per epoch
    if (out / "sweep.png").exists() is False:
        pytest.importorskip("matplotlib")
        raise AssertionError("sweep.png missing although matplotlib is installed")
    assert "best val_accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("space, message", [
    ("lr=loguniform:0:1", "> 0"), ("wd=grid:", "at least one value"),
    ("colour=grid:1,2", "unknown hyperparameter"), ("lr", "NAME=KIND")])
def test_sweep_command_rejects_bad_spaces(tmp_path, capsys, space, message):
    code = main(["sweep", "--space", space, "--output-dir", str(tmp_path / "x")])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "x" / "sweep.md").exists()


def test_sweep_command_rejects_unknown_search(capsys):
    with pytest.raises(SystemExit):
        main(["sweep", "--space", "lr=grid:1", "--search", "annealing"])
    assert "invalid choice" in capsys.readouterr().err


def test_workers_option_trains_under_mpirun_and_rank_0_writes(tmp_path):
    pytest.importorskip("mpi4py")
    pytest.importorskip("sklearn")
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-m", "nn.training.cli", "--workers", "2", "--epochs", "1",
         "--model", "mlp", "--no-progress", "--output-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=180, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("test accuracy") == 1  # printed by rank 0 only
    assert "2 workers" in result.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["workers"] == 2 and metrics["test"]["accuracy"] > 0.5
    assert metrics["bytes_all_reduced_per_step"] > 0
    assert (tmp_path / "weights.npz").exists()


def test_workers_need_a_divisible_global_batch(tmp_path):
    pytest.importorskip("mpi4py")
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-m", "nn.training.cli", "--workers", "2", "--batch-size", "33",
         "--epochs", "1", "--model", "mlp", "--output-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=180, env=env, cwd=ROOT)
    assert result.returncode != 0 and "divisible" in result.stderr


def test_ctrl_c_keeps_the_finished_trials_table(tmp_path, monkeypatch, capsys):
    from nn.training import sweep_cli

    calls = []

    def fake_training(self, config, trial):
        calls.append(config)
        if len(calls) == 2:
            raise KeyboardInterrupt
        trial.report(1, val_accuracy=0.5)
        return {"val_accuracy": 0.5}

    monkeypatch.setattr(sweep_cli.TrainObjective, "__call__", fake_training)
    out = tmp_path / "sweep"
    code = main(["sweep", "--space", "lr=grid:0.1,0.2,0.3", "--output-dir", str(out),
                 "--quiet"])
    assert code == 130 and "interrupted" in capsys.readouterr().err
    data = json.loads((out / "sweep.json").read_text())
    assert data["interrupted"] and [t["config"]["lr"] for t in data["trials"]] == [0.1]
    assert "interrupted" in (out / "sweep.md").read_text()
