"""One optimizer step on a ~1M-parameter model against PyTorch's single-tensor path.

The parameters of an MLP 784-1024-256-10 (1,068,810 float32 values in six tensors) with
fixed gradients; one ``step()`` of ``SGD(lr=0.01, momentum=0.9)`` and of
``Adam(lr=1e-3)``, ours against ``torch.optim`` with ``foreach=False`` (one tensor at a
time, as ours). Both start from the same values; one step is compared before timing.
Ours runs NumPy ufuncs, which use one thread, so PyTorch is timed twice: with the run's
thread count and with one thread.
"""

from __future__ import annotations

import numpy as np

SECTION = "optim"
SHAPES = [(1024, 784), (1024,), (256, 1024), (256,), (10, 256), (10,)]
QUICK_SHAPES = [(64, 32), (64,), (10, 64), (10,)]
CASES = {"SGD-momentum": ("SGD", {"lr": 0.01, "momentum": 0.9}),
         "Adam": ("Adam", {"lr": 1e-3})}


def _optimizers(name, kwargs, values, grads, torch):
    import optim
    from autograd_core import Tensor

    ours = [Tensor(v.copy(), requires_grad=True) for v in values]
    for p, g in zip(ours, grads):
        p.grad = Tensor(g.copy())
    theirs = [torch.tensor(v.copy(), requires_grad=True) for v in values]
    for p, g in zip(theirs, grads):
        p.grad = torch.tensor(g.copy())
    return (getattr(optim, name)(ours, **kwargs), ours,
            getattr(torch.optim, name)(theirs, foreach=False, **kwargs), theirs)


def run(ctx) -> None:
    torch = ctx.torch
    if torch is None:
        ctx.note(SECTION, "PyTorch is not installed: nothing to compare the steps with")
        return
    shapes = QUICK_SHAPES if ctx.quick else SHAPES
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [(rng.standard_normal(s) * 1e-2).astype(np.float32) for s in shapes]
    n_params = int(sum(np.prod(s) for s in shapes))
    threads = torch.get_num_threads()
    for case, (name, kwargs) in CASES.items():
        ours_opt, ours, their_opt, theirs = _optimizers(name, kwargs, values, grads, torch)
        ours_opt.step()
        their_opt.step()
        agree = ctx.check(SECTION, f"{case} step", {
            "ours": [p._data for p in ours],
            "torch": [p.detach().numpy() for p in theirs]}, reference="torch", rtol=1e-5)
        if "ours" not in agree:
            continue
        params = {"optimizer": name, **kwargs, "parameters": n_params, "dtype": "float32"}
        for torch_threads in dict.fromkeys((threads, 1)):
            torch.set_num_threads(torch_threads)
            try:
                res = ctx.compare({"ours": ours_opt.step, "torch": their_opt.step})
            finally:
                torch.set_num_threads(threads)
            ctx.record(SECTION, case, f"float32 step, torch {torch_threads} thread(s)", res,
                       params=params, ratios=[("ours", "torch")])
    print("  optim done", flush=True)
