"""The teaching tools' view of one recorded node, for the op's ``formula``.

Formulas live on the op classes (``formula = Template(...)`` next to forward and
backward; see ``autograd_core.ops._formula``). :class:`OpView` is what they format:
``v.args`` (one string per positional input: a name, or the constant as Python),
``v.out``, ``v.g`` (the name of dL/d(out)), ``v.opt`` (the options), shapes and dtypes,
and ``v.tmp(suffix)`` for temporary names. :func:`rule_for` finds an op's formula.
"""

import numpy as np

from autograd_core._format import dtype_literal, fmt_value, literal
from autograd_core.ops import _dtypes
from autograd_core.ops._formula import (  # noqa: F401 - re-exported for the tools
    HELPERS,
    Custom,
    Rule,
    Template,
    index_code,
    paren,
    unbroadcast_code,
)
from autograd_core.tensor import Tensor

__all__ = ["OpView", "rule_for", "Rule", "Template", "Custom", "HELPERS", "paren",
           "unbroadcast_code", "index_code"]


def rule_for(fn):
    """The op class's own ``formula`` (not a base class's: a subclass may differ), or None."""
    return vars(fn).get("formula") if isinstance(fn, type) else None


class OpView:
    """One node seen through names: what a :class:`Rule` formats.

    ``mode="code"`` gives Python identifiers and exact literals (flat code);
    ``mode="text"`` gives display names and short numbers (graph labels).
    """

    def __init__(self, ctx, output, name_of, mode="code", grad_dtype=None, temp=None):
        self.ctx = ctx
        self.fn = ctx.fn
        self.opt = ctx.options
        self.inputs = ctx.inputs
        self.mode = mode
        self.out = name_of(output)
        self.g = f"grad_{self.out}" if mode == "code" else f"∂L/∂{self.out}"
        self.args = [name_of(x) if isinstance(x, Tensor) else self._constant(x)
                     for x in ctx.inputs]
        if mode == "code":
            self._cast_promoted_args()
        self.out_shape = output.shape
        self.out_dtype = output.dtype
        self.grad_dtype = np.dtype(grad_dtype) if grad_dtype is not None else output.dtype
        self._temp = temp or (lambda base: base)
        self.output = output

    def _cast_promoted_args(self):
        """Write the engine's dtype promotion into the arguments (``x.astype(...)``).

        The elementwise ops promote their operands as PyTorch does before NumPy computes
        (``ops._dtypes``); where that changes an operand's dtype, the flat code casts it
        the same way, so its numbers stay identical to the engine's.
        """
        positions = getattr(self.fn, "promotes", ())
        if not positions:
            return
        values = [self.value(i) for i in positions]
        if len(positions) == 2:
            promoted = _dtypes.promote(*values)
        else:
            promoted = tuple(values)
        if getattr(self.fn, "float_only", False):
            promoted = tuple(_dtypes.to_float(x) for x in promoted)
        for i, before, after in zip(positions, values, promoted):
            if after is before:
                continue
            target = dtype_literal(np.result_type(after))
            if isinstance(self.inputs[i], Tensor) or isinstance(before, np.ndarray):
                self.args[i] = f"{self.args[i]}.astype({target})"
            else:
                self.args[i] = f"np.asarray({self.args[i]}, dtype={target})"

    def _constant(self, x) -> str:
        if self.mode == "text":
            return fmt_value(x) if isinstance(x, (np.ndarray, np.generic, int, float)) else str(x)
        text = literal(x)
        return f"({text})" if text.startswith("-") else text

    def shape(self, i) -> tuple:
        x = self.inputs[i]
        return x.shape if isinstance(x, Tensor) else np.shape(x)

    def ndim(self, i) -> int:
        return len(self.shape(i))

    def value(self, i):
        x = self.inputs[i]
        return x._data if isinstance(x, Tensor) else x

    def dtype(self, i):
        x = self.inputs[i]
        return x.dtype if isinstance(x, Tensor) else np.result_type(x)

    def tmp(self, suffix: str) -> str:
        return self._temp(f"{self.out}_{suffix}")

    def fmt(self, template: str) -> str:
        return template.format(*self.args, out=self.out, g=self.g)


