"""Datasets, samplers and batching, as ``torch.utils.data``: ``Dataset``,
``TensorDataset``, ``Subset``, ``random_split``, the samplers (``SequentialSampler``,
``RandomSampler``, ``SubsetRandomSampler``, ``WeightedRandomSampler``, ``BatchSampler``,
``DistributedSampler``) and ``DataLoader`` (with ``num_workers`` worker processes).

Array datasets are batched by indexing every array with the whole batch of indices at
once (``TensorDataset.__getitems__``), so an epoch costs a handful of NumPy calls, not a
Python call per sample. Other datasets are fetched sample by sample and collated.
Shuffling draws from the generator that ``autograd_core.manual_seed`` seeds, or from the
``generator=`` given (a ``numpy.random.Generator`` or anything with one as ``.rng``).

>>> import numpy as np
>>> from nn.data import DataLoader, TensorDataset
>>> data = TensorDataset(np.arange(10.0).reshape(5, 2), np.arange(5))
>>> [y.tolist() for _, y in DataLoader(data, batch_size=2)]
[[0, 1], [2, 3], [4]]
"""

import itertools
import math
import multiprocessing
import numbers
import os

import numpy as np

from autograd_core.random import get_generator
from autograd_core.tensor import Tensor, as_tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "random_split", "default_collate",
           "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DistributedSampler", "get_worker_info"]


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


def _rng(generator, op):
    """The NumPy generator behind ``generator=`` (None: the global one, fetched now)."""
    if generator is None:
        return get_generator()
    if isinstance(generator, np.random.Generator):
        return generator
    for attr in ("rng", "_rng", "generator", "_generator"):
        inner = getattr(generator, attr, None)
        if isinstance(inner, np.random.Generator):
            return inner
    raise TypeError(f"{op}: generator must be a numpy.random.Generator or an "
                    f"autograd_core Generator, got {type(generator).__name__}")


def _check_positive_int(value, what, op):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{op}: {what} should be a positive integer value, but got "
                         f"{what}={value!r}")
    return int(value)


