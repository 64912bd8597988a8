"""``autograd-train sweep``: a hyperparameter sweep over the CLI's default training run.

    $ autograd-train sweep --space lr=loguniform:1e-4:1e-1 wd=grid:0,1e-5,1e-4 \\
          --search bayes --trials 20 [--backend ray --address auto]

Each trial trains the model and data set the training options choose (default LeNet-5
on the shipped digits, 5 epochs) with the trial's hyperparameters, reporting the
validation metrics after every epoch (so Bayesian search can prune). The output
directory (default ``runs/sweep``) gets ``sweep.md`` (the Markdown table, rewritten
after every trial, so an interrupted sweep keeps its finished trials), ``sweep.png``
(the metric against each hyperparameter) and ``sweep.json``.

Hyperparameters: ``lr``, ``weight_decay`` (``wd``), ``momentum`` (SGD), ``batch_size``,
``epochs``, ``optimizer``, ``model``, ``label_smoothing``, ``seed``.
"""

import argparse
import json
import os
import sys
import time

__all__ = ["main", "build_parser", "TrainObjective"]

HYPERPARAMETERS = {"lr": "lr", "weight_decay": "weight_decay", "wd": "weight_decay",
                   "momentum": "momentum", "batch_size": "batch_size",
                   "epochs": "epochs", "optimizer": "optimizer", "model": "model",
                   "label_smoothing": "label_smoothing", "seed": "seed"}


def build_parser() -> argparse.ArgumentParser:
    from nn.training import cli

    parser = argparse.ArgumentParser(
        prog="autograd-train sweep", parents=[cli.build_parser()], conflict_handler="resolve",
        description="Sweep hyperparameters of the default training run (grid, random or "
                    "Bayesian search, here or on a Ray cluster); writes sweep.md, "
                    "sweep.png and sweep.json to the output directory.")
    parser.add_argument("--space", nargs="+", required=True, metavar="NAME=KIND:ARGS",
                        help="e.g. lr=loguniform:1e-4:1e-1 wd=grid:0,1e-5,1e-4 "
                             "optimizer=choice:adam,sgd epochs=3 (kinds: grid, choice, "
                             "uniform, loguniform, randint; a plain value is a constant)")
    parser.add_argument("--search", choices=("grid", "random", "bayes"), default="grid")
    parser.add_argument("--trials", type=cli._positive_int, default=None,
                        help="number of trials (grid: every combination; random: 10; "
                             "bayes: 20)")
    parser.add_argument("--backend", choices=("local", "ray"), default="local")
    parser.add_argument("--address", default=None,
                        help="Ray cluster address ('auto', 'ray://host:10001'); default: "
                             "start a local Ray instance")
    parser.add_argument("--metric", default="val_accuracy")
    parser.add_argument("--mode", choices=("max", "min"), default=None,
                        help="default: max for accuracies, min otherwise")
    parser.add_argument("--max-concurrent", type=cli._positive_int, default=None,
                        help="trials at once (local: worker processes)")
    parser.add_argument("--epochs", type=cli._positive_int, default=5)
    parser.add_argument("--output-dir", default=os.path.join("runs", "sweep"))
    return parser


class TrainObjective:
    """The objective of ``autograd-train sweep``: one training run of the CLI's model
    and data with the trial's hyperparameters (picklable, so it runs in worker
    processes and on Ray)."""

    def __init__(self, options: dict):
        self.options = dict(options)

    def __call__(self, config, trial):
        import autograd_core as ag
        import nn
        import optim
        from nn.data import DataLoader
        from nn.training import cli
        from nn.training.callbacks import Callback
        from nn.training.loop import fit

        args = argparse.Namespace(**self.options)
        extra = {}
        for name, value in config.items():
            field = HYPERPARAMETERS[name]
            if field in ("weight_decay", "momentum"):
                extra[field] = float(value)
            else:
                setattr(args, field, value)
        ag.manual_seed(int(args.seed))
        train, val, _, kind = cli._load_data(args)
        sample = cli._first_batch(train)
        classes = {"digits": 10, "mnist": 10, "moons": 2, "spirals": 3}[args.dataset]
        model = cli._build_model(args, kind, sample[0], classes)
        lr = float(args.lr) if args.lr is not None else cli.DEFAULT_LR[args.optimizer]
        factory = {"adam": optim.Adam, "adamw": optim.AdamW, "sgd": optim.SGD,
                   "rmsprop": optim.RMSprop, "adagrad": optim.Adagrad}[args.optimizer]
        kwargs = {"weight_decay": extra.get("weight_decay", 0.0)}
        if args.optimizer == "sgd":
            kwargs["momentum"] = extra.get("momentum", 0.9)
        optimizer = factory(model.parameters(), lr=lr, **kwargs)
        epochs = int(args.epochs)
        scheduler = None if args.no_schedule else optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=epochs)

        class Report(Callback):
            def on_epoch_end(self, epoch, logs, model):
                trial.report(epoch, **{k: v for k, v in logs.items() if k != "lr"})

        history = fit(model, nn.CrossEntropyLoss(label_smoothing=args.label_smoothing),
                      optimizer, DataLoader(train, batch_size=int(args.batch_size),
                                            shuffle=True),
                      epochs, val_loader=DataLoader(val, batch_size=256), scheduler=scheduler,
                      callbacks=[Report()], progress=False, verbose=False)
        return {k: v[-1] for k, v in history.history.items() if k != "lr"}


