"""Data augmentation and normalisation for images, on one sample or a whole batch.

Every transform takes an image (C, H, W) or a batch (N, C, H, W), as a NumPy array or
a Tensor, and returns the same kind, shape and dtype. On a batch each image gets its
own random draw, computed for the whole batch in a few NumPy calls (no Python loop
per image), so augmenting costs little next to a training step. All randomness comes
from the generator that ``autograd_core.manual_seed`` seeds.

>>> import numpy as np
>>> from nn.transforms import Compose, Normalize, RandomCrop
>>> augment = Compose([RandomCrop(8, padding=1), Normalize([0.5], [0.25])])
>>> augment(np.zeros((4, 1, 8, 8), dtype=np.float32)).shape
(4, 1, 8, 8)
"""

import math
import numbers

import numpy as np

from autograd_core.random import get_generator
from autograd_core.tensor import Tensor

__all__ = ["Compose", "Normalize", "RandomHorizontalFlip", "RandomCrop", "RandomRotation",
           "Cutout", "mixup"]


def _as_batch(x, name):
    """(array as a 4-D batch, whether it was one image, whether it was a Tensor)."""
    is_tensor = isinstance(x, Tensor)
    array = x._data if is_tensor else np.asarray(x)
    if array.ndim == 3:
        return array[np.newaxis], True, is_tensor
    if array.ndim == 4:
        return array, False, is_tensor
    raise ValueError(
        f"{name}: expected an image (C, H, W) or a batch (N, C, H, W), got shape {array.shape}"
    )


def _restore(batch, single, is_tensor, dtype):
    out = np.ascontiguousarray(batch[0] if single else batch, dtype=dtype)
    return Tensor._make(out) if is_tensor else out


def _pair(value, name):
    if isinstance(value, numbers.Integral):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return int(value[0]), int(value[1])
    raise ValueError(f"{name}: expected an int or a pair of ints, got {value!r}")