# The CNN helpers the flat code defines when conv or pooling is written out: plain
# NumPy, a loop over the kernel offsets only (never over images or positions).
IM2COL_HELPER = '''def im2col(x, kernel, stride, padding, dilation):
    """Unfold x (N, C, H, W) into cols (C*kh*kw, N*OH*OW), the slides' im2col.

    Column n*OH*OW + oh*OW + ow holds the patch under output (oh, ow) of image n; row
    c*kh*kw + i*kw + j its pixel (c, oh*S + i*d, ow*S + j*d) of the padded image.
    padding is ((top, bottom), (left, right)).
    """
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(padding))
    N, C, H, W = xp.shape
    OH, OW = (H - dh * (kh - 1) - 1) // sh + 1, (W - dw * (kw - 1) - 1) // sw + 1
    cols = np.empty((C, kh, kw, N, OH, OW), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i * dh:i * dh + sh * (OH - 1) + 1:sh,
                       j * dw:j * dw + sw * (OW - 1) + 1:sw]
            cols[:, i, j] = patch.transpose(1, 0, 2, 3)
    return cols.reshape(C * kh * kw, N * OH * OW)'''

COL2IM_HELPER = '''def col2im(cols, x_shape, kernel, stride, padding, dilation):
    """The adjoint of im2col: add every entry of cols back onto the pixel it came from."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    (top, bottom), (left, right) = padding
    N, C, H, W = x_shape
    Hp, Wp = H + top + bottom, W + left + right
    OH, OW = (Hp - dh * (kh - 1) - 1) // sh + 1, (Wp - dw * (kw - 1) - 1) // sw + 1
    cols = cols.reshape(C, kh, kw, N, OH, OW)
    xp = np.zeros((N, C, Hp, Wp), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i * dh:i * dh + sh * (OH - 1) + 1:sh,
               j * dw:j * dw + sw * (OW - 1) + 1:sw] += cols[:, i, j].transpose(1, 0, 2, 3)
    return xp[:, :, top:top + H, left:left + W]'''

POOL_WINDOWS_HELPER = '''def pool_windows(x, kernel, stride, padding, dilation, out_size, fill):
    """x (N, C, H, W) -> windows (N, C, OH, OW, kh*kw): window (oh, ow) holds the pixels
    x[oh*S - P + i*d, ow*S - P + j*d] in row-major order of (i, j); pixels outside x
    (the padding, and a ceil_mode window's overhang) are ``fill``."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (OH, OW) = (kernel, stride, padding,
                                                        dilation, out_size)
    N, C, H, W = x.shape
    Hp = max(H + 2 * ph, (OH - 1) * sh + dh * (kh - 1) + 1)
    Wp = max(W + 2 * pw, (OW - 1) * sw + dw * (kw - 1) + 1)
    xp = np.full((N, C, Hp, Wp), fill, dtype=x.dtype)
    xp[:, :, ph:ph + H, pw:pw + W] = x
    windows = np.empty((N, C, OH, OW, kh * kw), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            windows[..., i * kw + j] = xp[:, :, i * dh:i * dh + sh * (OH - 1) + 1:sh,
                                          j * dw:j * dw + sw * (OW - 1) + 1:sw]
    return windows'''

UNPOOL_WINDOWS_HELPER = '''def unpool_windows(windows, x_shape, kernel, stride, padding, dilation,
                   out_size):
    """The adjoint of pool_windows: add each window entry back onto its pixel."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (OH, OW) = (kernel, stride, padding,
                                                        dilation, out_size)
    N, C, H, W = x_shape
    Hp = max(H + 2 * ph, (OH - 1) * sh + dh * (kh - 1) + 1)
    Wp = max(W + 2 * pw, (OW - 1) * sw + dw * (kw - 1) + 1)
    xp = np.zeros((N, C, Hp, Wp), dtype=windows.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i * dh:i * dh + sh * (OH - 1) + 1:sh,
               j * dw:j * dw + sw * (OW - 1) + 1:sw] += windows[..., i * kw + j]
    return xp[:, :, ph:ph + H, pw:pw + W]'''

CNN_HELPERS = {"im2col": IM2COL_HELPER, "col2im": COL2IM_HELPER,
               "pool_windows": POOL_WINDOWS_HELPER, "unpool_windows": UNPOOL_WINDOWS_HELPER}
ALL_HELPERS = {**HELPERS, **CNN_HELPERS}
