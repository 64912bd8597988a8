"""Compile cost: the first conv2d + max_pool2d forward+backward in a fresh process.

Numba compiles each kernel on its first call and caches the machine code on disk.  A
user pays the compile once (cold cache) and then, in every new process, only the cache
load (warm cache).  Measured in subprocesses with ``NUMBA_CACHE_DIR`` pointing at a new
empty temporary directory: the first run is cold, the second, with the same directory,
warm.  Each child reports the seconds of ``import autograd_core`` (+ the conv/pool ops),
of the first call (float32 conv2d -> max_pool2d -> sum, backward) and of a second,
identical call (what is left once everything is loaded).

In quick mode only a warm run is measured, against the default cache (the in-tree
``__pycache__`` that the rest of the suite has just filled).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECTION = "compile"
REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, time
t0 = time.perf_counter()
import numpy as np
from autograd_core import Tensor
from autograd_core.ops.conv import conv2d
from autograd_core.ops.pool import max_pool2d
t1 = time.perf_counter()

def call():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((4, 3, 16, 16)).astype(np.float32), requires_grad=True)
    w = Tensor(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), requires_grad=True)
    b = Tensor(np.zeros(8, dtype=np.float32), requires_grad=True)
    max_pool2d(conv2d(x, w, b, 1, 1), 2).sum().backward()

call()
t2 = time.perf_counter()
call()
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_call_s": t2 - t1, "second_call_s": t3 - t2}))
"""


def _child(cache_dir: str | None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=900, check=False)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"compile-cost child failed:\n{out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = wall
    return result


def run(ctx) -> None:
    import importlib.util

    for module in ("autograd_core.ops.conv", "autograd_core.ops.pool"):
        if importlib.util.find_spec(module) is None:
            ctx.note(SECTION, f"skipped: {module} is not there yet")
            return
    runs = {}
    if ctx.quick:
        runs["warm (default cache)"] = _child(None)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-numba-cache-") as cache:
            runs["cold"] = _child(cache)
            runs["warm"] = _child(cache)
    for label, r in runs.items():
        ctx.records.append({
            "section": SECTION, "case": "conv2d+max_pool2d fwd+bwd", "variant": label,
            "params": {"input": [4, 3, 16, 16], "dtype": "float32"}, "flops": None,
            "bytes": None, "contenders": {"ours": {"median_s": r["first_call_s"], **r}},
            "ratios": {},
        })
        print(f"  compile {label}: import {r['import_s']:.2f}s, first call "
              f"{r['first_call_s']:.2f}s, second {r['second_call_s'] * 1e3:.1f}ms, "
              f"process {r['process_wall_s']:.2f}s", flush=True)
