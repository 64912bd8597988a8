"""The targets of issues 8 and 17, evaluated on a run's records (goals, never assertions).

Each target is a summary number (mostly a geometric mean of paired ratios) with a limit
and a goal.  Status: ``goal met`` (at or better than the goal), ``met`` (within the
limit), ``missed``, or ``not measured`` (a contender or section was absent).
"""

from __future__ import annotations

from benchmarks.timing import geomean

__all__ = ["evaluate", "summaries"]


def _ratios(records, section, key, *, case_prefix="", variant_suffix="", target_only=False,
            field="median", group=None):
    out = []
    for r in records:
        if r["section"] != section or not r["case"].startswith(case_prefix):
            continue
        if group is not None and r.get("params", {}).get("group", "kernel") != group:
            continue
        if not r["variant"].endswith(variant_suffix):
            continue
        if target_only and not r.get("params", {}).get("in_target", True):
            continue
        if key in r["ratios"] and r["ratios"][key].get(field) is not None:
            out.append(r["ratios"][key][field])
    return out


def summaries(records) -> dict:
    """Geometric means per section/variant (ratios below 1: ours is faster)."""
    out = {}
    for dtype in ("float32", "float64"):
        for mode in ("fwd", "bwd", "fwd+bwd"):
            for key in ("ours/torch", "ours/numpy"):
                vals = _ratios(records, "conv", key, variant_suffix=f"{dtype} {mode}",
                               target_only=True, group="kernel")
                best = _ratios(records, "conv", key, variant_suffix=f"{dtype} {mode}",
                               target_only=True, field="of_best", group="kernel")
                if vals:
                    out[f"conv {dtype} {mode} {key}"] = {"geomean": geomean(vals),
                                                         "geomean_of_best": geomean(best),
                                                         "cases": len(vals)}
    for mode in ("fwd", "bwd", "fwd+bwd"):  # the model set (issue 17): float32, vs torch
        vals = _ratios(records, "conv", "ours/torch", variant_suffix=f"float32 {mode}",
                       group="model")
        best = _ratios(records, "conv", "ours/torch", variant_suffix=f"float32 {mode}",
                       group="model", field="of_best")
        if vals:
            out[f"conv model-set float32 {mode} ours/torch"] = {
                "geomean": geomean(vals), "geomean_of_best": geomean(best), "cases": len(vals)}
    for mode in ("fwd", "bwd", "fwd+bwd"):
        vals = _ratios(records, "norm", "ours/torch", variant_suffix=f" {mode}")
        best = _ratios(records, "norm", "ours/torch", variant_suffix=f" {mode}", field="of_best")
        if vals:
            out[f"batch_norm2d {mode} ours/torch"] = {"geomean": geomean(vals),
                                                      "geomean_of_best": geomean(best),
                                                      "cases": len(vals)}
    for kind in ("max_pool2d", "avg_pool2d"):
        for mode in ("fwd", "bwd", "fwd+bwd"):
            for key in ("ours/torch", "ours/numpy"):
                vals = _ratios(records, "pool", key, case_prefix=kind,
                               variant_suffix=f" {mode}")
                best = _ratios(records, "pool", key, case_prefix=kind,
                               variant_suffix=f" {mode}", field="of_best")
                if vals:
                    out[f"{kind} {mode} {key}"] = {"geomean": geomean(vals),
                                                   "geomean_of_best": geomean(best),
                                                   "cases": len(vals)}
    for mode in ("fwd", "fwd+bwd"):
        vals = _ratios(records, "engine", "ours/torch", variant_suffix=f" {mode}")
        best = _ratios(records, "engine", "ours/torch", variant_suffix=f" {mode}",
                       field="of_best")
        if vals:
            out[f"tiny ops {mode} ours/torch"] = {"geomean": geomean(vals),
                                                  "geomean_of_best": geomean(best),
                                                  "cases": len(vals)}
    for op in ("im2col", "col2im"):
        for key in ("ours/numpy", "ours/copy"):
            vals = _ratios(records, "kernels", key, variant_suffix=op)
            best = _ratios(records, "kernels", key, variant_suffix=op, field="of_best")
            if vals:
                out[f"{op} {key}"] = {"geomean": geomean(vals), "geomean_of_best": geomean(best),
                                      "cases": len(vals)}
    return out


