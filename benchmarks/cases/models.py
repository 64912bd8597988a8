"""End to end: training steps of real models against the same models in PyTorch.

Models (:mod:`benchmarks.model_zoo`, each written once against an ``nn`` namespace and
built from ``nn`` and from ``torch.nn``), float32, full mode:

| case | model | batch | input |
|---|---|---|---|
| ``resnet18_w16`` / ``resnet18_w64`` | ResNet-18 CIFAR-style, widths w..8w, BN | 32 | 3x32x32 |
| ``vgg_bn`` | 32-32-M-64-64-M-128-M + BN, Linear head | 64 | 3x32x32 |
| ``lenet5`` | LeNet-5 | 128 | 1x28x28 |
| ``mlp`` | 3072-1024-1024-10, ReLU | 128 | 3x32x32 |
| ``lstm_lm`` | Embedding 65 -> LSTM 128 (1 layer) -> Linear 65 | 32 | 64 chars |
| ``transformer_lm`` | d_model 64, 4 heads, 2 post-norm layers, ff 128, causal | 32 | 64 chars |

**Same start.** PyTorch builds its model under ``torch.manual_seed(0)``; its initial
``state_dict`` (converted to NumPy arrays) is loaded into ours, running BN statistics
included.  Inputs and integer targets are fixed NumPy arrays seen by both.

**One step** is ``opt.zero_grad(); loss = CrossEntropyLoss()(model(x), y);
loss.backward(); opt.step()`` with ``SGD(lr=0.01, momentum=0.9)``, models in training
mode, both libraries at the run's thread count (2 on the reference machine).

**Cross-check, before any timing.**  The first step is taken in both from the
identical start.  The two losses must agree to ``LOSS_RTOL = 1e-4`` (relative): float32
rounding (eps 6e-8) in a reduction of K terms grows like ``sqrt(K) * eps`` (K <= 4608
here: ~4e-6), and the loss of a 20-layer net composes a few dozen such steps, so honest
implementations differ by ~1e-6 relative (1e-7 is what we see), while a real mistake
(wrong padding, BN's eps or biased/unbiased variance, a missing bias, a wrong mask)
moves the loss by 1e-3 or more.  Every parameter's gradient must agree to
``GRAD_RTOL = 2e-2`` in relative L2 norm (``|g - g_torch| / |g_torch|`` per parameter).
That bound is loose on purpose: a ReLU input or a max-pool window's runner-up within
~1e-6 of the decision lands on the other side in the two libraries, and that one
element's whole gradient takes another path; with millions of activations per layer a
few such flips happen in every step, so early-layer gradients differ by up to ~5e-3 in
max norm and ~2e-3 in L2 norm (measured on ResNet-18 w64; the values even vary from
run to run with the threads' summation order).  A wrong backward formula is off by
O(1).  A case whose check fails is not timed and the run exits 1 (``CHECK FAILED`` in
the notes).

**Time per step**: interleaved repetitions (:mod:`benchmarks.timing`), reported as
the median paired ratio ours/torch.  Each sample is preceded by one untimed step of
the same library (:func:`_settled`): after a library's step its idle threads keep
spinning for a while (PyTorch's OpenMP workers for milliseconds; OpenBLAS's for 0.1 s
until ``kernels._threads.shorten_blas_spin``), and the first step of the other library
ran against them.  Measured on the 2-core Zen 3 (2026-12-03): our Transformer LM step
26.5 ms after one of ours, 31.7 ms right after one of PyTorch's; before the shorter
OpenBLAS spin, PyTorch's step after one of ours 105-121 ms against 25-34 ms after its
own, so earlier runs' ratios were too favourable to ours.  ResNet-18 w64 takes ~1 s
per step per library on two cores, so its repetitions are capped at ``HEAVY_REPS``.
ResNets and VGG also get a ``forward+loss`` variant (graph recorded, no backward): the
step minus it is backward plus the optimizer, a cheap breakdown of where the time goes.

**By op** (ResNets and VGG): one more step of ours with a timer around every op's
forward and backward (:mod:`benchmarks.op_profile`), stored as ``profile`` on the
train-step record: seconds per op name (Conv2d, BatchNorm, ReLU, ...), and ``other``
for graph recording, the engine and the optimizer.

**Peak memory**, measured in one fresh subprocess for all models (so neither the
timing's allocations nor the other sections' are in the picture):

* *RSS delta* (both libraries): the kernel's high-water mark of resident memory is
  reset (``echo 5 > /proc/self/clear_refs``, Linux >= 4.0) right before a step, then
  ``VmHWM`` after the step minus ``VmRSS`` before it is the step's peak growth of the
  process.  The kernel tracks the mark on every page mapping, so unlike a sampling
  thread it cannot miss a short peak, and unlike ``ru_maxrss`` it does not remember the
  warm-up.  The subprocess runs with ``MALLOC_MMAP_THRESHOLD_=65536`` and
  ``MALLOC_TRIM_THRESHOLD_=65536``: every block of 64 KiB or more is mapped on
  allocation and unmapped on free, so glibc does not keep one library's freed memory
  to hand to the other (or to the next step), and the delta is what the step really
  needs.  One warm-up step per library first (JIT, momentum buffers), then the smaller
  of two measured steps (allocator noise only adds).  The previous step's gradients are
  dropped (``zero_grad()``) before the baseline is read, so the delta is everything a
  step allocates (activations, saved tensors, gradients, workspaces) above the model,
  its momentum buffers and the batch.
* *tracemalloc peak* (ours): the traced Python+NumPy heap of one step above what was
  live before it.  Arrays that Numba kernels allocate internally are not traced by
  tracemalloc, so this can be lower than the RSS delta.

``memory`` on the train-step record holds both, with ``rss_ratio`` = ours / torch.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import subprocess
import sys
import tracemalloc
from dataclasses import dataclass, field

import numpy as np

from benchmarks import model_zoo
from benchmarks.context import to_numpy
from benchmarks.op_profile import profile_ops
from benchmarks.ours import Missing, training_api
from benchmarks.timing import Contender

SECTION = "models"
LOSS_RTOL = 1e-4
GRAD_RTOL = 2e-2
#: Repetitions of the ~1 s/step ResNet-18 w64 (the whole section stays near 2 minutes).
HEAVY_REPS = 5
LR, MOMENTUM = 0.01, 0.9


@dataclass(frozen=True)
class ModelCase:
    """One model: how to build it (``build(nn, mask)``), its batch and input."""

    name: str
    build: object
    batch: int
    #: ("image", C, H) for N x C x H x H inputs and 10 classes, ("chars", seq) for
    #: (batch, seq) indices into the character vocabulary with next-character targets.
    data: tuple
    describe: str
    heavy: bool = False
    breakdown: bool = False
    kwargs: dict = field(default_factory=dict)

    def make(self, nn, mask=None):
        return self.build(nn, mask, **self.kwargs)


def _resnet(nn, mask, **kw):
    return model_zoo.resnet18_cifar(nn, **kw)


def _vgg(nn, mask, **kw):
    return model_zoo.vgg_bn(nn, **kw)


def _lenet(nn, mask, **kw):
    return model_zoo.lenet5(nn, **kw)


def _mlp(nn, mask, **kw):
    return model_zoo.mlp(nn, **kw)


def _lstm(nn, mask, **kw):
    return model_zoo.lstm_lm(nn, **kw)


def _transformer(nn, mask, **kw):
    return model_zoo.transformer_lm(nn, mask, **kw)


FULL_CASES = (
    ModelCase("resnet18_w16", _resnet, 32, ("image", 3, 32),
              "ResNet-18 CIFAR w16, batch 32, 32x32", breakdown=True, kwargs={"width": 16}),
    ModelCase("resnet18_w64", _resnet, 32, ("image", 3, 32),
              "ResNet-18 CIFAR w64, batch 32, 32x32", heavy=True, breakdown=True,
              kwargs={"width": 64}),
    ModelCase("vgg_bn", _vgg, 64, ("image", 3, 32), "VGG 32-32-M-64-64-M-128-M + BN, batch 64",
              breakdown=True),
    ModelCase("lenet5", _lenet, 128, ("image", 1, 28), "LeNet-5, batch 128, 28x28"),
    ModelCase("mlp", _mlp, 128, ("image", 3, 32), "MLP 3072-1024-1024-10, batch 128"),
    ModelCase("lstm_lm", _lstm, 32, ("chars", 64), "LSTM LM 65->128->65, seq 64, batch 32"),
    ModelCase("transformer_lm", _transformer, 32, ("chars", 64),
              "Transformer LM d64 h4 L2 ff128 causal, seq 64, batch 32"),
)

#: Quick mode (CI): the same code paths on tiny models and batches.
QUICK_CASES = (
    ModelCase("resnet18_w16", _resnet, 2, ("image", 3, 16), "ResNet-18 w4, batch 2, 16x16",
              breakdown=True, kwargs={"width": 4}),
    # Batch 2: at batch 4 two inputs of one max-pool window differ by 2e-6 and float32
    # rounding picks the other one (see the module docstring on gradient checks).
    ModelCase("vgg_bn", _vgg, 2, ("image", 3, 16), "VGG + BN, batch 2, 16x16",
              kwargs={"size": 16}),
    ModelCase("lenet5", _lenet, 8, ("image", 1, 28), "LeNet-5, batch 8"),
    ModelCase("mlp", _mlp, 8, ("image", 3, 8), "MLP 192-32-32-10, batch 8",
              kwargs={"sizes": (192, 32, 32, 10)}),
    ModelCase("lstm_lm", _lstm, 4, ("chars", 12), "LSTM LM 65->16->65, seq 12, batch 4",
              kwargs={"hidden": 16}),
    ModelCase("transformer_lm", _transformer, 4, ("chars", 12),
              "Transformer LM d16 h2 L2 ff32, seq 12, batch 4",
              kwargs={"d_model": 16, "heads": 2, "ff": 32, "seq": 12}),
)


def cases(quick: bool):
    return QUICK_CASES if quick else FULL_CASES


def make_batch(case: ModelCase, seed: int = 0):
    """Fixed float32 inputs (or int64 indices) and int64 targets for ``case``."""
    rng = np.random.default_rng(seed)
    if case.data[0] == "image":
        _, c, h = case.data
        x = rng.standard_normal((case.batch, c, h, h)).astype(np.float32)
        y = rng.integers(0, 10, case.batch).astype(np.int64)
        return x, y
    seq = case.data[1]
    text = rng.integers(0, model_zoo.VOCAB, (case.batch, seq + 1)).astype(np.int64)
    return text[:, :-1].copy(), text[:, 1:].reshape(-1).copy()


class Engine:
    """One library's model, optimizer and fixed batch, with a ``step`` to time."""

    def __init__(self, nn, optim, model, x, y, wrap):
        self.model = model
        self.crit = nn.CrossEntropyLoss()
        self.opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
        self.x, self.y = wrap(x), wrap(y)

    def step(self):
        self.opt.zero_grad()
        loss = self.crit(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        return loss

    def forward(self):
        return self.crit(self.model(self.x), self.y)

    def first_step(self):
        """Loss and gradients (sorted by parameter name) of one step: the cross-check."""
        loss = self.step()
        grads = [p.grad for _, p in sorted(self.model.named_parameters())]
        return [loss], grads


def build_pair(case: ModelCase, torch):
    """(ours, torch) Engines of ``case`` from PyTorch's initial weights (torch: None if absent)."""
    nn, optim = training_api()
    from autograd_core import Tensor

    x, y = make_batch(case)
    mask = None
    if case.data[0] == "chars":
        mask = model_zoo.causal_mask(case.data[1])
    ours_model = case.make(nn, None if mask is None else Tensor(mask))
    theirs = None
    if torch is not None:
        torch.manual_seed(0)
        torch_model = case.make(torch.nn, None if mask is None else torch.from_numpy(mask))
        state = {k: v.detach().numpy().copy() for k, v in torch_model.state_dict().items()}
        ours_model.load_state_dict(state)
        theirs = Engine(torch.nn, torch.optim, torch_model, x, y, torch.from_numpy)
    ours = Engine(nn, optim, ours_model, x, y, Tensor)
    return ours, theirs


def cross_check(ctx, case: ModelCase, ours: Engine, theirs: Engine) -> bool:
    """First-step loss (``ctx.check``) and gradients (relative L2 per parameter); True
    when both pass.  Both comparisons are listed with the run's checks."""
    (ol, og), (tl, tg) = ours.first_step(), theirs.first_step()
    loss_ok = ctx.check(SECTION, f"{case.name} first-step loss", {"ours": ol, "torch": tl},
                        reference="torch", rtol=LOSS_RTOL)
    worst, detail = 0.0, ""
    names = [n for n, _ in sorted(ours.model.named_parameters())]
    for name, a, b in zip(names, og, tg):
        if a is None or b is None:
            if (a is None) != (b is None):
                worst, detail = float("inf"), f"{name}: gradient missing in one library"
            continue
        a, b = to_numpy(a).astype(np.float64), to_numpy(b).astype(np.float64)
        if a.shape != b.shape:
            worst, detail = float("inf"), f"{name}: shape {a.shape} != {b.shape}"
            continue
        norm = float(np.linalg.norm(b))
        err = float(np.linalg.norm(a - b)) / norm if norm > 0 else float(np.linalg.norm(a))
        if not np.isfinite(err):
            err = float("inf")
        if err > worst:
            worst, detail = err, f"{name}: relative L2 error {err:.3g}"
    passed = worst <= GRAD_RTOL
    ctx.checks.append({"section": SECTION, "case": f"{case.name} first-step gradients",
                       "contender": "ours", "reference": "torch", "max_rel_err": worst,
                       "rtol": GRAD_RTOL, "passed": passed,
                       "detail": "" if passed else f"{detail} > {GRAD_RTOL}"})
    if not passed:
        ctx.note(SECTION, f"CHECK FAILED {case.name} first-step gradients: {detail} "
                          f"> {GRAD_RTOL}")
    return "ours" in loss_ok and passed


def n_params(model) -> int:
    return int(sum(int(np.prod(p.shape)) for p in model.parameters()))


def run(ctx) -> None:
    torch = ctx.torch
    try:
        training_api()
    except Missing as why:
        ctx.note(SECTION, f"ours skipped: {why}")
        return
    if ctx.threads != 2:
        ctx.note(SECTION, f"run at {ctx.threads} threads (the targets assume 2)")
    records = {}
    for case in cases(ctx.quick):
        ours, theirs = build_pair(case, torch)
        engines = {"ours": ours}
        if theirs is not None:
            if cross_check(ctx, case, ours, theirs):
                engines["torch"] = theirs
            else:
                ctx.note(SECTION, f"{case.name}: first steps disagree, the case is not timed")
                continue
        else:
            ours.step()
        settings = ctx.settings
        if case.heavy and settings.reps > HEAVY_REPS:
            import dataclasses

            settings = dataclasses.replace(settings, reps=HEAVY_REPS)
        params = {"model": case.name, "describe": case.describe, "batch": case.batch,
                  "dtype": "float32", "optimizer": f"SGD(lr={LR}, momentum={MOMENTUM})",
                  "parameters": n_params(ours.model), "threads": ctx.threads}
        variants = [("train step", "step")] + ([("forward+loss", "forward")]
                                               if case.breakdown else [])
        for variant, attr in variants:
            res = ctx.compare({n: _settled(getattr(e, attr)) for n, e in engines.items()},
                              settings=settings)
            rec = ctx.record(SECTION, case.name, f"float32 b{case.batch} {variant}", res,
                             params=params, ratios=[("ours", "torch")])
            if variant == "train step":
                records[case.name] = rec
        if case.breakdown:
            records[case.name]["profile"] = profile = profile_ops(ours.step)
            top = list(profile["ops"].items())[:5]
            print(f"  models {case.name:15s} ours by op (one step, "
                  f"{profile['total_s'] * 1e3:.0f} ms): "
                  + ", ".join(f"{k} {1e3 * v['forward_s']:.0f}+{1e3 * v['backward_s']:.0f}"
                              for k, v in top)
                  + f", other {1e3 * profile['other_s']:.0f} ms (forward+backward)",
                  flush=True)
        r = records[case.name]["ratios"].get("ours/torch")
        print(f"  models {case.name:15s} {case.describe}: ours/torch "
              + (f"{r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f})" if r else "-"),
              flush=True)
        del ours, theirs, engines
        gc.collect()
    memory = measure_memory_subprocess(ctx)
    for name, entry in memory.items():
        if name in records:
            records[name]["memory"] = entry
    print("  models done", flush=True)


def _settled(fn):
    """``fn`` as a contender whose every sample follows one untimed call of it, so that
    the other library's still-spinning threads are not on its clock (module docstring)."""
    return Contender(fn, before=fn)


# ---------------------------------------------------------------------- memory
def _status() -> dict:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmHWM:", "VmRSS:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) * 1024
    return out


