"""Command line: ``python -m benchmarks [--quick] [--only conv,pool] [--out DIR]``.

Runs the selected sections in one process (the matmul/copy reference first, since
other sections report against it), then writes ``results.json``, ``report.md`` and
the PNG plots to the output directory and prints the tables.  Exit status 1 when a
cross-check failed or a section crashed, 0 otherwise; timings never fail a run.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import importlib
import os
import sys
import time
import traceback
from pathlib import Path

from benchmarks import report
from benchmarks.cases import SECTIONS
from benchmarks.context import BenchContext
from benchmarks.machine import CpuMeter, machine_info, optional_module
from benchmarks.timing import Settings

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Kernel speed and engine overhead against naive loops, NumPy and "
                    "PyTorch, measured as interleaved ratios in one run.")
    p.add_argument("--quick", action="store_true",
                   help="tiny shapes and few repetitions (seconds; for CI, numbers are noisy)")
    p.add_argument("--only", default="",
                   help=f"comma-separated sections to run, from: {','.join(SECTIONS)}")
    p.add_argument("--skip", default="", help="comma-separated sections to leave out")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help="output directory (default: benchmarks/results/)")
    p.add_argument("--reps", type=int, help="repetitions per case (overrides the mode)")
    p.add_argument("--min-sample-time", type=float,
                   help="seconds per sample (overrides the mode)")
    p.add_argument("--threads", type=int,
                   help="threads for every pool (default: Numba's count, i.e. all cores)")
    p.add_argument("--no-torch", action="store_true", help="leave PyTorch out even if installed")
    p.add_argument("--no-plots", action="store_true", help="do not write PNG plots")
    args = p.parse_args(argv)
    chosen = [s for s in args.only.split(",") if s] or list(SECTIONS)
    skipped = {s for s in args.skip.split(",") if s}
    unknown = (set(chosen) | skipped) - set(SECTIONS)
    if unknown:
        p.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from "
                f"{', '.join(SECTIONS)}")
    args.sections = [s for s in SECTIONS if s in chosen and s not in skipped]
    if "peak" not in args.sections:
        args.sections.insert(0, "peak")  # the reference every GFLOP/s is reported against
    return args


def _settings(args) -> Settings:
    base = Settings.quick() if args.quick else Settings.full()
    changes = {}
    if args.reps:
        changes["reps"] = args.reps
    if args.min_sample_time is not None:
        changes["min_sample_time"] = args.min_sample_time
    return dataclasses.replace(base, **changes)


def run(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    load_start = _loadavg()
    cpu_meter = CpuMeter()
    # PyTorch first, then the kernels. The two share one OpenMP runtime (PyTorch's
    # bundled libgomp has the system libgomp's soname) with the settings of whichever
    # loads first; loaded first, PyTorch keeps its own defaults, so its times are those
    # its users see. (Until 2026-12-02 the kernels started the runtime with
    # OMP_WAIT_POLICY=PASSIVE and were imported first: every PyTorch barrier slept, a
    # Transformer LM step 386 ms instead of 32 ms; see autograd_core.kernels.)
    torch = None if args.no_torch else optional_module("torch")
    optional_module("autograd_core.kernels")
    micrograd = optional_module("micrograd")
    if micrograd is not None and optional_module("micrograd.engine") is None:
        micrograd = None
    numba = optional_module("numba")
    # Everything imported so far lives for the whole run: move it out of the collector's
    # sight, so the collections between samples stay cheap (~ms, not ~100 ms with torch).
    gc.collect()
    gc.freeze()
    threads = args.threads or (numba.get_num_threads() if numba is not None else 1)
    if numba is not None:
        numba.set_num_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)
    settings = _settings(args)
    ctx = BenchContext(settings, quick=args.quick, threads=threads, torch=torch,
                       micrograd=micrograd)
    mode = "quick" if args.quick else "full"
    print(f"benchmarks: {mode} mode, sections {', '.join(args.sections)}, {threads} threads, "
          f"torch {'yes' if torch else 'no'}, micrograd {'yes' if micrograd else 'no'}",
          flush=True)

    tpc = optional_module("threadpoolctl")
    sections = {}
    with (tpc.threadpool_limits(limits=threads, user_api="blas") if tpc is not None
          else contextlib.nullcontext()):
        for name in args.sections:
            t0 = time.perf_counter()
            print(f"[{name}]", flush=True)
            try:
                importlib.import_module(f"benchmarks.cases.{name}").run(ctx)
                status = {"status": "ok"}
            except Exception as error:
                traceback.print_exc()
                status = {"status": "error", "reason": f"{type(error).__name__}: {error}",
                          "traceback": traceback.format_exc()}
            status["duration_s"] = time.perf_counter() - t0
            sections[name] = status

    from benchmarks.targets import evaluate, summaries

    doc = {
        "schema": report.SCHEMA,
        "mode": mode,
        "argv": list(sys.argv[1:] if argv is None else argv),
        "settings": dataclasses.asdict(settings) | {"threads": threads},
        "machine": machine_info() | {"loadavg_start": load_start, "loadavg_end": _loadavg(),
                                     "others_cpu_cores": cpu_meter.others_cores()},
        "peak": ctx.peak,
        "sections": sections,
        "records": ctx.records,
        "checks": ctx.checks,
        "notes": ctx.notes,
        "summaries": summaries(ctx.records),
        "targets": evaluate(ctx.records),
        "duration_s": time.perf_counter() - started,
    }
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    plots = [] if args.no_plots else write_plots_safely(doc, out)
    report.write_json(doc, out / "results.json")
    report.write_markdown(doc, out / "report.md", plots)
    gc.unfreeze()
    print()
    print(report.console_summary(doc))
    print(f"\nwrote {out / 'results.json'}, {out / 'report.md'}"
          + (f" and {len(plots)} plots" if plots else ""))
    failed_checks = any(not c["passed"] for c in ctx.checks)
    crashed = any(s["status"] == "error" for s in sections.values())
    return 1 if failed_checks or crashed else 0


def _loadavg():
    """1/5/15-minute load averages: other tenants' load, to recognise a disturbed run."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover - not available
        return None


def write_plots_safely(doc, out: Path):
    from benchmarks.plots import write_plots

    try:
        return write_plots(doc, out)
    except Exception:  # a plot must never lose the measurements
        traceback.print_exc()
        return []


if __name__ == "__main__":
    sys.exit(run())
