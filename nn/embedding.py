"""Embedding tables: ``nn.Embedding`` and ``nn.EmbeddingBag``, shaped like ``torch.nn``.

The weight is (num_embeddings, embedding_dim), initialised N(0, 1) with the
``padding_idx`` row zeroed, as PyTorch; the state-dict key is ``weight``.

>>> import nn
>>> from autograd_core import Tensor, manual_seed
>>> _ = manual_seed(0)
>>> emb = nn.Embedding(10, 3, padding_idx=0)
>>> emb(Tensor([[0, 4], [9, 0]])).shape
torch.Size([2, 2, 3])
"""

import numpy as np

from autograd_core.random import get_generator
from autograd_core.tensor import Tensor
from nn import functional as F
from nn.module import Module, check_device
from nn.parameter import Parameter

__all__ = ["Embedding", "EmbeddingBag"]


def _positive(value, name, layer):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return int(value)


def _make_weight(num, dim, _weight, dtype, layer):
    if _weight is None:
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        return Parameter(get_generator().standard_normal((num, dim)).astype(dtype)), True
    array = _weight._data if isinstance(_weight, Tensor) else np.asarray(_weight)
    if array.shape != (num, dim):
        raise ValueError(f"{layer}: Shape of weight {array.shape} does not match num_embeddings "
                         f"and embedding_dim ({num}, {dim})")
    return Parameter(np.array(array, copy=True)), False


def _padding(padding_idx, num, layer):
    if padding_idx is None:
        return None
    if not -num <= padding_idx < num:
        raise ValueError(f"{layer}: padding_idx must be within num_embeddings ({num}), got "
                         f"{padding_idx}")
    return int(padding_idx) % num


class Embedding(Module):
    """y = weight[input]: each integer index picks one row (see ``F.embedding``)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None,
                 max_norm=None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight=None, _freeze: bool = False, device=None,
                 dtype=None):
        super().__init__()
        check_device(device, "Embedding")
        self.num_embeddings = _positive(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = _positive(embedding_dim, "embedding_dim", "Embedding")
        self.padding_idx = _padding(padding_idx, self.num_embeddings, "Embedding")
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        self.weight, fresh = _make_weight(self.num_embeddings, self.embedding_dim, _weight, dtype,
                                     "Embedding")
        self.weight.requires_grad_(not _freeze)
        if fresh and self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def reset_parameters(self):
        self.weight._data[...] = get_generator().standard_normal(self.weight.shape)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx=None, max_norm=None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False):
        """An Embedding holding a copy of ``embeddings`` (2-D), frozen unless freeze=False."""
        shape = np.shape(embeddings)
        if len(shape) != 2:
            raise ValueError(f"Embedding.from_pretrained: Embeddings parameter is expected to "
                             f"be 2-dimensional, got shape {shape}")
        return cls(shape[0], shape[1], padding_idx, max_norm, norm_type, scale_grad_by_freq,
                   sparse, _weight=embeddings, _freeze=freeze)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += ", scale_grad_by_freq=True"
        if self.sparse:
            text += ", sparse=True"
        return text


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embeddings (see ``F.embedding_bag``)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm=None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                 sparse: bool = False, _weight=None, include_last_offset: bool = False,
                 padding_idx=None, device=None, dtype=None):
        super().__init__()
        check_device(device, "EmbeddingBag")
        self.num_embeddings = _positive(num_embeddings, "num_embeddings", "EmbeddingBag")
        self.embedding_dim = _positive(embedding_dim, "embedding_dim", "EmbeddingBag")
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"EmbeddingBag: mode has to be one of sum, mean or max, got "
                             f"{mode!r}")
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.mode, self.sparse = scale_grad_by_freq, mode, sparse
        self.include_last_offset = include_last_offset
        self.padding_idx = _padding(padding_idx, self.num_embeddings, "EmbeddingBag")
        self.weight, fresh = _make_weight(self.num_embeddings, self.embedding_dim, _weight, dtype,
                                     "EmbeddingBag")
        if fresh and self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def reset_parameters(self):
        self.weight._data[...] = get_generator().standard_normal(self.weight.shape)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse,
                               per_sample_weights, self.include_last_offset, self.padding_idx)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, max_norm=None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        mode: str = "mean", sparse: bool = False,
                        include_last_offset: bool = False, padding_idx=None):
        shape = np.shape(embeddings)
        if len(shape) != 2:
            raise ValueError(f"EmbeddingBag.from_pretrained: Embeddings parameter is expected "
                             f"to be 2-dimensional, got shape {shape}")
        bag = cls(shape[0], shape[1], max_norm, norm_type, scale_grad_by_freq, mode, sparse,
                  embeddings, include_last_offset, padding_idx)
        bag.weight.requires_grad_(not freeze)
        return bag

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += ", scale_grad_by_freq=True"
        text += f", mode='{self.mode}'"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text