def rss_delta(step) -> int:
    """Peak growth of the resident set during ``step()`` (bytes; see the module docstring)."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current VmRSS
    before = _status()["VmRSS"]
    step()
    return max(0, _status()["VmHWM"] - before)


def traced_peak(step) -> int:
    """tracemalloc peak of ``step()`` above the traced memory live before it (bytes)."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        step()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def memory_of_case(case: ModelCase, torch) -> dict:
    ours, theirs = build_pair(case, torch)
    engines = {"ours": ours} | ({"torch": theirs} if theirs is not None else {})
    for e in engines.values():
        e.step()  # warm-up: JIT, momentum buffers, allocator
    rss = {name: [] for name in engines}
    for _ in range(2):
        for name, e in engines.items():
            e.opt.zero_grad()  # the last step's gradients go before the baseline is read
            rss[name].append(rss_delta(e.step))
    entry = {name: {"rss_delta_bytes": min(v)} for name, v in rss.items()}
    ours.opt.zero_grad()
    entry["ours"]["tracemalloc_peak_bytes"] = traced_peak(ours.step)
    if "torch" in entry and entry["torch"]["rss_delta_bytes"] > 0:
        entry["rss_ratio"] = entry["ours"]["rss_delta_bytes"] / entry["torch"]["rss_delta_bytes"]
    return entry