def _write(result, out_dir, final=False):
    from nn.training.sweep import plot_sweep

    def atomic(path, text):
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)

    files = [os.path.join(out_dir, "sweep.md"), os.path.join(out_dir, "sweep.json")]
    atomic(files[0], "# Sweep\n\n" + result.to_markdown())
    atomic(files[1], json.dumps({
        "metric": result.metric, "mode": result.mode, "search": result.search,
        "backend": result.backend, "interrupted": result.interrupted, "best": result.best,
        "best_result": result.best_result,
        "space": {k: repr(v) for k, v in result.space.items()},
        "trials": [{"number": t.number, "config": t.config, "metrics": t.metrics,
                    "status": t.status, "error": t.error, "seconds": t.seconds,
                    "history": t.history} for t in result.trials]}, indent=2, default=str))
    note = None
    if final and result.trials:
        plot = os.path.join(out_dir, "sweep.png")
        note = plot_sweep(result, plot)
        if note is None:
            files.append(plot)
    return files, note


def run(args, log=print):
    from nn.training.cli import UsageError
    from nn.training.sweep import SweepInterrupted, parse_dimension, sweep

    space = {}
    try:
        for text in args.space:
            name, dim = parse_dimension(text)
            if name not in HYPERPARAMETERS:
                raise ValueError(f"unknown hyperparameter {name!r}; use "
                                 + ", ".join(HYPERPARAMETERS))
            space[name] = dim
    except ValueError as error:
        raise UsageError(str(error)) from None
    mode = args.mode or ("max" if "acc" in args.metric else "min")
    options = {k: v for k, v in vars(args).items()
               if k not in ("space", "search", "trials", "backend", "address", "metric",
                            "mode", "max_concurrent", "command", "workers")}
    out_dir = args.output_dir
    os.makedirs(out_dir, exist_ok=True)
    started = time.perf_counter()
    quiet = args.quiet
    try:
        result = sweep(TrainObjective(options), space, search=args.search, trials=args.trials,
                       backend=args.backend, address=args.address, metric=args.metric,
                       mode=mode, seed=args.seed, max_concurrent=args.max_concurrent,
                       on_trial_end=lambda trial, so_far: _write(so_far, out_dir),
                       log=None if quiet else log)
    except ValueError as error:
        raise UsageError(str(error)) from None
    except ImportError as error:
        raise UsageError(str(error)) from None
    except SweepInterrupted as interrupted:
        files, _ = _write(interrupted.result, out_dir, final=True)
        log(f"interrupted: {len(interrupted.result.trials)} finished trial(s) kept in "
            + ", ".join(files))
        raise
    files, note = _write(result, out_dir, final=True)
    if not quiet:
        print(result.to_markdown())
    best = result.best_trial
    log(f"best {result.metric} {best.metrics[result.metric]:.4f} with "
        + ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in best.config.items())
        if best else f"no trial completed ({len(result.trials)} failed or pruned)")
    log(f"{len(result.trials)} trials in {time.perf_counter() - started:.1f}s; wrote "
        + ", ".join(files))
    if note:
        log("note: " + note)
    return result


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from nn.training.cli import UsageError

    try:
        run(args)
    except UsageError as error:
        print(f"autograd-train sweep: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autograd-train sweep: interrupted", file=sys.stderr)
        return 130
    except OSError as error:
        print(f"autograd-train sweep: error: {error}", file=sys.stderr)
        return 1
    return 0
