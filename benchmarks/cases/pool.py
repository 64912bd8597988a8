"""max_pool2d and avg_pool2d: forward, backward and both, in GB/s, float32.

Pooling does almost no arithmetic, so it is reported as bandwidth: logical bytes per
call (forward reads x and writes the output; backward reads grad_out and writes
grad_x; both is the sum) over the time.  Contenders, all on the same input:

* ``ours``: ``autograd_core.ops.pool.max_pool2d``/``avg_pool2d`` on Tensors;
* ``torch``: ``torch.nn.functional.max_pool2d``/``avg_pool2d`` (same threads);
* ``numpy``: :func:`benchmarks.baselines.numpy_pool2d_forward` (one strided slice per
  window tap, argmax kept as the tap index);
* ``naive``: pure-Python loops, max pooling on the smallest case only.

Forward output and input gradient are cross-checked against PyTorch before timing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from benchmarks import baselines
from benchmarks.ours import Missing, pool_ops

SECTION = "pool"
NAIVE_MAX_ELEMENTS = 20_000
MODES = ("fwd", "bwd", "fwd+bwd")


@dataclass(frozen=True)
class PoolShape:
    name: str
    N: int
    C: int
    H: int
    W: int
    k: int
    stride: int
    pad: int = 0

    @property
    def out_hw(self):
        return tuple(baselines.conv_out_size(s, self.k, self.stride, self.pad)
                     for s in (self.H, self.W))

    def describe(self) -> str:
        pad = f" p{self.pad}" if self.pad else ""
        return f"N{self.N} C{self.C} {self.H}x{self.W} k{self.k} s{self.stride}{pad}"


FULL_SHAPES = (
    PoolShape("lenet_p1", 128, 6, 28, 28, 2, 2),
    PoolShape("lenet_p2", 128, 16, 10, 10, 2, 2),
    PoolShape("cifar_64", 64, 64, 32, 32, 2, 2),
    PoolShape("stem_3x3s2", 32, 64, 56, 56, 3, 2, 1),
    PoolShape("overlap_3x3s1", 32, 32, 16, 16, 3, 1, 1),
    PoolShape("tiny_b1", 1, 6, 28, 28, 2, 2),
)
QUICK_SHAPES = (
    PoolShape("stem_3x3s2", 4, 8, 15, 15, 3, 2, 1),
    PoolShape("tiny_b1", 1, 2, 8, 8, 2, 2),
)


def _ours(op, x, g, s):
    from autograd_core import Tensor

    xc, xg, gt = Tensor(x), Tensor(x, requires_grad=True), Tensor(g)
    args = (s.k, s.stride, s.pad)
    graph = op(xg, *args)

    def fwd():
        return op(xc, *args)

    def bwd():
        xg.grad = None
        graph.backward(gt, retain_graph=True)

    def both():
        xg.grad = None
        op(xg, *args).backward(gt)

    def check():
        both()
        return [fwd(), xg.grad]

    return fwd, bwd, both, check


def _torch(torch, kind, x, g, s):
    op = getattr(torch.nn.functional, f"{kind}_pool2d")
    xc, gt = torch.from_numpy(x), torch.from_numpy(g)
    xg = torch.from_numpy(x.copy()).requires_grad_()
    args = (s.k, s.stride, s.pad)
    graph = op(xg, *args)

    def fwd():
        with torch.no_grad():
            return op(xc, *args)

    def bwd():
        xg.grad = None
        graph.backward(gt, retain_graph=True)

    def both():
        xg.grad = None
        op(xg, *args).backward(gt)

    def check():
        both()
        return [fwd(), xg.grad]

    return fwd, bwd, both, check


def _numpy(kind, x, g, s):
    args = (s.k, s.stride, s.pad)
    _, arg = baselines.numpy_pool2d_forward(x, *args, mode=kind)

    def fwd():
        return baselines.numpy_pool2d_forward(x, *args, mode=kind)[0]

    def bwd():
        return baselines.numpy_pool2d_backward(g, x.shape, arg, *args, mode=kind)

    def both():
        out, a = baselines.numpy_pool2d_forward(x, *args, mode=kind)
        return out, baselines.numpy_pool2d_backward(g, x.shape, a, *args, mode=kind)

    def check():
        return list(both())

    return fwd, bwd, both, check


def _naive(x, g, s):
    args = (s.k, s.stride, s.pad)
    _, arg = baselines.naive_max_pool2d_forward(x, *args)

    def fwd():
        return baselines.naive_max_pool2d_forward(x, *args)[0]

    def bwd():
        return baselines.naive_max_pool2d_backward(g, x.shape, arg)

    def both():
        out, a = baselines.naive_max_pool2d_forward(x, *args)
        return out, baselines.naive_max_pool2d_backward(g, x.shape, a)

    def check():
        return list(both())

    return fwd, bwd, both, check


def run(ctx) -> None:
    try:
        ops = dict(zip(("max", "avg"), pool_ops()))
    except Missing as why:
        ctx.note(SECTION, f"ours skipped: {why}")
        ops = {}
    rng = np.random.default_rng(0)
    dtype = "float32"
    for s in QUICK_SHAPES if ctx.quick else FULL_SHAPES:
        x = rng.standard_normal((s.N, s.C, s.H, s.W)).astype(dtype)
        g = rng.standard_normal((s.N, s.C) + s.out_hw).astype(dtype)
        for kind in ("max", "avg"):
            sets = {}
            if kind in ops:
                sets["ours"] = _ours(ops[kind], x, g, s)
            if ctx.torch is not None:
                sets["torch"] = _torch(ctx.torch, kind, x, g, s)
            sets["numpy"] = _numpy(kind, x, g, s)
            if kind == "max" and x.size <= NAIVE_MAX_ELEMENTS:
                sets["naive"] = _naive(x, g, s)
            reference = "torch" if "torch" in sets else "numpy"
            outputs = {name: fns[3]() for name, fns in sets.items()}
            agree = ctx.check(SECTION, f"{kind}_pool2d {s.name}", outputs,
                              reference=reference, rtol=1e-6)
            io_fwd = x.nbytes + g.nbytes
            for k, mode in enumerate(MODES):
                res = ctx.compare({name: sets[name][k] for name in agree})
                ctx.record(
                    SECTION, f"{kind}_pool2d {s.name}", f"{dtype} {mode}", res,
                    params={**asdict(s), "kind": kind, "dtype": dtype, "mode": mode,
                            "describe": s.describe()},
                    bytes_moved=io_fwd * (2 if mode == "fwd+bwd" else 1),
                    ratios=[("ours", "torch"), ("ours", "numpy"), ("ours", "naive"),
                            ("numpy", "torch")],
                )
        print(f"  pool {s.name:16s} {s.describe()}", flush=True)
