"""Where a conv's time goes on ResNet-18 CIFAR shapes, ours against PyTorch (issue 17).

Run as ``python -m benchmarks.cases.conv_algos [--phases|--algos|--tables] [--reps R]
[--width 16|64]``.

* Ratios: ``_conv2d_forward`` / ``_conv2d_backward`` (the kernels the op calls) against
  ``torch.nn.functional.conv2d`` and ``torch.ops.aten.convolution_backward`` (both
  gradients, no bias), float32, both with the same thread count, timed with
  :func:`benchmarks.timing.compare` (paired, interleaved repetitions; the median of the
  per-repetition ratios with its min and max, which show how noisy the machine was).
* ``--phases``: one thread, every kernel step wrapped in a timer (im2col, the layout
  copies ``_rows_to_nchw`` / ``_nchw_to_rows``, col2im, the direct kernels, Winograd's
  transforms); the GEMMs, the channels-last path's kernels and allocations are the
  rest of the call.
* ``--algos``: Winograd against im2col (caffe layout, channels-last path off) per
  direction, the table behind ``kernels.conv._use_winograd``.
* ``--tables``: the tap-table im2col/col2im (``_use_tap_table``) against the row loops
  it replaces, forward and backward of the whole conv, paired, on the shapes that take it.

Not part of the suite's sections (the suite's owner decides what it reports).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numba
import numpy as np

from autograd_core.kernels import _threads
from autograd_core.kernels import conv as K
from benchmarks.timing import compare

#: (name, C, OC, H, k, stride, pad) at batch 32: every distinct conv of ResNet-18 CIFAR
#: at width 16 (the 1x1 stride-2 shortcuts included); ``--width 64`` scales channels by 4.
SHAPES = [
    ("16-16 @32", 16, 16, 32, 3, 1, 1),
    ("16-32 @32 s2", 16, 32, 32, 3, 2, 1),
    ("32-32 @16", 32, 32, 16, 3, 1, 1),
    ("32-64 @16 s2", 32, 64, 16, 3, 2, 1),
    ("64-64 @8", 64, 64, 8, 3, 1, 1),
    ("64-128 @8 s2", 64, 128, 8, 3, 2, 1),
    ("128-128 @4", 128, 128, 4, 3, 1, 1),
    ("1x1 16-32 @32 s2", 16, 32, 32, 1, 2, 0),
    ("1x1 32-64 @16 s2", 32, 64, 16, 1, 2, 0),
    ("1x1 64-128 @8 s2", 64, 128, 8, 1, 2, 0),
]

_PHASES = ("_im2col_rows", "_im2col_rows_same", "_im2col_table", "_col2im_table",
           "_rows_to_nchw", "_nchw_to_rows", "_col2im_rows", "_direct_forward",
           "_direct_grad_input", "_direct_grad_weight")


def shapes(width=16, N=32):
    f = width // 16
    return [(name if f == 1 else f"{name} x{f}", N, C * f, OC * f, H, k, s, p)
            for name, C, OC, H, k, s, p in SHAPES]


def arrays(N, C, OC, H, k, s, p, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, H)).astype(dtype)
    w = (rng.standard_normal((OC, C, k, k)) / np.sqrt(C * k * k)).astype(dtype)
    geo = K.conv_geometry(x.shape, w.shape, s, p, 1, 1)
    go = rng.standard_normal((N, OC, geo.OH, geo.OW)).astype(dtype)
    return x, w, go, geo


def ratios(cases, reps, min_sample_time=0.05):
    import torch

    torch.set_num_threads(numba.get_num_threads())
    return [_ratio(torch, case, reps, min_sample_time) for case in cases]


def _ratio(torch, case, reps, min_sample_time):
    name, N, C, OC, H, k, s, p = case
    x, w, go, geo = arrays(N, C, OC, H, k, s, p)
    tx, tw, tgo = (torch.from_numpy(a) for a in (x, w, go))
    # correctness first (a ratio of wrong answers is worthless)
    ours_out = K._conv2d_forward(x, w, None, geo)
    gx, gw, _ = K._conv2d_backward(go, x, w, geo, True, True, False)
    with torch.no_grad():
        t_out = torch.nn.functional.conv2d(tx, tw, None, s, p)
    tgx, tgw, _ = torch.ops.aten.convolution_backward(
        tgo, tx, tw, None, [s, s], [p, p], [1, 1], False, [0, 0], 1, [True, True, False])
    for a, b in ((ours_out, t_out), (gx, tgx), (gw, tgw)):
        np.testing.assert_allclose(a, b.numpy(), rtol=2e-3, atol=2e-3)

    def t_fwd():
        with torch.no_grad():
            torch.nn.functional.conv2d(tx, tw, None, s, p)

    def t_bwd():
        torch.ops.aten.convolution_backward(
            tgo, tx, tw, None, [s, s], [p, p], [1, 1], False, [0, 0], 1,
            [True, True, False])

    res = compare({"ours_fwd": lambda: K._conv2d_forward(x, w, None, geo),
                   "torch_fwd": t_fwd,
                   "ours_bwd": lambda: K._conv2d_backward(go, x, w, geo, True, True, False),
                   "torch_bwd": t_bwd},
                  reps=reps, warmup=2, min_sample_time=min_sample_time)
    f, b = res.ratio("ours_fwd", "torch_fwd"), res.ratio("ours_bwd", "torch_bwd")
    st = res.stats
    row = (name, st["ours_fwd"].median, st["torch_fwd"].median, f,
           st["ours_bwd"].median, st["torch_bwd"].median, b)
    print(f"{name:22s} fwd {st['ours_fwd'].median * 1e3:7.2f} / "
          f"{st['torch_fwd'].median * 1e3:6.2f} ms = {f.median:5.2f}x "
          f"[{f.min:4.2f}-{f.max:4.2f}]   bwd {st['ours_bwd'].median * 1e3:7.2f} / "
          f"{st['torch_bwd'].median * 1e3:6.2f} ms = {b.median:5.2f}x "
          f"[{b.min:4.2f}-{b.max:4.2f}]", flush=True)
    return row


def algos(reps):
    """Winograd / im2col time for 3x3 stride-1 convs (the rule in ``_use_winograd``)."""
    for N, C, OC, H in [(32, 3, 16, 32), (32, 16, 16, 32), (32, 32, 32, 16), (32, 64, 64, 8),
                        (32, 128, 128, 4), (32, 64, 64, 32), (32, 128, 128, 16),
                        (32, 256, 256, 8), (32, 512, 512, 4), (16, 256, 256, 8),
                        (8, 256, 256, 14), (8, 512, 512, 7)]:
        _algo(N, C, OC, H, reps)


def _algo(N, C, OC, H, reps):
    from autograd_core.kernels import conv_winograd as W

    x, w, go, geo = arrays(N, C, OC, H, 3, 1, 1)
    lanes = K._lanes_wanted(geo)
    res = compare({
        "im2col_fwd": _im2col_only(lambda: K._conv2d_forward(x, w, None, geo)),
        "wino_fwd": lambda: W.winograd_conv3x3(x, w, None, 1, 1, H, H, lanes),
        "col2im_gx": _im2col_only(lambda: K._conv2d_backward(go, x, w, geo, True, False, False)),
        "wino_gx": lambda: W.winograd_conv3x3(
            go, W.filter_transform(w, input_grad=True), None, 1, 1, H, H, lanes),
        "im2col_gw": _im2col_only(lambda: K._conv2d_backward(go, x, w, geo, False, True, False)),
        "wino_gw": lambda: W.winograd_grad_weight3x3(go, x, 1, 1, lanes),
    }, reps=reps, warmup=1, min_sample_time=0.05)
    shown = []
    for what, a, b in (("forward", "wino_fwd", "im2col_fwd"),
                       ("input grad", "wino_gx", "col2im_gx"),
                       ("weight grad", "wino_gw", "im2col_gw")):
        r = res.ratio(a, b)
        shown.append(f"{what} {r.median:.2f} [{r.min:.2f}-{r.max:.2f}]")
    print(f"N{N} {C}->{OC} @{H}x{H}: winograd/im2col " + ", ".join(shown), flush=True)


def tables(cases, reps):
    """Tap-table / row-loop time of whole convs (both use the same GEMMs)."""
    for case in cases:
        _table(case, reps)


def _with(name, value, fn):
    """``fn`` run with ``kernels.conv.<name>`` set to ``value`` (a rule switched off)."""
    def call():
        saved = getattr(K, name)
        setattr(K, name, value)
        try:
            return fn()
        finally:
            setattr(K, name, saved)
    return call


def _rows_only(fn):
    """``fn`` run with the tap tables switched off (the row-loop im2col / col2im)."""
    return _with("TAP_TABLE_MAX_ENTRIES", -1, fn)


def _im2col_only(fn):
    """``fn`` run with Winograd and the channels-last path switched off (im2col into
    the caffe layout + GEMM)."""
    return _with("WINOGRAD_MIN_PIXELS", 1 << 60,
                 _with("WINOGRAD_SMALL_PLANE_TILES", 1 << 60,
                       _with("CHANNELS_LAST_MAX_CHANNELS", 0, fn)))


def _table(case, reps):
    name, N, C, OC, H, k, s, p = case
    x, w, go, geo = arrays(N, C, OC, H, k, s, p)
    if not K._use_tap_table(geo) or K._use_winograd(geo) or K._use_direct(geo):
        return

    # the caffe layout on both sides (the channels-last path takes strided convs)
    def fwd():
        return K._conv2d_forward(x, w, None, geo)

    def bwd():
        return K._conv2d_backward(go, x, w, geo, True, True, False)

    fwd, bwd = (_with("CHANNELS_LAST_MAX_CHANNELS", 0, f) for f in (fwd, bwd))
    res = compare({"table_fwd": fwd, "rows_fwd": _rows_only(fwd),
                   "table_bwd": bwd, "rows_bwd": _rows_only(bwd)},
                  reps=reps, warmup=1, min_sample_time=0.05)
    f, b = res.ratio("table_fwd", "rows_fwd"), res.ratio("table_bwd", "rows_bwd")
    print(f"{name:22s} table/rows fwd {f.median:.2f} [{f.min:.2f}-{f.max:.2f}]  "
          f"bwd {b.median:.2f} [{b.min:.2f}-{b.max:.2f}]", flush=True)


def phases(cases, reps=5):
    """Per-phase milliseconds of one call, one thread (the steps do not overlap)."""
    from autograd_core.kernels import conv_winograd as W

    acc = defaultdict(float)
    saved = []

    def wrap(name, fn):
        def timed(*args):
            t = time.perf_counter()
            fn(*args)
            acc[name] += time.perf_counter() - t
        return timed

    for module, names in ((K, _PHASES), (W, ("_input_transform", "_output_transform"))):
        for name in names:
            saved.append((module, name, getattr(module, name)))
            setattr(module, name, wrap(name, getattr(module, name)))
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        # BLAS single-threaded too: a 2-thread OpenBLAS on a loaded machine takes 100x longer
        with _threads.single_threaded_blas():
            for case in cases:
                _phases(case, acc, reps)
    finally:
        numba.set_num_threads(before)
        for module, name, fn in saved:
            setattr(module, name, fn)


def _phases(case, acc, reps):
    name, N, C, OC, H, k, s, p = case
    x, w, go, geo = arrays(N, C, OC, H, k, s, p)
    for label, call in (
        ("fwd", lambda: K._conv2d_forward(x, w, None, geo)),
        ("bwd", lambda: K._conv2d_backward(go, x, w, geo, True, True, False)),
    ):
        call()
        acc.clear()
        t = time.perf_counter()
        for _ in range(reps):
            call()
        total = (time.perf_counter() - t) / reps * 1e3
        parts = {n: v / reps * 1e3 for n, v in acc.items()}
        rest = total - sum(parts.values())
        shown = "  ".join(f"{n.strip('_')} {v:6.2f}" for n, v in sorted(parts.items()))
        print(f"{name:22s} {label} total {total:7.2f} ms  gemm+rest {rest:6.2f}  {shown}",
              flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", action="store_true")
    parser.add_argument("--algos", action="store_true", help="Winograd against im2col")
    parser.add_argument("--tables", action="store_true", help="tap tables against row loops")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--width", type=int, default=16)
    args = parser.parse_args(argv)
    cases = shapes(args.width)
    if args.algos:
        algos(args.reps)
    elif args.tables:
        tables(cases, args.reps)
    elif args.phases:
        phases(cases)
    else:
        ratios(cases, args.reps)


if __name__ == "__main__":
    main()
