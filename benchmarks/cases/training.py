"""Training steps of whole models against the same models in PyTorch, and peak memory.

Two models, built by the same code from ``nn`` and ``torch.nn`` (the layouts match, so
PyTorch's initial ``state_dict`` is loaded into ours and both start identical):

* LeNet-5 on 1x28x28 inputs: conv 1->6 5x5 (pad 2), ReLU, max-pool 2, conv 6->16 5x5,
  ReLU, max-pool 2, flatten, 400-120-84-10 with ReLU; batch 128;
* an MLP 784-256-256-10 with ReLU; batch 128.

One *step* is ``zero_grad(); loss = CrossEntropyLoss(model(x), y); loss.backward();
SGD(lr=0.01, momentum=0.9).step()``, float32, fixed batch.  Before timing, one step
from the identical start is taken in both and the loss and every updated parameter
compared.  Variants: the whole step (the target) and forward+loss alone (the graph is
recorded), which locates where the time goes.

Peak memory: ``tracemalloc`` peak during one of our LeNet steps (NumPy reports its
buffers to tracemalloc, so this is the Python+NumPy heap the step needs beyond what
was live before it: activations, saved arrays, gradients, workspaces).

Kept loss: the bytes that stay alive per step when the user keeps each step's ``loss``
in a list (``losses.append(loss)``, a very common pattern): the graph's structure after
backward freed its saved arrays. PyTorch holds about 15 KiB per such LeNet step.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from benchmarks.ours import Missing, training_api

SECTION = "training"


def lenet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def mlp(nn):
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256),
                         nn.ReLU(), nn.Linear(256, 10))


def _engine(nn, optim, model, x, y, wrap):
    crit = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xt, yt = wrap(x), wrap(y)

    def step():
        opt.zero_grad()
        loss = crit(model(xt), yt)
        loss.backward()
        opt.step()
        return loss

    def forward():
        return crit(model(xt), yt)

    def check():
        loss = step()
        return [loss] + [p for _, p in sorted(model.state_dict().items())]

    return step, forward, check


def _memory(step, model, x) -> dict:
    """tracemalloc peak of one step, beside the bytes of all layer outputs.

    The layer outputs (what a forward must keep for backward, at the least) put the
    peak in proportion: peak / activations near 2-3 is the usual forward+backward cost.
    """
    step()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        step()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    activations = 0
    h = x
    for layer in model:
        h = layer(h)
        activations += np.asarray(h._data).nbytes
    return {"peak_memory_bytes": peak, "activation_bytes": activations,
            "input_bytes": np.asarray(x._data).nbytes,
            "kept_loss_bytes": _kept_loss_bytes(step)}


def _kept_loss_bytes(step, steps: int = 5) -> int:
    """Bytes held per step by keeping each step's loss (tracemalloc, after warm-up)."""
    step()
    tracemalloc.start()
    try:
        kept = [step()]  # the first kept loss replaces nothing: start counting after it
        base = tracemalloc.get_traced_memory()[0]
        kept.extend(step() for _ in range(steps))
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    del kept
    return int(held / steps)


def run(ctx) -> None:
    torch = ctx.torch
    try:
        nn, optim = training_api()
    except Missing as why:
        ctx.note(SECTION, f"ours skipped: {why}")
        return
    from autograd_core import Tensor

    batch = 16 if ctx.quick else 128
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, batch).astype(np.int64)
    for name, build in (("lenet", lenet), ("mlp", mlp)):
        ours_model = build(nn)
        sets = {}
        if torch is not None:
            torch.manual_seed(0)
            torch_model = build(torch.nn)
            state = {k: v.detach().numpy().copy() for k, v in torch_model.state_dict().items()}
            ours_model.load_state_dict(state)
            sets["torch"] = _engine(torch.nn, torch.optim, torch_model, x, y, torch.from_numpy)
        sets["ours"] = _engine(nn, optim, ours_model, x, y, Tensor)
        if torch is not None:
            outputs = {k: v[2]() for k, v in sets.items()}
            agree = ctx.check(SECTION, f"{name} step", outputs, reference="torch", rtol=1e-4)
        else:
            agree = ["ours"]
        params = {"model": name, "batch": batch, "dtype": "float32",
                  "optimizer": "SGD(lr=0.01, momentum=0.9)",
                  "parameters": int(sum(np.asarray(p._data).size
                                        for p in ours_model.parameters()))}
        ordered = [k for k in ("ours", "torch") if k in agree]
        recs = []
        for k, variant in enumerate(("train step", "forward+loss")):
            res = ctx.compare({n: sets[n][k] for n in ordered})
            recs.append(ctx.record(SECTION, name, f"float32 b{batch} {variant}", res,
                                   params=params, ratios=[("ours", "torch")]))
        if name == "lenet" and "ours" in agree:
            recs[0].update(_memory(sets["ours"][0], ours_model, Tensor(x)))
            mib = recs[0]["peak_memory_bytes"] / 2**20
            act = recs[0]["activation_bytes"] / 2**20
            kept = recs[0]["kept_loss_bytes"] / 2**10
            print(f"  training lenet: peak traced memory of one step {mib:.1f} MiB "
                  f"(layer outputs alone: {act:.1f} MiB); a kept loss holds {kept:.1f} KiB",
                  flush=True)
    print("  training done", flush=True)
