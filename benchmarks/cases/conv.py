"""conv2d forward, backward and both, over two named shape sets.

* the *kernel set* (``FULL_SHAPES``): LeNet, CIFAR-style 3x3, stride 2, 1x1, depthwise,
  5x5, batch 1 and 128, in float32 and float64, with the NumPy and naive baselines;
* the *model set* (``MODEL_SHAPES``, issue 17): every distinct conv of ResNet-18
  CIFAR-style at width 16 (batch 32) and 64 (batch 16) and of ResNet-18 on 224x224
  (7x7 stride-2 stem, batch 8), and MobileNet-style depthwise 3x3 + pointwise 1x1
  pairs (batch 32), all bias-free as in those networks; float32 against PyTorch only,
  ``MODEL_SET_REPS`` repetitions.  The run prints (and the report lists) the five
  shapes slowest against PyTorch, since a geometric mean can hide a bad layer.

Contenders (same input arrays for all):

* ``ours``: ``autograd_core.ops.conv.conv2d`` on Tensors, as a user calls it.  Forward:
  inputs without grad.  Backward: ``out.backward(grad, retain_graph=True)`` on a graph
  built once (grads reset to None before each call).  Both: build and backward.
* ``torch``: ``torch.nn.functional.conv2d`` (oneDNN/ATen CPU kernels), the same three
  ways (forward under ``no_grad``), with as many threads as Numba.
* ``numpy``: :mod:`benchmarks.baselines` im2col by strided slicing + batched GEMM;
  its backward reuses the forward's column matrix, as a NumPy layer caches it.
* ``naive``: pure-Python loops, only where the forward has at most ``NAIVE_MAX_FLOPS``.

Before any timing the forward output and the three gradients of every contender are
compared with PyTorch's (NumPy's without PyTorch); a contender that disagrees is not
timed.  Work is counted as the GEMM FLOPs of the definition: forward ``2*N*OC*(C/g)*
kh*kw*OH*OW``, backward twice that (grad_x and grad_w), both three times; GFLOP/s are
also shown as a fraction of the matmul peak of the same dtype.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from benchmarks import baselines
from benchmarks.cases._closures import backward_closures
from benchmarks.ours import Missing, conv_ops

SECTION = "conv"
NAIVE_MAX_FLOPS = 4e5
RTOL = {"float32": 1e-3, "float64": 1e-9}


@dataclass(frozen=True)
class ConvShape:
    """One conv2d case: input (N, C, H, W), OC filters of k x k."""

    name: str
    N: int
    C: int
    H: int
    W: int
    OC: int
    k: int
    stride: int = 1
    pad: int = 0
    groups: int = 1
    dilation: int = 1
    #: Counted in the target's geometric mean (the tiny cases exist for the naive loops).
    in_target: bool = True
    bias: bool = True
    #: "kernel": the original set (float32 and float64, NumPy baseline); "model": the
    #: convs of real networks (ResNet-18, MobileNet), float32 against PyTorch only.
    group: str = "kernel"

    @property
    def out_hw(self):
        return tuple(baselines.conv_out_size(s, self.k, self.stride, self.pad, self.dilation)
                     for s in (self.H, self.W))

    @property
    def flops(self) -> float:
        OH, OW = self.out_hw
        return 2.0 * self.N * self.OC * (self.C // self.groups) * self.k**2 * OH * OW

    def describe(self) -> str:
        extra = "".join([
            f" s{self.stride}" if self.stride != 1 else "",
            f" p{self.pad}" if self.pad else "",
            f" g{self.groups}" if self.groups != 1 else "",
            "" if self.bias else " nobias",
        ])
        return (f"N{self.N} {self.C}->{self.OC} {self.k}x{self.k}{extra} "
                f"on {self.H}x{self.W}")


#: The full shape set: LeNet's two layers, CIFAR-style 3x3 stacks, downsampling, 1x1,
#: depthwise, 5x5, batch 1 and batch 128, and two tiny cases the naive loops can do.
FULL_SHAPES = (
    ConvShape("lenet_c1", 128, 1, 28, 28, 6, 5, pad=2),
    ConvShape("lenet_c2", 128, 6, 14, 14, 16, 5),
    ConvShape("cifar_3x32", 64, 3, 32, 32, 32, 3, pad=1),
    ConvShape("conv_32x64", 32, 32, 32, 32, 64, 3, pad=1),
    ConvShape("conv_64x64", 32, 64, 16, 16, 64, 3, pad=1),
    ConvShape("down_s2", 32, 64, 16, 16, 128, 3, stride=2, pad=1),
    ConvShape("pointwise_1x1", 32, 64, 16, 16, 128, 1),
    ConvShape("depthwise_3x3", 32, 64, 32, 32, 64, 3, pad=1, groups=64),
    ConvShape("conv_5x5", 32, 32, 16, 16, 32, 5, pad=2),
    ConvShape("batch1_64x64", 1, 64, 32, 32, 64, 3, pad=1),
    ConvShape("batch128_32x32", 128, 32, 16, 16, 32, 3, pad=1),
    ConvShape("tiny_lenet_b1", 1, 1, 28, 28, 6, 5, pad=2, in_target=False),
    ConvShape("tiny_3x8_b1", 1, 3, 16, 16, 8, 3, pad=1, in_target=False),
)



def _resnet_stages(prefix: str, batch: int, size: int, widths) -> list:
    """ResNet-18's four stages after the stem, on a ``size`` x ``size`` input of
    ``widths[0]`` channels: per stage its 3x3 stride-1 conv, and the stride-2 3x3 and
    the 1x1 stride-2 shortcut that open stages 2-4."""
    shapes = []
    cin = widths[0]
    for stage, cout in enumerate(widths, start=1):
        if stage > 1:
            shapes.append(ConvShape(f"{prefix}_l{stage}_down", batch, cin, size, size, cout, 3,
                                    stride=2, pad=1))
            shapes.append(ConvShape(f"{prefix}_l{stage}_sc", batch, cin, size, size, cout, 1,
                                    stride=2))
            size //= 2
        shapes.append(ConvShape(f"{prefix}_l{stage}", batch, cout, size, size, cout, 3, pad=1))
        cin = cout
    return shapes


def _resnet_cifar_convs(prefix: str, width: int, batch: int):
    """Every distinct conv of ResNet-18 CIFAR-style at ``width``: the 3x3 stem and the
    stages (:func:`_resnet_stages`).  All bias-free (BatchNorm follows each), 32x32 input."""
    return [ConvShape(f"{prefix}_stem", batch, 3, 32, 32, width, 3, pad=1),
            *_resnet_stages(prefix, batch, 32, (width, 2 * width, 4 * width, 8 * width))]


def _resnet_imagenet_convs(batch: int):
    """Every distinct conv of ResNet-18 on 224x224: the 7x7 stride-2 stem, then the
    stages at 56, 28, 14, 7 (after the stem and its 3x3 stride-2 max-pool)."""
    return [ConvShape("in_stem", batch, 3, 224, 224, 64, 7, stride=2, pad=3),
            *_resnet_stages("in", batch, 56, (64, 128, 256, 512))]


def _mobilenet_convs(batch: int):
    """MobileNet-style depthwise 3x3 + pointwise 1x1 pairs on a 32x32 CIFAR input."""
    shapes = []
    for c, cout, size, stride in ((32, 64, 32, 1), (64, 128, 32, 2), (128, 128, 16, 1),
                                  (128, 256, 16, 2)):
        shapes.append(ConvShape(f"mb_dw{c}" + ("_s2" if stride == 2 else ""), batch, c, size,
                                size, c, 3, stride=stride, pad=1, groups=c))
        size //= stride
        shapes.append(ConvShape(f"mb_pw{c}_{cout}", batch, c, size, size, cout, 1))
    return shapes


def _model_set(shapes):
    return tuple(replace(s, bias=False, group="model") for s in shapes)


#: The convs of real networks (issue 17): ResNet-18 CIFAR w16 (batch 32) and w64
#: (batch 16), ResNet-18 ImageNet (batch 8), MobileNet pairs (batch 32); all bias-free.
MODEL_SHAPES = _model_set(_resnet_cifar_convs("r16", 16, 32) + _resnet_cifar_convs("r64", 64, 16)
                          + _resnet_imagenet_convs(8) + _mobilenet_convs(32))

#: Quick mode's model-set shapes: bias-free 3x3, 1x1 stride 2, 7x7 stride 2, dw + pw.
QUICK_MODEL_SHAPES = _model_set((
    ConvShape("r16_l2_down", 2, 4, 8, 8, 8, 3, stride=2, pad=1),
    ConvShape("r16_l2_sc", 2, 4, 8, 8, 8, 1, stride=2),
    ConvShape("in_stem", 1, 3, 20, 20, 4, 7, stride=2, pad=3),
    ConvShape("mb_dw8", 2, 8, 8, 8, 8, 3, pad=1, groups=8),
    ConvShape("mb_pw8_16", 2, 8, 8, 8, 16, 1),
))

#: Repetitions per model-set case in full mode: 41 shapes x 3 modes are most of the
#: section's time, which is mostly the sample-time floor (7 x 2 contenders x 30 ms per
#: mode and shape); 7 paired ratios still give a stable median.
MODEL_SET_REPS = 7

#: "Large-channel" model-set layers (C/groups and OC at least this): where im2col conv
#: is a big GEMM and its GFLOP/s are judged against the matmul peak.
LARGE_CHANNELS = 128

#: Quick mode (CI): every code path (padding, stride, groups, 1x1, naive) on tiny inputs.
QUICK_SHAPES = (
    ConvShape("lenet_c1", 8, 1, 28, 28, 6, 5, pad=2),
    ConvShape("down_s2", 4, 8, 12, 12, 16, 3, stride=2, pad=1),
    ConvShape("depthwise_3x3", 4, 8, 12, 12, 8, 3, pad=1, groups=8),
    ConvShape("tiny_3x8_b1", 1, 3, 8, 8, 4, 3, pad=1, in_target=False),
)

MODES = ("fwd", "bwd", "fwd+bwd")
FLOP_FACTOR = {"fwd": 1, "bwd": 2, "fwd+bwd": 3}


def make_inputs(shape: ConvShape, dtype: str, seed: int = 0):
    """x, weight (scaled by 1/sqrt(fan_in), so outputs are O(1)), bias (None for a
    bias-free shape), grad_out."""
    rng = np.random.default_rng(seed)
    fan_in = (shape.C // shape.groups) * shape.k**2
    x = rng.standard_normal((shape.N, shape.C, shape.H, shape.W)).astype(dtype)
    w = (rng.standard_normal((shape.OC, shape.C // shape.groups, shape.k, shape.k))
         / np.sqrt(fan_in)).astype(dtype)
    b = rng.standard_normal(shape.OC).astype(dtype) if shape.bias else None
    g = rng.standard_normal((shape.N, shape.OC) + shape.out_hw).astype(dtype)
    return x, w, b, g


def _geometry_args(s: ConvShape):
    return s.stride, s.pad, s.dilation, s.groups


def ours_contenders(conv2d, x, w, b, g, s: ConvShape):
    """(fwd, bwd, both, check) closures for the Tensor API."""
    from autograd_core import Tensor

    args = _geometry_args(s)
    xc, wc = Tensor(x), Tensor(w)
    bc = None if b is None else Tensor(b)
    xg, wg = (Tensor(a, requires_grad=True) for a in (x, w))
    bg = None if b is None else Tensor(b, requires_grad=True)

    def fwd():
        return conv2d(xc, wc, bc, *args)

    return backward_closures(fwd, lambda: conv2d(xg, wg, bg, *args), (xg, wg, bg), Tensor(g))


def torch_contenders(torch, x, w, b, g, s: ConvShape):
    F = torch.nn.functional
    args = _geometry_args(s)
    xc, wc, gt = (torch.from_numpy(a) for a in (x, w, g))
    bc = None if b is None else torch.from_numpy(b)
    xg, wg = (torch.from_numpy(a.copy()).requires_grad_() for a in (x, w))
    bg = None if b is None else torch.from_numpy(b.copy()).requires_grad_()

    def fwd():
        with torch.no_grad():
            return F.conv2d(xc, wc, bc, *args)

    return backward_closures(fwd, lambda: F.conv2d(xg, wg, bg, *args), (xg, wg, bg), gt)


def numpy_contenders(x, w, b, g, s: ConvShape):
    args = _geometry_args(s)
    _, cols = baselines.numpy_conv2d_forward(x, w, b, *args)

    def fwd():
        return baselines.numpy_conv2d_forward(x, w, b, *args)[0]

    def bwd():
        return baselines.numpy_conv2d_backward(g, x, w, cols, *args)

    def both():
        out, c = baselines.numpy_conv2d_forward(x, w, b, *args)
        return out, baselines.numpy_conv2d_backward(g, x, w, c, *args)

    def check():
        out, grads = both()
        return [out, *grads]

    return fwd, bwd, both, check


def naive_contenders(x, w, b, g, s: ConvShape):
    args = _geometry_args(s)

    def fwd():
        return baselines.naive_conv2d_forward(x, w, b, *args)

    def bwd():
        return baselines.naive_conv2d_backward(g, x, w, *args)

    def both():
        return fwd(), bwd()

    def check():
        out, grads = both()
        return [out, *grads]

    return fwd, bwd, both, check


def run(ctx) -> None:
    try:
        conv2d = conv_ops()
    except Missing as why:
        ctx.note(SECTION, f"ours skipped: {why}")
        conv2d = None
    shapes = QUICK_SHAPES if ctx.quick else FULL_SHAPES
    for k, s in enumerate(shapes):
        # Quick mode checks float64 on the first and last shapes only (CI time).
        both = not ctx.quick or k in (0, len(shapes) - 1)
        for dtype in ("float32", "float64") if both else ("float32",):
            run_case(ctx, conv2d, s, dtype)
    if ctx.torch is None:
        ctx.note(SECTION, "the model set (ours against PyTorch) is skipped without PyTorch")
        return
    settings = ctx.settings
    if settings.reps > MODEL_SET_REPS:
        settings = replace(settings, reps=MODEL_SET_REPS)
    for s in QUICK_MODEL_SHAPES if ctx.quick else MODEL_SHAPES:
        run_case(ctx, conv2d, s, "float32", settings)
    report_slowest(ctx)


def slowest(records, n: int = 5, mode: str = "fwd+bwd"):
    """The ``n`` model-set records of ``mode`` with the largest median ours/torch."""
    rows = [r for r in records if r["section"] == SECTION
            and r["params"].get("group") == "model" and r["params"].get("mode") == mode
            and "ours/torch" in r["ratios"]]
    return sorted(rows, key=lambda r: -r["ratios"]["ours/torch"]["median"])[:n]


def report_slowest(ctx) -> None:
    for r in slowest(ctx.records):
        ratio = r["ratios"]["ours/torch"]
        print(f"  conv slowest: {r['case']:14s} {r['params']['describe']:34s} fwd+bwd "
              f"ours/torch {ratio['median']:.2f} ({ratio['min']:.2f}-{ratio['max']:.2f})",
              flush=True)


def run_case(ctx, conv2d, s: ConvShape, dtype: str, settings=None) -> None:
    x, w, b, g = make_inputs(s, dtype)
    sets = {}
    if conv2d is not None:
        sets["ours"] = ours_contenders(conv2d, x, w, b, g, s)
    if ctx.torch is not None:
        sets["torch"] = torch_contenders(ctx.torch, x, w, b, g, s)
    # The NumPy baseline is measured on the kernel set (its speed-up target); the model
    # set is about PyTorch, and im2col in NumPy on ImageNet shapes would double its time.
    if s.group == "kernel" or not sets:
        sets["numpy"] = numpy_contenders(x, w, b, g, s)
    if s.flops <= NAIVE_MAX_FLOPS and s.group == "kernel":
        sets["naive"] = naive_contenders(x, w, b, g, s)
    reference = "torch" if "torch" in sets else "numpy"
    outputs = {name: fns[3]() for name, fns in sets.items()}
    agree = ctx.check(SECTION, f"{s.name} {dtype}", outputs, reference=reference,
                      rtol=RTOL[dtype])
    print(f"  conv {s.name:16s} {dtype}  {s.describe()}", flush=True)
    for k, mode in enumerate(MODES):
        res = ctx.compare({name: sets[name][k] for name in agree}, settings=settings)
        ctx.record(
            SECTION, s.name, f"{dtype} {mode}", res, params={**asdict(s), "dtype": dtype,
                                                             "mode": mode,
                                                             "describe": s.describe()},
            flops=s.flops * FLOP_FACTOR[mode], peak_key=dtype,
            ratios=[("ours", "torch"), ("ours", "numpy"), ("ours", "naive"),
                    ("numpy", "torch")],
        )
