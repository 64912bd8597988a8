"""Thread scaling: the same kernels with 1 thread and with all of them, interleaved.

Each case is timed four ways in one interleaved run: ``ours@1``, ``ours@N``,
``torch@1``, ``torch@N`` (N = Numba's thread count).  Switching happens outside the
clock (``Contender`` hooks): Numba's pool (``numba.set_num_threads``), the BLAS
(``threadpoolctl``) and PyTorch (``torch.set_num_threads``) are set together.  The
speed-up ``t(1) / t(N)`` says how much of the second core each implementation uses.
"""

from __future__ import annotations

from benchmarks.cases import conv as conv_case
from benchmarks.cases import pool as pool_case
from benchmarks.machine import optional_module
from benchmarks.ours import Missing, conv_ops, pool_ops
from benchmarks.timing import Contender

SECTION = "threads"

CONV_CASES = ("lenet_c1", "conv_64x64", "depthwise_3x3")
POOL_CASES = ("cifar_64",)


def _hooks(n: int, default: int, torch):
    numba = optional_module("numba")
    tpc = optional_module("threadpoolctl")
    state = {}

    def before():
        if tpc is not None:
            state["blas"] = tpc.threadpool_limits(limits=n, user_api="blas")
        numba.set_num_threads(n)
        if torch is not None:
            torch.set_num_threads(n)

    def after():
        if "blas" in state:
            state.pop("blas").restore_original_limits()
        numba.set_num_threads(default)
        if torch is not None:
            torch.set_num_threads(default)

    return before, after


def run(ctx) -> None:
    n = ctx.threads
    if n < 2:
        ctx.note(SECTION, "one thread only: nothing to scale")
        return
    torch = ctx.torch
    cases = []
    try:
        conv2d = conv_ops()
        shapes = conv_case.QUICK_SHAPES if ctx.quick else conv_case.FULL_SHAPES
        for s in shapes[:1] if ctx.quick else shapes:
            if ctx.quick or s.name in CONV_CASES:
                x, w, b, g = conv_case.make_inputs(s, "float32")
                ours = conv_case.ours_contenders(conv2d, x, w, b, g, s)[2]
                theirs = (conv_case.torch_contenders(torch, x, w, b, g, s)[2]
                          if torch is not None else None)
                cases.append((f"conv {s.name}", s.describe(), ours, theirs))
    except Missing as why:
        ctx.note(SECTION, f"conv skipped: {why}")
    try:
        import numpy as np

        max_pool2d, _ = pool_ops()
        rng = np.random.default_rng(0)
        for s in pool_case.QUICK_SHAPES[:1] if ctx.quick else pool_case.FULL_SHAPES:
            if not ctx.quick and s.name not in POOL_CASES:
                continue
            x = rng.standard_normal((s.N, s.C, s.H, s.W)).astype("float32")
            g = rng.standard_normal((s.N, s.C) + s.out_hw).astype("float32")
            ours = pool_case._ours(max_pool2d, x, g, s)[2]
            theirs = pool_case._torch(torch, "max", x, g, s)[2] if torch is not None else None
            cases.append((f"max_pool2d {s.name}", s.describe(), ours, theirs))
    except Missing as why:
        ctx.note(SECTION, f"pool skipped: {why}")

    one, many = _hooks(1, n, torch), _hooks(n, n, torch)
    for case, describe, ours, theirs in cases:
        contenders = {"ours@1": Contender(ours, *one), f"ours@{n}": Contender(ours, *many)}
        if theirs is not None:
            contenders["torch@1"] = Contender(theirs, *one)
            contenders[f"torch@{n}"] = Contender(theirs, *many)
        res = ctx.compare(contenders)
        rec = ctx.record(SECTION, case, "float32 fwd+bwd", res,
                         params={"describe": describe, "threads": [1, n]},
                         ratios=[("ours@1", f"ours@{n}"), ("torch@1", f"torch@{n}"),
                                 (f"ours@{n}", f"torch@{n}")])
        speedups = {k.split("/")[0].split("@")[0]: v["median"]
                    for k, v in rec["ratios"].items() if k.endswith(f"@{n}") and "@1/" in k}
        rec["speedup"] = speedups
        print(f"  threads {case}: speed-up 1->{n}: "
              + ", ".join(f"{k} {v:.2f}x" for k, v in speedups.items()), flush=True)
