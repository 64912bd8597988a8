"""Where one of our training steps spends its time, by op (Function subclass).

Every ``Function`` subclass's ``forward`` and ``backward`` (static methods on NumPy
arrays, called as ``cls.forward(ctx, ...)`` by ``Function.apply`` and
``node.fn.backward(node, grad)`` by the engine; ``indexed_backward`` counts as
backward, the engine's adding of the values it returns as ``other``) is wrapped for
the duration of one call with a timer that adds its seconds to the op named by
``ctx.fn`` (so an inherited rule is charged to the op that ran it).  The wrappers are
removed afterwards; nothing in ``autograd_core`` changes.  What is left of the step's
wall time (graph recording, Tensor wrapping, the engine's bookkeeping, the optimizer)
is reported as ``other``.

The timers cost a few microseconds per op call, which is noise against a ResNet step's
milliseconds per conv; this is a breakdown, not a measurement to compare.

>>> import numpy as np, autograd_core as ag
>>> x = ag.Tensor(np.ones(3), requires_grad=True)
>>> prof = profile_ops(lambda: (x * x).sum().backward())
>>> sorted(prof["ops"])
['Mul', 'Sum']
"""

from __future__ import annotations

import time

__all__ = ["profile_ops"]


def _subclasses(cls):
    seen, stack = [], [cls]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in seen:
                seen.append(sub)
                stack.append(sub)
    return seen


def profile_ops(fn) -> dict:
    """Run ``fn()`` once with per-op timers: ``{"total_s", "other_s", "ops": {name:
    {"forward_s", "backward_s", "calls"}}}``, ops sorted by total time (largest first)."""
    from autograd_core.function import Function

    totals: dict = {}
    patched = []

    def wrap(kind, rule):
        def timed(ctx, *args, **kwargs):
            t0 = time.perf_counter()
            try:
                return rule(ctx, *args, **kwargs)
            finally:
                name = getattr(getattr(ctx, "fn", None), "__name__", "?")
                entry = totals.setdefault(name, {"forward_s": 0.0, "backward_s": 0.0,
                                                 "calls": 0})
                entry[f"{kind}_s"] += time.perf_counter() - t0
                entry["calls"] += kind == "forward"
        return staticmethod(timed)

    for cls in _subclasses(Function):
        for kind, charged in (("forward", "forward"), ("backward", "backward"),
                              ("indexed_backward", "backward")):
            raw = cls.__dict__.get(kind)
            if isinstance(raw, staticmethod):
                patched.append((cls, kind, raw))
                setattr(cls, kind, wrap(charged, raw.__func__))
    try:
        t0 = time.perf_counter()
        fn()
        total = time.perf_counter() - t0
    finally:
        for cls, kind, raw in patched:
            setattr(cls, kind, raw)
    ops = dict(sorted(totals.items(), key=lambda kv: -(kv[1]["forward_s"] + kv[1]["backward_s"])))
    inside = sum(v["forward_s"] + v["backward_s"] for v in ops.values())
    return {"total_s": total, "other_s": max(0.0, total - inside), "ops": ops}
