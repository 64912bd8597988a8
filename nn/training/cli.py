"""The main job: ``autograd-train`` trains a CNN on the shipped digits (``make demo``).

With no arguments it trains a LeNet-5 on the UCI digits that scikit-learn ships (Adam,
lr 5e-3 annealed to 0 by a cosine schedule over 20 epochs, batch 32, label smoothing
0.1: at least 98.3 % test accuracy over seeds 0-9, in seconds),
shows a progress bar per epoch (on a terminal), prints each epoch's loss and
validation accuracy and the final test accuracy, and writes to ``runs/demo/``:

* ``curves.png``: training/validation loss and accuracy per epoch (matplotlib);
* ``weights.npz``: the trained state dict (``nn.save``; load with ``nn.load``);
* ``graph.dot`` (and ``graph.svg`` where the graphviz ``dot`` program exists): the
  graph of one forward/backward pass, collapsed by module;
* ``metrics.json``: the configuration, per-epoch history, test metrics and timings.

Options choose the model, the data (digits, moons, spirals or an MNIST directory), the
epochs, batch size, optimizer, learning rate, seed and output directory. Bad options,
missing data and an output directory that cannot be written give a one-line message
and a non-zero exit before training starts, never a traceback.

A run stopped by Ctrl-C (exit code 130) or by a diverging loss (exit code 1) keeps
what it had: the weights of the epoch with the best validation accuracy so far in
``weights.npz``, the curves so far and a ``metrics.json`` saying why and after which
epoch the run stopped; the message says where they are.

    $ autograd-train --epochs 5 --optimizer sgd --lr 0.05
    $ autograd-train --dataset mnist --data-dir ~/data/mnist --model lenet5
    $ autograd-train --workers 2                  # data-parallel under mpirun
    $ autograd-train sweep --space lr=loguniform:1e-4:1e-1 --search bayes --trials 20
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time

import numpy as np

__all__ = ["main", "build_parser"]

MODELS = ("lenet5", "mlp", "vgg", "resnet", "lstm", "transformer")
DATASETS = ("digits", "moons", "spirals", "mnist", "text")
TEXT_MODELS = ("lstm", "transformer")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad")
DEFAULT_LR = {"adam": 5e-3, "adamw": 5e-3, "sgd": 0.05, "rmsprop": 1e-3, "adagrad": 0.05}


class UsageError(Exception):
    """A problem with the user's options or data: reported as one line, exit code 2."""


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autograd-train",
        description="Train a model with the autograd_core engine (default: LeNet-5 on the "
                    "shipped UCI digits) and write curves, weights, a graph and metrics.",
    )
    parser.add_argument("--model", choices=MODELS, default="lenet5",
                        help="model to train (default: lenet5; moons/spirals need mlp; "
                             "lstm and transformer are language models for --dataset text)")
    parser.add_argument("--dataset", choices=DATASETS, default="digits",
                        help="digits (shipped with scikit-learn), moons, spirals, mnist "
                             "(IDX files in --data-dir), or text (the Zen of Python as "
                             "next-character windows, for --model lstm/transformer)")
    parser.add_argument("--data-dir", default=None,
                        help="directory with the MNIST/Fashion-MNIST IDX files (for --dataset "
                             "mnist)")
    parser.add_argument("--epochs", type=_positive_int, default=20)
    parser.add_argument("--batch-size", type=_positive_int, default=32)
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    parser.add_argument("--lr", type=_positive_float, default=None,
                        help="learning rate (default depends on the optimizer: "
                             + ", ".join(f"{k} {v}" for k, v in DEFAULT_LR.items()) + ")")
    parser.add_argument("--label-smoothing", type=float, default=0.1,
                        help="cross-entropy label smoothing (default 0.1)")
    parser.add_argument("--no-schedule", action="store_true",
                        help="keep the learning rate constant (default: cosine annealing "
                             "to 0 over the epochs)")
    parser.add_argument("--seed", type=_seed, default=0)
    parser.add_argument("--augment", action="store_true",
                        help="random 1-pixel shifts and small rotations of training images")
    parser.add_argument("--output-dir", default=os.path.join("runs", "demo"))
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--quiet", action="store_true", help="print only the final result")
    parser.add_argument("--workers", type=_positive_int, default=1,
                        help="train data-parallel in N processes launched with mpirun "
                             "(--batch-size stays the global batch); see also "
                             "'autograd-train sweep --help'")
    return parser