class Compose:
    """Apply transforms in order: ``Compose([RandomCrop(8, 1), Normalize(m, s)])``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for transform in self.transforms:
            x = transform(x)
        return x

    def __repr__(self):
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose({inner}\n)"


class Normalize:
    """Per channel: (x - mean[c]) / std[c] (float32 output for integer images)."""

    def __init__(self, mean, std):
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.shape != self.std.shape or self.mean.ndim != 1:
            raise ValueError(
                f"Normalize: mean and std need one value per channel, got {self.mean.shape} "
                f"and {self.std.shape}"
            )
        if np.any(self.std <= 0):
            raise ValueError(f"Normalize: std must be positive, got {self.std.tolist()}")

    def __call__(self, x):
        batch, single, is_tensor = _as_batch(x, "Normalize")
        channels = batch.shape[1]
        if len(self.mean) not in (1, channels):
            raise ValueError(
                f"Normalize: {len(self.mean)} means for images with {channels} channels"
            )
        shape = (1, -1, 1, 1)
        out = (batch - self.mean.reshape(shape)) / self.std.reshape(shape)
        # normalised values are fractions: integer images (e.g. uint8) become float32
        dtype = batch.dtype if batch.dtype.kind == "f" else np.float32
        return _restore(out, single, is_tensor, dtype)

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomHorizontalFlip:
    """Mirror each image left-right with probability ``p``."""

    def __init__(self, p=0.5):
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p

    def __call__(self, x):
        batch, single, is_tensor = _as_batch(x, "RandomHorizontalFlip")
        flip = get_generator().random(len(batch)) < self.p
        out = np.where(flip[:, None, None, None], batch[..., ::-1], batch)
        return _restore(out, single, is_tensor, batch.dtype)

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class RandomCrop:
    """Pad by ``padding`` (with ``fill``), then cut a random ``size`` window per image.

    ``RandomCrop(8, padding=1)`` on 8x8 digits shifts each image by up to one pixel.
    """

    def __init__(self, size, padding=0, fill=0.0):
        self.size = _pair(size, "RandomCrop size")
        self.padding = _pair(padding, "RandomCrop padding")
        if min(self.size) < 1 or min(self.padding) < 0:
            raise ValueError(
                f"RandomCrop: size must be positive and padding non-negative, got size "
                f"{self.size} and padding {self.padding}"
            )
        self.fill = fill

    def __call__(self, x):
        batch, single, is_tensor = _as_batch(x, "RandomCrop")
        n, c, h, w = batch.shape
        ph, pw = self.padding
        padded = np.pad(batch, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=self.fill)
        out_h, out_w = self.size
        if out_h > h + 2 * ph or out_w > w + 2 * pw:
            raise ValueError(
                f"RandomCrop: crop size {self.size} is larger than the padded image "
                f"({h + 2 * ph}, {w + 2 * pw})"
            )
        rng = get_generator()
        top = rng.integers(0, h + 2 * ph - out_h + 1, size=n)
        left = rng.integers(0, w + 2 * pw - out_w + 1, size=n)
        rows = top[:, None] + np.arange(out_h)  # (n, out_h)
        cols = left[:, None] + np.arange(out_w)  # (n, out_w)
        out = padded[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None],
                     rows[:, None, :, None], cols[:, None, None, :]]
        return _restore(out, single, is_tensor, batch.dtype)

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomRotation:
    """Rotate each image counter-clockwise by an angle drawn from U[-degrees, degrees].

    Each output pixel p takes the bilinearly interpolated input value at
    R(-angle) (p - centre) + centre; pixels that come from outside get ``fill``.
    ``degrees`` may also be a (min, max) pair. The slides' "rotate up to 15 degrees" is
    ``RandomRotation(15)``.
    """

    def __init__(self, degrees, fill=0.0):
        if isinstance(degrees, numbers.Number):
            # `not degrees >= 0` also refuses NaN, which would rotate every image to NaN
            if not degrees >= 0 or not math.isfinite(degrees):
                raise ValueError(
                    f"RandomRotation: degrees must be a finite non-negative number, got "
                    f"{degrees}")
            degrees = (-float(degrees), float(degrees))
        low, high = (float(d) for d in degrees)
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"RandomRotation: degrees range ({low}, {high}) must be finite")
        if low > high:
            raise ValueError(f"RandomRotation: degrees range ({low}, {high}) is reversed")
        self.degrees = (low, high)
        self.fill = fill

    def __call__(self, x, angles=None):
        batch, single, is_tensor = _as_batch(x, "RandomRotation")
        n, c, h, w = batch.shape
        if angles is None:
            angles = get_generator().uniform(*self.degrees, size=n)
        # counter-clockwise as displayed (rows grow downwards), as torchvision
        theta = -np.deg2rad(np.asarray(angles, dtype=np.float64).reshape(n, 1, 1))
        cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
        yy, xx = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
        # inverse rotation: where in the input does each output pixel come from
        cos, sin = np.cos(theta), np.sin(theta)
        src_y = cos * yy - sin * xx + cy  # (n, h, w)
        src_x = sin * yy + cos * xx + cx
        out = _bilinear(batch, src_y, src_x, self.fill)
        return _restore(out, single, is_tensor, batch.dtype)

    def __repr__(self):
        return f"RandomRotation(degrees={self.degrees})"


def _bilinear(batch, src_y, src_x, fill):
    """Sample ``batch`` (n, c, h, w) at fractional (src_y, src_x) (n, h', w')."""
    n, c, h, w = batch.shape
    y0, x0 = np.floor(src_y).astype(np.int64), np.floor(src_x).astype(np.int64)
    fy, fx = src_y - y0, src_x - x0
    out = np.zeros((n, c) + src_y.shape[1:], dtype=np.float64)
    batch_index = np.arange(n)[:, None, None]
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            yi, xi = y0 + dy, x0 + dx
            inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
            values = batch[batch_index, :, np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)]
            values = np.where(inside[..., None], values, fill)  # (n, h', w', c)
            out += np.moveaxis(values, -1, 1) * (wy * wx)[:, None]
    return out


class Cutout:
    """Zero a ``size`` x ``size`` square at a random centre of each image (DeVries and
    Taylor, 2017); the square is clipped where it crosses the border."""

    def __init__(self, size, fill=0.0):
        if not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"Cutout: size must be a positive int, got {size!r}")
        self.size = int(size)
        self.fill = fill

    def __call__(self, x):
        batch, single, is_tensor = _as_batch(x, "Cutout")
        n, _, h, w = batch.shape
        rng = get_generator()
        cy, cx = rng.integers(0, h, size=n), rng.integers(0, w, size=n)
        top, left = cy - self.size // 2, cx - self.size // 2
        rows, cols = np.arange(h), np.arange(w)
        in_rows = (rows >= top[:, None]) & (rows < top[:, None] + self.size)  # (n, h)
        in_cols = (cols >= left[:, None]) & (cols < left[:, None] + self.size)  # (n, w)
        mask = in_rows[:, None, :, None] & in_cols[:, None, None, :]
        out = np.where(mask, self.fill, batch)
        return _restore(out, single, is_tensor, batch.dtype)

    def __repr__(self):
        return f"Cutout(size={self.size})"


def mixup(x, y, alpha=0.2, num_classes=None):
    """Mix each example with another one of the batch (Zhang et al., 2018).

    With lam ~ Beta(alpha, alpha) and a random permutation pi of the batch:
    x' = lam x + (1 - lam) x[pi],  y' = lam onehot(y) + (1 - lam) onehot(y[pi]).
    Returns (x', y') as Tensors; ``y'`` are class-probability targets, which
    ``nn.functional.cross_entropy`` accepts. ``y`` may be class indices (give
    ``num_classes``, or it is taken as max + 1) or already probabilities (N, K).
    """
    if alpha <= 0:
        raise ValueError(f"mixup: alpha must be positive, got {alpha}")
    xs = x._data if isinstance(x, Tensor) else np.asarray(x)
    ys = y._data if isinstance(y, Tensor) else np.asarray(y)
    if len(xs) != len(ys):
        raise ValueError(f"mixup: {len(xs)} inputs but {len(ys)} targets")
    if ys.ndim == 1:
        if ys.dtype.kind not in "iu":
            raise ValueError(f"mixup: class-index targets must be integers, got {ys.dtype}")
        k = int(num_classes) if num_classes is not None else int(ys.max()) + 1
        if ys.min() < 0 or ys.max() >= k:
            raise ValueError(f"mixup: targets must be in [0, {k}), got {ys.min()}..{ys.max()}")
        probs = np.eye(k, dtype=xs.dtype)[ys]
    else:
        probs = ys.astype(xs.dtype)
    rng = get_generator()
    lam = rng.beta(alpha, alpha)
    perm = rng.permutation(len(xs))
    mixed_x = (lam * xs + (1 - lam) * xs[perm]).astype(xs.dtype)
    mixed_y = (lam * probs + (1 - lam) * probs[perm]).astype(xs.dtype)
    return Tensor._make(mixed_x), Tensor._make(mixed_y)
