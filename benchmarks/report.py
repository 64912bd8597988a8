"""Report writers: the console table, the JSON document and the Markdown report.

All three read the same run document (see ``benchmarks/README.md`` for its schema);
nothing here measures.  Tables show medians; ratios are the median of the paired
per-repetition ratios, with their min-max range in the Markdown report.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["SCHEMA", "write_json", "write_markdown", "console_summary", "markdown_report",
           "section_table", "fmt_time"]

SCHEMA = "autograd-core-bench/1"
CONTENDER_ORDER = ("ours", "torch", "numpy", "naive", "micrograd", "copy")
SECTION_TITLES = {
    "peak": "Machine limits (matmul peak, copy bandwidth)",
    "kernels": "im2col / col2im (GB/s; copy = np.copyto of the column matrix)",
    "conv": "conv2d",
    "pool": "Pooling (GB/s of logical input+output bytes)",
    "engine": "Engine overhead: one tiny op (graph recorded)",
    "scalar": "Scalar graphs (micrograd's moons MLP)",
    "training": "Training steps (batch 128 in full mode)",
    "models": "End to end: training steps of real models (same weights, SGD momentum)",
    "norm": "Batch norm 2d (training mode)",
    "optim": "Optimizer steps (1,068,810 float32 parameters in full mode)",
    "threads": "Thread scaling (fwd+bwd)",
    "compile": "Compile cost (fresh process)",
    "sweep": "Sweep overhead per trial (ratio: sweep of N trials / N direct calls)",
    "distributed": "Data-parallel step (DistributedDataParallel, mpirun, 1 thread each)",
}


def fmt_time(seconds) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def _fmt_ratio(r, with_range: bool) -> str:
    if not r:
        return "-"
    text = f"{r['median']:.2f}"
    if with_range:
        text += f" ({r['min']:.2f}-{r['max']:.2f})"
    return text


def _fmt_num(v, digits=1) -> str:
    if v is None:
        return "-"
    if abs(v) >= 1e5:
        return f"{v:.3g}"
    return f"{v:.{digits}f}"


def _contender_names(records):
    seen = []
    for r in records:
        for name in r["contenders"]:
            if name not in seen:
                seen.append(name)
    ordered = [n for n in CONTENDER_ORDER if n in seen]
    return ordered + [n for n in seen if n not in ordered]


def section_table(records, with_range: bool = False):
    """Header and rows (lists of strings) for one section's records."""
    if not records:
        return [], []
    section = records[0]["section"]
    if section == "compile":
        header = ["case", "cache", "import", "first call", "second call", "process wall"]
        rows = [[r["case"], r["variant"], fmt_time(r["contenders"]["ours"]["import_s"]),
                 fmt_time(r["contenders"]["ours"]["first_call_s"]),
                 fmt_time(r["contenders"]["ours"]["second_call_s"]),
                 fmt_time(r["contenders"]["ours"]["process_wall_s"])] for r in records]
        return header, rows
    if section == "peak":
        header = ["case", "variant", "time", "rate"]
        rows = []
        for r in records:
            (entry,) = r["contenders"].values()
            rate = (f"{entry['gflops']:.1f} GFLOP/s" if "gflops" in entry
                    else f"{entry.get('gbs', 0):.1f} GB/s")
            rows.append([r["case"], r["variant"], fmt_time(entry["median_s"]), rate])
        return header, rows
    names = _contender_names(records)
    ratio_keys = []
    for r in records:
        for k in r["ratios"]:
            if k not in ratio_keys:
                ratio_keys.append(k)
    has_flops = any(r.get("flops") for r in records)
    has_bytes = any(r.get("bytes") for r in records)
    has_nodes = any(r.get("nodes") for r in records)
    header = ["case", "variant"] + [f"{n} time" for n in names] + ratio_keys
    rate_names = [n for n in names if n in ("ours", "torch", "numpy", "copy", "micrograd")]
    if has_flops:
        header += [f"{n} GFLOP/s" for n in rate_names if n != "copy"]
        if any("fraction_of_peak" in c for r in records for c in r["contenders"].values()):
            header += ["ours % peak", "torch % peak"]
    elif has_bytes:
        header += [f"{n} GB/s" for n in rate_names]
        if section == "kernels":
            header += ["ours % copy"]
    elif has_nodes:
        header += [f"{n} nodes/s" for n in rate_names]
    rows = []
    for r in records:
        c = r["contenders"]
        row = [r["case"], r["variant"]]
        row += [fmt_time(c[n]["median_s"]) if n in c else "-" for n in names]
        row += [_fmt_ratio(r["ratios"].get(k), with_range) for k in ratio_keys]
        if has_flops:
            row += [_fmt_num(c[n].get("gflops")) if n in c else "-"
                    for n in rate_names if n != "copy"]
            if "ours % peak" in header:
                row += [f"{100 * c[n]['fraction_of_peak']:.0f}%"
                        if n in c and "fraction_of_peak" in c[n] else "-"
                        for n in ("ours", "torch")]
        elif has_bytes:
            row += [_fmt_num(c[n].get("gbs")) if n in c else "-" for n in rate_names]
            if section == "kernels":
                o = c.get("ours", {})
                row += [f"{100 * o['fraction_of_copy']:.0f}%" if "fraction_of_copy" in o
                        else "-"]
        elif has_nodes:
            row += [_fmt_num(c[n].get("nodes_per_s"), 0) if n in c else "-"
                    for n in rate_names]
        rows.append(row)
    if section == "models" and any("memory" in r for r in records):
        header += ["ours RSS", "torch RSS", "RSS ours/torch", "ours traced"]
        for r, row in zip(records, rows):
            m = r.get("memory") or {}
            row += [_fmt_mib(m.get("ours", {}).get("rss_delta_bytes")),
                    _fmt_mib(m.get("torch", {}).get("rss_delta_bytes")),
                    f"{m['rss_ratio']:.2f}" if m.get("rss_ratio") else "-",
                    _fmt_mib(m.get("ours", {}).get("tracemalloc_peak_bytes"))]
    return header, rows


