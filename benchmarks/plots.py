"""PNG plots of a run document (matplotlib, Agg backend; skipped when not installed).

* ``conv_gflops.png``: conv2d forward+backward GFLOP/s per kernel-set shape (float32),
  one bar per contender, with the matmul peak as a line: how far each shape is from the machine.
* ``ratios.png``: paired time ratios ours/PyTorch and ours/NumPy per case (log scale,
  1 = parity, left of 1 = ours faster), for conv (both sets), pooling, batch norm, tiny
  ops, training and the models' steps.
* ``bandwidth.png``: im2col/col2im/pooling GB/s, ours against NumPy and the copy.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["write_plots"]

COLORS = {"ours": "#1f77b4", "torch": "#ff7f0e", "numpy": "#2ca02c", "naive": "#7f7f7f",
          "copy": "#9467bd", "micrograd": "#8c564b"}


def _conv_gflops(plt, doc, path):
    # The kernel set only: the model set's 41 shapes are in the ratio plot and tables.
    recs = [r for r in doc["records"] if r["section"] == "conv"
            and r["variant"] == "float32 fwd+bwd"
            and r["params"].get("group", "kernel") == "kernel"]
    if not recs:
        return None
    names = [n for n in ("ours", "torch", "numpy", "naive")
             if any(n in r["contenders"] for r in recs)]
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(recs) + 2), 4.5))
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        xs = [i + (k - (len(names) - 1) / 2) * width for i in range(len(recs))]
        ys = [r["contenders"].get(name, {}).get("gflops", 0.0) for r in recs]
        ax.bar(xs, ys, width, label=name, color=COLORS.get(name))
    peak = doc.get("peak", {}).get("matmul", {}).get("float32", {}).get("gflops")
    if peak:
        ax.axhline(peak, color="black", linestyle="--", linewidth=1,
                   label=f"np.matmul peak {peak:.0f}")
    ax.set_xticks(range(len(recs)))
    ax.set_xticklabels([r["case"] for r in recs], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("GFLOP/s (float32 forward+backward)")
    ax.set_title("conv2d throughput per shape")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _ratio_rows(doc):
    rows = []
    for r in doc["records"]:
        sec, var = r["section"], r["variant"]
        wanted = (
            (sec == "conv" and var == "float32 fwd+bwd")
            or (sec == "pool" and var.endswith("fwd+bwd"))
            or (sec == "engine" and var.endswith("fwd+bwd"))
            or (sec == "training" and "train step" in var)
            or (sec == "models" and "train step" in var)
            or (sec == "norm" and var.endswith("fwd+bwd"))
        )
        if wanted:
            rows.append((f"{sec}: {r['case']}", r["ratios"].get("ours/torch", {}).get("median"),
                         r["ratios"].get("ours/numpy", {}).get("median")))
    return rows


def _ratios(plt, doc, path):
    rows = _ratio_rows(doc)
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(8, max(3, 0.28 * len(rows) + 1.2)))
    ys = range(len(rows))
    h = 0.4
    t = [v if v else 0 for _, v, _ in rows]
    n = [v if v else 0 for _, _, v in rows]
    ax.barh([y - h / 2 for y in ys], t, h, label="ours / torch", color=COLORS["torch"])
    ax.barh([y + h / 2 for y in ys], n, h, label="ours / numpy", color=COLORS["numpy"])
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(list(ys))
    ax.set_yticklabels([name for name, _, _ in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time ratio (median of paired repetitions; < 1: ours faster)")
    ax.set_title("ours against PyTorch and NumPy")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _bandwidth(plt, doc, path):
    recs = [r for r in doc["records"] if r["section"] == "kernels"
            or (r["section"] == "pool" and r["variant"].endswith("fwd+bwd"))]
    if not recs:
        return None
    names = [n for n in ("ours", "torch", "numpy", "copy")
             if any(n in r["contenders"] for r in recs)]
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(recs) + 2), 4.5))
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        xs = [i + (k - (len(names) - 1) / 2) * width for i in range(len(recs))]
        ys = [r["contenders"].get(name, {}).get("gbs", 0.0) for r in recs]
        ax.bar(xs, ys, width, label=name, color=COLORS.get(name))
    ax.set_xticks(range(len(recs)))
    labels = [f"{r['case']} {r['variant'].split()[-1]}" for r in recs]
    ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("GB/s (logical bytes)")
    ax.set_title("memory-bound kernels")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(doc, out_dir: Path) -> list[Path]:
    """Write the PNGs that have data; return their paths (empty without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    for name, fn in (("conv_gflops.png", _conv_gflops), ("ratios.png", _ratios),
                     ("bandwidth.png", _bandwidth)):
        path = fn(plt, doc, out_dir / name)
        if path is not None:
            written.append(path)
    return written
