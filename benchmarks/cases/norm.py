"""Batch norm 2d in training mode: forward, backward and both, against PyTorch.

``nn.functional.batch_norm(x, running_mean, running_var, weight, bias, training=True)``
(batch statistics, running estimates updated in place) on the activations of the
models section: ResNet-18 CIFAR w16 and w64 stages, VGG's first layer, and the
ImageNet ResNet stem's 64 x 112 x 112 output.  The contenders mirror the conv
section's: *ours* on Tensors, *torch* with ``torch.nn.functional.batch_norm``, forward
on inputs that do not require grad; "bwd" is ``out.backward(grad, retain_graph=True)``
on a graph built once (grads reset before each call).  Output and the three gradients
are cross-checked against PyTorch's before timing (float32, ``rtol = 1e-4`` of each
array's largest entry: a mean and a variance over N*H*W <= 100k terms).

Bytes: forward reads x and writes y (two passes over x are the natural minimum: one
for the statistics, one for the output), backward reads x and grad_y and writes
grad_x; GB/s count those logical bytes once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from benchmarks.cases._closures import backward_closures

SECTION = "norm"
RTOL = 1e-4
MODES = ("fwd", "bwd", "fwd+bwd")


@dataclass(frozen=True)
class BNShape:
    name: str
    N: int
    C: int
    H: int

    def describe(self) -> str:
        return f"N{self.N} C{self.C} {self.H}x{self.H}"

    @property
    def nbytes(self) -> int:
        return 4 * self.N * self.C * self.H * self.H


FULL_SHAPES = (
    BNShape("r16_l1", 32, 16, 32),
    BNShape("r64_l1", 32, 64, 32),
    BNShape("r64_l3", 32, 256, 8),
    BNShape("r64_l4", 32, 512, 4),
    BNShape("vgg_b64", 64, 32, 32),
    BNShape("in_stem", 8, 64, 112),
)

QUICK_SHAPES = (BNShape("r16_l1", 4, 8, 8), BNShape("r64_l4", 4, 32, 2))

BYTES_FACTOR = {"fwd": 2, "bwd": 3, "fwd+bwd": 5}


def make_inputs(s: BNShape, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((s.N, s.C, s.H, s.H)) * 2 + 0.5).astype(np.float32)
    w = rng.uniform(0.5, 1.5, s.C).astype(np.float32)
    b = rng.standard_normal(s.C).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    return x, w, b, g


def contenders(lib, F, wrap, x, w, b, g):
    """(fwd, bwd, both, check) for one library (``wrap``: ndarray -> its tensor)."""
    C = w.shape[0]
    mean, var = wrap(np.zeros(C, np.float32)), wrap(np.ones(C, np.float32))
    xc, wc, bc, gt = wrap(x), wrap(w), wrap(b), wrap(g)
    leaves = [wrap(a.copy()) for a in (x, w, b)]
    for t in leaves:
        t.requires_grad_()
    xg, wg, bg = leaves

    def fwd():
        return F.batch_norm(xc, mean, var, wc, bc, training=True)

    return backward_closures(
        fwd, lambda: F.batch_norm(xg, mean, var, wg, bg, training=True), leaves, gt)


def run(ctx) -> None:
    import autograd_core
    import nn.functional as ours_F

    torch = ctx.torch
    for s in QUICK_SHAPES if ctx.quick else FULL_SHAPES:
        x, w, b, g = make_inputs(s)
        sets = {"ours": contenders(autograd_core, ours_F, autograd_core.Tensor, x, w, b, g)}
        if torch is not None:
            sets["torch"] = contenders(torch, torch.nn.functional, torch.from_numpy, x, w, b, g)
            agree = ctx.check(SECTION, f"batch_norm2d {s.name}",
                              {k: v[3]() for k, v in sets.items()}, reference="torch",
                              rtol=RTOL)
        else:
            agree = ["ours"]
        print(f"  norm batch_norm2d {s.name:8s} {s.describe()}", flush=True)
        for k, mode in enumerate(MODES):
            res = ctx.compare({n: sets[n][k] for n in agree})
            ctx.record(SECTION, f"batch_norm2d {s.name}", f"float32 {mode}", res,
                       params={**asdict(s), "dtype": "float32", "mode": mode,
                               "describe": s.describe()},
                       bytes_moved=s.nbytes * BYTES_FACTOR[mode], ratios=[("ours", "torch")])
