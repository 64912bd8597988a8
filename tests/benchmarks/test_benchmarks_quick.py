"""The quick benchmark suite runs end to end and writes well-formed outputs.

It runs ``python -m benchmarks --quick`` in a subprocess (so thread settings and the
collector freeze of the run do not leak into the test process) and checks the JSON
document against the schema of ``benchmarks/README.md``, the Markdown report and the
PNG plots, and that every timed contender was cross-checked first.  No timing is
asserted: the machine is shared and noisy, the numbers of a quick run are not results.
"""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_MPL = importlib.util.find_spec("matplotlib") is not None
HAS_MICROGRAD = importlib.util.find_spec("micrograd") is not None
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _run(out: Path, *extra: str):
    cmd = [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out), *extra]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = _run(out)
    return out, json.loads((out / "results.json").read_text()), proc.stdout


def _finite(x):
    return isinstance(x, (int, float)) and math.isfinite(x)


def test_json_document(quick_run):
    _, doc, _ = quick_run
    assert doc["schema"] == "autograd-core-bench/1"
    assert doc["mode"] == "quick"
    for key in ("cpu", "usable_cpus", "numpy", "numba", "blas", "date_utc", "python"):
        assert key in doc["machine"]
    assert doc["machine"]["numba"]["threading_layer"] is not None
    assert set(doc["peak"]["matmul"]) == {"float32", "float64"}
    assert doc["peak"]["matmul"]["float32"]["gflops"] > 0
    for name, info in doc["sections"].items():
        assert info["status"] == "ok", (name, info.get("reason"), info.get("traceback"))
    sections = {r["section"] for r in doc["records"]}
    assert {"peak", "kernels", "conv", "pool", "norm", "engine", "scalar", "training",
            "models", "optim", "threads", "compile"} <= sections
    for r in doc["records"]:
        assert r["contenders"], r
        for name, c in r["contenders"].items():
            assert _finite(c["median_s"]) and c["median_s"] > 0, (r["case"], name)
            if "min_s" in c:
                assert c["min_s"] <= c["median_s"] <= c["max_s"]
                assert len(c["samples_s"]) == doc["settings"]["reps"]
        for key, ratio in r["ratios"].items():
            a, b = key.split("/")
            assert a in r["contenders"] and b in r["contenders"]
            assert ratio["min"] <= ratio["median"] <= ratio["max"]
    conv = [r for r in doc["records"] if r["section"] == "conv"]
    assert {r["params"]["dtype"] for r in conv} == {"float32", "float64"}
    assert {r["params"]["mode"] for r in conv} == {"fwd", "bwd", "fwd+bwd"}
    assert all("fraction_of_peak" in r["contenders"]["ours"] for r in conv)
    assert any("naive" in r["contenders"] for r in conv)
    if HAS_TORCH:
        assert all("torch" in r["contenders"] for r in conv)
    names = {t["name"] for t in doc["targets"]}
    assert len(names) == len(doc["targets"]) == 18
    if HAS_TORCH:  # the issue-17 rows that quick mode measures
        measured = {t["name"] for t in doc["targets"] if t["value"] is not None}
        assert {"ResNet-18 CIFAR w16 step vs PyTorch", "VGG-style + BN step vs PyTorch",
                "LSTM LM step vs PyTorch", "Transformer LM step vs PyTorch",
                "conv2d fwd+bwd vs PyTorch, model shape set",
                "slowest conv shape fwd+bwd vs PyTorch",
                "batch norm 2d fwd+bwd vs PyTorch"} <= measured
    if HAS_MICROGRAD:  # both scalar records: graphs freed off the clock, and ours on it
        scalar = {r["variant"] for r in doc["records"] if r["section"] == "scalar"}
        assert {v.split(" ", 2)[2] for v in scalar} == {"fwd+bwd", "fwd+bwd+free ours"}
        assert {"scalar graph per node vs micrograd",
                "scalar graph per node, ours freeing on the clock"} <= {
            t["name"] for t in doc["targets"] if t["value"] is not None}
    if HAS_TORCH:
        models = [r for r in doc["records"] if r["section"] == "models"
                  and r["variant"].endswith("train step")]
        assert models and all(r["memory"]["ours"]["rss_delta_bytes"] >= 0 for r in models)
    assert all(t["status"] in {"goal met", "met", "missed", "not measured"}
               for t in doc["targets"])


def test_cross_checks_ran_and_passed(quick_run):
    _, doc, _ = quick_run
    checks = doc["checks"]
    assert checks and all(c["passed"] for c in checks), [c for c in checks if not c["passed"]]
    checked = {(c["section"], c["contender"]) for c in checks}
    for section in ("kernels", "conv", "pool", "norm", "training", "models", "optim", "engine",
                    "scalar"):
        assert any(s == section for s, _ in checked), f"no cross-check in {section}"
    # Every conv case and dtype that was timed was cross-checked first, ours included.
    conv_checked = {c["case"] for c in checks if c["section"] == "conv"
                    and "ours" in (c["contender"], c["reference"])}
    conv_timed = {f"{r['case']} {r['params']['dtype']}" for r in doc["records"]
                  if r["section"] == "conv"}
    assert conv_timed <= conv_checked


def test_markdown_report(quick_run):
    out, doc, stdout = quick_run
    text = (out / "report.md").read_text()
    assert text.startswith("# Benchmark report (quick mode)")
    assert doc["machine"]["date_utc"] in text and doc["machine"]["cpu"] in text
    for heading in ("## Targets", "## conv2d", "## Pooling", "## End to end", "## Cross-checks"):
        assert heading in text
    table_rows = [line for line in text.splitlines() if line.startswith("|")]
    assert len(table_rows) > 20
    for line in table_rows:  # every row of a table has as many cells as its header
        assert line.count("|") >= 3
    assert "Targets" in stdout and "Cross-checks" in stdout


@pytest.mark.skipif(not HAS_MPL, reason="matplotlib is not installed")
def test_plots(quick_run):
    out, _, _ = quick_run
    for name in ("conv_gflops.png", "ratios.png", "bandwidth.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000, name
    assert "![ratios](ratios.png)" in (out / "report.md").read_text()


def test_runs_without_torch(tmp_path):
    """PyTorch (and micrograd) are optional: their contenders are simply absent."""
    _run(tmp_path, "--no-torch", "--only", "conv,scalar", "--no-plots")
    doc = json.loads((tmp_path / "results.json").read_text())
    conv = [r for r in doc["records"] if r["section"] == "conv"]
    assert conv and not any("torch" in r["contenders"] for r in conv)
    assert all(c["passed"] for c in doc["checks"])
    assert not list(tmp_path.glob("*.png"))
