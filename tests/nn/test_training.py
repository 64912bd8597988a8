"""fit / evaluate / predict, callbacks, and the main job's command line."""

import json
import os

import numpy as np
import pytest

import autograd_core as ag
import nn
import optim
from nn.data import DataLoader, TensorDataset
from nn.datasets import make_moons
from nn.training import EarlyStopping, ModelCheckpoint, accuracy, evaluate, fit, predict
from nn.training.cli import main as cli_main


def _moons_loaders(n=400):
    X, y = make_moons(n, noise=0.1, seed=0)
    split = int(0.75 * n)
    train = DataLoader(TensorDataset(X[:split], y[:split]), batch_size=32, shuffle=True)
    val = DataLoader(TensorDataset(X[split:], y[split:]), batch_size=128)
    return train, val


def _mlp():
    return nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))


def test_fit_decreases_the_loss_and_records_history():
    ag.manual_seed(0)
    train, val = _moons_loaders()
    model = _mlp()
    history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.02),
                  train, epochs=15, val_loader=val, progress=False)
    assert history.epochs == 15
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["val_accuracy"][-1] > 0.95
    assert model.training  # fit leaves the model in training mode


def test_evaluate_and_predict_use_eval_mode_and_no_graph():
    ag.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.5), nn.Linear(8, 2))
    X, y = make_moons(64, seed=1)
    loader = DataLoader(TensorDataset(X, y), batch_size=16)
    first = predict(model, X)
    assert np.array_equal(first, predict(model, loader))  # dropout is off in eval mode
    assert model.training
    logs = evaluate(model, nn.CrossEntropyLoss(), loader)
    expected = accuracy(first, y)
    assert logs["accuracy"] == pytest.approx(expected)
    manual = nn.CrossEntropyLoss()(ag.Tensor(first), ag.Tensor(y)).item()
    assert logs["loss"] == pytest.approx(manual, rel=1e-5)


def test_accuracy_with_soft_targets():
    outputs = np.array([[2.0, 1.0], [0.0, 3.0]])
    assert accuracy(outputs, np.array([0, 0])) == 0.5
    assert accuracy(outputs, np.array([[0.9, 0.1], [0.2, 0.8]])) == 1.0


def test_early_stopping_restores_the_best_weights():
    ag.manual_seed(2)
    train, val = _moons_loaders(200)
    model = _mlp()
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    # a learning rate this large makes the validation loss bounce: the best epoch is early
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=3.0),
                  train, epochs=30, val_loader=val, callbacks=[stopper], progress=False)
    best = int(np.argmin(history["val_loss"]))
    assert stopper.best_epoch == best + 1
    assert history.epochs < 30 and stopper.stopped_epoch == history.epochs
    restored = evaluate(model, nn.CrossEntropyLoss(), val)["loss"]
    assert restored == pytest.approx(history["val_loss"][best], rel=1e-5)


def test_model_checkpoint_writes_the_best_state(tmp_path):
    ag.manual_seed(3)
    train, val = _moons_loaders(200)
    model = _mlp()
    path = tmp_path / "best.npz"
    checkpoint = ModelCheckpoint(path, monitor="val_accuracy")
    fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), train,
        epochs=4, val_loader=val, callbacks=[checkpoint], progress=False)
    assert path.exists() and checkpoint.saved_epochs[0] == 1
    state = nn.load(path)
    assert set(state) == set(model.state_dict())


def test_fit_with_scheduler_and_clipping():
    ag.manual_seed(4)
    train, _ = _moons_loaders(200)
    model = _mlp()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    history = fit(model, nn.CrossEntropyLoss(), opt, train, epochs=5, scheduler=scheduler,
                  clip_grad_norm=1.0, progress=False)
    assert history["lr"] == [0.1, 0.1, 0.05, 0.05, 0.025]


def test_fit_reports_a_diverging_loss_clearly():
    ag.manual_seed(5)
    train, _ = _moons_loaders(100)
    model = _mlp()
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=1e6),
            DataLoader(TensorDataset(np.ones((8, 2), np.float32) * 1e3,
                                     np.ones((8, 2), np.float32)), batch_size=8),
            epochs=5, progress=False)