def _fmt_mib(nbytes) -> str:
    return "-" if nbytes is None else f"{nbytes / 2**20:.1f} MiB"


def slowest_conv_rows(records, n: int = 5):
    """Header and rows of the ``n`` model-set conv shapes slowest against PyTorch (fwd+bwd),
    with their forward and backward ratios beside."""
    model = [r for r in records if r["section"] == "conv"
             and r["params"].get("group") == "model" and "ours/torch" in r["ratios"]]
    by_case = {}
    for r in model:
        by_case.setdefault(r["case"], {})[r["params"].get("mode")] = r
    ranked = sorted((c for c in by_case.values() if "fwd+bwd" in c),
                    key=lambda c: -c["fwd+bwd"]["ratios"]["ours/torch"]["median"])[:n]
    header = ["case", "shape", "fwd+bwd ours/torch", "fwd", "bwd", "ours GFLOP/s",
              "torch GFLOP/s"]
    rows = []
    for c in ranked:
        both = c["fwd+bwd"]
        rows.append([both["case"], both["params"].get("describe", ""),
                     _fmt_ratio(both["ratios"]["ours/torch"], True)]
                    + [_fmt_ratio(c[m]["ratios"].get("ours/torch"), False) if m in c else "-"
                       for m in ("fwd", "bwd")]
                    + [_fmt_num(both["contenders"].get(k, {}).get("gflops"))
                       for k in ("ours", "torch")])
    return header, rows


def _plain_table(header, rows) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def _md_table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _by_section(doc):
    out = {}
    for r in doc["records"]:
        out.setdefault(r["section"], []).append(r)
    return out


def _target_rows(doc):
    rows = []
    for t in doc["targets"]:
        value = "-" if t["value"] is None else (
            f"{t['value']:.2f} {t['unit']}" if t["unit"] != "s" else fmt_time(t["value"]))
        limit = ("<= " if not t["higher_is_better"] else ">= ") + f"{t['limit']}"
        goal = "-" if t["goal"] is None else f"{t['goal']}"
        best = t.get("value_of_best")
        best = "-" if best is None else f"{best:.2f}"
        rows.append([t["name"], value, best, limit, goal, t["status"]])
    return ["target", "measured", "best samples", "limit", "goal", "status"], rows


def machine_line(m: dict) -> str:
    numba = m.get("numba") or {}
    torch = m.get("torch")
    blas_info = m.get("blas") or {}
    blas = blas_info.get("numpy_blas", "?")
    kernels = sorted({p["arch"] for p in blas_info.get("runtime_pools") or []
                      if p.get("library") == "openblas" and p.get("arch")})
    if kernels:
        blas += f", {'/'.join(kernels)} kernels"
    for name, value in (blas_info.get("env") or {}).items():
        blas += f", {name}={value}"
    parts = [
        f"{m.get('cpu')} ({m.get('usable_cpus')} usable cores, "
        f"{', '.join(m.get('cpu_flags') or [])}), {m.get('mem_total_gib')} GiB",
        f"{m.get('os')}, Python {m.get('python')}",
        f"NumPy {m.get('numpy')} ({blas})",
        f"Numba {numba.get('version')} (threading layer {numba.get('threading_layer')}, "
        f"{numba.get('threads')} threads)",
        (f"PyTorch {torch['version']} ({torch.get('threads')} threads, "
         f"{torch.get('parallel_backend', '?')})") if torch else "PyTorch not installed",
        f"micrograd {m['micrograd']}" if m.get("micrograd") else "micrograd not installed",
        f"commit {m.get('git_commit')}",
    ]
    return "; ".join(parts)