def _check_output_dir(out_dir):
    """Create ``out_dir`` and write a probe file into it, so that an unusable directory
    is reported before training, not after it (when the run would be lost)."""
    try:
        os.makedirs(out_dir, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=out_dir)
        os.close(fd)
        os.remove(probe)
    except OSError as error:
        raise UsageError(
            f"--output-dir {out_dir!r} cannot be used: {error.strerror or error}"
        ) from None


def _load_data(args):
    """(train, val, test) datasets and the input kind: 'image' or 'points'."""
    from nn.data import Subset, TensorDataset, random_split
    from nn.datasets import load_digits, load_mnist, make_moons, make_spirals

    model = getattr(args, "model", None)
    if args.dataset == "text" or model in TEXT_MODELS:
        if args.dataset != "text" or model not in TEXT_MODELS:
            raise UsageError("--model lstm and --model transformer are language models: use "
                             "them with --dataset text (the Zen of Python, shipped with "
                             "Python), and --dataset text with one of them")
        from nn.datasets import load_zen_of_python

        return (load_zen_of_python("train"), load_zen_of_python("val"),
                load_zen_of_python("test"), "text")
    if args.dataset == "digits":
        if args.data_dir is not None:
            raise UsageError("--data-dir is only used with --dataset mnist")
        try:
            return load_digits("train"), load_digits("val"), load_digits("test"), "image"
        except ImportError as error:
            raise UsageError(str(error)) from None
    if args.dataset == "mnist":
        if args.data_dir is None:
            raise UsageError(
                "--dataset mnist needs --data-dir DIR, a directory holding "
                "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte "
                "and t10k-labels-idx1-ubyte (raw or .gz); nothing is downloaded"
            )
        try:
            full = load_mnist(args.data_dir, "train")
            test = load_mnist(args.data_dir, "test")
        except (FileNotFoundError, ValueError) as error:
            raise UsageError(str(error)) from None
        n_val = max(1, len(full) // 12)
        train, val = random_split(full, [len(full) - n_val, n_val])
        # Give the training split its own dataset object (sharing the arrays), so that
        # --augment transforms training images only, never the validation split.
        train = Subset(TensorDataset(*full.arrays), train.indices)
        return train, val, test, "image"
    maker = make_moons if args.dataset == "moons" else make_spirals
    X, y = maker(1200, noise=0.1 if args.dataset == "moons" else 0.15, seed=args.seed)
    data = TensorDataset(X, y)
    train, val, test = random_split(data, [840, 120, 240])
    return train, val, test, "points"


def _first_batch(dataset):
    from nn.data import DataLoader

    return next(iter(DataLoader(dataset, batch_size=min(len(dataset), 8))))


def _build_model(args, kind, sample_x, num_classes):
    from nn import models

    if kind == "text":
        if args.model == "lstm":
            return models.CharLSTM(num_classes)
        return models.CharTransformer(num_classes, context=sample_x.shape[1])
    if kind == "points":
        if args.model != "mlp":
            raise UsageError(f"--model {args.model} needs images; use --model mlp for "
                             f"{args.dataset}")
        return models.MLP([sample_x.shape[1], 32, 32, num_classes], activation="relu")
    channels, size = sample_x.shape[1], sample_x.shape[2]
    if args.model == "lenet5":
        return models.LeNet5(channels, num_classes, input_size=size)
    if args.model == "mlp":
        features = int(np.prod(sample_x.shape[1:]))
        return models.MLP([features, 128, 64, num_classes])
    if args.model == "vgg":
        return models.SmallVGG(channels, num_classes, input_size=size)
    return models.ResNet(channels, num_classes)


def _build_optimizer(args, parameters):
    import optim

    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    if args.optimizer == "sgd":
        return optim.SGD(parameters, lr=lr, momentum=0.9), lr
    factory = {"adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop,
               "adagrad": optim.Adagrad}[args.optimizer]
    return factory(parameters, lr=lr), lr


def _plot_curves(history, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib): no curves.png"
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, history["loss"], "o-", label="train")
    if "val_loss" in history:
        ax_loss.plot(epochs, history["val_loss"], "s-", label="validation")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_loss.set_yscale("log")
    ax_loss.legend()
    ax_loss.grid(alpha=0.3)
    ax_acc.plot(epochs, history["accuracy"], "o-", label="train")
    if "val_accuracy" in history:
        ax_acc.plot(epochs, history["val_accuracy"], "s-", label="validation")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy")
    ax_acc.legend()
    ax_acc.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def _write_graph(model, loss_fn, sample, out_dir):
    """Draw one forward/backward pass (collapsed by module). Returns (files, note)."""
    from autograd_core import viz

    x, y = sample
    model.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    graph = viz.draw_graph(loss, params=dict(model.named_parameters()), collapse=True,
                           rankdir="TB")
    dot_path = os.path.join(out_dir, "graph.dot")
    with open(dot_path, "w", encoding="utf-8") as handle:
        handle.write(graph.source)
    files = [dot_path]
    try:
        svg = os.path.join(out_dir, "graph.svg")
        graph.render(outfile=svg, format="svg", cleanup=True)
        files.append(svg)
        note = None
    except Exception as error:  # the dot program is missing or failed
        note = f"graph.svg not written ({error})"
    model.zero_grad()
    return files, note