def test_cli_runs_a_small_job_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    code = cli_main(["--epochs", "2", "--output-dir", str(out), "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "epoch 1/2" in printed and "val_accuracy" in printed and "test accuracy" in printed
    for name in ("weights.npz", "curves.png", "graph.dot", "metrics.json"):
        assert (out / name).exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "LeNet5" and len(metrics["history"]["loss"]) == 2
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0
    state = nn.load(out / "weights.npz")
    assert "features.0.weight" in state
    if os.path.exists("/usr/bin/dot") or any(
            os.path.exists(os.path.join(p, "dot")) for p in os.environ["PATH"].split(":")):
        assert (out / "graph.svg").exists()


def test_cli_on_moons_with_an_mlp(tmp_path, capsys):
    code = cli_main(["--dataset", "moons", "--model", "mlp", "--epochs", "3", "--quiet",
                     "--output-dir", str(tmp_path)])
    assert code == 0
    assert "test accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "positive integer"),
    (["--lr", "-1"], "positive number"),
    (["--model", "gpt"], "invalid choice"),
    (["--batch-size", "many"], "positive integer"),
])
def test_cli_rejects_bad_options_without_a_traceback(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "mnist"], "needs --data-dir"),
    (["--dataset", "moons", "--model", "lenet5"], "needs images"),
])
def test_cli_reports_unusable_data_and_models(argv, message, capsys, tmp_path):
    assert cli_main(argv + ["--output-dir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_cli_missing_mnist_files_say_which(capsys, tmp_path):
    assert cli_main(["--dataset", "mnist", "--data-dir", str(tmp_path),
                     "--output-dir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte" in err and "Traceback" not in err


def test_early_stopping_counts_patience_in_epochs_without_improvement():
    stopper = EarlyStopping(monitor="val_loss", patience=2, restore_best=False)
    stopper.on_train_begin(None)
    for epoch, value in enumerate([1.0, 2.0, 2.0, 2.0], start=1):
        stopper.on_epoch_end(epoch, {"val_loss": value}, None)
        if stopper.stop_training:
            break
    assert stopper.stopped_epoch == 3 and stopper.best_epoch == 1


def test_mnist_augmentation_never_touches_the_validation_split(tmp_path):
    import argparse
    import struct

    from nn.training.cli import _load_data

    rng = np.random.default_rng(0)
    for stem, array in [("train-images-idx3-ubyte", rng.integers(0, 255, (24, 28, 28))),
                        ("train-labels-idx1-ubyte", rng.integers(0, 10, 24)),
                        ("t10k-images-idx3-ubyte", rng.integers(0, 255, (6, 28, 28))),
                        ("t10k-labels-idx1-ubyte", rng.integers(0, 10, 6))]:
        array = array.astype(np.uint8)
        header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
        (tmp_path / stem).write_bytes(header + array.tobytes())
    args = argparse.Namespace(dataset="mnist", data_dir=str(tmp_path), seed=0)
    train, val, test, kind = _load_data(args)
    assert kind == "image" and len(train) + len(val) == 24 and len(test) == 6
    assert train.dataset is not val.dataset
    train.dataset.transform = lambda x: x * 0
    assert val[0][0].numpy().max() > 0


# ----------------------------------------------------------------- NaN and interrupted runs
def test_a_nan_validation_loss_never_counts_as_the_best(tmp_path):
    model = nn.Linear(2, 1)
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    checkpoint = ModelCheckpoint(tmp_path / "best.npz", monitor="val_loss")
    stopper.on_train_begin(model)
    weights_at = {}
    for epoch, value in enumerate([float("nan"), 1.0, 0.9, 1.2, 1.3], start=1):
        with ag.no_grad():
            model.weight.fill_(float(epoch))
        weights_at[epoch] = model.weight.numpy().copy()
        for callback in (stopper, checkpoint):
            callback.on_epoch_end(epoch, {"val_loss": value}, model)
        if stopper.stop_training:
            break
    assert stopper.best_epoch == 3 and stopper.best == 0.9 and stopper.stopped_epoch == 5
    stopper.on_train_end(model)
    np.testing.assert_array_equal(model.weight.numpy(), weights_at[3])
    assert checkpoint.saved_epochs == [2, 3] and checkpoint.best == 0.9
    np.testing.assert_array_equal(nn.load(tmp_path / "best.npz")["weight"].numpy(),
                                  weights_at[3])


def _stop_at_epoch(monkeypatch, epoch, error):
    """Make the training loop raise ``error`` when epoch ``epoch`` starts."""
    import nn.training.loop as loop

    real, calls = loop._run_epoch, []

    def run_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == epoch:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "_run_epoch", run_epoch)


@pytest.mark.parametrize("error, code, reason", [
    (KeyboardInterrupt(), 130, "interrupted"),
    (FloatingPointError("the training loss became nan"), 1, "diverged"),
])
def test_cli_keeps_the_best_weights_metrics_and_curves_of_a_stopped_run(
        tmp_path, capsys, monkeypatch, error, code, reason):
    _stop_at_epoch(monkeypatch, 4, error)
    out = tmp_path / "run"
    argv = ["--dataset", "moons", "--model", "mlp", "--epochs", "50", "--no-progress",
            "--output-dir", str(out)]
    assert cli_main(argv) == code
    err = capsys.readouterr().err
    assert f"stopped after 3 of 50 epochs ({reason}" in err and str(out) in err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 3 and len(metrics["history"]["val_accuracy"]) == 3
    assert metrics["stopped"].startswith(reason)
    best = int(np.argmax(metrics["history"]["val_accuracy"])) + 1
    assert metrics["best_epoch"] == best
    kept = nn.load(out / "weights.npz")
    assert set(kept) == set(nn.models.MLP([2, 32, 32, 2]).state_dict())
    assert all(np.isfinite(value.numpy()).all() for value in kept.values())
    assert (out / "curves.png").exists()


def test_cli_checks_the_output_directory_before_training(tmp_path, capsys, monkeypatch):
    import nn.training.loop as loop

    def no_training(*args, **kwargs):
        raise AssertionError("training started although the output directory is unusable")

    monkeypatch.setattr(loop, "_run_epoch", no_training)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert cli_main(["--dataset", "moons", "--model", "mlp", "--epochs", "1",
                     "--output-dir", str(blocker / "run")]) == 2
    err = capsys.readouterr().err
    assert "--output-dir" in err and "a-file" in err and "Traceback" not in err


def test_cli_reports_a_corrupt_gz_mnist_file_without_a_traceback(tmp_path, capsys):
    import gzip

    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        data = bytearray(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 4]) + bytes(4), mtime=0))
        data[10] = 0xFF  # an invalid deflate block type: zlib.error before the fix
        (tmp_path / (stem + ".gz")).write_bytes(bytes(data))
    assert cli_main(["--dataset", "mnist", "--data-dir", str(tmp_path),
                     "--output-dir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz: cannot read the file" in err and "Traceback" not in err


def test_cli_interrupted_in_the_first_epoch_says_what_it_kept(tmp_path, capsys, monkeypatch):
    _stop_at_epoch(monkeypatch, 1, KeyboardInterrupt())
    out = tmp_path / "run"
    assert cli_main(["--dataset", "moons", "--model", "mlp", "--epochs", "5",
                     "--output-dir", str(out)]) == 130
    err = capsys.readouterr().err
    assert "stopped after 0 of 5 epochs (interrupted); kept the metrics in" in err
    assert json.loads((out / "metrics.json").read_text())["epochs_completed"] == 0
    assert not (out / "weights.npz").exists()


@pytest.mark.parametrize("model", ["lstm", "transformer"])
def test_cli_trains_a_language_model_on_the_shipped_text(tmp_path, capsys, model):
    out = tmp_path / model
    assert cli_main(["--model", model, "--dataset", "text", "--epochs", "4", "--no-progress",
                     "--output-dir", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    losses = metrics["history"]["loss"]
    assert losses[-1] < losses[0]  # it learns something in a few epochs
    assert metrics["test"]["accuracy"] > 1 / 45  # better than a uniform guess over the text
    assert (out / "weights.npz").exists() and (out / "graph.dot").exists()


def test_cli_language_models_need_the_text_and_the_text_needs_them(capsys):
    assert cli_main(["--model", "lstm", "--epochs", "1"]) == 2
    assert "--dataset text" in capsys.readouterr().err
    assert cli_main(["--dataset", "text", "--model", "lenet5", "--epochs", "1"]) == 2
