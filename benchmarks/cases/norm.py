"""Batch norm 2d in training mode: forward, backward and both, ours against PyTorch.

The layers of a CIFAR-style ResNet-18 (batch 32, widths 16-128, 32x32 down to 4x4),
float32.  Contenders, on the same input and with the same affine parameters:

* ``ours``: ``nn.BatchNorm2d`` (training mode: batch statistics, running estimates
  updated) on Tensors, graph recording included;
* ``torch``: ``torch.nn.BatchNorm2d`` in training mode (same threads).

``fwd`` is the forward of a training step: the input requires grad, so the graph is
recorded and what the backward needs is saved (then dropped); both sides normalise
with the batch statistics and update the running estimates.  ``bwd`` replays the
backward of one recorded forward, ``fwd+bwd`` records and runs both.  Forward output
and the gradients of x, weight and bias are cross-checked against PyTorch before
timing.  Reported as paired ratios ``ours/torch`` (time per call) and as GB/s of the
logical traffic (forward reads x and writes y; backward reads grad_out and writes
grad_x).
"""

from __future__ import annotations

import importlib

import numpy as np

from benchmarks.ours import Missing

SECTION = "norm"
MODES = ("fwd", "bwd", "fwd+bwd")
FULL_SHAPES = ((32, 16, 32, 32), (32, 32, 16, 16), (32, 64, 8, 8), (32, 128, 4, 4))
QUICK_SHAPES = ((4, 8, 8, 8), (4, 16, 4, 4))


def _name(shape) -> str:
    return "batch_norm2d " + "x".join(str(s) for s in shape)


def _affine(rng, channels, dtype):
    return (1.0 + 0.1 * rng.standard_normal(channels)).astype(dtype), \
        (0.1 * rng.standard_normal(channels)).astype(dtype)


def _ours(x, g, w, b):
    try:
        nn = importlib.import_module("nn")
        ag = importlib.import_module("autograd_core")
    except Exception as error:
        raise Missing(f"nn is not importable ({type(error).__name__}: {error})") from None
    bn = nn.BatchNorm2d(x.shape[1])
    bn.weight._data[...] = w
    bn.bias._data[...] = b
    xc, xg, gt = ag.Tensor(x), ag.Tensor(x, requires_grad=True), ag.Tensor(g)
    graph = bn(xg)

    def fwd():
        return bn(xg)

    def bwd():
        xg.grad = bn.weight.grad = bn.bias.grad = None
        graph.backward(gt, retain_graph=True)

    def both():
        xg.grad = bn.weight.grad = bn.bias.grad = None
        bn(xg).backward(gt)

    def check():
        both()
        return [bn(xc), xg.grad, bn.weight.grad, bn.bias.grad]

    return fwd, bwd, both, check


def _torch(torch, x, g, w, b):
    bn = torch.nn.BatchNorm2d(x.shape[1])
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(w))
        bn.bias.copy_(torch.from_numpy(b))
    xc, gt = torch.from_numpy(x), torch.from_numpy(g)
    xg = torch.from_numpy(x.copy()).requires_grad_()
    graph = bn(xg)

    def fwd():
        return bn(xg)

    def bwd():
        xg.grad = bn.weight.grad = bn.bias.grad = None
        graph.backward(gt, retain_graph=True)

    def both():
        xg.grad = bn.weight.grad = bn.bias.grad = None
        bn(xg).backward(gt)

    def check():
        both()
        return [bn(xc), xg.grad, bn.weight.grad, bn.bias.grad]

    return fwd, bwd, both, check


def run(ctx) -> None:
    rng = np.random.default_rng(0)
    dtype = "float32"
    for shape in QUICK_SHAPES if ctx.quick else FULL_SHAPES:
        x = (2.0 + rng.standard_normal(shape)).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        w, b = _affine(rng, shape[1], dtype)
        sets = {}
        try:
            sets["ours"] = _ours(x, g, w, b)
        except Missing as why:
            ctx.note(SECTION, f"ours skipped: {why}")
            return
        if ctx.torch is None:
            ctx.note(SECTION, "torch not installed: nothing to compare with")
            return
        sets["torch"] = _torch(ctx.torch, x, g, w, b)
        outputs = {name: fns[3]() for name, fns in sets.items()}
        agree = ctx.check(SECTION, _name(shape), outputs, reference="torch", rtol=1e-4)
        io = x.nbytes + g.nbytes
        for k, mode in enumerate(MODES):
            res = ctx.compare({name: sets[name][k] for name in agree})
            ctx.record(
                SECTION, _name(shape), f"{dtype} {mode}", res,
                params={"shape": list(shape), "dtype": dtype, "mode": mode},
                bytes_moved=io * (2 if mode == "fwd+bwd" else 1),
                ratios=[("ours", "torch")],
            )
        print(f"  norm {_name(shape)}", flush=True)
