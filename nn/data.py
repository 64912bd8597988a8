"""Datasets and batching: ``Dataset``, ``TensorDataset``, ``Subset``, ``DataLoader``,
``random_split`` (as ``torch.utils.data``).

Array datasets are batched by indexing every array with the whole batch of indices at
once (``TensorDataset.__getitems__``), so an epoch costs a handful of NumPy calls, not a
Python call per sample. Other datasets are fetched sample by sample and collated.
Shuffling draws from the generator that ``autograd_core.manual_seed`` seeds.

>>> import numpy as np
>>> from nn.data import DataLoader, TensorDataset
>>> data = TensorDataset(np.arange(10.0).reshape(5, 2), np.arange(5))
>>> [y.tolist() for _, y in DataLoader(data, batch_size=2)]
[[0, 1], [2, 3], [4]]
"""

import math
import numbers

import numpy as np

from autograd_core.random import get_generator
from autograd_core.tensor import Tensor, as_tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "random_split", "default_collate"]


class Dataset:
    """A sized collection of samples: subclasses define ``__getitem__`` and ``__len__``.

    A dataset that can fetch many samples in one call may also define
    ``__getitems__(indices) -> batch``; the DataLoader then uses it directly.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


class TensorDataset(Dataset):
    """Samples are rows of equally long arrays, e.g. ``TensorDataset(images, labels)``.

    ``transform`` (optional) is applied to the first array (the inputs): to one sample
    in ``__getitem__`` and to a whole batch at once in ``__getitems__`` (the transforms
    in ``nn.transforms`` accept both).
    """

    def __init__(self, *tensors, transform=None):
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        arrays = [t._data if isinstance(t, Tensor) else np.asarray(t) for t in tensors]
        for i, array in enumerate(arrays):
            if array.ndim == 0:
                raise ValueError(f"TensorDataset: array {i} is 0-d; each needs a first dim")
            if len(array) != len(arrays[0]):
                raise ValueError(
                    "TensorDataset: all arrays need the same first dim; array 0 has "
                    f"{len(arrays[0])} rows and array {i} has {len(array)}"
                )
        self.arrays = arrays
        self.transform = transform

    @property
    def tensors(self) -> tuple:
        """The arrays as Tensors (shared memory), as ``torch``'s ``.tensors``."""
        return tuple(Tensor._make(a) for a in self.arrays)

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        sample = [a[index] for a in self.arrays]
        if self.transform is not None:
            sample[0] = self.transform(sample[0])
        return tuple(Tensor._make(np.asarray(s)) for s in sample)

    def __getitems__(self, indices):
        indices = np.asarray(indices, dtype=np.int64)
        batch = [a[indices] for a in self.arrays]
        if self.transform is not None:
            batch[0] = self.transform(batch[0])
        return tuple(Tensor._make(np.asarray(b)) for b in batch)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (keeps batched fetching if it has it)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices out of range for a dataset of {n} samples")

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def __getattr__(self, name):
        if name == "__getitems__" and hasattr(self.dataset, "__getitems__"):
            return lambda indices: self.dataset.__getitems__(self.indices[np.asarray(indices)])
        raise AttributeError(name)


def random_split(dataset, lengths, generator=None) -> list:
    """Split into non-overlapping random subsets of the given lengths (or fractions).

    Fractions are turned into counts as PyTorch does: floor each, then hand the
    remainder out one by one from the first subset on.
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1):
        counts = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(not isinstance(x, numbers.Integral) or x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative ints or fractions, "
                         f"got {lengths}")
    if sum(lengths) != n:
        raise ValueError(
            f"random_split: the lengths {lengths} sum to {sum(lengths)}, but the dataset "
            f"has {n} samples"
        )
    order = (generator or get_generator()).permutation(n)
    offsets = np.cumsum([0] + lengths)
    return [Subset(dataset, order[start:stop]) for start, stop in zip(offsets[:-1], offsets[1:])]


def default_collate(samples):
    """Stack a list of samples into a batch, keeping the samples' structure.

    Tensors and arrays are stacked along a new first dim, numbers become a 1-d Tensor,
    tuples/lists/dicts are collated field by field.
    """
    first = samples[0]
    if isinstance(first, (Tensor, np.ndarray)):
        return Tensor._make(np.stack([np.asarray(s) for s in samples]))
    if isinstance(first, (numbers.Number, np.generic)):
        return as_tensor(np.asarray(samples))
    if isinstance(first, dict):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("default_collate: samples have different numbers of fields")
        return type(first)(default_collate(list(field)) for field in zip(*samples)) \
            if isinstance(first, tuple) else [default_collate(list(f)) for f in zip(*samples)]
    raise TypeError(f"default_collate cannot batch samples of type {type(first).__name__}")


class DataLoader:
    """Iterate over a dataset in (optionally shuffled) mini-batches.

    Parameters
    ----------
    dataset : Dataset
    batch_size : int
    shuffle : bool
        Draw a new order every epoch from the seeded generator.
    drop_last : bool
        Drop the last batch when it is smaller than ``batch_size``.
    collate_fn : callable, optional
        Turns a list of samples into a batch (default :func:`default_collate`). Datasets
        with ``__getitems__`` return whole batches and skip it unless one is given.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False,
                 collate_fn=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        return get_generator().permutation(n) if self.shuffle else np.arange(n)

    def __iter__(self):
        order = self._order()
        fetch_many = getattr(self.dataset, "__getitems__", None)
        for start in range(0, len(order), self.batch_size):
            indices = order[start:start + self.batch_size]
            if self.drop_last and len(indices) < self.batch_size:
                break
            if fetch_many is not None:
                batch = fetch_many(indices)
                yield self.collate_fn(batch) if self.collate_fn is not None else batch
            else:
                samples = [self.dataset[int(i)] for i in indices]
                yield (self.collate_fn or default_collate)(samples)