def _status(value, limit, goal, higher_is_better=False):
    if value is None:
        return "not measured"
    better = (lambda a, b: a >= b) if higher_is_better else (lambda a, b: a <= b)
    if goal is not None and better(value, goal):
        return "goal met"
    if better(value, limit):
        return "met"
    return "missed"


def _first(records, section, case, variant_part):
    for r in records:
        if r["section"] == section and r["case"] == case and variant_part in r["variant"]:
            return r
    return None


def evaluate(records) -> list[dict]:
    """The targets with their measured values and status."""
    s = summaries(records)
    targets = []

    def add(name, value, limit, goal, unit, how, higher=False, best=None):
        targets.append({"name": name, "value": value, "value_of_best": best, "limit": limit,
                        "goal": goal, "unit": unit, "how": how, "higher_is_better": higher,
                        "status": _status(value, limit, goal, higher)})

    def both(key):
        entry = s.get(key, {})
        return entry.get("geomean"), entry.get("geomean_of_best")

    def inverse(v):
        return 1 / v if v else None

    value, best = both("conv float32 fwd+bwd ours/torch")
    add("conv2d fwd+bwd vs PyTorch", value, 1.5, 1.0, "x time",
        "geomean over the float32 shape set of median paired ratios t(ours)/t(torch)",
        best=best)
    value, best = both("conv float32 fwd+bwd ours/numpy")
    add("conv2d fwd+bwd speed-up over NumPy im2col", inverse(value), 3.0, None, "x faster",
        "1 / geomean over the float32 shape set of t(ours)/t(numpy)", higher=True,
        best=inverse(best))
    value, best = both("max_pool2d fwd+bwd ours/torch")
    add("max_pool2d fwd+bwd vs PyTorch", value, 0.8, 0.5, "x time",
        "geomean over the pool shapes of t(ours)/t(torch)", best=best)
    lenet = _first(records, "training", "lenet", "train step")
    ratio = lenet["ratios"].get("ours/torch", {}) if lenet else {}
    add("LeNet training step vs PyTorch", ratio.get("median"), 2.0, 1.2, "x time",
        "median paired ratio t(ours)/t(torch), batch 128, SGD momentum",
        best=ratio.get("of_best"))
    value, best = both("tiny ops fwd+bwd ours/torch")
    add("tiny-op overhead vs PyTorch eager", value, 2.0, 1.5, "x time",
        "geomean over 0-d and 2x2 ops of t(ours)/t(torch), forward+backward", best=best)
    for suffix, name, goal, how in (
            (" fwd+bwd", "scalar graph per node vs micrograd", 0.67,
             "graphs freed off the clock for every engine"),
            (" fwd+bwd+free ours", "scalar graph per node, ours freeing on the clock", None,
             "ours frees its graph on the clock; micrograd's cyclic graph is still freed "
             "by the collector off it")):
        scalar = next((r for r in records if r["section"] == "scalar"
                       and r["variant"].endswith(suffix)), None)
        ratio = scalar["ratios"].get("ours/micrograd", {}) if scalar else {}
        add(name, ratio.get("median"), 1.0, goal, "x time",
            "median paired ratio t(ours)/t(micrograd) on the same moons MLP graph "
            f"(collector run before each sample, so neither pays for the other's garbage; "
            f"{how})", best=ratio.get("of_best"))
    warm = next((r for r in records if r["section"] == "compile"
                 and r["variant"].startswith("warm")), None)
    value = warm["contenders"]["ours"]["first_call_s"] if warm else None
    add("first call with a warm Numba cache", value, 1.0, None, "s",
        "first conv2d+max_pool2d forward+backward in a fresh process (import not included)")
    targets.extend(issue17_targets(records, s))
    return targets


