"""Multi-head attention, shaped like ``torch.nn.MultiheadAttention``.

Parameters and state-dict keys are PyTorch's: ``in_proj_weight`` (3E, E) and
``in_proj_bias`` (3E,) (or ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight`` when
``kdim``/``vdim`` differ from E), ``bias_k``/``bias_v`` with ``add_bias_kv``, and
``out_proj.weight``/``out_proj.bias``. For each head h (of E / num_heads features):

    head_h = softmax(q_h k_h^T / sqrt(E / num_heads) + mask) v_h
    y = concat(head_1 ... head_H) W_out^T + b_out

Masks follow PyTorch's convention for this layer: a bool ``attn_mask`` or
``key_padding_mask`` is True where attention is NOT allowed; a float one is added.

>>> import nn
>>> from autograd_core import randn, manual_seed
>>> _ = manual_seed(0)
>>> mha = nn.MultiheadAttention(embed_dim=8, num_heads=2, batch_first=True)
>>> out, weights = mha(randn(3, 5, 8), randn(3, 7, 8), randn(3, 7, 8))
>>> out.shape, weights.shape
(torch.Size([3, 5, 8]), torch.Size([3, 5, 7]))
"""

import numpy as np

from autograd_core.errors import DTypeError, ShapeError
from autograd_core.ops.movement import Cat
from autograd_core.tensor import Tensor
from nn import functional as F
from nn import init
from nn.linear import Linear
from nn.module import Module, check_device
from nn.parameter import Parameter

__all__ = ["MultiheadAttention", "NonDynamicallyQuantizableLinear"]


class NonDynamicallyQuantizableLinear(Linear):
    """The Linear of ``out_proj`` (PyTorch's class name, for equal reprs)."""


def _mask_as_bias(mask, name, dtype):
    """A bool (True = masked out) or float mask as an additive float bias."""
    array = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if array.dtype.kind == "b":
        return Tensor._make(np.where(array, -np.inf, 0.0).astype(dtype))
    if array.dtype.kind != "f":
        raise DTypeError(f"MultiheadAttention: only bool and floating types of {name} are "
                         f"supported, got {array.dtype}")
    return mask if isinstance(mask, Tensor) else Tensor._make(array.astype(dtype))


