"""Sweep overhead: what ``nn.training.sweep`` adds per trial, against the trial itself.

The objective is a fixed amount of NumPy work (128x128 float32 matmuls, about 20 ms in
full mode, 2 ms in quick mode), so the difference between a sweep of N trials and N
direct calls is the sweep's own cost: configuration generation, the trial wrapper and
the table (grid), plus Optuna's TPE sampler and pruner bookkeeping (bayes). Local
variants are timed interleaved with the direct calls. Ray Tune (full mode only, when Ray
is installed) is timed once: the start of a local Ray instance separately, then one
sweep of N trials against N direct calls (per-trial actors, result plumbing).
"""

from __future__ import annotations

import time

import numpy as np

SECTION = "sweep"
_A = np.random.default_rng(0).standard_normal((128, 128)).astype(np.float32)
_REPEATS = {"n": 1}


def _objective(config):
    """About `_REPEATS['n']` matmuls of 128x128: the trial's own work."""
    out = _A
    for _ in range(config.get("repeats", _REPEATS["n"])):
        out = np.tanh(out @ _A * 0.01)
    return {"val_accuracy": float(out[0, 0]) + float(config.get("x", 0.0))}


def _calibrate(seconds):
    per = []
    for _ in range(3):
        start = time.perf_counter()
        _objective({"repeats": 20})
        per.append((time.perf_counter() - start) / 20)
    return max(1, int(seconds / min(per)))


def _manual_record(ctx, case, variant, times, params, extra):
    contenders = {name: {"median_s": t} for name, t in times.items()}
    ratios = {f"{name}/direct": {"median": t / times["direct"], "min": t / times["direct"],
                                 "max": t / times["direct"], "of_best": t / times["direct"]}
              for name, t in times.items() if name != "direct"}
    rec = {"section": SECTION, "case": case, "variant": variant, "params": params,
           "flops": None, "bytes": None, "contenders": contenders, "ratios": ratios}
    rec.update(extra)
    ctx.records.append(rec)
    return rec


def run(ctx) -> None:
    from nn.training.sweep import grid, sweep, uniform

    trials = 4 if ctx.quick else 16
    trial_s = 0.002 if ctx.quick else 0.02
    repeats = _calibrate(trial_s)
    space = {"i": grid(list(range(trials))), "repeats": repeats}

    def direct():
        for i in range(trials):
            _objective({"i": i, "repeats": repeats})

    contenders = {"direct": direct, "grid": lambda: sweep(_objective, space)}
    try:
        import optuna  # noqa: F401

        contenders["bayes"] = lambda: sweep(
            _objective, {"x": uniform(0, 1), "repeats": repeats}, search="bayes",
            trials=trials, seed=0)
    except ImportError:
        ctx.note(SECTION, "Optuna is not installed: no bayes variant")
    res = ctx.compare(contenders)
    per_trial = res.stats["direct"].median / trials
    extra = {"trial_s": per_trial,
             "overhead_per_trial_s": {name: (res.stats[name].median - res.stats["direct"].median)
                                      / trials for name in contenders if name != "direct"}}
    ctx.record(SECTION, f"local, {trials} trials", f"trial {per_trial * 1e3:.1f} ms", res,
               params={"trials": trials, "matmuls_per_trial": repeats},
               ratios=[(name, "direct") for name in contenders if name != "direct"],
               extra=extra)
    print("  sweep local: " + ", ".join(
        f"{name} +{v * 1e3:.2f} ms/trial" for name, v in extra["overhead_per_trial_s"].items()),
        flush=True)
    if ctx.quick:
        ctx.note(SECTION, "quick mode: the Ray Tune variant runs in full mode only")
        return
    try:
        import ray
        import ray.tune  # noqa: F401
    except ImportError:
        ctx.note(SECTION, "Ray Tune is not installed: no ray variant")
        return
    start = time.perf_counter()
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    startup = time.perf_counter() - start
    try:
        start = time.perf_counter()
        direct()
        t_direct = time.perf_counter() - start
        start = time.perf_counter()
        sweep(_objective, space, backend="ray")
        t_ray = time.perf_counter() - start
    finally:
        ray.shutdown()
    _manual_record(ctx, f"ray (local instance, 1 CPU), {trials} trials",
                   f"trial {t_direct / trials * 1e3:.1f} ms",
                   {"direct": t_direct, "ray": t_ray}, {"trials": trials},
                   {"ray_startup_s": startup,
                    "overhead_per_trial_s": {"ray": (t_ray - t_direct) / trials}})
    print(f"  sweep ray: start {startup:.1f}s, +{(t_ray - t_direct) / trials:.2f} s/trial",
          flush=True)
