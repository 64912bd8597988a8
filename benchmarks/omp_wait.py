"""Training-step times under one OpenMP start-up configuration, for both libraries.

PyTorch's bundled libgomp and Numba's share one OpenMP runtime, which reads its wait
settings (``OMP_WAIT_POLICY``, ``GOMP_SPINCOUNT``) once, when the first library loads
it.  This script measures one configuration per process; run it once per setting::

    python -m benchmarks.omp_wait torch resnet18_w16,transformer_lm   # PyTorch first
    python -m benchmarks.omp_wait ours resnet18_w16,transformer_lm    # ours first
    GOMP_SPINCOUNT=1000 python -m benchmarks.omp_wait ours transformer_lm
    python -m benchmarks.omp_wait none lstm_lm                        # ours only

The first argument is which library is imported first (``none``: PyTorch not at all),
the second the model cases of ``benchmarks.cases.models`` (comma-separated), the third
the repetitions (default 5).  Each library's steps are interleaved, after two warm-up
steps, the collector run before each; it prints the median milliseconds per step.
RESULTS.md's table on the shared runtime was made with it.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2 or argv[0] not in ("torch", "ours", "none"):
        print(__doc__)
        return 2
    first, names = argv[0], argv[1].split(",")
    reps = int(argv[2]) if len(argv) > 2 else 5
    # As in the suite: OpenBLAS's idle workers otherwise spin into the other's time.
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
    torch = None
    if first == "torch":
        import torch
    import autograd_core.kernels  # noqa: F401  (starts the shared runtime if first)
    if first == "ours":
        import torch
    from benchmarks.cases import models

    known = {c.name: c for c in models.FULL_CASES}
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"unknown cases {unknown}; known: {sorted(known)}")
        return 2
    for name in names:
        ours, theirs = models.build_pair(known[name], torch)
        engines = {"ours": ours} if theirs is None else {"ours": ours, "torch": theirs}
        for engine in engines.values():
            engine.step()
            engine.step()
        times = {k: [] for k in engines}
        for _ in range(reps):
            for k, engine in engines.items():
                gc.collect()
                start = time.perf_counter()
                engine.step()
                times[k].append(time.perf_counter() - start)
        print(f"{name}: " + ", ".join(f"{k} {1e3 * statistics.median(v):.1f} ms"
                                      for k, v in times.items()), flush=True)
        del ours, theirs, engines
        gc.collect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