class Sampler:
    """Yields dataset indices; subclasses define ``__iter__`` (and usually ``__len__``)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def _order(self) -> np.ndarray:
        return np.arange(len(self.data_source))

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of the indices (a new one per iteration), or ``num_samples``
    indices drawn with replacement.

    Without replacement and ``num_samples > len``, whole permutations are chained, as
    PyTorch does.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if num_samples is not None:
            _check_positive_int(num_samples, "num_samples", "RandomSampler")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def _order(self) -> np.ndarray:
        n = len(self.data_source)
        rng = _rng(self.generator, "RandomSampler")
        if self.replacement:
            return rng.integers(0, n, size=self.num_samples)
        if self._num_samples is None:
            return rng.permutation(n)
        parts = [rng.permutation(n) for _ in range(math.ceil(self.num_samples / n))]
        return np.concatenate(parts)[:self.num_samples]

    def __iter__(self):
        return iter(self._order().tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order (a new one per iteration)."""

    def __init__(self, indices, generator=None):
        self.indices = list(indices)
        self.generator = generator

    def __iter__(self):
        order = _rng(self.generator, "SubsetRandomSampler").permutation(len(self.indices))
        return iter([self.indices[i] for i in order])

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``
    (``replacement=False``: each index at most once)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        num_samples = _check_positive_int(num_samples, "num_samples", "WeightedRandomSampler")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "
                             f"replacement={replacement!r}")
        array = np.asarray(weights._data if isinstance(weights, Tensor) else weights,
                           dtype=np.float64)
        if array.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{array.shape}")
        if array.size == 0 or not np.all(np.isfinite(array)) or (array < 0).any() \
                or array.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative "
                             "and not all zero")
        if not replacement and num_samples > np.count_nonzero(array):
            raise RuntimeError(
                f"WeightedRandomSampler: cannot draw {num_samples} samples without "
                f"replacement from {np.count_nonzero(array)} non-zero weights")
        self.weights = array
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        rng = _rng(self.generator, "WeightedRandomSampler")
        p = self.weights / self.weights.sum()
        return iter(rng.choice(len(p), size=self.num_samples, replace=self.replacement,
                               p=p).tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``.

    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        self.batch_size = _check_positive_int(batch_size, "batch_size", "BatchSampler")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        self.sampler = sampler
        self.drop_last = drop_last

    def _index_arrays(self):
        """The batches as NumPy index arrays: one slice each when the sampler can give its
        whole order at once (the sequential and random samplers), else from the lists."""
        order_of = getattr(self.sampler, "_order", None)
        if order_of is None:
            yield from (np.asarray(batch, dtype=np.int64) for batch in self)
            return
        order = order_of()
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield order[start:start + self.batch_size]

    def __iter__(self):
        it = iter(self.sampler)
        while True:
            batch = list(itertools.islice(it, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)


class DistributedSampler(Sampler):
    """The share of ``dataset`` that process ``rank`` of ``num_replicas`` trains on.

    As PyTorch: every epoch all processes draw the same permutation (seeded by
    ``seed + epoch``: call :meth:`set_epoch` at each epoch's start), pad it by repeating
    its start to a multiple of ``num_replicas`` (or cut it, ``drop_last=True``), and
    rank r takes positions r, r + num_replicas, ...; the shares are disjoint and, without
    padding, cover the data exactly once. ``num_replicas`` and ``rank`` default to the
    process group's (``autograd_core.distributed``). The permutation is NumPy's
    (``default_rng(seed + epoch)``), so the order differs from PyTorch's.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            from autograd_core import distributed as dist

            if not dist.is_initialized():
                raise RuntimeError(
                    "DistributedSampler: pass num_replicas and rank, or call "
                    "autograd_core.distributed.init_process_group('mpi') first")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        num_replicas = _check_positive_int(num_replicas, "num_replicas", "DistributedSampler")
        if isinstance(rank, bool) or not isinstance(rank, numbers.Integral) \
                or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = int(rank)
        self.epoch = 0
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        n = len(dataset)
        if self.drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int):
        """Use the permutation of this epoch (the same on every process)."""
        self.epoch = int(epoch)

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding > 0:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples


# ------------------------------------------------------------------ worker processes
class WorkerInfo:
    """What :func:`get_worker_info` returns inside a DataLoader worker process."""

    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed})"


_worker_info = None
_worker_state = {}


def get_worker_info():
    """In a DataLoader worker: its ``WorkerInfo`` (id, num_workers, seed, dataset);
    in the main process: None."""
    return _worker_info


def _worker_init(dataset, fetch, num_workers, counter, worker_init_fn):
    global _worker_info
    with counter.get_lock():
        worker_id = counter.value
        counter.value += 1
    _worker_state.update(dataset=dataset, fetch=fetch)
    _worker_info = WorkerInfo(worker_id, num_workers, None, dataset)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if worker_init_fn is not None:
        worker_init_fn(worker_id)


def _worker_fetch(indices, seed):
    # Seeded per batch, not per worker: a batch's random transforms are the same whichever
    # worker happens to load it, so results do not depend on scheduling.
    from autograd_core.random import manual_seed

    manual_seed(seed)
    if _worker_info is not None:
        _worker_info.seed = seed
    return _worker_state["fetch"](indices)


class _Fetcher:
    """Turns a list of indices into a batch (picklable for worker processes)."""

    def __init__(self, dataset, collate_fn, auto_collation):
        self.dataset = dataset
        self.collate_fn = collate_fn
        self.auto_collation = auto_collation

    def __call__(self, indices):
        if not self.auto_collation:  # batch_size=None: one sample at a time
            sample = self.dataset[indices]
            return self.collate_fn(sample) if self.collate_fn is not None else sample
        fetch_many = getattr(self.dataset, "__getitems__", None)
        if fetch_many is not None:
            batch = fetch_many(indices)
            return self.collate_fn(batch) if self.collate_fn is not None else batch
        samples = [self.dataset[int(i)] for i in indices]
        return (self.collate_fn or default_collate)(samples)


class DataLoader:
    """Iterate over a dataset in (optionally shuffled) mini-batches, as PyTorch's.

    Parameters
    ----------
    dataset : Dataset
    batch_size : int or None
        Samples per batch (None: yield samples one by one, uncollated).
    shuffle : bool
        A new order every epoch (a :class:`RandomSampler` with ``generator``).
    sampler, batch_sampler
        Where the indices come from (exclusive with ``shuffle``; ``batch_sampler``
        also with ``batch_size``, ``drop_last`` and ``sampler``).
    num_workers : int
        Load batches in that many worker processes (0: in this process). Batches come
        out in the sampler's order; each batch's randomness (augmentation) is seeded
        from a base seed drawn from the main generator each epoch and the batch's
        number, so a run is reproducible whatever the scheduling.
    collate_fn : callable, optional
        Turns a list of samples into a batch (default :func:`default_collate`). Datasets
        with ``__getitems__`` return whole batches and skip it unless one is given.
    drop_last : bool
        Drop the last batch when it is smaller than ``batch_size``.
    pin_memory, timeout, worker_init_fn, multiprocessing_context, generator,
    prefetch_factor, persistent_workers
        As PyTorch (``pin_memory`` is accepted and ignored: there is no GPU).
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False,
                 timeout=0, worker_init_fn=None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        if batch_size is not None:
            if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                    or batch_size < 1:
                raise ValueError(f"DataLoader: batch_size must be a positive int, got "
                                 f"{batch_size!r}")
            batch_size = int(batch_size)
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) \
                or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 "
                             "to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing. let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle \
                else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, bool(drop_last))
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = int(num_workers)
        self.collate_fn = collate_fn
        self.pin_memory = bool(pin_memory)  # no GPU: nothing to pin
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.prefetch_factor = 2 if prefetch_factor is None and num_workers else prefetch_factor
        self.persistent_workers = bool(persistent_workers)
        self._pool = None

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def _indices(self):
        sampler = self._index_sampler
        if type(sampler) is BatchSampler:
            return sampler._index_arrays()
        return iter(sampler)

    def __len__(self):
        return len(self._index_sampler)

    def __iter__(self):
        fetcher = _Fetcher(self.dataset, self.collate_fn, self._auto_collation)
        if self.num_workers == 0:
            for indices in self._indices():
                yield fetcher(indices)
            return
        yield from self._iter_workers(fetcher)

    # -------------------------------------------------------------- worker processes
    def _context(self):
        context = self.multiprocessing_context
        if context is None:
            methods = multiprocessing.get_all_start_methods()
            context = "fork" if "fork" in methods else "spawn"
        return multiprocessing.get_context(context) if isinstance(context, str) else context

    def _start_pool(self, fetcher):
        context = self._context()
        counter = context.Value("i", 0)
        return context.Pool(self.num_workers, initializer=_worker_init,
                            initargs=(self.dataset, fetcher, self.num_workers, counter,
                                      self.worker_init_fn))

    def _iter_workers(self, fetcher):
        pool = self._pool
        if pool is None:
            pool = self._start_pool(fetcher)
            if self.persistent_workers:
                self._pool = pool
        base_seed = int(get_generator().integers(0, 2**62))
        window = self.num_workers * self.prefetch_factor
        pending = []
        timeout = self.timeout or None
        try:
            batches = self._indices()
            for number, indices in enumerate(batches):
                pending.append(pool.apply_async(_worker_fetch,
                                                (indices, (base_seed + number) % 2**63)))
                if len(pending) >= window:
                    yield self._get(pending.pop(0), timeout)
            while pending:
                yield self._get(pending.pop(0), timeout)
        finally:
            if not self.persistent_workers:
                pool.terminate()
                pool.join()

    @staticmethod
    def _get(result, timeout):
        try:
            return result.get(timeout)
        except multiprocessing.TimeoutError:
            raise RuntimeError(f"DataLoader timed out after {timeout} seconds waiting for a "
                               "worker") from None

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.terminate()
