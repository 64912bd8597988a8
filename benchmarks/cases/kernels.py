"""im2col and col2im alone, in GB/s, against NumPy slicing and a plain copy.

Both are pure data movement, so the yardstick is bandwidth: the logical bytes of one
call (im2col reads the input and writes the column matrix; col2im reads the column
matrix and writes the input-shaped gradient) over its time.  The ``copy`` contender is
``np.copyto`` of an array the size of the column matrix, timed interleaved with the
others, counted as read + write; ``fraction_of_copy`` is ours' GB/s over copy's.

Contenders: ``ours`` (``autograd_core.kernels.im2col``/``col2im``, the array kernels
without the Tensor layer), ``numpy`` (:func:`benchmarks.baselines.numpy_im2col`, one
strided slice per kernel tap) and ``copy``.  Both im2col implementations use the same
column layout; the outputs are compared exactly (im2col) or to rounding (col2im).
"""

from __future__ import annotations

import numpy as np

from benchmarks import baselines
from benchmarks.cases.conv import FULL_SHAPES, QUICK_SHAPES
from benchmarks.ours import Missing, kernels

SECTION = "kernels"
FULL_CASES = ("lenet_c1", "lenet_c2", "cifar_3x32", "conv_32x64", "conv_64x64", "down_s2",
              "conv_5x5", "batch1_64x64")


def run(ctx) -> None:
    try:
        im2col, col2im = kernels()
    except Missing as why:
        ctx.note(SECTION, f"ours skipped: {why}")
        im2col = col2im = None
    if ctx.quick:
        shapes = [s for s in QUICK_SHAPES if s.groups == 1][:2]
    else:
        shapes = [s for s in FULL_SHAPES if s.name in FULL_CASES]
    rng = np.random.default_rng(0)
    dtype = "float32"
    for s in shapes:
        x = rng.standard_normal((s.N, s.C, s.H, s.W)).astype(dtype)
        geo = (s.k, s.stride, s.pad, s.dilation)
        ref_cols = baselines.numpy_im2col(x, *geo)
        grad_cols = rng.standard_normal(ref_cols.shape).astype(dtype)
        copy_src, copy_dst = ref_cols.copy(), np.empty_like(ref_cols)
        params = {"shape": s.name, "describe": s.describe(), "dtype": dtype,
                  "cols_shape": list(ref_cols.shape), "cols_bytes": ref_cols.nbytes}

        def copy(src=copy_src, dst=copy_dst):
            np.copyto(dst, src)

        for op in ("im2col", "col2im"):
            contenders = {}
            if op == "im2col":
                outputs = {"numpy": [ref_cols]}
                if im2col is not None:
                    contenders["ours"] = lambda x=x, geo=geo: im2col(x, *geo)
                    outputs["ours"] = [contenders["ours"]()]
                contenders["numpy"] = lambda x=x, geo=geo: baselines.numpy_im2col(x, *geo)
                moved = x.nbytes + ref_cols.nbytes
                rtol = 0.0
            else:
                shape = x.shape
                contenders["numpy"] = lambda c=grad_cols, geo=geo, shape=shape: \
                    baselines.numpy_col2im(c, shape, *geo)
                outputs = {"numpy": [contenders["numpy"]()]}
                if col2im is not None:
                    contenders["ours"] = lambda c=grad_cols, geo=geo, shape=shape: \
                        col2im(c, shape, *geo)
                    outputs["ours"] = [contenders["ours"]()]
                moved = ref_cols.nbytes + x.nbytes
                rtol = 1e-5
            agree = ctx.check(SECTION, f"{op} {s.name}", outputs, reference="numpy", rtol=rtol)
            timed = {name: contenders[name] for name in ("ours", "numpy") if name in agree}
            timed["copy"] = copy
            res = ctx.compare(timed)
            rec = ctx.record(SECTION, s.name, f"{dtype} {op}", res, params=params,
                             bytes_moved=moved, ratios=[("ours", "numpy"), ("ours", "copy")])
            # The copy moves its own byte count, not the kernel's.
            copy_entry = rec["contenders"]["copy"]
            copy_entry["gbs"] = 2.0 * ref_cols.nbytes / copy_entry["median_s"] / 1e9
            for name in ("ours", "numpy"):
                if name in rec["contenders"]:
                    entry = rec["contenders"][name]
                    entry["fraction_of_copy"] = entry["gbs"] / copy_entry["gbs"]
        print(f"  kernels {s.name:16s} {s.describe()}", flush=True)
