"""Convolution kernels: im2col / col2im around BLAS GEMMs, chunk by chunk on all cores.

Geometry (PyTorch's cross-correlation): for an input side ``N``, padding ``P``,
dilation ``d``, kernel side ``F`` and stride ``S`` the output side is
``floor((N + 2P - d(F-1) - 1) / S) + 1``.  ``'same'`` padding may be asymmetric; the
kernels only need the *top/left* padding, the bottom/right one is implied by the
output size.

Column layout.  The batch is processed in chunks of *output rows*: the flattened row
index ``r = n * OH + oh`` runs over the whole batch, and a chunk is ``[r0, r1)``.
Its column matrix is::

    cols[(c * kh + i) * kw + j, (r - r0) * OW + ow] = x_pad[n, c, oh*sh + i*dh, ow*sw + j*dw]

shape ``(C * kh * kw, (r1 - r0) * OW)`` ("caffe" layout, one row per weight tap).
Why this layout (measured against per-sample and NHWC-style ``(rows, C*kh*kw)``
layouts on this machine):

* the forward is one GEMM ``W.reshape(OC, C*kh*kw) @ cols`` per chunk (one per group:
  a group's rows are one contiguous block); several small samples share a chunk, so
  even LeNet's 8x8 planes give GEMMs with thousands of columns;
* filling a row copies runs of contiguous input pixels (for stride 1 and 'same'
  padding a tap is a single shifted span of the input plane), which vectorises;
* when a chunk is exactly one sample, the GEMM writes straight into the NCHW output
  (``(OC, OH*OW)`` *is* the sample's layout) and 1x1 convolutions need no im2col at
  all; otherwise a kernel copies the ``(OC, rows*OW)`` result back to NCHW.

Chunks and threads.  A chunk's workspace is bounded by ``CHUNK_BYTES`` (about a core's
L2 share, so the column matrix is written and read from cache, never from DRAM) and by
``MAX_WORKSPACE_BYTES`` whatever the caller asks (a single output row over that cap is
cut into spans of output columns); memory is independent of the batch.
Chunks are grouped into at most ``_LANES`` lanes (a constant, never the core count);
worker threads take whole lanes and run the pipeline single-threaded (see
``_threads``), so there is no barrier between the steps and no second thread pool
spinning while the other works.  Backward per chunk:
``G`` = grad_out as ``(OC, rows*OW)`` (summing grad_bias on the way),
``grad_weight += G @ cols.T`` into the lane's own partial (partials are added in lane
order at the end: the same sums whatever the thread count), ``grad_cols = W.T @ G``,
and col2im adds ``grad_cols`` into ``grad_x``, one thread per ``(n, c)`` plane: lanes
hold whole samples, or (batch 1) rows far enough apart that even and odd lanes run in
two phases without ever adding into the same memory.

Depthwise convolutions (one input channel per group) would make a GEMM a dot product
of ``kh*kw`` terms; they run plane by plane at stride 1 with the output as wide as the
input (``conv_same_width``), on channels-last copies otherwise (``conv_depthwise``), or
through direct kernels, one task per plane, when they have few channels.

Algorithms, chosen from the shapes alone (so results are identical on any machine
and thread count), measured on every conv of ResNet-18 CIFAR at batch 32 (issue 17;
``python -m benchmarks.cases.conv_algos --algos`` reproduces the numbers):

* 3x3, stride 1, dilation 1, ungrouped, output planes of at least
  ``WINOGRAD_MIN_PIXELS`` (16x16), or from 8x8 with ``WINOGRAD_SMALL_PLANE_TILES``
  tiles over the batch: Winograd F(2x2, 3x3) (``conv_winograd``) for the forward, the
  input gradient and the weight gradient (in the backward small planes only up to
  ``WINOGRAD_SMALL_PLANE_CHANNELS`` channels, the weight gradient over
  ``WINOGRAD_GRAD_WEIGHT_MAX_CHANNELS`` input channels only with that many tiles: the
  memory peak of a step; see ``_use_winograd``);
* stride 1 with ``OW == W`` ('same' padding), depthwise on planes from
  ``DEPTHWISE_PLANE_MIN_WIDTH`` wide, or with at most ``PLANE_MAX_PRODUCTS`` products
  per output and few output channels (first layers; ``_use_same_width_planes``): plane
  kernels in which each tap is one contiguous loop over the flat plane
  (``conv_same_width``); other depthwise convs, from
  ``DEPTHWISE_CHANNELS_LAST_MIN_CHANNELS`` channels, a channels-last copy in which each
  (output row, tap) is one contiguous run of ``OW * C`` values (``conv_depthwise``,
  ``_depthwise_kernels``);
* other depthwise convs, or at most ``_DIRECT_MAX_TAPS`` products per output: direct
  kernels;
* strided convs and planes up to 8x8 with up to ``CHANNELS_LAST_MAX_CHANNELS``
  channels and more than one tap: channels-last column matrices
  (``conv_channels_last``; see ``_use_channels_last``), whose every (pixel, tap) is
  one run of C values; the backward of such convs with few output columns takes the
  channel blocks below;
* everything else (1x1, wide strided layers, grouped): im2col + GEMM as above, with
  chunks and lanes of at least ``MIN_GEMM_COLUMNS`` output columns; strided convs and
  planes under 8x8 fill (and, up to 8x8, empty) the column matrix through a tap table
  of input offsets (``_use_tap_table``) instead of per-row loops;
* a conv with too few output columns for a second lane, yet big GEMMs (512->512 on
  4x4 or 7x7 planes at small batches): each forward GEMM's rows are cut into up to
  ``GEMM_BLOCKS`` whole products run on all threads (``_gemm_blocks``);
* the backward of an ungrouped conv with at most ``CHANNEL_BLOCK_MAX_COLUMNS`` output
  columns over the batch (small planes, many channels: ResNet-18's last stages) runs
  by blocks of input channels instead of lanes of samples
  (``_channel_blocked_backward``): each block is a whole product over the batch, so
  no weight-gradient partials exist and the workspace is a block's rows of the column
  matrix.  (Such convs' backward reaches the row blocks above only when the caller
  passes ``chunk_bytes``.)

Example: ``conv2d_forward(x, w, None, (1, 1), (0, 0), (1, 1), 1)`` is
``torch.nn.functional.conv2d(x, w)`` for NumPy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import prange

from autograd_core.errors import ShapeError

from . import conv_channels_last as _cl
from . import conv_depthwise as _dw
from . import conv_same_width as _sw
from . import conv_winograd as _wino
from ._cache import kernel
from ._indexing import MAX_ARGUMENT, _u, _valid_range, pair
from ._partials import OrderedSum, sum_in_lane_order
from ._threads import run_chunks, run_planes

__all__ = [
    "CHUNK_BYTES",
    "MAX_WORKSPACE_BYTES",
    "ConvGeometry",
    "conv_geometry",
    "conv_output_size",
    "im2col",
    "col2im",
    "conv2d_forward",
    "conv2d_backward",
]

#: Target size of one chunk's workspace (column matrix plus GEMM result): one core's
#: L2-sized share, between the im2col, the GEMM and the copy back, yet large enough for
#: an efficient single-threaded GEMM.
CHUNK_BYTES = 1024 * 1024
#: Hard upper bound on one chunk's workspace, whatever ``chunk_bytes`` asks for; at
#: most one chunk per thread is alive at a time.  A row whose workspace alone is larger
#: is cut into spans of output columns (at least one column each).
MAX_WORKSPACE_BYTES = 256 * 1024 * 1024
#: The batch is cut into at most this many lanes (tasks).  A constant, not the machine's
#: core or thread count: grad_weight sums the same partials in the same order on every
#: machine, so results are bit-identical everywhere (more cores than lanes stay idle).
_LANES = 8
#: Largest output (elements) a geometry accepts: index arithmetic stays far from int64.
MAX_OUTPUT_ELEMENTS = 2**48
#: Forward FLOPs per lane below which a conv gets fewer lanes.  A lane's chunks cost
#: about 30 us each in Python calls, and two threads running many small chunks take
#: turns on the GIL: ResNet-18's 1x1 stride-2 shortcuts (8.4 MFLOP at batch 32) ran
#: 8 lanes in 0.46 ms forward, 2 lanes in 0.38 (0.82x; backward 0.65-0.85x), and 1x1
#: 32->64 stride 2 at batch 64 0.54x / 0.79x.  Measured paired on a 2-core Zen 4 from
#: 0.5 MFLOP (the value before, from LeNet's layers) to 4: the other convs whose lane
#: count changes, 4-38 MFLOP im2col convs, 0.59-1.04x; those on other kernels, none.
LANE_MIN_FLOPS = 4_000_000
#: Up to this many products per output (C/groups * kh * kw) the direct kernels are
#: used instead of im2col + GEMM.  Measured: the GEMM path wins already at 25 (LeNet's
#: 1->6 5x5: 4.1/12.2 ms against 6.4/16.3 ms forward/backward), the direct kernels win
#: for depthwise convs, which use them whatever their kernel size.
_DIRECT_MAX_TAPS = 9
#: Fewest output columns (flattened ``n, oh, ow``) a chunk's GEMMs get when the layer
#: allows it, and the fewest a lane gets.  Measured on ResNet-18's small planes (issue
#: 17): with 1 MB chunks a 512-channel 4x4 layer's weight-gradient GEMM had 48 columns
#: of inner dimension, ``(512, 48) @ (48, 4608)`` added into the lane's partial 11
#: times, at 50 GFLOP/s instead of 110; its backward took 2.9x PyTorch's time.
MIN_GEMM_COLUMNS = 256
#: The forward has no partials to sum, so where MIN_GEMM_COLUMNS columns' workspace
#: would exceed CHUNK_BYTES its lanes and chunks get fewer columns, down to this many.
#: ResNet-18 w16's 128->128 on 4x4 at batch 32: two chunks of 0.6 MiB per lane instead
#: of one of 1.2 MiB, at the forward's memory peak. (Applied to every conv, 128 columns
#: made 1x1 convs up to 1.3x slower in a ResNet-18 w16 step; the 4x4 conv 1.04x.)
FORWARD_MIN_GEMM_COLUMNS = 128
#: Output planes at least this large (pixels) take Winograd F(2x2, 3x3) for 3x3
#: stride-1 convs (measurements in ``_use_winograd``) ...
WINOGRAD_MIN_PIXELS = 256
#: ... and so do planes from 8x8 up when the batch has at least
#: ``WINOGRAD_SMALL_PLANE_TILES`` output tiles (2x2 pixels) in all (in the backward,
#: with at most ``WINOGRAD_SMALL_PLANE_CHANNELS`` input and output channels) ...
WINOGRAD_SMALL_PLANE_PIXELS = 64
WINOGRAD_SMALL_PLANE_TILES = 512
WINOGRAD_SMALL_PLANE_CHANNELS = 128
#: ... with GEMMs whose inner dimension (input channels of that conv) is at least this.
WINOGRAD_MIN_CHANNELS = 16
#: The weight gradient by Winograd tiles over this many input channels only with at
#: least ``WINOGRAD_SMALL_PLANE_TILES`` tiles in the batch, and never over
#: ``WINOGRAD_GRAD_WEIGHT_WIDE_CHANNELS`` (see ``_use_winograd_grad_weight``).
WINOGRAD_GRAD_WEIGHT_MAX_CHANNELS = 64
WINOGRAD_GRAD_WEIGHT_WIDE_CHANNELS = 128

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# Reductions may be reassociated so LLVM can vectorise them; every sum is still done by
# one thread in one fixed order, so results do not depend on the thread count.
_REASSOC = {"reassoc", "nsz"}


# --------------------------------------------------------------------------- geometry


def conv_output_size(size, kernel, stride, pad_total, dilation):
    """Output side of a convolution: ``floor((size + pad_total - d*(F-1) - 1) / S) + 1``.

    ``pad_total`` is the sum of both sides' padding (``2P`` when symmetric).

    >>> conv_output_size(6, 3, 1, 0, 1)
    4
    """
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


@dataclass(frozen=True)
class ConvGeometry:
    """Everything the kernels need to know about one conv2d call, validated."""

    N: int
    C: int
    H: int
    W: int
    OC: int
    kh: int
    kw: int
    stride: tuple
    pad: tuple  # top, left (bottom/right are implied by OH, OW)
    pad_total: tuple  # top+bottom, left+right
    dilation: tuple
    groups: int
    OH: int
    OW: int

    @property
    def flops(self):
        """Multiply-adds times two of the forward pass."""
        return (
            2 * self.N * self.OC * (self.C // self.groups) * self.kh * self.kw * self.OH * self.OW
        )

    @property
    def tap_work(self):
        """Elements the direct and plane kernels touch, as ``run_planes`` counts work:
        every tap is a pass over the output planes and the input rows under them (with
        a stride, the whole input plane's cache lines), so taps x (input + output), not
        the product count, which undercounts strided and depthwise convs.  Measured on
        MobileNet's depthwise 3x3 layers at batch 32 (2 threads now, one before): 128
        channels on 16x16 stride 2, forward 1.47 -> 1.12 ms and backward 3.15 -> 2.18;
        256 on 8x8, 4.01 -> 2.24 and 8.28 -> 4.77.
        """
        taps = (self.C // self.groups) * self.kh * self.kw
        return self.N * (self.C * self.H * self.W + self.OC * self.OH * self.OW) * taps


def conv_geometry(x_shape, w_shape, stride=1, padding=0, dilation=1, groups=1):
    """Validate conv2d arguments against 4-D shapes and return a :class:`ConvGeometry`.

    ``padding`` is an int, a pair, ``'valid'`` (no padding) or ``'same'`` (output
    size equals input size; stride must be 1; an odd total goes on the bottom/right,
    as in PyTorch).  Raises ``ValueError`` naming the offending values.

    >>> conv_geometry((1, 1, 6, 6), (2, 1, 3, 3)).OH
    4
    """
    if len(x_shape) != 4:
        raise ShapeError(f"conv2d expects a 4-D input (N, C, H, W), got shape {tuple(x_shape)}")
    if len(w_shape) != 4:
        raise ShapeError(
            f"conv2d expects a 4-D weight (out_channels, in_channels/groups, kh, kw), "
            f"got shape {tuple(w_shape)}"
        )
    N, C, H, W = _sizes(x_shape, "conv2d input")
    OC, Cg, kh, kw = _sizes(w_shape, "conv2d weight")
    sh, sw = pair(stride, "stride", minimum=1)
    dh, dw = pair(dilation, "dilation", minimum=1)
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, (int, np.integer)):
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    groups = int(groups)
    if groups <= 0 or groups > MAX_ARGUMENT:
        raise ValueError(f"groups must be a positive int at most {MAX_ARGUMENT}, got {groups}")
    if C % groups != 0:
        raise ValueError(f"in_channels={C} is not divisible by groups={groups}")
    if OC % groups != 0:
        raise ValueError(f"out_channels={OC} is not divisible by groups={groups}")
    if Cg * groups != C:
        raise ValueError(
            f"input has {C} channels but weight {tuple(w_shape)} with groups={groups} "
            f"expects {Cg} * {groups} = {Cg * groups}"
        )
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            pads = ((0, 0), (0, 0))
        elif mode == "same":
            if (sh, sw) != (1, 1):
                raise ValueError(f"padding='same' needs stride 1, got stride={(sh, sw)}")
            pads = []
            for k, d in ((kh, dh), (kw, dw)):
                total = d * (k - 1)
                pads.append((total // 2, total))
            pads = tuple(pads)
        else:
            raise ValueError(f"padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    else:
        ph, pw = pair(padding, "padding", minimum=0)
        pads = ((ph, 2 * ph), (pw, 2 * pw))
    (ph, pth), (pw, ptw) = pads
    eff_h, eff_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if eff_h > H + pth or eff_w > W + ptw:
        raise ValueError(
            f"kernel size {(kh, kw)} with dilation {(dh, dw)} (effective {(eff_h, eff_w)}) "
            f"is larger than the padded input {(H + pth, W + ptw)}"
        )
    OH = conv_output_size(H, kh, sh, pth, dh)
    OW = conv_output_size(W, kw, sw, ptw, dw)
    _check_output_size((N, OC, OH, OW), "conv2d")
    return ConvGeometry(
        N, C, H, W, OC, kh, kw, (sh, sw), (ph, pw), (pth, ptw), (dh, dw), groups, OH, OW
    )


def _sizes(shape, what):
    """A shape's entries as ints, refusing non-ints, empty and huge dimensions."""
    sizes = []
    for s in shape:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)):
            raise ShapeError(f"{what} shape must hold ints, got {tuple(shape)}")
        sizes.append(int(s))
    if min(sizes) <= 0:
        raise ShapeError(f"{what} has an empty dimension: shape {tuple(sizes)}")
    if max(sizes) > MAX_ARGUMENT:
        raise ShapeError(f"{what} shape {tuple(sizes)} has a dimension above {MAX_ARGUMENT}")
    return sizes