def loaded(machine: dict) -> bool:
    """True when other processes kept more than a quarter of a core busy on average.

    Measured from ``/proc/stat`` minus the suite's own CPU time (``others_cpu_cores``);
    without it, judged from the load average at the end (beyond what the run itself,
    using every core, accounts for).
    """
    others = machine.get("others_cpu_cores")
    if others is not None:
        return others > 0.25
    cores = machine.get("usable_cpus") or 1
    end = machine.get("loadavg_end")
    return bool(end and end[0] > cores + 1.0)


def console_summary(doc) -> str:
    """The plain-text tables printed at the end of a run."""
    out = [f"Benchmarks ({doc['mode']} mode), {doc['machine']['date_utc']}",
           machine_line(doc["machine"]), ""]
    for section, records in _by_section(doc).items():
        out.append(f"== {SECTION_TITLES.get(section, section)}")
        out.append(_plain_table(*section_table(records)))
        out.append("")
        if section == "conv":
            header, rows = slowest_conv_rows(records)
            if rows:
                out += ["Slowest five model-set shapes against PyTorch (fwd+bwd):",
                        _plain_table(header, rows), ""]
    out.append("== Targets (goals, not assertions)")
    out.append(_plain_table(*_target_rows(doc)))
    checks = doc["checks"]
    failed = [c for c in checks if not c["passed"]]
    out.append(f"\nCross-checks: {len(checks) - len(failed)} passed, {len(failed)} failed")
    for c in failed:
        out.append(f"  FAILED {c['section']} {c['case']}: {c['contender']} vs "
                   f"{c['reference']}: {c['detail']}")
    for section, info in doc["sections"].items():
        if info["status"] != "ok":
            out.append(f"section {section}: {info['status']} {info.get('reason', '')}".rstrip())
    out.append(f"Total {doc['duration_s']:.1f} s")
    if loaded(doc["machine"]):
        out.append(f"WARNING: the machine was busy (other processes used "
                   f"{doc['machine'].get('others_cpu_cores')} cores on average, load "
                   f"{doc['machine']['loadavg_start']} -> {doc['machine']['loadavg_end']}): "
                   "numbers are distorted")
    return "\n".join(out)


