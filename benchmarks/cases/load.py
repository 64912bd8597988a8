"""Training steps on a busy machine: ours and PyTorch, without and with an artificial load.

The machine this library runs on is often shared (CI, a laptop with a browser), and a
step that is fast on an idle machine can collapse on a busy one: a thread that a
parallel region or a GEMM waits for is descheduled for a whole time slice (issue 17:
an LSTM step went from 20 ms to 5 s).  So each model is timed twice, interleaved
``ours``/``torch`` (paired ratios):

* ``quiet``: as the machine is;
* ``loaded``: while one busy-looping Python process per core runs (started before the
  timing, killed right after it, also when the timing fails).

Models (float32, one step = ``zero_grad; CrossEntropyLoss(model(x), y).backward();
SGD(lr=0.01).step()``, built by the same code from ``nn`` and ``torch.nn``):

* ``lstm``: a character language model, Embedding 65 -> 64, LSTM 64 -> 128 hidden,
  Linear 128 -> 65, batch 32, sequence 64;
* ``mlp``: 3072-1024-1024-10 with ReLU, batch 128;
* ``cnn``: four blocks of conv 3x3 (16 channels, no bias) + BatchNorm + ReLU at 32x32,
  global average pool, Linear 16 -> 10, batch 32.

Only times are reported here (``training`` checks a step against PyTorch's); the
interesting numbers are the loaded/quiet slow-down of each and the ratio under load.
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np

from benchmarks.ours import Missing, training_api

SECTION = "load"


def lstm_lm(nn):
    class CharLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(65, 64)
            self.lstm = nn.LSTM(64, 128, batch_first=True)
            self.head = nn.Linear(128, 65)

        def forward(self, x):
            h, _ = self.lstm(self.embed(x))
            return self.head(h).reshape(-1, 65)

    return CharLM()


def mlp(nn):
    return nn.Sequential(nn.Linear(3072, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                         nn.Linear(1024, 10))


def cnn(nn):
    layers = []
    for c_in in (3, 16, 16, 16):
        layers += [nn.Conv2d(c_in, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16),
                   nn.ReLU()]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))


def _data(name, rng):
    if name == "lstm":
        return rng.integers(0, 65, (32, 64)), rng.integers(0, 65, 32 * 64)
    if name == "mlp":
        return rng.standard_normal((128, 3072)).astype(np.float32), rng.integers(0, 10, 128)
    return rng.standard_normal((32, 3, 32, 32)).astype(np.float32), rng.integers(0, 10, 32)


MODELS = {"lstm": (lstm_lm, "LSTM LM 65-128-65, b32 x seq64"),
          "mlp": (mlp, "MLP 3072-1024-1024-10, b128"),
          "cnn": (cnn, "4x (conv3x3 16 + BN + ReLU) 32x32, b32")}


def _step(nn, optim, model, x, y, wrap):
    crit = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=0.01)
    xt, yt = wrap(x), wrap(y)

    def step():
        opt.zero_grad()
        loss = crit(model(xt), yt)
        loss.backward()
        opt.step()

    return step


class ArtificialLoad:
    """``with ArtificialLoad(n):`` keeps ``n`` busy-looping processes running."""

    def __init__(self, processes: int):
        self.processes = processes
        self.procs = []

    def __enter__(self):
        try:
            for _ in range(self.processes):
                self.procs.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
        except BaseException:
            self._stop()
            raise
        time.sleep(0.3)  # let the scheduler see them
        return self

    def __exit__(self, *exc):
        self._stop()
        return False

    def _stop(self):
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()
        self.procs = []


def run(ctx) -> None:
    torch = ctx.torch
    try:
        nn, optim = training_api()
    except Missing as why:
        ctx.note(SECTION, f"ours skipped: {why}")
        return
    from autograd_core import Tensor

    busy = max(1, ctx.threads)
    names = ("lstm",) if ctx.quick else tuple(MODELS)
    for name in names:
        build, describe = MODELS[name]
        x, y = _data(name, np.random.default_rng(0))
        sets = {"ours": _step(nn, optim, build(nn), x, y, Tensor)}
        if torch is not None:
            torch.manual_seed(0)
            sets["torch"] = _step(torch.nn, torch.optim, build(torch.nn), x, y,
                                  torch.from_numpy)
        params = {"model": describe, "dtype": "float32", "optimizer": "SGD(lr=0.01)",
                  "load_processes": busy}
        medians = {}
        for variant in ("quiet", "loaded"):
            if variant == "loaded":
                with ArtificialLoad(busy):
                    res = ctx.compare(sets)
            else:
                res = ctx.compare(sets)
            rec = ctx.record(SECTION, name, f"train step {variant}", res, params=params,
                             ratios=[("ours", "torch")])
            medians[variant] = {k: v["median_s"] for k, v in rec["contenders"].items()}
        slowdown = {k: medians["loaded"][k] / medians["quiet"][k] for k in medians["quiet"]}
        rec["slowdown_loaded_over_quiet"] = slowdown
        print(f"  load {name}: " + ", ".join(
            f"{k} {medians['quiet'][k] * 1e3:.1f} -> {medians['loaded'][k] * 1e3:.1f} ms "
            f"(x{slowdown[k]:.2f})" for k in medians["quiet"]), flush=True)
    print("  load done", flush=True)