def _check_output_size(shape, op):
    count = 1
    for s in shape:
        count *= s
    if count > MAX_OUTPUT_ELEMENTS:
        raise ShapeError(
            f"{op} output shape {tuple(shape)} is too large ({count} elements; at most "
            f"{MAX_OUTPUT_ELEMENTS}): check padding, stride and dilation"
        )


def _check_array(a, name, ndim):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(a).__name__}")
    if a.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got dtype {a.dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    return np.ascontiguousarray(a)


def _check_same_dtype(**arrays):
    dtypes = {name: a.dtype for name, a in arrays.items() if a is not None}
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{k}={v}" for k, v in dtypes.items())
        raise TypeError(f"conv2d arrays must share one dtype, got {listed}")


# ---------------------------------------------------------------------------- kernels
#
# Hot loops index flat views with unsigned indices (``_u(i)``): Numba then skips the
# negative-index wraparound test on every access, which otherwise stops LLVM from
# vectorising the copies (measured 3-4x on im2col).  Every index is non-negative by
# construction; the signed arithmetic happens before the cast.



@kernel(nogil=True, parallel=True)
def _im2col_rows(x, cols, r0, r1, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW):
    # One task per column-matrix row (c, i, j): rows are disjoint, so no races.
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    KK = kh * kw
    xf = x.ravel()
    cf = cols.ravel()
    M = cols.shape[1]
    n0 = r0 // OH
    n1 = (r1 - 1) // OH + 1
    for row in prange(C * KK):
        c = row // KK
        i = (row // kw) % kh
        j = row % kw
        oh_lo, oh_hi = _valid_range(OH, H, i * dh - ph, sh)
        ow_lo, ow_hi = _valid_range(OW, W, j * dw - pw, sw)
        L = ow_hi - ow_lo
        w_first = ow_lo * sw + j * dw - pw
        for n in range(n0, n1):
            a = max(r0 - n * OH, 0)
            b = min(r1 - n * OH, OH)
            dst_n = row * M + (n * OH - r0) * OW
            src_n = ((n * C + c) * H + i * dh - ph) * W + w_first
            for oh in range(a, b):
                d = dst_n + oh * OW
                if oh < oh_lo or oh >= oh_hi:
                    for t in range(OW):
                        cf[_u(d + t)] = 0.0
                    continue
                for t in range(ow_lo):
                    cf[_u(d + t)] = 0.0
                s = src_n + oh * sh * W
                d += ow_lo
                if sw == 1:
                    for t in range(L):
                        cf[_u(d + t)] = xf[_u(s + t)]
                else:
                    for t in range(L):
                        cf[_u(d + t)] = xf[_u(s + t * sw)]
                for t in range(L, OW - ow_lo):
                    cf[_u(d + t)] = 0.0


@kernel(nogil=True, parallel=True)
def _im2col_rows_same(x, cols, r0, r1, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW):
    # _im2col_rows for stride 1 and OW == W ('same' padding): a tap's valid rows are
    # one shifted run of the input plane, copied as a single span; the few entries
    # that wrapped around a row edge are zeroed afterwards.  A separate kernel, so the
    # general one keeps its own (measured faster) code generation.
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    KK = kh * kw
    xf = x.ravel()
    cf = cols.ravel()
    M = cols.shape[1]
    n0 = r0 // OH
    n1 = (r1 - 1) // OH + 1
    for row in prange(C * KK):
        c = row // KK
        i = (row // kw) % kh
        j = row % kw
        oh_lo, oh_hi = _valid_range(OH, H, i * dh - ph, 1)
        ow_lo, ow_hi = _valid_range(OW, W, j * dw - pw, 1)
        L = ow_hi - ow_lo
        w_first = ow_lo + j * dw - pw
        for n in range(n0, n1):
            a = max(r0 - n * OH, 0)
            b = min(r1 - n * OH, OH)
            dst_n = row * M + (n * OH - r0) * OW
            src_n = ((n * C + c) * H + i * dh - ph) * W + w_first
            first = max(a, oh_lo)
            last = min(b, oh_hi)
            if first >= last or L == 0:
                for t in range((b - a) * OW):
                    cf[_u(dst_n + a * OW + t)] = 0.0
                continue
            for t in range((first - a) * OW):
                cf[_u(dst_n + a * OW + t)] = 0.0
            d = dst_n + first * OW + ow_lo
            s = src_n + first * W
            for t in range((last - first - 1) * OW + L):
                cf[_u(d + t)] = xf[_u(s + t)]
            if L < OW:
                for oh in range(first, last):
                    d = dst_n + oh * OW
                    for t in range(ow_lo):
                        cf[_u(d + t)] = 0.0
                    for t in range(ow_hi, OW):
                        cf[_u(d + t)] = 0.0
            for t in range((b - last) * OW):
                cf[_u(dst_n + last * OW + t)] = 0.0


@kernel(nogil=True, parallel=True)
def _col2im_rows(cols, gx, r0, r1, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW):
    # One task per (n, c) plane of gx, the only writer of that plane: the scatter-add
    # needs no atomics and its order (hence the rounding) never depends on threads.
    C, H, W = gx.shape[1], gx.shape[2], gx.shape[3]
    KK = kh * kw
    gf = gx.ravel()
    cf = cols.ravel()
    M = cols.shape[1]
    n0 = r0 // OH
    n1 = (r1 - 1) // OH + 1
    for plane in prange((n1 - n0) * C):
        n = n0 + plane // C
        c = plane - (plane // C) * C
        a = max(r0 - n * OH, 0)
        b = min(r1 - n * OH, OH)
        for i in range(kh):
            oh_lo, oh_hi = _valid_range(OH, H, i * dh - ph, sh)
            oh_lo = max(oh_lo, a)
            oh_hi = min(oh_hi, b)
            for j in range(kw):
                row = c * KK + i * kw + j
                ow_lo, ow_hi = _valid_range(OW, W, j * dw - pw, sw)
                L = ow_hi - ow_lo
                w_first = ow_lo * sw + j * dw - pw
                src_n = row * M + (n * OH - r0) * OW + ow_lo
                dst_n = ((n * C + c) * H + i * dh - ph) * W + w_first
                for oh in range(oh_lo, oh_hi):
                    s = src_n + oh * OW
                    d = dst_n + oh * sh * W
                    if sw == 1:
                        for t in range(L):
                            gf[_u(d + t)] += cf[_u(s + t)]
                    else:
                        for t in range(L):
                            gf[_u(d + t * sw)] += cf[_u(s + t)]


@kernel(nogil=True, parallel=True)
def _im2col_table(x, cols, table, r0, r1, OH, OW):
    # _im2col_rows through a tap table (see _tap_table): table[k, p] is the offset in
    # an input plane that tap k reads for output pixel p, or -1 for padding.  One loop
    # of OH*OW gathers per (row, sample) instead of one loop nest per output row: on
    # small planes and strided convs the per-row bounds and short strided runs, not
    # the copied bytes, were the cost (measured in _use_tap_table).
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    KK = table.shape[0]
    P = OH * OW
    xf = x.ravel()
    cf = cols.ravel()
    tf = table.ravel()
    M = cols.shape[1]
    n0 = r0 // OH
    n1 = (r1 - 1) // OH + 1
    for row in prange(C * KK):
        c = row // KK
        k = row - c * KK
        for n in range(n0, n1):
            a = max(r0 - n * OH, 0) * OW
            b = min(r1 - n * OH, OH) * OW
            d = row * M + (n * OH - r0) * OW
            s = (n * C + c) * H * W
            for t in range(a, b):
                q = tf[_u(k * P + t)]
                cf[_u(d + t)] = xf[_u(s + q)] if q >= 0 else 0.0


@kernel(nogil=True, parallel=True)
def _col2im_table(cols, gx, table, r0, r1, OH, OW):
    # Adjoint of _im2col_table, one task per (n, c) plane of gx (its only writer).  A
    # pixel receives its terms in the same order as in _col2im_rows (taps in (i, j)
    # order; within one tap no two outputs read the same pixel), so the two kernels
    # give bit-identical sums.
    C, H, W = gx.shape[1], gx.shape[2], gx.shape[3]
    KK = table.shape[0]
    P = OH * OW
    gf = gx.ravel()
    cf = cols.ravel()
    tf = table.ravel()
    M = cols.shape[1]
    n0 = r0 // OH
    n1 = (r1 - 1) // OH + 1
    for plane in prange((n1 - n0) * C):
        n = n0 + plane // C
        c = plane - (plane // C) * C
        a = max(r0 - n * OH, 0) * OW
        b = min(r1 - n * OH, OH) * OW
        g = (n * C + c) * H * W
        for k in range(KK):
            s = (c * KK + k) * M + (n * OH - r0) * OW
            for t in range(a, b):
                q = tf[_u(k * P + t)]
                if q >= 0:
                    gf[_u(g + q)] += cf[_u(s + t)]


@kernel(nogil=True, parallel=True)
def _rows_to_nchw(res, out, bias, r0, r1, OH, OW):
    # out[n, oc, oh, :] = res[oc, (n*OH + oh - r0)*OW : ...] + bias[oc]
    OC = out.shape[1]
    rf = res.ravel()
    of = out.ravel()
    M = res.shape[1]
    n0 = r0 // OH
    n1 = (r1 - 1) // OH + 1
    for plane in prange((n1 - n0) * OC):
        n = n0 + plane // OC
        oc = plane - (plane // OC) * OC
        bv = bias[oc]
        a = max(r0 - n * OH, 0)
        b = min(r1 - n * OH, OH)
        s = oc * M + (n * OH + a - r0) * OW
        d = ((n * OC + oc) * OH + a) * OW
        for t in range((b - a) * OW):
            of[_u(d + t)] = rf[_u(s + t)] + bv


@kernel(nogil=True, parallel=True, fastmath=_REASSOC)
def _nchw_to_rows(src, rows, bias_acc, r0, r1, OH, OW):
    # rows[oc, (n*OH + oh - r0)*OW + ow] = src[n, oc, oh, ow], and bias_acc[oc] += the
    # sum of what was copied (skipped when bias_acc is empty).  One task per channel:
    # each sum has one writer and a fixed order.
    OC = src.shape[1]
    sf = src.ravel()
    rf = rows.ravel()
    M = rows.shape[1]
    want_sum = bias_acc.shape[0] > 0
    n0 = r0 // OH
    n1 = (r1 - 1) // OH + 1
    for oc in prange(OC):
        total = 0.0
        for n in range(n0, n1):
            a = max(r0 - n * OH, 0)
            b = min(r1 - n * OH, OH)
            s = ((n * OC + oc) * OH + a) * OW
            d = oc * M + (n * OH + a - r0) * OW
            part = 0.0
            for t in range((b - a) * OW):
                v = sf[_u(s + t)]
                rf[_u(d + t)] = v
                part += v
            total += part
        if want_sum:
            bias_acc[oc] += total


@kernel(nogil=True, parallel=True)
def _direct_forward(x, w, bias, out, groups, sh, sw, ph, pw, dh, dw, p0, p1):
    # Direct convolution for few taps per output (depthwise, LeNet's first layer):
    # one task per output plane (n, oc), which reads only its group's Cg input planes;
    # each tap adds a weight times a shifted input row into an output row (L1-resident).
    N, C, H, W = x.shape
    OC, OH, OW = out.shape[1], out.shape[2], out.shape[3]
    Cg, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    OCg = OC // groups
    xf = x.ravel()
    of = out.ravel()
    wf = w.ravel()
    for plane in prange(p0, p1):
        n = plane // OC
        oc = plane - n * OC
        c0 = (oc // OCg) * Cg
        o_plane = plane * OH * OW
        bv = bias[oc]
        for t in range(OH * OW):
            of[_u(o_plane + t)] = bv
        for cg in range(Cg):
            x_plane = (n * C + c0 + cg) * H * W
            for i in range(kh):
                oh_lo, oh_hi = _valid_range(OH, H, i * dh - ph, sh)
                for j in range(kw):
                    wv = wf[_u(((oc * Cg + cg) * kh + i) * kw + j)]
                    ow_lo, ow_hi = _valid_range(OW, W, j * dw - pw, sw)
                    L = ow_hi - ow_lo
                    w_first = ow_lo * sw + j * dw - pw
                    for oh in range(oh_lo, oh_hi):
                        d = o_plane + oh * OW + ow_lo
                        s = x_plane + (oh * sh + i * dh - ph) * W + w_first
                        if sw == 1:
                            for t in range(L):
                                of[_u(d + t)] += wv * xf[_u(s + t)]
                        else:
                            for t in range(L):
                                of[_u(d + t)] += wv * xf[_u(s + t * sw)]


@kernel(nogil=True, parallel=True)
def _direct_grad_input(go, w, gx, groups, sh, sw, ph, pw, dh, dw, p0, p1):
    # One task per input plane gx[n, c], its only writer: it gathers from the OC/groups
    # output planes of its group.
    N, C, H, W = gx.shape
    OC, OH, OW = go.shape[1], go.shape[2], go.shape[3]
    Cg, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    OCg = OC // groups
    gof = go.ravel()
    gxf = gx.ravel()
    wf = w.ravel()
    for plane in prange(p0, p1):
        n = plane // C
        c = plane - n * C
        cg = c % Cg
        oc0 = (c // Cg) * OCg
        x_plane = plane * H * W
        for t in range(H * W):
            gxf[_u(x_plane + t)] = 0.0
        for m in range(OCg):
            oc = oc0 + m
            o_plane = (n * OC + oc) * OH * OW
            for i in range(kh):
                oh_lo, oh_hi = _valid_range(OH, H, i * dh - ph, sh)
                for j in range(kw):
                    wv = wf[_u(((oc * Cg + cg) * kh + i) * kw + j)]
                    ow_lo, ow_hi = _valid_range(OW, W, j * dw - pw, sw)
                    L = ow_hi - ow_lo
                    w_first = ow_lo * sw + j * dw - pw
                    for oh in range(oh_lo, oh_hi):
                        s = o_plane + oh * OW + ow_lo
                        d = x_plane + (oh * sh + i * dh - ph) * W + w_first
                        if sw == 1:
                            for t in range(L):
                                gxf[_u(d + t)] += wv * gof[_u(s + t)]
                        else:
                            for t in range(L):
                                gxf[_u(d + t * sw)] += wv * gof[_u(s + t)]


@kernel(nogil=True, parallel=True, fastmath=_REASSOC)
def _direct_grad_weight(go, x, gw_partial, groups, sh, sw, ph, pw, dh, dw, p0, p1):
    # gw_partial[n, oc, cg, i, j]: one writer per (n, oc); the caller sums over n in a
    # fixed order, so the result does not depend on the thread count.
    N, C, H, W = x.shape
    OC, OH, OW = go.shape[1], go.shape[2], go.shape[3]
    Cg, kh, kw = gw_partial.shape[2], gw_partial.shape[3], gw_partial.shape[4]
    OCg = OC // groups
    gof = go.ravel()
    xf = x.ravel()
    pf = gw_partial.ravel()
    for plane in prange(p0, p1):
        n = plane // OC
        oc = plane - n * OC
        c0 = (oc // OCg) * Cg
        o_plane = plane * OH * OW
        for cg in range(Cg):
            x_plane = (n * C + c0 + cg) * H * W
            for i in range(kh):
                oh_lo, oh_hi = _valid_range(OH, H, i * dh - ph, sh)
                for j in range(kw):
                    ow_lo, ow_hi = _valid_range(OW, W, j * dw - pw, sw)
                    L = ow_hi - ow_lo
                    w_first = ow_lo * sw + j * dw - pw
                    acc = 0.0
                    for oh in range(oh_lo, oh_hi):
                        s = o_plane + oh * OW + ow_lo
                        d = x_plane + (oh * sh + i * dh - ph) * W + w_first
                        part = 0.0
                        for t in range(L):
                            part += gof[_u(s + t)] * xf[_u(d + t * sw)]
                        acc += part
                    pf[_u(((plane * Cg + cg) * kh + i) * kw + j)] = acc


@kernel(nogil=True)
def _im2col_span(x, cols, r, c0, c1, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW):
    # The column matrix of output columns [c0, c1) of one output row r = n*OH + oh, for
    # rows too wide for the workspace cap: cols[(c*kh + i)*kw + j, t] = x_pad[n, c,
    # oh*sh + i*dh, (c0 + t)*sw + j*dw].  Plain loops: only very wide rows come here.
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    n = r // OH
    oh = r - n * OH
    for c in range(C):
        for i in range(kh):
            h = oh * sh + i * dh - ph
            for j in range(kw):
                row = (c * kh + i) * kw + j
                for t in range(c1 - c0):
                    w = (c0 + t) * sw + j * dw - pw
                    if 0 <= h < H and 0 <= w < W:
                        cols[row, t] = x[n, c, h, w]
                    else:
                        cols[row, t] = 0.0


@kernel(nogil=True)
def _col2im_span(cols, gx, r, c0, c1, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW):
    # Adjoint of _im2col_span: add the span's column entries into their pixels.
    C, H, W = gx.shape[1], gx.shape[2], gx.shape[3]
    n = r // OH
    oh = r - n * OH
    for c in range(C):
        for i in range(kh):
            h = oh * sh + i * dh - ph
            if h < 0 or h >= H:
                continue
            for j in range(kw):
                row = (c * kh + i) * kw + j
                for t in range(c1 - c0):
                    w = (c0 + t) * sw + j * dw - pw
                    if 0 <= w < W:
                        gx[n, c, h, w] += cols[row, t]


# ------------------------------------------------------------------ Python wrappers


def _plan(geo, bytes_per_row, chunk_bytes, min_columns=None):
    """Cut the flattened (n, oh) rows into lanes (tasks) and lanes into chunks.

    Returns ``(chunks, lanes, split)``: ``chunks`` a list of ``(r0, r1, c0, c1)``, output
    rows ``[r0, r1)`` and columns ``[c0, c1)``, whose workspace fits ``chunk_bytes``
    (whole samples when one fits; whole rows, ``(c0, c1) == (0, OW)``, unless one row
    alone exceeds ``MAX_WORKSPACE_BYTES``, when it is cut into spans of columns),
    ``lanes`` a list of ``(first, stop)`` slices of ``chunks``, and ``split`` whether
    lane boundaries fall inside samples.  That happens only for batches smaller than
    the lane count (batch 1): lanes then hold at least a kernel's height of input rows,
    so lanes ``i`` and ``i + 2`` never touch the same input row and the col2im of even
    lanes, then of odd lanes, can each run in parallel.  The plan depends on the shapes
    only, never on the machine or the thread count, so results are identical anywhere.
    """
    cap = max(1, MAX_WORKSPACE_BYTES)
    budget = max(1, min(chunk_bytes, cap))
    total = geo.N * geo.OH
    per_sample = bytes_per_row * geo.OH
    rows_per_chunk = max(1, budget // bytes_per_row)
    spans = [(0, geo.OW)]
    if bytes_per_row > cap:  # even one output row is over the cap: cut it into spans
        per_column = -(-bytes_per_row // geo.OW)
        n_spans = -(-geo.OW // max(1, cap // per_column))
        cuts = [geo.OW * i // n_spans for i in range(n_spans + 1)]
        spans = list(zip(cuts[:-1], cuts[1:]))
    # Small problems get fewer lanes (one below 2 * LANE_MIN_FLOPS): a lane costs a
    # chunk's fixed overhead and, run on another thread, a handoff of ~50 us, which a
    # small conv (LeNet on 8x8 digits, a 1x1 shortcut) does not earn back. Still a
    # function of the shapes alone, so results stay identical with any thread count.
    # Every lane also gets at least MIN_GEMM_COLUMNS output columns: a lane's weight
    # gradient is a full (OC, K) partial, written and summed once per lane.
    lanes_wanted = _lanes_wanted(geo, min_columns)
    if geo.N >= lanes_wanted:
        step = -(-geo.N // lanes_wanted)
        bounds = [(n * geo.OH, min(n + step, geo.N) * geo.OH) for n in range(0, geo.N, step)]
        split = False
    else:
        sh, dh, kh = geo.stride[0], geo.dilation[0], geo.kh
        halo = -(-(dh * (kh - 1) + 1) // sh)  # output rows whose inputs overlap
        n_lanes = max(1, min(lanes_wanted, total // max(halo, 1)))
        cuts = [total * i // n_lanes for i in range(n_lanes + 1)]
        bounds = [(cuts[i], cuts[i + 1]) for i in range(n_lanes) if cuts[i + 1] > cuts[i]]
        split = len(bounds) > 1
    chunks, lanes = [], []
    for lane_r0, lane_r1 in bounds:
        first = len(chunks)
        r = lane_r0
        while r < lane_r1:
            n = r // geo.OH
            sample_end = min((n + 1) * geo.OH, lane_r1)
            if r == n * geo.OH and per_sample <= budget and sample_end == (n + 1) * geo.OH:
                # whole samples, as many as fit, the lane's chunks balanced in size
                left = (lane_r1 - r) // geo.OH
                fit = max(1, budget // per_sample)
                count = -(-left // -(-left // fit))
                stop = r + count * geo.OH
            else:
                stop = min(r + rows_per_chunk, sample_end)
            if len(spans) == 1:
                chunks.append((r, stop, 0, geo.OW))
            else:
                chunks.extend((row, row + 1, c0, c1) for row in range(r, stop) for c0, c1 in spans)
            r = stop
        lanes.append((first, len(chunks)))
    return chunks, lanes, split


#: A one-lane conv's GEMMs are cut into at most this many row blocks (a constant, not
#: the core count, so every machine computes the same blocks) ...
GEMM_BLOCKS = 4
#: ... each of at least this many multiply-adds and rows (fewer rows make thin,
#: slower BLAS calls).
GEMM_BLOCK_MIN_MACS = 1 << 24
GEMM_BLOCK_MIN_ROWS = 64


def _gemm_blocks(geo):
    """Row blocks for the GEMMs of a conv that gets a single lane (see ``_plan``).

    Measured on ResNet-18's 512-channel layers (issue 17): 512->512 on 4x4 at batch 16
    has 256 output columns, one lane, so its (512, 4608) @ (4608, 256) GEMMs ran on one
    core. Cutting the rows of the result (output channels forward and for the weight
    gradient, weight taps for the column gradient) into blocks gives every thread
    whole, independent products. Ungrouped convs only; a function of the shapes alone.
    Measured paired on a 2-core AMD EPYC (one block / four, forward and backward):
    512->512 on 7x7, batch 8: 24.4 / 14.4 and 62.9 / 44.9 ms; on 4x4, batch 16:
    16.9 / 12.4 and 35.2 / 26.2 ms; 256->512 stride 2 on 14x14, batch 8: 13.6 / 10.0
    and 26.3 / 17.4 ms.
    """
    if geo.groups != 1:
        return 1
    rows = min(geo.OC, geo.C * geo.kh * geo.kw)
    macs = geo.flops // 2
    return max(1, min(GEMM_BLOCKS, rows // GEMM_BLOCK_MIN_ROWS, macs // GEMM_BLOCK_MIN_MACS))


def _blocked_matmul(a, b, out, blocks, scratch=None):
    """``out = a @ b`` (or, given ``scratch``, ``out += a @ b`` through it), the rows of
    ``out`` cut into ``blocks`` slices computed as separate tasks on all threads.

    Each slice is a whole product over the full inner dimension, so no sum is split and
    the blocks write disjoint rows; the cuts fall on multiples of 16 rows.
    """
    rows = out.shape[0]
    cuts = [min(rows, -(-rows * i // blocks // 16) * 16) for i in range(blocks + 1)]
    cuts[-1] = rows

    def block(i):
        lo, hi = cuts[i], cuts[i + 1]
        if hi <= lo:
            return
        if scratch is None:
            np.matmul(a[lo:hi], b, out=out[lo:hi])
        else:
            out[lo:hi] += np.matmul(a[lo:hi], b, out=scratch[lo:hi])

    run_chunks(block, blocks)


def _kernel_args(geo):
    return (
        geo.kh,
        geo.kw,
        geo.stride[0],
        geo.stride[1],
        geo.pad[0],
        geo.pad[1],
        geo.dilation[0],
        geo.dilation[1],
        geo.OH,
        geo.OW,
    )


def _lanes_wanted(geo, min_columns=None):
    """How many lanes a conv is cut into: a function of its shapes alone (see _plan).

    Tried for ResNet-18's small planes (issue 17, batch 32) and rejected: one lane and
    one chunk for the whole batch, its single GEMM on a multi-threaded OpenBLAS, took
    3-20x the time of the lanes on this shared 2-core machine (2 threads; BLAS threads
    spin against the other load); with one thread it was within the noise (64->64 @8,
    128->128 @4, the stride-2 3x3 layers: medians 0.93-1.48 of the lanes' time, spreads
    0.1-5.5) except 512->512 @4, 0.87 forward and 0.89 backward.
    """
    columns = geo.N * geo.OH * geo.OW
    min_columns = MIN_GEMM_COLUMNS if min_columns is None else min_columns
    wanted = max(1, min(_LANES, geo.flops // LANE_MIN_FLOPS, columns // min_columns))
    # A power of two, so the lanes share out evenly over 2, 4 or 8 cores: three lanes of
    # 3, 3 and 2 samples kept one of two cores idle for a third of ResNet-18's 512->512
    # 7x7 forward at batch 8 (paired, 2-core Zen 4: 14.0 ms with three lanes, 11.0 with
    # two, 12.3 with one lane and row-blocked GEMMs; 256->512 stride 2: 6.7 / 5.3 / 6.2).
    return _power_of_two_at_most(wanted)


def _power_of_two_at_most(n):
    """The largest power of two <= ``n`` (n >= 1): a count of tasks that shares out
    evenly over 1, 2, 4... threads."""
    return 1 << (int(n).bit_length() - 1)


#: Largest tap table (``kh * kw * OH * OW`` entries) :func:`_use_tap_table` allows.
TAP_TABLE_MAX_ENTRIES = 1 << 16
#: col2im takes the table only for output planes up to this many pixels (8x8).
TAP_TABLE_COL2IM_MAX_PIXELS = 64
_TAP_TABLES = {}


def _tap_table(geo):
    """``table[i*kw + j, oh*OW + ow]``: input-plane offset ``h*W + w`` that tap ``(i, j)``
    reads for output ``(oh, ow)`` (``h = oh*sh + i*dh - ph``, ``w = ow*sw + j*dw - pw``),
    or ``-1`` where that is padding.  Depends on the geometry only; cached.

    >>> _tap_table(conv_geometry((1, 1, 2, 2), (1, 1, 2, 2), 1, 1))[0].tolist()
    [-1, -1, -1, -1, 0, 1, -1, 2, 3]
    """
    key = (geo.H, geo.W, *_kernel_args(geo))
    table = _TAP_TABLES.get(key)
    if table is None:
        (sh, sw), (ph, pw), (dh, dw) = geo.stride, geo.pad, geo.dilation
        h = (np.arange(geo.OH)[None, :] * sh + np.arange(geo.kh)[:, None] * dh - ph)
        w = (np.arange(geo.OW)[None, :] * sw + np.arange(geo.kw)[:, None] * dw - pw)
        ok = ((h >= 0) & (h < geo.H))[:, None, :, None] & ((w >= 0) & (w < geo.W))[None, :, None, :]
        offset = h[:, None, :, None] * geo.W + w[None, :, None, :]
        table = np.where(ok, offset, -1).astype(np.int64).reshape(geo.kh * geo.kw, -1)
        table.setflags(write=False)
        if len(_TAP_TABLES) > 256:  # bounded: a long-running process sees few geometries
            _TAP_TABLES.clear()
        _TAP_TABLES[key] = table
    return table


def _use_tap_table(geo):
    """im2col / col2im through a tap table (``_im2col_table``) instead of row loops.

    Rule: the table has at most ``TAP_TABLE_MAX_ENTRIES`` entries and the conv is
    strided or dilated, or its output planes are smaller than 8x8 (64 pixels).  Stride-1
    'same' convs on larger planes keep ``_im2col_rows_same``, whose tap is one
    contiguous span per sample.  Measured (issue 17; whole-batch im2col of a ResNet-18
    CIFAR layer at batch 32, float32, one thread; table / row-loop time)::

        layer           im2col  col2im
        16->32 @32 s2   0.77    1.06
        32->64 @16 s2   0.56    0.87
        64->128 @8 s2   0.35    0.55
        64->64 @8       0.99-1.30  1.21-1.31  (so stride-1 8x8 keeps the row loops)
        128->128 @4     0.41    0.66
        512->512 @4     0.46    0.81
        1x1 16->32 @32 s2  0.86 1.17

    so col2im takes the table only on output planes of at most
    ``TAP_TABLE_COL2IM_MAX_PIXELS`` pixels (:func:`_use_tap_table_col2im`).  Whole
    convs gain less, as the GEMMs are the larger part
    (``python -m benchmarks.cases.conv_algos --tables``: table / row-loop time of the
    whole call, paired, median [min-max] of 9 repetitions, one thread, two runs)::

        layer            forward                      backward
        16->32 @32 s2    0.87 [0.59-0.97] 0.90 [0.88-0.93]  0.97 [0.63-1.08] 0.97 [0.88-1.01]
        32->64 @16 s2    0.88 [0.83-0.90] 0.87 [0.81-0.88]  0.91 [0.88-0.94] 0.92 [0.91-0.95]
        64->128 @8 s2    0.82 [0.79-0.86] 0.83 [0.76-0.86]  0.82 [0.77-0.89] 0.84 [0.82-0.95]
        128->128 @4      0.88 [0.71-0.96] 0.90 [0.89-0.96]  0.91 [0.85-1.08] 0.89 [0.64-0.91]
        1x1 64->128 @8 s2  0.89 [0.87-0.92] 1.01 [0.87-1.47]  0.91 [0.89-0.94] 0.90 [0.68-0.95]

    With 4x the channels (``--width 64``) the GEMMs dominate and the gain is within the
    noise (0.93-1.05 forward, 0.91-0.97 backward).

    The gather copies the same values and col2im adds the same terms in the same order,
    so results are bit-identical to the row loops (tests/autograd_core/kernels/
    test_conv_tap_table.py checks it).
    """
    entries = geo.kh * geo.kw * geo.OH * geo.OW
    strided = geo.stride != (1, 1) or geo.dilation != (1, 1)
    return entries <= TAP_TABLE_MAX_ENTRIES and (strided or geo.OH * geo.OW < 64)


def _use_tap_table_col2im(geo):
    """col2im through the tap table: :func:`_use_tap_table` on planes up to 8x8."""
    return _use_tap_table(geo) and geo.OH * geo.OW <= TAP_TABLE_COL2IM_MAX_PIXELS


def _winograd_fits(geo):
    """3x3, stride 1, dilation 1, ungrouped, paddings at most 2, chunks under the cap.

    A Winograd chunk holds whole samples (up to ``conv_winograd.MIN_TILES`` tiles: at
    most 4 samples of 64+ tiles), so convs whose 4 samples' transformed tiles would
    exceed ``MAX_WORKSPACE_BYTES`` (float64 counted) stay on im2col, which cuts rows.
    """
    tiles = -(-geo.H // 2) * -(-geo.W // 2) + -(-geo.OH // 2) * -(-geo.OW // 2)
    return (
        (geo.kh, geo.kw, *geo.stride, *geo.dilation, geo.groups) == (3, 3, 1, 1, 1, 1, 1)
        and max(geo.pad) <= 2
        and max(geo.pad_total[0] - geo.pad[0], geo.pad_total[1] - geo.pad[1]) <= 2
        and 4 * 16 * (geo.C + geo.OC) * tiles * 8 <= MAX_WORKSPACE_BYTES
    )


def _winograd_tiles(N, H, W):
    """Tiles (2x2 output pixels) of a batch of ``N`` planes of ``H x W``."""
    return N * -(-H // 2) * -(-W // 2)


def _winograd_plane(geo, H, W, backward):
    """Whether a batch of ``H x W`` output planes has enough tiles for Winograd (in
    the backward, small planes only up to ``WINOGRAD_SMALL_PLANE_CHANNELS``)."""
    pixels = H * W
    return pixels >= WINOGRAD_MIN_PIXELS or (
        pixels >= WINOGRAD_SMALL_PLANE_PIXELS
        and _winograd_tiles(geo.N, H, W) >= WINOGRAD_SMALL_PLANE_TILES
        and (not backward or max(geo.C, geo.OC) <= WINOGRAD_SMALL_PLANE_CHANNELS)
    )


def _use_winograd(geo):
    """Winograd F(2x2, 3x3) (``conv_winograd``) for the forward, else im2col + GEMM.

    Rule: a 3x3 stride-1 ungrouped conv whose output planes have at least
    ``WINOGRAD_MIN_PIXELS`` pixels, or at least ``WINOGRAD_SMALL_PLANE_PIXELS`` (8x8)
    with ``WINOGRAD_SMALL_PLANE_TILES`` tiles over the batch (in the backward, and
    at most ``WINOGRAD_SMALL_PLANE_CHANNELS`` channels), and whose input has at least
    ``WINOGRAD_MIN_CHANNELS`` channels (the inner dimension of its 16 GEMMs).
    Measured with ``python -m benchmarks.cases.conv_algos --algos`` (float32, 2
    threads, the AVX-512 EPYC with OpenBLAS's SkylakeX kernels; Winograd / im2col
    time, median [min-max] of 7 paired repetitions)::

        N  C->OC @plane      tiles  forward           input grad        weight grad
        32 3->16 @32x32       8192  1.37 [1.16-1.45]  0.98 [0.94-1.00]  0.53 [0.51-0.55]
        16 3->64 @32x32       4096  1.41 [1.19-1.66]  1.45 [1.36-1.54]  0.97 [0.83-1.02]
        32 16->16 @32x32      8192  0.44 [0.42-0.51]  0.43 [0.40-0.53]  0.45 [0.41-0.48]
        32 32->32 @16x16      2048  0.58 [0.51-0.59]  0.60 [0.57-0.71]  0.44 [0.42-0.48]
        16 128->128 @16x16    1024  0.65 [0.61-0.71]  0.78 [0.70-0.82]  0.65 [0.58-0.71]
        32 64->64 @8x8         512  0.76 [0.73-0.78]  0.60 [0.57-0.62]  0.75 [0.71-0.76]
        32 256->256 @8x8       512  0.78 [0.77-1.05]  0.70 [0.44-0.75]  0.85 [0.83-0.89]
        16 256->256 @8x8       256  1.16 [1.02-1.37]  0.94 [0.87-1.17]  1.24 [1.05-1.42]
        8 256->256 @14x14      392  0.80 [0.77-0.90]  1.04 [0.99-1.20]  1.18 [1.03-1.45]
        32 128->128 @4x4       128  1.30 [1.26-1.86]  1.33 [1.23-1.89]  1.18 [0.68-1.19]
        8 512->512 @7x7        128  1.97 [1.49-2.09]  2.62 [1.62-3.19]  2.84 [1.71-3.07]
        1 64->64 @32x32        256  0.98 [0.79-1.06]  0.92 [0.77-0.96]  0.92 [0.68-0.95]

    With few tiles the 16 GEMMs are thin (a 4x4 plane is 4 tiles) while im2col's 9x
    copy of a small plane is cheap and its GEMMs have 9 C columns of inner dimension;
    with 3 input channels (a stem) the GEMMs' inner dimension is 3.  256->256 on 8x8
    wins in time but not in memory in the backward: a Winograd chunk holds whole
    samples (at least ``conv_winograd.MIN_TILES`` tiles), 2 MiB per lane there, and
    ResNet-18 w64's 8x8 layers run early in the backward, at the step's memory peak
    (its peak 1.00x -> 1.03x PyTorch's); so in the backward small planes take Winograd
    only up to ``WINOGRAD_SMALL_PLANE_CHANNELS`` channels (the forward's workspace is
    freed before the peak).  (On the Zen 3 VM
    of earlier sessions, before the transforms were rewritten, 8x8 planes lost:
    64->64 1.39, 256->256 1.26; not re-measured there.)  The choice depends on the
    shapes alone.
    """
    return (
        _winograd_fits(geo)
        and _winograd_plane(geo, geo.OH, geo.OW, backward=False)
        and geo.C >= WINOGRAD_MIN_CHANNELS
    )


def _use_winograd_input_grad(geo):
    """The input gradient (a 3x3 stride-1 conv of grad_out, H x W out, OC channels in)."""
    return (
        _winograd_fits(geo)
        and _winograd_plane(geo, geo.H, geo.W, backward=True)
        and geo.OC >= WINOGRAD_MIN_CHANNELS
    )


def _use_winograd_grad_weight(geo):
    """The weight gradient by Winograd tiles: the forward's rule, and over 64 input
    channels only up to 128, with ``WINOGRAD_SMALL_PLANE_TILES`` tiles in the batch.

    Large-channel layers with few tiles make thin GEMMs (``(OC, T) @ (T, C)`` per
    tile entry): 256->256 @8x8 at batch 16 measured 1.24 in the table above.  Each
    lane sums into its own ``(16, OC, C)`` partial, and a few lanes' partials are alive
    at once: 4 MiB each at 256 channels, which raised ResNet-18 w64's step peak
    (measured at the start of its backward, where the 256-channel layers run) from
    1.00x to 1.05x PyTorch's; so wider layers keep im2col (measured 0.85 there).
    """
    return _use_winograd(geo) and _winograd_plane(geo, geo.OH, geo.OW, backward=True) and (
        geo.C <= WINOGRAD_GRAD_WEIGHT_MAX_CHANNELS
        or (geo.C <= WINOGRAD_GRAD_WEIGHT_WIDE_CHANNELS
            and _winograd_tiles(geo.N, geo.OH, geo.OW) >= WINOGRAD_SMALL_PLANE_TILES)
    )


#: Channels-last column matrices (``conv_channels_last``) up to this many input and
#: output channels ...
CHANNELS_LAST_MAX_CHANNELS = 128
#: ... on strided convs, or on output planes of at most this many pixels (8x8).
CHANNELS_LAST_MAX_PIXELS = 64


def _use_channels_last(geo):
    """Channels-last column matrices (``conv_channels_last``) instead of the caffe layout.

    Rule: an ungrouped conv with more than one tap, a stride or output planes of at
    most ``CHANNELS_LAST_MAX_PIXELS`` pixels, at most ``CHANNELS_LAST_MAX_CHANNELS``
    input and output channels, and at least two lanes of ``MIN_GEMM_COLUMNS`` output
    pixels over the batch (samples are not cut), a sample's workspace under
    ``MAX_WORKSPACE_BYTES``, and not a direct-kernel conv (Winograd is asked first;
    a caller's ``chunk_bytes`` keeps the caffe layout).
    Measured on the AVX-512 EPYC (float32, 2 threads, batch 32; channels-last / caffe
    layout time, forward and both gradients)::

        16->32 3x3 s2 @32x32    0.82  0.69
        32->64 3x3 s2 @16x16    0.82  0.75
        64->128 3x3 s2 @8x8     0.85  0.92
        128->128 3x3 @4x4       0.92  0.89
        64->64 3x3 @8x8         0.94  0.97
        1x1 s2 (16-128 ch.)     0.99-1.17  0.91-1.30   (left out: one tap)
        128->256 3x3 s2 @16x16  1.12  1.10             (left out: 256 channels)
        256->256 3x3 @8x8       1.13  1.15

    The backward of a conv with few output columns takes the channel-blocked path
    instead (``_use_channel_blocks``, asked first: its workspace is smaller, and such
    convs run at a step's memory peak).  The choice depends on the shapes alone.
    """
    return (
        geo.groups == 1
        and geo.kh * geo.kw > 1
        and not _use_direct(geo)
        and (geo.stride != (1, 1) or geo.OH * geo.OW <= CHANNELS_LAST_MAX_PIXELS)
        and max(geo.C, geo.OC) <= CHANNELS_LAST_MAX_CHANNELS
        and geo.N * geo.OH * geo.OW >= 2 * MIN_GEMM_COLUMNS
        and _cl.workspace_per_sample(geo, 8) <= MAX_WORKSPACE_BYTES  # float64 counted
    )


#: Depthwise convs take the plane kernels of ``conv_same_width`` (stride 1, output as
#: wide as the input) from this width, or with fewer channels than the next constant ...
DEPTHWISE_PLANE_MIN_WIDTH = 16
#: ... and the channels-last copies of ``conv_depthwise`` from this many channels (vectors along the
#: channels).  Measured fwd+bwd at batch 32, 3x3, 2 threads, AVX-512 EPYC (direct /
#: channels-last / plane, ms): 128 ch on 16x16 3.4 / 2.8 / 2.7, 32 on 32x32 2.5 / 2.7 /
#: 1.4, 128 on 8x8 2.7 / 0.8 / 2.8, 512 on 4x4 7.8 / 1.2 / 6.1; stride 2: 128 on 16x16
#: 2.2 / 1.1 / -, 8 on 32x32 0.9 / 0.5 / -, 3 on 32x32 0.3 / 0.5 / -.
DEPTHWISE_CHANNELS_LAST_MIN_CHANNELS = 8


def _depthwise_kernels(geo):
    """Which kernels a depthwise ``geo`` takes: ``"plane"`` (``conv_same_width``),
    ``"channels_last"`` (``conv_depthwise``), or ``None`` (not depthwise, or the direct
    kernels)."""
    if not _dw.is_depthwise(geo):
        return None
    wide = geo.W >= DEPTHWISE_PLANE_MIN_WIDTH or geo.C < DEPTHWISE_CHANNELS_LAST_MIN_CHANNELS
    if _sw.same_width(geo) and wide:
        return "plane"
    if (geo.C >= DEPTHWISE_CHANNELS_LAST_MIN_CHANNELS
            and _dw.workspace_per_sample(geo, 8) <= MAX_WORKSPACE_BYTES):  # float64 counted
        return "channels_last"
    return "plane" if _sw.same_width(geo) else None


#: Other stride-1 'same'-width convs run plane by plane too (``conv_same_width``) when an
#: output sums at most this many products (first layers: LeNet's 1->6 5x5, 3-channel
#: 3x3 stems) ...
PLANE_MAX_PRODUCTS = 27
#: ... the forward when the weight has at most this many entries, the backward with at
#: most this many output channels.  Measured fwd / bwd against im2col (or the direct
#: kernels), ms, 2 threads, AVX-512 EPYC: LeNet 1->6 5x5 at batch 128 0.46 / 0.90 ->
#: 0.44 / 0.45; 3->16 3x3 on 32x32 (ResNet w16's stem, batch 32) 0.40 / 1.02 -> 0.41 /
#: 0.41; 3->8 0.35 / 0.51 -> 0.26 / 0.30; 1->8 3x3 0.36 / 0.50 -> 0.18 / 0.19; but 3->64
#: 0.54 / 0.60 -> 0.71 / 0.74 and 1->32 5x5 0.61 / 0.99 -> 0.98 / 1.03 (GEMMs block
#: over output channels in registers, a plane's taps cannot).  Since the forward adds a
#: 3x3 kernel's taps in one loop on planes from ``conv_same_width.FUSED_3X3_MIN_WIDTH``
#: wide, the 3->16 stem's forward takes the planes too: 0.67-0.71 -> 0.55-0.59 ms (Zen 4
#: EPYC); 3->32 stays on im2col (1.03 against 1.11).
PLANE_FORWARD_MAX_WEIGHTS = 432
PLANE_BACKWARD_MAX_OUT_CHANNELS = 16


def _use_same_width_planes(geo, backward):
    """Whether a conv that is not depthwise runs plane by plane (``conv_same_width``)."""
    if _dw.is_depthwise(geo) or not _sw.same_width(geo):
        return False  # (depthwise convs: _depthwise_kernels)
    products = geo.C // geo.groups * geo.kh * geo.kw
    if products > PLANE_MAX_PRODUCTS:
        return False
    if backward:
        return geo.OC <= PLANE_BACKWARD_MAX_OUT_CHANNELS
    return geo.OC * products <= PLANE_FORWARD_MAX_WEIGHTS


def _use_direct(geo):
    """Direct kernels where a GEMM would be too thin: few taps per output.

    Depthwise convs (one input channel per group) always; otherwise when an output
    sums over at most ``_DIRECT_MAX_TAPS`` products (LeNet's first layer: 25).
    """
    taps = (geo.C // geo.groups) * geo.kh * geo.kw
    return (geo.C == geo.groups and geo.groups > 1) or taps <= _DIRECT_MAX_TAPS


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    """Column matrix of a whole batch, shape ``(C*kh*kw, N*OH*OW)`` (see module doc).

    ``cols[(c*kh + i)*kw + j, (n*OH + oh)*OW + ow] = x_pad[n, c, oh*sh + i*dh, ow*sw + j*dw]``.
    ``padding`` is an int or a pair (symmetric), or ``'valid'``/``'same'``.

    >>> im2col(np.arange(9.0).reshape(1, 1, 3, 3), 2).shape
    (4, 4)
    """
    x = _check_array(x, "x", 4)
    kh, kw = pair(kernel_size, "kernel_size", minimum=1)
    geo = conv_geometry(x.shape, (1, x.shape[1], kh, kw), stride, padding, dilation, 1)
    cols = np.empty((geo.C * kh * kw, geo.N * geo.OH * geo.OW), dtype=x.dtype)
    _im2col_rows(x, cols, 0, geo.N * geo.OH, *_kernel_args(geo))
    return cols


def col2im(cols, x_shape, kernel_size, stride=1, padding=0, dilation=1):
    """Adjoint of :func:`im2col`: sum every column entry back into its pixel.

    Returns an array of shape ``x_shape``; pixels covered by several windows receive
    the sum of their entries, padding entries are dropped.

    >>> col2im(np.ones((4, 4)), (1, 1, 3, 3), 2)[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    cols = _check_array(cols, "cols", 2)
    kh, kw = pair(kernel_size, "kernel_size", minimum=1)
    if len(x_shape) != 4:
        raise ShapeError(f"x_shape must have 4 entries (N, C, H, W), got {tuple(x_shape)}")
    geo = conv_geometry(x_shape, (1, x_shape[1], kh, kw), stride, padding, dilation, 1)
    expected = (geo.C * kh * kw, geo.N * geo.OH * geo.OW)
    if cols.shape != expected:
        raise ShapeError(
            f"cols must have shape {expected} for x_shape {tuple(x_shape)}, got {cols.shape}"
        )
    gx = np.zeros((geo.N, geo.C, geo.H, geo.W), dtype=cols.dtype)
    _col2im_rows(cols, gx, 0, geo.N * geo.OH, *_kernel_args(geo))
    return gx


def _prepare(x, weight, bias):
    x = _check_array(x, "x", 4)
    weight = _check_array(weight, "weight", 4)
    if bias is not None:
        bias = _check_array(bias, "bias", 1)
        if bias.shape[0] != weight.shape[0]:
            raise ShapeError(
                f"bias has {bias.shape[0]} entries but weight has {weight.shape[0]} out_channels"
            )
    _check_same_dtype(x=x, weight=weight, bias=bias)
    return x, weight, bias


class _Conv:
    """One conv2d call's arrays and geometry, and the per-chunk pipelines."""

    def __init__(self, geo, x, weight, chunk_bytes, min_columns=MIN_GEMM_COLUMNS):
        self.geo, self.x, self.dtype = geo, x, x.dtype
        G = geo.groups
        self.K = geo.C * geo.kh * geo.kw
        self.Kg, self.OCg = self.K // G, geo.OC // G
        self.w3 = weight.reshape(G, self.OCg, self.Kg)
        self.args = _kernel_args(geo)
        self.L = geo.OH * geo.OW
        # 1x1, stride 1, no padding: a sample's column matrix is the sample itself.
        self.pointwise = (geo.kh, geo.kw, *geo.stride, *geo.pad_total) == (
            1,
            1,
            1,
            1,
            0,
            0,
        ) and self.L >= 64
        same = geo.stride == (1, 1) and geo.OW == geo.W
        self.im2col = _im2col_rows_same if same else _im2col_rows
        self.table = _tap_table(geo) if _use_tap_table(geo) else None
        self.col2im_table = self.table if _use_tap_table_col2im(geo) else None
        # The workspace of a chunk: its column matrix and its GEMM result (the backward
        # frees the column matrix before it allocates the column gradient).
        self.bytes_per_row = (self.K + geo.OC) * geo.OW * self.dtype.itemsize
        if self.pointwise:
            chunk_bytes = self.bytes_per_row * geo.OH  # one sample per chunk: no copies
        elif chunk_bytes is None:  # L2-sized, but never thinner than MIN_GEMM_COLUMNS
            chunk_bytes = max(CHUNK_BYTES, -(-self.bytes_per_row // geo.OW) * min_columns)
        self.chunks, self.lanes, self.split = _plan(
            geo, self.bytes_per_row, chunk_bytes, min_columns
        )
        # A conv too small in columns for a second lane, yet with big GEMMs (wide layers
        # on small planes): its GEMMs are cut into row blocks run on all threads.
        self.blocks = _gemm_blocks(geo) if len(self.lanes) == 1 else 1

    def _whole_sample(self, r0, r1):
        OH = self.geo.OH
        return r0 % OH == 0 and r1 - r0 == OH

    def _cols(self, r0, r1, m):
        if self.pointwise and self._whole_sample(r0, r1):
            return self.x[r0 // self.geo.OH].reshape(self.K, m)
        cols = np.empty((self.K, m), dtype=self.dtype)
        if self.table is not None:
            _im2col_table(self.x, cols, self.table, r0, r1, self.geo.OH, self.geo.OW)
        else:
            self.im2col(self.x, cols, r0, r1, *self.args)
        return cols

    def _span_cols(self, r, c0, c1):
        cols = np.empty((self.K, c1 - c0), dtype=self.dtype)
        _im2col_span(self.x, cols, r, c0, c1, *self.args)
        return cols

    def _gemm(self, a, b, out, transpose_a=False):
        # out[g] = a[g] @ b[g] per group; a is the (G, OCg, Kg) weight.
        G, Kg, OCg = self.geo.groups, self.Kg, self.OCg
        if G == 1 and self.blocks > 1:
            _blocked_matmul(a[0].T if transpose_a else a[0], b, out, self.blocks)
            return
        for g in range(G):
            if transpose_a:
                np.matmul(a[g].T, b[g * OCg : (g + 1) * OCg], out=out[g * Kg : (g + 1) * Kg])
            else:
                np.matmul(a[g], b[g * Kg : (g + 1) * Kg], out=out[g * OCg : (g + 1) * OCg])

    def forward_chunk(self, r0, r1, c0, c1, bias, out, add_bias=True):
        geo = self.geo
        if c1 - c0 < geo.OW:  # a span of one row (rows over the workspace cap)
            n, oh = divmod(r0, geo.OH)
            cols = self._span_cols(r0, c0, c1)
            res = np.empty((geo.OC, c1 - c0), dtype=self.dtype)
            self._gemm(self.w3, cols, res)
            del cols
            np.add(res, bias[:, None], out=out[n, :, oh, c0:c1])
            return
        m = (r1 - r0) * geo.OW
        cols = self._cols(r0, r1, m)
        direct = self._whole_sample(r0, r1)
        if direct:  # the GEMM writes straight into the output sample
            res = out[r0 // geo.OH].reshape(geo.OC, m)
        else:
            res = np.empty((geo.OC, m), dtype=self.dtype)
        self._gemm(self.w3, cols, res)
        if direct and add_bias:  # (a zero bias would cost a pass over the sample)
            res += bias[:, None]
        else:
            _rows_to_nchw(res, out, bias, r0, r1, geo.OH, geo.OW)

    def backward_chunk(
        self, r0, r1, c0, c1, grad_out, gx, gw, gb, need_x, need_w, first=False, scratch=None
    ):
        geo, G, Kg, OCg = self.geo, self.geo.groups, self.Kg, self.OCg
        span = c1 - c0 < geo.OW
        if span:
            n, oh = divmod(r0, geo.OH)
            m = c1 - c0
            g_rows = np.ascontiguousarray(grad_out[n, :, oh, c0:c1])
            if gb is not None:
                gb += g_rows.sum(axis=1, dtype=np.float64)
        elif self._whole_sample(r0, r1):
            m = (r1 - r0) * geo.OW
            g_rows = grad_out[r0 // geo.OH].reshape(geo.OC, m)
            if gb is not None:
                gb += g_rows.sum(axis=1, dtype=np.float64)
        else:
            m = (r1 - r0) * geo.OW
            g_rows = np.empty((geo.OC, m), dtype=self.dtype)
            _nchw_to_rows(
                grad_out, g_rows, gb if gb is not None else _NO_SUM, r0, r1, geo.OH, geo.OW
            )
        if need_w:
            cols = self._span_cols(r0, c0, c1) if span else self._cols(r0, r1, m)
            # The lane's first chunk writes its partial, later ones add a product made
            # in the lane's one scratch matrix (no (OC, K) temporary per chunk).
            for g in range(G):
                a, b = g_rows[g * OCg : (g + 1) * OCg], cols[g * Kg : (g + 1) * Kg].T
                if not first and not scratch:
                    scratch.append(np.empty((OCg, Kg), dtype=self.dtype))
                if G == 1 and self.blocks > 1:
                    _blocked_matmul(a, b, gw[0], self.blocks, None if first else scratch[0])
                elif first:
                    np.matmul(a, b, out=gw[g])
                else:
                    gw[g] += np.matmul(a, b, out=scratch[0])
            # before the column gradient, so the workspace holds one of the two (the
            # views a and b would keep the column matrix alive)
            del cols, a, b
        if need_x:
            pointwise = not span and self.pointwise and self._whole_sample(r0, r1)
            if pointwise:  # grad_cols is the gradient of the sample itself
                gcols = gx[r0 // geo.OH].reshape(self.K, m)
            else:
                gcols = np.empty((self.K, m), dtype=self.dtype)
            self._gemm(self.w3, g_rows, gcols, transpose_a=True)
            if span:
                _col2im_span(gcols, gx, r0, c0, c1, *self.args)
            elif not pointwise and self.col2im_table is not None:
                _col2im_table(gcols, gx, self.col2im_table, r0, r1, geo.OH, geo.OW)
            elif not pointwise:
                _col2im_rows(gcols, gx, r0, r1, *self.args)


_NO_SUM = np.empty(0, dtype=np.float64)


def conv2d_forward(
    x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, chunk_bytes=None
):
    """conv2d on NumPy arrays (NCHW), PyTorch semantics; returns ``(N, OC, OH, OW)``.

    ``out[n, o, p, q] = bias[o] + sum_{c,i,j} w[o, c, i, j] * x_pad[n, g*Cg + c, p*sh + i*dh,
    q*sw + j*dw]`` with ``g = o // (OC/groups)``.  ``chunk_bytes`` bounds one im2col
    chunk's column matrix (see the module docstring; ``None``: ``CHUNK_BYTES``, raised
    until a chunk has ``MIN_GEMM_COLUMNS`` columns).  Validates every argument; the ops call
    :func:`_conv2d_forward` with a geometry they validated once.

    >>> conv2d_forward(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))).tolist()
    [[[[4.0, 4.0], [4.0, 4.0]]]]
    """
    x, weight, bias = _prepare(x, weight, bias)
    geo = conv_geometry(x.shape, weight.shape, stride, padding, dilation, groups)
    return _conv2d_forward(x, weight, bias, geo, chunk_bytes)


def _conv2d_forward(x, weight, bias, geo, chunk_bytes=None):
    """:func:`conv2d_forward` for arrays of one float dtype that fit ``geo``, unchecked."""
    x, weight = np.ascontiguousarray(x), np.ascontiguousarray(weight)
    dtype = x.dtype
    # A zero bias costs one add per output and keeps a single kernel signature.
    b = np.ascontiguousarray(bias) if bias is not None else np.zeros(geo.OC, dtype=dtype)
    if _use_winograd(geo):  # allocates its own output
        return _wino.winograd_conv3x3(
            x, weight, b, geo.pad[0], geo.pad[1], geo.OH, geo.OW, _lanes_wanted(geo)
        )
    if chunk_bytes is None and _use_channels_last(geo):
        return _cl.channels_last_forward(x, weight, b, geo)
    depthwise = _depthwise_kernels(geo)
    if depthwise == "plane" or _use_same_width_planes(geo, backward=False):
        return _sw.same_width_forward(x, weight, b, geo)
    if depthwise == "channels_last":
        return _dw.depthwise_forward(x, weight, b, geo)
    out = np.empty((geo.N, geo.OC, geo.OH, geo.OW), dtype=dtype)
    if _use_direct(geo):
        args = (x, weight, b, out, geo.groups, *_direct_args(geo))
        run_planes(_direct_forward, geo.N * geo.OC, args, _direct_work(geo))
        return out
    per_column = (geo.C * geo.kh * geo.kw + geo.OC) * dtype.itemsize
    min_columns = max(FORWARD_MIN_GEMM_COLUMNS, min(MIN_GEMM_COLUMNS, CHUNK_BYTES // per_column))
    conv = _Conv(geo, x, weight, chunk_bytes, min_columns)

    def lane(i):
        for r0, r1, c0, c1 in conv.chunks[slice(*conv.lanes[i])]:
            conv.forward_chunk(r0, r1, c0, c1, b, out, bias is not None)

    run_chunks(lane, len(conv.lanes))
    return out


def conv2d_backward(
    grad_out,
    x,
    weight,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    need_input=True,
    need_weight=True,
    need_bias=True,
    *,
    chunk_bytes=None,
):
    """Gradients of :func:`conv2d_forward`: ``(grad_x, grad_weight, grad_bias)``.

    ``grad_x = col2im(W.T @ G)``, ``grad_weight = G @ cols.T``, ``grad_bias = sum G``
    where ``G`` is ``grad_out`` as ``(OC, N*OH*OW)``; entries not asked for are ``None``.
    Validates every argument; the ops call :func:`_conv2d_backward`.

    >>> gx, gw, gb = conv2d_backward(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)),
    ...                              np.ones((1, 1, 2, 2)))
    >>> gb.tolist()
    [4.0]
    """
    x, weight, _ = _prepare(x, weight, None)
    grad_out = _check_array(grad_out, "grad_out", 4)
    _check_same_dtype(x=x, weight=weight, grad_out=grad_out)
    geo = conv_geometry(x.shape, weight.shape, stride, padding, dilation, groups)
    expected = (geo.N, geo.OC, geo.OH, geo.OW)
    if grad_out.shape != expected:
        raise ShapeError(f"grad_out must have shape {expected}, got {grad_out.shape}")
    return _conv2d_backward(
        grad_out, x, weight, geo, need_input, need_weight, need_bias, chunk_bytes
    )


def _conv2d_backward(
    grad_out, x, weight, geo, need_input=True, need_weight=True, need_bias=True,
    chunk_bytes=None,
):
    """:func:`conv2d_backward` for arrays of one float dtype that fit ``geo``, unchecked."""
    if not (need_input or need_weight or need_bias):
        return None, None, None
    grad_out = np.ascontiguousarray(grad_out)
    x, weight = np.ascontiguousarray(x), np.ascontiguousarray(weight)
    dtype = x.dtype
    depthwise = _depthwise_kernels(geo)
    if depthwise == "plane" or _use_same_width_planes(geo, backward=True):
        return _sw.same_width_backward(
            grad_out, x, weight, geo, need_input, need_weight, need_bias
        )
    if depthwise == "channels_last":
        return _dw.depthwise_backward(
            grad_out, x, weight, geo, need_input, need_weight, need_bias
        )
    if _use_direct(geo):
        return _direct_backward(grad_out, x, weight, geo, need_input, need_weight, need_bias)
    wino_x = need_input and _use_winograd_input_grad(geo)
    wino_w = need_weight and _use_winograd_grad_weight(geo)
    if wino_x or wino_w:
        gx = gw = None
        if wino_x:
            # grad_x is the stride-1 conv of grad_out with the flipped, transposed
            # filters and top/left padding 2 - p (its output is H x W again).
            u = _wino.filter_transform(weight, input_grad=True)
            gx = _wino.winograd_conv3x3(
                grad_out, u, None, 2 - geo.pad[0], 2 - geo.pad[1], geo.H, geo.W,
                _lanes_wanted(geo),
            )
        if wino_w:
            gw = _wino.winograd_grad_weight3x3(
                grad_out, x, geo.pad[0], geo.pad[1], _lanes_wanted(geo)
            )
        rest = _conv2d_backward(
            grad_out, x, weight, geo, need_input and not wino_x,
            need_weight and not wino_w, need_bias, chunk_bytes,
        )
        return (gx if wino_x else rest[0]), (gw if wino_w else rest[1]), rest[2]
    if not (need_input or need_weight):
        gb = grad_out.sum(axis=(0, 2, 3), dtype=np.float64).astype(dtype)
        return None, None, gb
    # The channel-blocked backward first: its workspace is a block of rows, where the
    # channels-last one holds whole samples' column matrices (ResNet-18 w16's 4x4
    # layers run at the step's memory peak: 1.00x -> 1.08x PyTorch's peak with them
    # channels-last)
    if chunk_bytes is None and _use_channel_blocks(geo, dtype.itemsize):
        return _channel_blocked_backward(
            grad_out, x, weight, geo, need_input, need_weight, need_bias
        )
    if chunk_bytes is None and _use_channels_last(geo):
        return _cl.channels_last_backward(
            grad_out, x, weight, geo, need_input, need_weight, need_bias
        )
    conv = _Conv(geo, x, weight, chunk_bytes)
    gx = np.zeros(x.shape, dtype=dtype) if need_input else None
    n_lanes = len(conv.lanes)
    # One partial per lane, added in lane order as lanes finish (the same sums with any
    # thread count, and only about one partial per thread alive at a time).
    gw_sum = OrderedSum((geo.groups, conv.OCg, conv.Kg), dtype) if need_weight else None
    gb_parts = [np.zeros(geo.OC, dtype=np.float64) if need_bias else None for _ in range(n_lanes)]

    def lane(i):
        scratch = []
        first, stop = conv.lanes[i]
        part = gw_sum.start(i) if need_weight else None
        if first == stop and need_weight:  # (plans never make one)
            part[...] = 0
        for k in range(first, stop):
            r0, r1, c0, c1 = conv.chunks[k]
            conv.backward_chunk(
                r0, r1, c0, c1, grad_out, gx, part, gb_parts[i], need_input,
                need_weight, k == first, scratch,
            )
        del part, scratch
        if need_weight:
            gw_sum.done(i)

    if conv.split:  # lanes inside samples: neighbouring lanes' col2im may overlap
        evens, odds = range(0, n_lanes, 2), range(1, n_lanes, 2)
        run_chunks(lambda i: lane(evens[i]), len(evens))
        run_chunks(lambda i: lane(odds[i]), len(odds))
    else:
        run_chunks(lane, n_lanes)
    gw = gb = None
    if need_weight:
        gw = gw_sum.result(n_lanes).reshape(weight.shape)
    if need_bias:
        gb = sum_in_lane_order(gb_parts, dtype)
    return gx, gw, gb


#: The channel-blocked backward (:func:`_channel_blocked_backward`) is for convs with
#: at most this many output columns over the whole batch (N * OH * OW) ...
CHANNEL_BLOCK_MAX_COLUMNS = 2048
#: ... cut into blocks of input channels whose rows of the column matrix (over the
#: whole batch) take about this many bytes (a thread holds a block's column rows and
#: then its column-gradient rows; 256 KiB rather than 512 took ResNet-18 w16's step
#: peak from 1.01-1.02x to 1.00x PyTorch's, at no measured cost in time), ...
CHANNEL_BLOCK_BYTES = 256 * 1024
#: ... at least 4 blocks (work for two threads to balance) and at most 16 (a constant,
#: not the core count, so every machine computes the same products), a power of two,
#: each of at least this many rows (input channels x taps).
CHANNEL_BLOCKS = 16
CHANNEL_BLOCK_MIN_ROWS = 64


def _channel_blocks(geo, itemsize=4):
    """Input-channel ranges ``[(c0, c1), ...]`` of the channel-blocked backward.

    A function of the shapes and the dtype's size alone. ResNet-18 w16 at batch 32:
    8 blocks of 16 channels for 128->128 on 4x4, 8 blocks of 8 for 64->64 on 8x8.

    >>> _channel_blocks(conv_geometry((32, 128, 4, 4), (128, 128, 3, 3), 1, 1))[:3]
    [(0, 16), (16, 32), (32, 48)]
    """
    rows = geo.C * geo.kh * geo.kw
    by_bytes = -(-rows * geo.N * geo.OH * geo.OW * itemsize // CHANNEL_BLOCK_BYTES)
    n = max(1, min(CHANNEL_BLOCKS, geo.C, rows // CHANNEL_BLOCK_MIN_ROWS, max(4, by_bytes)))
    n = _power_of_two_at_most(n)
    cuts = [geo.C * i // n for i in range(n + 1)]
    return list(zip(cuts[:-1], cuts[1:]))


def _use_channel_blocks(geo, itemsize=4):
    """Backward by blocks of input channels instead of lanes of samples.

    Convs on small planes with many channels (ResNet-18's last two stages, 4x4 and 8x8
    at batch 32) have few output columns and a large weight: each lane's column matrix
    ``(K, columns)`` and its ``(OC, K)`` weight-gradient partial are megabytes (512->512
    on 4x4: 4.5 MiB and 9 MiB per lane), allocated at the point of the step where the
    saved activations are all still alive. Cut by input channels instead, every block
    is a whole product over the batch: ``grad_weight[:, k0:k1] = G @ cols[k0:k1].T`` and
    ``grad_cols[k0:k1] = W[:, k0:k1].T @ G`` with ``G`` the whole grad_out as rows, so
    there are no partials to sum, the blocks write disjoint columns of grad_weight and
    disjoint channels of grad_x, and a block's workspace is its rows of the column
    matrix. Ungrouped convs, at most ``CHANNEL_BLOCK_MAX_COLUMNS`` output columns, and
    at least two blocks; a function of the shapes alone.

    Measured on the 2-core Zen 3 (issue 17; lanes / blocks in one process, the
    tracemalloc peak of one call above its results, and the time of each conv inside a
    training step, alternating steps): 512->512 on 4x4 at batch 32, workspace 28 MiB
    (19 after freeing the column matrix before the column gradient) -> 5.5 MiB and
    54 -> 44 ms; 256->256 on 8x8, 25 -> 7 MiB and 51 -> 47 ms; ResNet-18 w16's
    128->128 on 4x4, 5.3 -> 1 MiB and 4.3 -> 4.1 ms. Whole steps (in-process A/B,
    median ratio): ResNet-18 w64 0.91x, w16 0.97x, VGG 0.99x; the peak of a step
    (RSS growth, ours / PyTorch) w16 1.06 -> 1.00, w64 1.05 -> 0.99.
    """
    columns = geo.N * geo.OH * geo.OW
    if geo.groups != 1 or columns > CHANNEL_BLOCK_MAX_COLUMNS:
        return False
    blocks = _channel_blocks(geo, itemsize)
    # A block holds its column rows and then its column-gradient rows: keep it well
    # under the workspace cap (the cap only binds when a caller lowers it).
    block_bytes = -(-geo.C // len(blocks)) * geo.kh * geo.kw * columns * itemsize
    return len(blocks) >= 2 and 2 * block_bytes <= MAX_WORKSPACE_BYTES


def _channel_blocked_backward(grad_out, x, weight, geo, need_input, need_weight, need_bias):
    """:func:`_conv2d_backward` by blocks of input channels (see _use_channel_blocks)."""
    N, C, H, W, OC, OH, OW = geo.N, geo.C, geo.H, geo.W, geo.OC, geo.OH, geo.OW
    KK, M, dtype = geo.kh * geo.kw, geo.N * geo.OH * geo.OW, x.dtype
    g_rows = np.empty((OC, M), dtype=dtype)  # grad_out as (OC, N*OH*OW)
    gb_acc = np.zeros(OC, dtype=np.float64) if need_bias else _NO_SUM
    # Through run_chunks (one task: inline, Numba on one thread): a parallel kernel
    # called here would wake Numba's thread team, which keeps spinning on the cores
    # the blocks' GEMMs are about to use (measured in ResNet-18 w16: 2x slower blocks).
    run_chunks(lambda _: _nchw_to_rows(grad_out, g_rows, gb_acc, 0, N * OH, OH, OW), 1,
               uses_blas=False)
    w2 = weight.reshape(OC, C * KK)
    gw = np.empty((OC, C * KK), dtype=dtype) if need_weight else None
    gx = np.empty(x.shape, dtype=dtype) if need_input else None
    table = _tap_table(geo) if _use_tap_table(geo) else None
    col2im_table = table if _use_tap_table_col2im(geo) else None
    im2col = _im2col_rows_same if geo.stride == (1, 1) and OW == W else _im2col_rows
    args = _kernel_args(geo)
    blocks = _channel_blocks(geo, dtype.itemsize)

    def block(b):
        c0, c1 = blocks[b]
        k0, k1 = c0 * KK, c1 * KK
        if need_weight:
            xb = np.ascontiguousarray(x[:, c0:c1])
            cols = np.empty((k1 - k0, M), dtype=dtype)
            if table is not None:
                _im2col_table(xb, cols, table, 0, N * OH, OH, OW)
            else:
                im2col(xb, cols, 0, N * OH, *args)
            del xb
            gw[:, k0:k1] = np.matmul(g_rows, cols.T)
            del cols
        if need_input:
            gcols = np.matmul(w2[:, k0:k1].T, g_rows)
            gxb = np.zeros((N, c1 - c0, H, W), dtype=dtype)
            if col2im_table is not None:
                _col2im_table(gcols, gxb, col2im_table, 0, N * OH, OH, OW)
            else:
                _col2im_rows(gcols, gxb, 0, N * OH, *args)
            del gcols
            gx[:, c0:c1] = gxb

    run_chunks(block, len(blocks))
    gw = gw.reshape(weight.shape) if need_weight else None
    gb = gb_acc.astype(dtype) if need_bias else None
    return gx, gw, gb


def _direct_work(geo):
    """Elements a direct kernel touches (:attr:`ConvGeometry.tap_work`)."""
    return geo.tap_work


def _direct_args(geo):
    return (*geo.stride, *geo.pad, *geo.dilation)


def _direct_backward(grad_out, x, weight, geo, need_input, need_weight, need_bias):
    gx = gw = gb = None
    if need_input:
        gx = np.empty(x.shape, dtype=x.dtype)
        args = (grad_out, weight, gx, geo.groups, *_direct_args(geo))
        run_planes(_direct_grad_input, geo.N * geo.C, args, _direct_work(geo))
    if need_weight:
        partial = np.empty((geo.N,) + weight.shape, dtype=x.dtype)
        args = (grad_out, x, partial, geo.groups, *_direct_args(geo))
        run_planes(_direct_grad_weight, geo.N * geo.OC, args, _direct_work(geo))
        gw = partial.sum(axis=0)
    if need_bias:
        gb = grad_out.sum(axis=(0, 2, 3), dtype=np.float64).astype(x.dtype)
    return gx, gw, gb
