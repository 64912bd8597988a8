"""The state shared by all sections of one run: settings, peaks, checks, records.

A section (``benchmarks/cases/*.py``) receives a :class:`BenchContext`, cross-checks its
contenders with :meth:`BenchContext.check` (only those that agree are timed), times
them with :meth:`BenchContext.compare` and stores one record per case with
:meth:`BenchContext.record`.  The report writers only read what is collected here.
"""

from __future__ import annotations

import numpy as np

from benchmarks.timing import Comparison, Settings, compare

__all__ = ["BenchContext", "to_numpy"]

def to_numpy(value) -> np.ndarray:
    """An ndarray from a NumPy array, an autograd_core/PyTorch tensor or a float."""
    if value is None:
        return None
    if hasattr(value, "detach") and hasattr(value, "numpy") and not hasattr(value, "_data"):
        return value.detach().cpu().numpy()  # torch.Tensor
    if hasattr(value, "_data"):  # autograd_core Tensor (its ._data is the array)
        return np.asarray(value._data)
    return np.asarray(value)


class BenchContext:
    """Everything a section needs; one per run."""

    def __init__(self, settings: Settings, *, quick: bool, threads: int, torch=None,
                 micrograd=None, peak: dict | None = None):
        self.settings = settings
        self.quick = quick
        self.threads = threads
        self.torch = torch
        self.micrograd = micrograd
        self.peak = peak or {}
        self.records: list[dict] = []
        self.checks: list[dict] = []
        self.notes: dict[str, list[str]] = {}

    # ------------------------------------------------------------------ checks
    def check(self, section: str, case: str, outputs: dict, *, reference: str,
              rtol: float, atol: float = 0.0) -> list[str]:
        """Compare every contender's outputs with ``reference``'s; return who agrees.

        ``outputs`` maps contender name -> list of arrays (forward output, then
        gradients).  An output agrees when ``max|a - ref| <= atol + rtol * max|ref|``
        (scaled by the magnitude of the whole array, so a sum of many float32 terms is
        judged by its precision, not by its smallest entry).  Every comparison is
        recorded in the report; a contender that disagrees is dropped from timing.
        """
        ref = [to_numpy(a) for a in outputs[reference]]
        agreeing = [reference]
        for name, arrays in outputs.items():
            if name == reference:
                continue
            worst, passed, detail = 0.0, True, ""
            for k, (a, b) in enumerate(zip(arrays, ref)):
                a = to_numpy(a)
                if a is None or b is None:
                    continue
                if a.shape != b.shape:
                    passed, detail = False, f"output {k}: shape {a.shape} != {b.shape}"
                    worst = float("inf")
                    break
                scale = float(np.max(np.abs(b))) if b.size else 0.0
                err = float(np.max(np.abs(a.astype(np.float64) - b))) if b.size else 0.0
                tol = atol + rtol * scale
                rel = err / scale if scale > 0 else err
                worst = max(worst, rel)
                if not (err <= tol) or not np.all(np.isfinite(a)):
                    passed = False
                    detail = f"output {k}: max abs err {err:.3g} > tol {tol:.3g}"
            self.checks.append({
                "section": section, "case": case, "contender": name, "reference": reference,
                "max_rel_err": worst, "rtol": rtol, "passed": passed, "detail": detail,
            })
            if passed:
                agreeing.append(name)
            else:
                self.note(section, f"CHECK FAILED {case}: {name} vs {reference}: {detail}; "
                                   f"{name} not timed")
        return agreeing

    # ---------------------------------------------------------------- timing
    def compare(self, contenders: dict, settings: Settings | None = None,
                gc_in_samples: bool = False) -> Comparison:
        """Interleaved timing with the run's settings (see :func:`timing.compare`)."""
        return compare(contenders, reps=0, warmup=0, min_sample_time=0.0,
                       settings=settings or self.settings, gc_in_samples=gc_in_samples)

    def record(self, section: str, case: str, variant: str, comparison: Comparison, *,
               params: dict | None = None, flops: float | None = None,
               bytes_moved: float | None = None, peak_key: str | None = None,
               ratios: list[tuple[str, str]] = (), extra: dict | None = None) -> dict:
        """Store one case's result: per-contender times and rates, paired ratios.

        ``flops`` gives GFLOP/s and, with ``peak_key`` (e.g. ``"float32"``), the
        fraction of the measured matmul peak; ``bytes_moved`` gives GB/s.  ``ratios``
        lists ``(a, b)`` pairs reported as ``time(a) / time(b)``.
        """
        contenders = {}
        peak = self.peak.get("matmul", {}).get(peak_key, {}).get("gflops") if peak_key else None
        for name, st in comparison.stats.items():
            entry = st.as_dict()
            if flops:
                entry["gflops"] = flops / st.median / 1e9
                if peak:
                    entry["fraction_of_peak"] = entry["gflops"] / peak
            if bytes_moved:
                entry["gbs"] = bytes_moved / st.median / 1e9
            contenders[name] = entry
        ratio_entries = {}
        for a, b in ratios:
            if a in comparison.stats and b in comparison.stats:
                ratio_entries[f"{a}/{b}"] = comparison.ratio(a, b).as_dict()
        rec = {
            "section": section, "case": case, "variant": variant, "params": params or {},
            "flops": flops, "bytes": bytes_moved, "contenders": contenders,
            "ratios": ratio_entries, "elapsed_s": comparison.elapsed_s,
        }
        if extra:
            rec.update(extra)
        self.records.append(rec)
        return rec

    def note(self, section: str, text: str) -> None:
        """A line for the report (skipped contenders, failed checks, caveats)."""
        self.notes.setdefault(section, []).append(text)
        print(f"  [{section}] {text}", flush=True)
