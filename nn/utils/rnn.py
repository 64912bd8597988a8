"""Variable-length sequences for the recurrent layers, as ``torch.nn.utils.rnn``.

A batch of sequences of different lengths is either *padded* (a (T, N, *) tensor with
the lengths on the side) or *packed*: a :class:`PackedSequence` whose ``data`` holds,
step after step, the rows of the sequences still running at that step (longest
first), ``batch_sizes[t]`` of them. The recurrent layers run a packed batch without
computing anything on padding.

    lengths 3, 1, 2  (sorted: 3, 2, 1)   ->  batch_sizes = [3, 2, 1]
    data = [a0 c0 b0 | a1 c1 | a2]           sorted_indices = [0, 2, 1]

>>> from autograd_core import Tensor
>>> import numpy as np
>>> a, b = Tensor(np.arange(3.0)[:, None]), Tensor(np.arange(2.0)[:, None])
>>> packed = pack_sequence([a, b])
>>> packed.batch_sizes.tolist(), packed.data.flatten().tolist()
([2, 2, 1], [0.0, 0.0, 1.0, 1.0, 2.0])
>>> padded, lengths = pad_packed_sequence(packed, batch_first=True)
>>> padded.shape, lengths.tolist()
(torch.Size([2, 3, 1]), [3, 2])
"""

from typing import NamedTuple

import numpy as np

from autograd_core.errors import ShapeError
from autograd_core.ops.movement import Cat, GetItem, SetItem, Stack
from autograd_core.tensor import Tensor

