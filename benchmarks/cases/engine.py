"""Engine overhead: one tiny op, forward and forward+backward, against PyTorch eager.

On a 0-d or 2x2 tensor the arithmetic is nothing; what is measured is the engine: the
Python call, argument unwrapping, recording a graph node, the topological sort and the
backward dispatch.  Each case is ``y = op(a, b)`` with ``a``/``b`` leaves that require
grad (the graph is recorded), then, for ``fwd+bwd``, ``y.backward(seed)`` after the
leaves' grads were reset to None, exactly the same steps in both engines.  float32.

The target compares the geometric mean of the ``fwd+bwd`` ratios ours/torch.
"""

from __future__ import annotations

import numpy as np

SECTION = "engine"

#: name -> (expression, shapes it applies to)
OPS = {
    "add": (lambda a, b: a + b, ("0-d", "2x2")),
    "mul": (lambda a, b: a * b, ("0-d", "2x2")),
    "tanh": (lambda a, b: a.tanh(), ("0-d", "2x2")),
    "relu": (lambda a, b: a.relu(), ("0-d", "2x2")),
    "matmul": (lambda a, b: a @ b, ("2x2",)),
    "sum": (lambda a, b: a.sum(), ("2x2",)),
    "chain3": (lambda a, b: (a * b + a).tanh(), ("0-d", "2x2")),
}
SHAPES = {"0-d": (), "2x2": (2, 2)}


def _contenders(make, expr, a0, b0):
    """(fwd, both, check) for an engine whose tensors ``make(array, grad)`` builds."""
    a, b = make(a0, True), make(b0, True)
    probe = expr(a, b)
    seed = make(np.ones(np.shape(probe.detach().numpy()), dtype=np.float32), False)

    def fwd():
        return expr(a, b)

    def both():
        a.grad = None
        b.grad = None
        expr(a, b).backward(seed)

    def check():
        both()
        grads = [a.grad, b.grad]
        return [fwd()] + [g if g is not None else np.zeros_like(a0) for g in grads]

    return fwd, both, check


def run(ctx) -> None:
    from autograd_core import Tensor

    torch = ctx.torch
    rng = np.random.default_rng(0)

    def make_ours(arr, grad):
        return Tensor(arr, requires_grad=grad)

    def make_torch(arr, grad):
        return torch.tensor(arr, requires_grad=grad)

    for shape_name, shape in SHAPES.items():
        a0 = np.asarray(rng.uniform(0.1, 1.0, shape), dtype=np.float32)
        b0 = np.asarray(rng.uniform(0.1, 1.0, shape), dtype=np.float32)
        for op_name, (expr, shapes) in OPS.items():
            if shape_name not in shapes:
                continue
            sets = {"ours": _contenders(make_ours, expr, a0, b0)}
            if torch is not None:
                sets["torch"] = _contenders(make_torch, expr, a0, b0)
                outputs = {name: fns[2]() for name, fns in sets.items()}
                agree = ctx.check(SECTION, f"{op_name} {shape_name}", outputs,
                                  reference="torch", rtol=1e-5, atol=1e-6)
            else:
                agree = ["ours"]
            for k, mode in enumerate(("fwd", "fwd+bwd")):
                res = ctx.compare({name: sets[name][k] for name in agree})
                ctx.record(SECTION, f"{op_name} {shape_name}", f"float32 {mode}", res,
                           params={"op": op_name, "shape": list(shape), "mode": mode},
                           ratios=[("ours", "torch")])
    print("  engine: tiny ops done", flush=True)