class MultiheadAttention(Module):
    """Multi-head attention (see the module docstring) with PyTorch's signature."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim=None, vdim=None,
                 batch_first: bool = False, device=None, dtype=None):
        super().__init__()
        check_device(device, "MultiheadAttention")
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be greater than "
                             f"0, got embed_dim={embed_dim} and num_heads={num_heads} instead")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim must be divisible by num_heads, "
                             f"got embed_dim={embed_dim} and num_heads={num_heads}")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        dt = np.dtype(np.float32 if dtype is None else dtype)
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype=dt))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = Parameter(np.empty((embed_dim, embed_dim), dtype=dt))
            self.k_proj_weight = Parameter(np.empty((embed_dim, self.kdim), dtype=dt))
            self.v_proj_weight = Parameter(np.empty((embed_dim, self.vdim), dtype=dt))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(np.empty(3 * embed_dim, dtype=dt))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        dtype=dt)
        if add_bias_kv:
            self.bias_k = Parameter(np.empty((1, 1, embed_dim), dtype=dt))
            self.bias_v = Parameter(np.empty((1, 1, embed_dim), dtype=dt))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _projections(self, query, key, value, self_attention=False):
        e = self.embed_dim
        b = self.in_proj_bias
        if self_attention and self._qkv_same_embed_dim:
            # One (rows, E) @ (E, 3E) GEMM instead of three of a third the width (as
            # PyTorch packs it): measured 0.4 against 0.6-1.4 ms at (2048, 64), and one
            # node's backward instead of three.
            qkv = _linear_2d(query, self.in_proj_weight, b)
            return qkv[..., :e], qkv[..., e:2 * e], qkv[..., 2 * e:]
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            wq, wk, wv = w[:e], w[e:2 * e], w[2 * e:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return _linear_2d(query, wq, bq), _linear_2d(key, wk, bk), _linear_2d(value, wv, bv)

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True, is_causal: bool = False):
        """(attn_output, attn_weights or None); inputs (L, N, E) ((N, L, E) with
        batch_first) or unbatched (L, E); weights (N, L, S), or (N, H, L, S) with
        ``average_attn_weights=False``."""
        dtype = self.out_proj.weight.dtype
        self_attention = query is key and key is value
        query, key, value = (x if isinstance(x, Tensor) else Tensor(x)
                             for x in (query, key, value))
        if query.ndim not in (2, 3):
            raise ShapeError(f"MultiheadAttention: query should be unbatched 2D or batched 3D "
                             f"tensor but received {query.ndim}-D query tensor of shape "
                             f"{tuple(query.shape)}")
        batched = query.ndim == 3
        kind = "batched (3-D)" if batched else "unbatched (2-D)"
        for name, t in (("key", key), ("value", value)):
            if t.ndim != query.ndim:
                raise ShapeError(f"MultiheadAttention: for {kind} "
                                 f"`query`, expected `{name}` to be {query.ndim}-D, but got "
                                 f"{t.ndim}-D tensor of shape {tuple(t.shape)}")
        if self.batch_first and batched:
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        if not batched:
            query, key, value = (x.unsqueeze(1) for x in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = _tensor(key_padding_mask).unsqueeze(0)
        tgt_len, bsz, embed_dim = query.shape
        src_len = key.shape[0]
        heads, hd = self.num_heads, self.head_dim
        if embed_dim != self.embed_dim:
            raise ShapeError(f"MultiheadAttention: was expecting embedding dimension of "
                             f"{self.embed_dim}, but got {embed_dim} (query shape "
                             f"{tuple(query.shape)})")
        if key.shape[:2] != value.shape[:2] or key.shape[1] != bsz:
            raise ShapeError(f"MultiheadAttention: key shape {tuple(key.shape)} does not match "
                             f"value shape {tuple(value.shape)} or the query's batch {bsz}")
        if key.shape[2] != self.kdim or value.shape[2] != self.vdim:
            raise ShapeError(f"MultiheadAttention: expected key and value feature sizes "
                             f"kdim={self.kdim}, vdim={self.vdim}, got {key.shape[2]} and "
                             f"{value.shape[2]}")
        if is_causal and attn_mask is None:
            raise RuntimeError("MultiheadAttention: need attn_mask if specifying the is_causal "
                               "hint (pass the causal mask itself)")
        if attn_mask is not None:
            attn_mask = _mask_as_bias(attn_mask, "attn_mask", dtype)
            if attn_mask.ndim == 2:
                if tuple(attn_mask.shape) != (tgt_len, src_len):
                    raise ShapeError(f"MultiheadAttention: The shape of the 2D attn_mask is "
                                     f"{tuple(attn_mask.shape)}, but should be "
                                     f"{(tgt_len, src_len)}.")
                attn_mask = attn_mask.unsqueeze(0)
            elif attn_mask.ndim == 3:
                if tuple(attn_mask.shape) != (bsz * heads, tgt_len, src_len):
                    raise ShapeError(f"MultiheadAttention: The shape of the 3D attn_mask is "
                                     f"{tuple(attn_mask.shape)}, but should be "
                                     f"{(bsz * heads, tgt_len, src_len)}.")
            else:
                raise ShapeError(f"MultiheadAttention: attn_mask's dimension {attn_mask.ndim} "
                                 "is not supported (2-D or 3-D)")
        if key_padding_mask is not None:
            key_padding_mask = _mask_as_bias(key_padding_mask, "key_padding_mask", dtype)
            if tuple(key_padding_mask.shape) != (bsz, src_len):
                raise ShapeError(f"MultiheadAttention: expecting key_padding_mask shape of "
                                 f"{(bsz, src_len)}, but got {tuple(key_padding_mask.shape)}")
        q, k, v = self._projections(query, key, value, self_attention)
        if self.bias_k is not None:
            k = Cat.apply(k, self.bias_k.expand(1, bsz, embed_dim), dim=0)
            v = Cat.apply(v, self.bias_v.expand(1, bsz, embed_dim), dim=0)
            attn_mask = _pad_last(attn_mask)
            key_padding_mask = _pad_last(key_padding_mask)
        # (L, N, E) -> (N * H, L, hd), PyTorch's head layout
        q = q.reshape(tgt_len, bsz * heads, hd).transpose(0, 1)
        k = k.reshape(k.shape[0], bsz * heads, hd).transpose(0, 1)
        v = v.reshape(v.shape[0], bsz * heads, hd).transpose(0, 1)
        if self.add_zero_attn:
            zeros = Tensor._make(np.zeros((bsz * heads, 1, hd), dtype=q.dtype))
            k = Cat.apply(k, zeros, dim=1)
            v = Cat.apply(v, zeros, dim=1)
            attn_mask = _pad_last(attn_mask)
            key_padding_mask = _pad_last(key_padding_mask)
        src = k.shape[1]
        if key_padding_mask is not None:
            kpm = key_padding_mask.reshape(bsz, 1, 1, src).expand(bsz, heads, 1, src)
            kpm = kpm.reshape(bsz * heads, 1, src)
            attn_mask = kpm if attn_mask is None else attn_mask + kpm
        p = self.dropout if self.training else 0.0
        if need_weights:
            scores = (q * float(1.0 / np.sqrt(hd))) @ k.transpose(1, 2)
            if attn_mask is not None:
                scores = scores + attn_mask
            weights = F.softmax(scores, dim=-1)
            dropped = F.dropout(weights, p=p) if p > 0 else weights
            out = dropped @ v
        else:
            if attn_mask is not None:
                attn_mask = attn_mask.reshape(bsz, heads, -1, src) if attn_mask.shape[0] != 1 \
                    else attn_mask.unsqueeze(0)
            out = F.scaled_dot_product_attention(
                q.reshape(bsz, heads, tgt_len, hd), k.reshape(bsz, heads, src, hd),
                v.reshape(bsz, heads, src, hd), attn_mask, p)
            out = out.reshape(bsz * heads, tgt_len, hd)
            weights = None
        out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = self.out_proj(out).reshape(tgt_len, bsz, embed_dim)
        if weights is not None:
            weights = weights.reshape(bsz, heads, tgt_len, src)
            if average_attn_weights:
                weights = weights.mean(1)
            if not batched:
                weights = weights.squeeze(0)
        if not batched:
            out = out.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, weights


def _linear_2d(x, weight, bias):
    """F.linear on the rows of x: NumPy's matmul of a 3-D x with a 2-D weight runs one
    small GEMM per leading index, measured up to 100x slower than one GEMM on the
    (rows, features) view."""
    rows = x.reshape(-1, x.shape[-1])
    return F.linear(rows, weight, bias).reshape(*x.shape[:-1], weight.shape[0])


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor._make(np.asarray(x))


def _pad_last(mask):
    """A mask with one more, unmasked (0) key column, for bias_k / the zero key."""
    if mask is None:
        return None
    zeros = Tensor._make(np.zeros(tuple(mask.shape[:-1]) + (1,), dtype=mask.dtype))
    return Cat.apply(mask, zeros, dim=mask.ndim - 1)