__all__ = ["PackedSequence", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence"]


class PackedSequence(NamedTuple):
    """(data, batch_sizes, sorted_indices, unsorted_indices), as PyTorch's.

    ``data``: (sum of lengths, *); ``batch_sizes``: int64, one per step; the indices
    (or None) map the original batch order to the sorted one and back.
    """

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor = None
    unsorted_indices: Tensor = None

    def to(self, *args, **kwargs):
        return self._replace(data=self.data.to(*args, **kwargs))

    def double(self):
        return self._replace(data=self.data.double())

    def float(self):
        return self._replace(data=self.data.float())

    @property
    def is_cuda(self) -> bool:
        return False


def _as_tensor(x, what: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    return Tensor._make(np.asarray(x))


def _lengths_array(lengths, batch: int) -> np.ndarray:
    values = lengths._data if isinstance(lengths, Tensor) else np.asarray(lengths)
    values = np.asarray(values)
    if values.ndim != 1 or values.shape[0] != batch:
        raise ShapeError(
            f"pack_padded_sequence: expected one length per sequence ({batch}), got lengths "
            f"of shape {values.shape}")
    if values.dtype.kind not in "iu":
        if values.dtype.kind == "f" and np.all(values == np.round(values)):
            values = values.astype(np.int64)
        else:
            raise TypeError(f"pack_padded_sequence: lengths must be integers, got {values.dtype}")
    return values.astype(np.int64)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of shapes (L_i, *) into (max L, N, *) (or (N, max L, *)),
    filling with ``padding_value``; differentiable with respect to each sequence."""
    sequences = [_as_tensor(s, "sequence") for s in sequences]
    if not sequences:
        raise ValueError("pad_sequence: received an empty list of sequences")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got "
                         f"{padding_side!r}")
    trailing = sequences[0].shape[1:]
    for i, s in enumerate(sequences):
        if s.ndim == 0 or s.shape[1:] != trailing:
            raise ShapeError(
                f"pad_sequence: every sequence must have shape (L, {', '.join(map(str, trailing))})"
                f" like the first; sequence {i} has shape {tuple(s.shape)}")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            fill = Tensor._make(np.full((missing,) + tuple(trailing), padding_value,
                                        dtype=s.dtype))
            parts = (s, fill) if padding_side == "right" else (fill, s)
            s = Cat.apply(*parts, dim=0)
        padded.append(s)
    return Stack.apply(*padded, dim=0 if batch_first else 1)


def _pack_indices(batch_sizes):
    """(time, batch) index arrays of the packed rows, step after step."""
    times = np.repeat(np.arange(len(batch_sizes)), batch_sizes)
    rows = np.concatenate([np.arange(b) for b in batch_sizes]) if len(batch_sizes) else \
        np.zeros(0, dtype=np.int64)
    return times, rows


def pack_padded_sequence(input, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded (T, N, *) batch (or (N, T, *) with ``batch_first``) whose sequence i
    has ``lengths[i]`` steps. With ``enforce_sorted`` the lengths must be decreasing;
    otherwise the batch is sorted and the order kept in ``sorted_indices``."""
    x = _as_tensor(input, "input")
    if x.ndim < 2:
        raise ShapeError(
            f"pack_padded_sequence: expected an input of shape (T, N, *), got {tuple(x.shape)}")
    if batch_first:
        x = x.transpose(0, 1)
    steps, batch = x.shape[0], x.shape[1]
    lengths = _lengths_array(lengths, batch)
    if np.any(lengths <= 0):
        raise ValueError(
            f"pack_padded_sequence: every length must be positive, got {lengths.tolist()}")
    if np.any(lengths > steps):
        raise ValueError(
            f"pack_padded_sequence: a length {int(lengths.max())} exceeds the {steps} steps "
            f"of the input of shape {tuple(input.shape)}")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise RuntimeError(
                f"pack_padded_sequence: `lengths` array must be sorted in decreasing order "
                f"when `enforce_sorted` is True, got {lengths.tolist()}; pass "
                "enforce_sorted=False to sort the batch")
        sorted_indices = None
        order = np.arange(batch)
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = order
    sorted_lengths = lengths[order]
    batch_sizes = np.array([(sorted_lengths > t).sum() for t in range(int(sorted_lengths[0]))],
                           dtype=np.int64)
    times, rows = _pack_indices(batch_sizes)
    data = GetItem.apply(x, index=(times, order[rows]))
    if sorted_indices is None:
        return PackedSequence(data, Tensor._make(batch_sizes), None, None)
    unsorted = np.empty_like(order)
    unsorted[order] = np.arange(batch)
    return PackedSequence(data, Tensor._make(batch_sizes), Tensor._make(order.astype(np.int64)),
                          Tensor._make(unsorted.astype(np.int64)))


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length=None):
    """The inverse of :func:`pack_padded_sequence`: (padded, lengths), the batch in its
    original order, padded to the longest sequence (or ``total_length`` steps)."""
    data, batch_sizes = sequence.data, np.asarray(sequence.batch_sizes._data
                                                  if isinstance(sequence.batch_sizes, Tensor)
                                                  else sequence.batch_sizes)
    steps, batch = len(batch_sizes), int(batch_sizes[0])
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                f"pad_packed_sequence: expected total_length to be at least the length of the "
                f"longest sequence ({steps}), got total_length={total_length}")
        steps = int(total_length)
    times, rows = _pack_indices(batch_sizes)
    sorted_indices = sequence.sorted_indices
    order = np.arange(batch) if sorted_indices is None else np.asarray(sorted_indices._data
                                                                        if isinstance(
                                                                            sorted_indices, Tensor)
                                                                        else sorted_indices)
    blank = np.full((steps, batch) + tuple(data.shape[1:]), padding_value, dtype=data.dtype)
    # scattering into the original batch positions directly: no unsort step afterwards
    padded = SetItem.apply(Tensor._make(blank), data, index=(times, order[rows]))
    sorted_lengths = np.array([(batch_sizes > b).sum() for b in range(batch)], dtype=np.int64)
    lengths = np.empty(batch, dtype=np.int64)
    lengths[order] = sorted_lengths
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, Tensor._make(lengths)


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) sequences (longest first, unless ``enforce_sorted`` is
    False)."""
    sequences = [_as_tensor(s, "sequence") for s in sequences]
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first: bool = False):
    """The list of sequences of a padded batch (the inverse of :func:`pad_sequence`)."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    lengths = np.asarray(lengths._data if isinstance(lengths, Tensor) else lengths)
    return [x[i, :int(n)] for i, n in enumerate(lengths)]


def unpack_sequence(packed_sequences: PackedSequence):
    """The list of sequences of a packed batch (the inverse of :func:`pack_sequence`)."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