def measure_memory_subprocess(ctx) -> dict:
    """Run :func:`memory_main` in a fresh process; {case: memory entry} ({} on failure)."""
    if not os.path.exists("/proc/self/clear_refs"):
        ctx.note(SECTION, "no /proc/self/clear_refs: the RSS deltas are not measured")
        return {}
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="65536")
    cmd = [sys.executable, "-m", "benchmarks.cases.models", "--memory",
           "--threads", str(ctx.threads)] + (["--quick"] if ctx.quick else []) \
        + ([] if ctx.torch is not None else ["--no-torch"])
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        ctx.note(SECTION, f"memory subprocess failed ({proc.returncode}): "
                          f"{proc.stderr.strip()[-600:]}")
        return {}
    out = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            item = json.loads(line)
            out[item.pop("case")] = item
    for name, e in out.items():
        torch_rss = e.get("torch", {}).get("rss_delta_bytes")
        print(f"  models {name:15s} peak RSS growth of a step: ours "
              f"{e['ours']['rss_delta_bytes'] / 2**20:.1f} MiB"
              + (f", torch {torch_rss / 2**20:.1f} MiB" if torch_rss is not None else "")
              + f"; ours traced {e['ours']['tracemalloc_peak_bytes'] / 2**20:.1f} MiB",
              flush=True)
    return out


def memory_main(argv=None) -> int:
    """``python -m benchmarks.cases.models --memory``: one JSON line per model."""
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("--memory", action="store_true")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    import numba

    import autograd_core.kernels  # noqa: F401  (Numba's pool before PyTorch's OpenMP)

    numba.set_num_threads(args.threads)
    torch = None
    if not args.no_torch:
        import torch

        torch.set_num_threads(args.threads)
    try:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(limits=args.threads, user_api="blas")
    except ImportError:  # pragma: no cover
        limits = contextlib.nullcontext()
    with limits:
        for case in cases(args.quick):
            entry = memory_of_case(case, torch)
            print(json.dumps({"case": case.name, **entry}), flush=True)
            gc.collect()
    return 0


if __name__ == "__main__":
    sys.exit(memory_main())