def _recorder():
    """A callback keeping the per-epoch logs and the weights of the epoch with the best
    validation accuracy (NaN never counts), for a run that does not finish."""
    from nn.training.callbacks import Callback, _improved, _snapshot

    class RunRecorder(Callback):
        def __init__(self):
            self.on_train_begin(None)  # a run stopped before fit started has kept nothing

        def on_train_begin(self, model):
            self.history, self.epochs = {}, 0
            self.best, self.best_epoch, self.best_state = None, None, None

        def on_epoch_end(self, epoch, logs, model):
            for key, value in logs.items():
                self.history.setdefault(key, []).append(value)
            self.epochs = epoch
            if _improved("max", logs.get("val_accuracy"), self.best, 0.0):
                self.best, self.best_epoch = logs["val_accuracy"], epoch
                self.best_state = _snapshot(model)

    return RunRecorder()


def _keep_unfinished_run(args, recorder, reason, config, started):
    """Write what a stopped run has (best weights, curves, metrics) and say where."""
    import nn

    out_dir = args.output_dir
    kept = []
    try:
        if recorder.best_state is not None:
            nn.save(recorder.best_state, os.path.join(out_dir, "weights.npz"))
            kept.append(f"the best weights (epoch {recorder.best_epoch}, val_accuracy "
                        f"{recorder.best:.4f})")
        if recorder.epochs and _plot_curves(recorder.history,
                                            os.path.join(out_dir, "curves.png")) is None:
            kept.append("the curves")
        metrics = dict(config, history=recorder.history, stopped=reason,
                       epochs_completed=recorder.epochs, best_epoch=recorder.best_epoch,
                       best_val_accuracy=recorder.best,
                       total_seconds=time.perf_counter() - started)
        with open(os.path.join(out_dir, "metrics.json"), "w", encoding="utf-8") as handle:
            json.dump(metrics, handle, indent=2)
        kept.append("the metrics")
    except OSError as error:
        print(f"autograd-train: could not keep the results so far: {error}", file=sys.stderr)
    print(f"autograd-train: stopped after {recorder.epochs} of {args.epochs} epochs "
          f"({reason}); kept {', '.join(kept) or 'nothing'} in {out_dir}", file=sys.stderr)