def markdown_report(doc, plots=()) -> str:
    """The Markdown report: machine, targets, one table per section, checks, notes."""
    m = doc["machine"]
    lines = [
        f"# Benchmark report ({doc['mode']} mode)", "",
        f"Measured {m['date_utc']} in {doc['duration_s']:.0f} s on: {machine_line(m)}.", "",
        "Times are medians over interleaved repetitions; a ratio a/b is the median of "
        "the per-repetition ratios t(a)/t(b) (below 1: a is faster), with its min-max in "
        "parentheses. Settings: " + ", ".join(f"{k}={v}" for k, v in doc["settings"].items())
        + ".", "",
        "## Targets (goals, not assertions)", "",
    ]
    if doc["mode"] == "quick":
        lines += ["Quick mode: tiny shapes and 3 repetitions, so these values are not "
                  "comparable with the targets (run the full mode).", ""]
    lines += [_md_table(*_target_rows(doc)), ""]
    load = (m.get("loadavg_start"), m.get("loadavg_end"))
    if all(load):
        lines += [f"Load average (1, 5, 15 min) at start {load[0]}, at end {load[1]} "
                  f"on {m.get('usable_cpus')} cores.", ""]
    if m.get("others_cpu_cores") is not None:
        lines += [f"Other processes used {m['others_cpu_cores']:.2f} of the "
                  f"{m.get('usable_cpus')} cores on average during the run.", ""]
    if loaded(m):
        lines += ["**Warning: other processes kept the machine busy during this run.** "
                  "A multi-threaded kernel then waits for a descheduled thread and gets one "
                  "core where it expected two, so times and ratios of this run are "
                  "distorted; rerun on a quiet machine.", ""]
    peak = doc.get("peak") or {}
    if peak.get("matmul"):
        lines += ["Reference limits of this machine, measured in the same run: "
                  + ", ".join(f"np.matmul {dt} {v['gflops']:.0f} GFLOP/s (n={v['n']})"
                              for dt, v in peak["matmul"].items())
                  + "; " + ", ".join(f"copy {k} {v['gbs']:.1f} GB/s"
                                     for k, v in peak.get("copy", {}).items()) + ".", ""]
    summaries = doc.get("summaries") or {}
    if summaries:
        lines += ["## Summary (geometric means of median paired ratios)", "",
                  _md_table(["summary", "geomean", "of best samples", "cases"],
                            [[k, f"{v['geomean']:.2f}",
                              "-" if v.get("geomean_of_best") is None
                              else f"{v['geomean_of_best']:.2f}", str(v["cases"])]
                             for k, v in summaries.items()]), ""]
    for section, records in _by_section(doc).items():
        lines += [f"## {SECTION_TITLES.get(section, section)}", ""]
        described = {r["case"]: r["params"].get("describe") for r in records
                     if r["params"].get("describe")}
        if described:
            lines.append("Shapes: " + "; ".join(f"`{k}` {v}" for k, v in described.items())
                         + ".")
            lines.append("")
        lines += [_md_table(*section_table(records, with_range=True)), ""]
        if section == "conv":
            header, rows = slowest_conv_rows(records)
            if rows:
                lines += ["The five model-set shapes (ResNet-18 CIFAR w16/w64 and ImageNet, "
                          "MobileNet pairs; bias-free) slowest against PyTorch in fwd+bwd:",
                          "", _md_table(header, rows), ""]
        for r in records:
            prof = r.get("profile")
            if prof:
                rows = [[name, f"{1e3 * v['forward_s']:.1f}", f"{1e3 * v['backward_s']:.1f}",
                         str(v["calls"])] for name, v in list(prof["ops"].items())[:8]]
                rows.append(["other (graph, engine, optimizer)",
                             f"{1e3 * prof['other_s']:.1f}", "", ""])
                lines += [f"Our `{r['case']}` step by op (one step of "
                          f"{1e3 * prof['total_s']:.0f} ms with per-op timers):", "",
                          _md_table(["op", "forward ms", "backward ms", "calls"], rows), ""]
        if section == "models" and any("memory" in r for r in records):
            lines += ["Memory (fresh process): *RSS* is the peak growth of the resident "
                      "set during one step (kernel high-water mark reset before the "
                      "step; glibc told to unmap freed blocks of 64 KiB or more), "
                      "*traced* the tracemalloc peak of our step (Numba-internal "
                      "allocations are not traced).", ""]
        for r in records:
            if "peak_memory_bytes" in r:
                lines += [f"Peak traced memory of one `{r['case']}` step (ours, "
                          f"tracemalloc): {r['peak_memory_bytes'] / 2**20:.1f} MiB; the "
                          f"outputs of all its layers take "
                          f"{r.get('activation_bytes', 0) / 2**20:.1f} MiB, the input batch "
                          f"{r.get('input_bytes', 0) / 2**20:.2f} MiB."
                          + (f" A kept `loss` (the user keeps each step's loss in a list) "
                             f"holds {r['kept_loss_bytes'] / 2**10:.1f} KiB per step "
                             "(PyTorch: about 15 KiB)." if "kept_loss_bytes" in r else ""),
                          ""]
        for note in doc["notes"].get(section, []):
            lines.append(f"- {note}")
        if doc["notes"].get(section):
            lines.append("")
    checks = doc["checks"]
    failed = [c for c in checks if not c["passed"]]
    lines += ["## Cross-checks", "",
              f"{len(checks) - len(failed)} of {len(checks)} output comparisons agreed "
              "(contenders that disagree are not timed).", ""]
    for c in failed:
        lines.append(f"- FAILED {c['section']} {c['case']}: {c['contender']} vs "
                     f"{c['reference']}: {c['detail']}")
    skipped = {k: v for k, v in doc["sections"].items() if v["status"] != "ok"}
    if skipped:
        lines += ["", "## Sections not run", ""]
        lines += [f"- {k}: {v['status']} {v.get('reason', '')}" for k, v in skipped.items()]
    if plots:
        lines += ["", "## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in plots]
    return "\n".join(lines) + "\n"


def write_json(doc, path: Path) -> None:
    path.write_text(json.dumps(doc, indent=1, default=float) + "\n")


def write_markdown(doc, path: Path, plots=()) -> None:
    path.write_text(markdown_report(doc, plots))