def _step_ratio(records, case):
    rec = _first(records, "models", case, "train step")
    ratio = rec["ratios"].get("ours/torch", {}) if rec else {}
    return ratio.get("median"), ratio.get("of_best")


def issue17_targets(records, s) -> list[dict]:
    """Issue 17: real models at PyTorch's speed; limits are the issue's goals."""
    out = []

    def add(name, value, limit, unit, how, higher=False, best=None):
        out.append({"name": name, "value": value, "value_of_best": best, "limit": limit,
                    "goal": None, "unit": unit, "how": how, "higher_is_better": higher,
                    "status": _status(value, limit, None, higher)})

    step = ("median paired ratio t(ours)/t(torch) of one training step (zero_grad, "
            "forward, loss, backward, SGD momentum), same initial weights, float32")
    for case, label in (("resnet18_w16", "ResNet-18 CIFAR w16 step vs PyTorch"),
                        ("resnet18_w64", "ResNet-18 CIFAR w64 step vs PyTorch"),
                        ("vgg_bn", "VGG-style + BN step vs PyTorch"),
                        ("lstm_lm", "LSTM LM step vs PyTorch"),
                        ("transformer_lm", "Transformer LM step vs PyTorch")):
        value, best = _step_ratio(records, case)
        add(label, value, 1.0, "x time", step, best=best)
    entry = s.get("conv model-set float32 fwd+bwd ours/torch", {})
    add("conv2d fwd+bwd vs PyTorch, model shape set", entry.get("geomean"), 0.9, "x time",
        "geomean over the ResNet-18/MobileNet convs (bias-free) of median paired ratios",
        best=entry.get("geomean_of_best"))
    model = [r for r in records if r["section"] == "conv"
             and r.get("params", {}).get("group") == "model"
             and r["variant"] == "float32 fwd+bwd" and "ours/torch" in r["ratios"]]
    worst = max(model, key=lambda r: r["ratios"]["ours/torch"]["median"], default=None)
    add("slowest conv shape fwd+bwd vs PyTorch",
        worst["ratios"]["ours/torch"]["median"] if worst else None, 1.3, "x time",
        "largest median paired ratio over the model shape set"
        + (f" ({worst['case']}: {worst['params'].get('describe')})" if worst else ""),
        best=worst["ratios"]["ours/torch"].get("of_best") if worst else None)
    from benchmarks.cases.conv import LARGE_CHANNELS

    large = [r for r in model if r["params"]["C"] // r["params"]["groups"] >= LARGE_CHANNELS
             and r["params"]["OC"] >= LARGE_CHANNELS and r["params"]["k"] > 1]
    fractions = [r["contenders"]["ours"].get("fraction_of_peak") for r in large]
    add("conv on large-channel layers, fraction of np.matmul peak", geomean(fractions), 0.7,
        "of peak", f"geomean over the {len(large)} model-set convs with C, OC >= "
        f"{LARGE_CHANNELS} (k > 1) of ours' fwd+bwd GFLOP/s / float32 matmul GFLOP/s",
        higher=True)
    entry = s.get("batch_norm2d fwd+bwd ours/torch", {})
    add("batch norm 2d fwd+bwd vs PyTorch", entry.get("geomean"), 1.0, "x time",
        "geomean over the norm section's shapes of median paired ratios (training mode)",
        best=entry.get("geomean_of_best"))
    ratios = []
    for case in ("resnet18_w16", "resnet18_w64"):
        rec = _first(records, "models", case, "train step")
        if rec and rec.get("memory", {}).get("rss_ratio"):
            ratios.append(rec["memory"]["rss_ratio"])
    add("peak memory of a ResNet step vs PyTorch", geomean(ratios), 1.0, "x bytes",
        "geomean over ResNet-18 w16/w64 of the peak RSS growth of one step, ours / torch "
        "(fresh process, kernel high-water mark)")
    return out