def run(args, log=print):
    import autograd_core as ag
    import nn
    import optim
    from nn.data import DataLoader
    from nn.training import evaluate, fit

    started = time.perf_counter()
    _check_output_dir(args.output_dir)
    ag.manual_seed(args.seed)
    train, val, test, kind = _load_data(args)
    sample = _first_batch(train)
    num_classes = len(train.chars) if kind == "text" else {
        "digits": 10, "mnist": 10, "moons": 2, "spirals": 3}[args.dataset]
    model = _build_model(args, kind, sample[0], num_classes)
    if args.augment and kind == "image":
        from nn.transforms import Compose, RandomCrop, RandomRotation

        base = train.dataset if hasattr(train, "dataset") else train
        base.transform = Compose([RandomCrop(sample[0].shape[-1], padding=1),
                                  RandomRotation(10)])
    optimizer, lr = _build_optimizer(args, model.parameters())
    if not 0 <= args.label_smoothing < 1:
        raise UsageError(f"--label-smoothing must be in [0, 1), got {args.label_smoothing}")
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    scheduler = None if args.no_schedule else optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=args.epochs)
    train_loader = DataLoader(train, batch_size=args.batch_size, shuffle=True)
    val_loader = DataLoader(val, batch_size=256)
    test_loader = DataLoader(test, batch_size=256)
    n_params = sum(p.numel() for p in model.parameters())
    if not args.quiet:
        log(f"{type(model).__name__} ({n_params:,} parameters) on {args.dataset}: "
            f"{len(train)} train / {len(val)} val / {len(test)} test, {args.optimizer} "
            f"lr {lr:g}{'' if args.no_schedule else ' (cosine)'}, batch {args.batch_size}, "
            f"label smoothing {args.label_smoothing:g}, seed {args.seed}")
    config = {"config": dict(vars(args)), "model": type(model).__name__,
              "parameters": n_params, "learning_rate": lr}
    recorder = _recorder()
    fit_started = time.perf_counter()
    try:
        history = fit(model, loss_fn, optimizer, train_loader, args.epochs,
                      val_loader=val_loader, scheduler=scheduler, callbacks=[recorder],
                      progress=not args.no_progress and not args.quiet,
                      verbose=not args.quiet, log=log)
        train_seconds = time.perf_counter() - fit_started
        test_metrics = evaluate(model, loss_fn, test_loader)
    except KeyboardInterrupt:
        _keep_unfinished_run(args, recorder, "interrupted", config, started)
        raise
    except FloatingPointError as error:
        _keep_unfinished_run(args, recorder, f"diverged: {error}", config, started)
        raise
    log(f"test accuracy {test_metrics['accuracy']:.4f} (loss {test_metrics['loss']:.4f}) "
        f"after {args.epochs} epochs in {train_seconds:.1f}s")

    out_dir = args.output_dir
    os.makedirs(out_dir, exist_ok=True)  # checked at start; it may have been removed since
    notes = []
    written = []
    weights = os.path.join(out_dir, "weights.npz")
    nn.save(model.state_dict(), weights)
    written.append(weights)
    curves = os.path.join(out_dir, "curves.png")
    note = _plot_curves(history.history, curves)
    if note:
        notes.append(note)
    else:
        written.append(curves)
    graph_files, note = _write_graph(model, loss_fn, _first_batch(test), out_dir)
    written.extend(graph_files)
    if note:
        notes.append(note)
    metrics = {
        **config,
        "history": history.history,
        "test": test_metrics,
        "train_seconds": train_seconds,
        "total_seconds": time.perf_counter() - started,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
    }
    metrics_path = os.path.join(out_dir, "metrics.json")
    with open(metrics_path, "w", encoding="utf-8") as handle:
        json.dump(metrics, handle, indent=2)
    written.append(metrics_path)
    if not args.quiet:
        log("wrote " + ", ".join(written))
    for note in notes:
        log("note: " + note)
    return metrics


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["sweep"]:
        from nn.training.sweep_cli import main as sweep_main

        return sweep_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    from nn.training import workers

    if args.workers > 1 and not workers.in_worker():
        return workers.launch(argv, args.workers)
    try:
        workers.run_worker(args) if workers.in_worker() else run(args)
    except UsageError as error:
        print(f"autograd-train: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autograd-train: interrupted", file=sys.stderr)
        return 130
    except (OSError, FloatingPointError) as error:
        print(f"autograd-train: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
