"""Data-parallel training: step time of DistributedDataParallel on 1 and 2 processes.

A LeNet-5 training step (SGD momentum, cross-entropy) on a fixed global batch (128
images of 28x28 in full mode, 32 of 8x8 in quick mode), measured in processes started by
``mpirun`` with one thread each (``OMP_NUM_THREADS=1``, ``NUMBA_NUM_THREADS=1``): the
plain model in one process, the DDP-wrapped model in one process (the wrapper's own
cost: identity nodes, buckets, a one-rank all-reduce) and in two processes, each on
half the batch (strong scaling). ``speedup`` is t(ddp@1) / t(ddp@2), ``efficiency``
speedup / 2. The three runs are repeated in turn and summarised by medians, so drift
hits them alike; on this 2-core machine two workers leave nothing to spare, so
another busy process shows directly in the 2-process time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

SECTION = "distributed"
REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, sys, time
import numpy as np
import autograd_core as ag
import autograd_core.distributed as dist
import nn, optim
import nn.functional as F
from nn.models import LeNet5
from nn.parallel import DistributedDataParallel

mode, batch, size, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
world, rank = 1, 0
ag.manual_seed(0)
model = LeNet5(1, 10, input_size=size)
if mode == "ddp":
    dist.init_process_group("mpi")
    world, rank = dist.get_world_size(), dist.get_rank()
    model = DistributedDataParallel(model)
rng = np.random.default_rng(rank)
x = ag.tensor(rng.standard_normal((batch // world, 1, size, size)).astype(np.float32))
y = ag.tensor(rng.integers(0, 10, batch // world))
opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
times = []
for step in range(steps + 2):
    if mode == "ddp":
        dist.barrier()
    start = time.perf_counter()
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()
    times.append(time.perf_counter() - start)
times = times[2:]
if rank == 0:
    print(json.dumps({"median_s": float(np.median(times)), "min_s": float(min(times)),
                      "bytes": getattr(model, "bytes_per_step", 0),
                      "buckets": getattr(model, "bucket_count", 0)}))
if mode == "ddp":
    dist.destroy_process_group()
"""


def _child(n, mode, batch, size, steps):
    from autograd_core.distributed import mpirun_command

    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    argv = [sys.executable, "-c", CHILD, mode, str(batch), str(size), str(steps)]
    if mode == "ddp":
        argv = mpirun_command(n, argv)
        argv[1:1] = ["--mca", "btl", "self,sm,tcp", "--mca", "btl_tcp_if_include", "lo"]
    out = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=900, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"data-parallel child ({mode}, {n}) failed:\n{out.stderr[-2000:]}")
    return json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])


def run(ctx) -> None:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        ctx.note(SECTION, "mpi4py is not installed (the distributed extra): skipped")
        return
    batch, size, steps, reps = (32, 8, 3, 1) if ctx.quick else (128, 28, 15, 3)
    runs = {"plain@1": [], "ddp@1": [], "ddp@2": []}
    info = {}
    for _ in range(reps):
        for name in runs:
            n = int(name[-1])
            r = _child(n, "ddp" if name.startswith("ddp") else "plain", batch, size, steps)
            runs[name].append(r["median_s"])
            if name == "ddp@2":
                info = r
    med = {name: float(np.median(v)) for name, v in runs.items()}

    def ratio(a, b):
        per = [x / y for x, y in zip(runs[a], runs[b])]
        return {"median": float(np.median(per)), "min": min(per), "max": max(per),
                "of_best": min(runs[a]) / min(runs[b])}

    speedup = med["ddp@1"] / med["ddp@2"]
    ctx.records.append({
        "section": SECTION, "case": f"LeNet-5 step, global batch {batch}",
        "variant": f"{size}x{size}, 1 thread per process",
        "params": {"batch": batch, "input": [1, size, size], "steps": steps, "reps": reps},
        "flops": None, "bytes": None,
        "contenders": {name: {"median_s": t} for name, t in med.items()},
        "ratios": {"ddp@1/plain@1": ratio("ddp@1", "plain@1"),
                   "ddp@2/ddp@1": ratio("ddp@2", "ddp@1")},
        "speedup": speedup, "scaling_efficiency": speedup / 2,
        "bytes_all_reduced_per_step": info.get("bytes"), "buckets": info.get("buckets"),
    })
    print(f"  distributed: plain {med['plain@1'] * 1e3:.1f} ms, ddp@1 "
          f"{med['ddp@1'] * 1e3:.1f} ms, ddp@2 {med['ddp@2'] * 1e3:.1f} ms (speed-up "
          f"{speedup:.2f}, efficiency {speedup / 2:.0%}), {info.get('bytes'):,} bytes "
          f"all-reduced per step in {info.get('buckets')} bucket(s)", flush=True)
