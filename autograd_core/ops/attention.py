"""Scaled dot-product attention as one node.

With q (..., L, E), k (..., S, E), v (..., S, Ev), an additive bias B (..., L, S) (the
mask: 0 where allowed, -inf where not, or any float) and a dropout mask M (0 or
1 / (1 - p), or None):

    s = q k^T * scale + B,   P = softmax(s) over S,   Pd = P M,   y = Pd v

Backward (g = dL/dy):

    dL/dv = Pd^T g,   dPd = g v^T,   dP = dPd M,
    ds = P (dP - sum_S(dP P)),   dL/dq = ds k * scale,   dL/dk = ds^T q * scale,
    dL/dB = ds

A row whose every key is masked (all -inf) has P = 0, so its output and its
gradients are 0, as in PyTorch's ``scaled_dot_product_attention`` (a plain softmax
would give 0/0 = NaN there; ``nn.MultiheadAttention`` with ``need_weights=True`` keeps
that NaN, as PyTorch's does). The fused float32 path also skips the keys a mask
removes at the end of every row (``kernels.attention``): a NaN or inf stored in such
a key does not reach its result, where the NumPy path (float64, dropout, broadcast
masks) computes with it.

Memory: P is (..., L, S), usually the largest array here, so the node does not keep it:
it saves the row maxima m and sums of exp(s - m) ((..., L, 1) each) and backward
rebuilds P from q, k and B with the very operations of the forward (the same bits).
Both passes work in place in one (..., L, S) array where they can.

Speed: float32 attention without dropout or a bias gradient (the usual training
case: a causal or padding mask is a constant) runs fused, one query row at a time,
in ``kernels.attention``; measured on a Transformer LM step (batch 32, 4 heads of 16,
64 x 64 causal scores, 2-core Zen 3) the op's forward + backward went from 11.8 ms to
about 7 ms for its two layers (6.2 ms for the kernels alone; PyTorch's flash attention:
6.7 ms). Everything else
(float64, dropout, a bias that needs its gradient, broadcasting between q, k and v) runs
as follows: float32 softmax rows in one pass through ``kernels.softmax`` (its own
vectorised exp; float64 stays on NumPy), and a batch whose scores have at least
``_SLICE_MIN_SCORES`` elements is cut along its first axis into up to ``_SLICES``
slices run on the worker threads. Every product and row is computed as in the whole
batch, so the bits are the same for any cut and thread count. Measured on a Transformer
LM step (batch 32, 4 heads, 64 x 64 scores, 2-core Zen 3): the op's forward + backward
24.5 ms -> 11 ms.

Gradients of gradients (``create_graph``) replay the forward as a composite of matmul,
softmax and products (``_composite``) and differentiate that.

>>> import numpy as np
>>> from autograd_core import Tensor
>>> q = k = v = Tensor(np.eye(2)[None])
>>> y = ScaledDotProductAttention.apply(q, k, v, None, None, scale=1.0)
>>> np.round(y.numpy(), 3).tolist()
[[[0.731, 0.269], [0.269, 0.731]]]
"""

import numpy as np

from autograd_core.function import Function
from autograd_core.kernels import attention as _fused
from autograd_core.kernels._threads import run_chunks
from autograd_core.kernels.softmax import softmax_last_axis
from autograd_core.ops._formula import Custom

__all__ = ["ScaledDotProductAttention"]


def _swap(a):
    return np.swapaxes(a, -1, -2)


def _composite(q, k, v, bias, dropout_mask, *, scale):
    """The forward on Tensors, of twice differentiable ops (for ``create_graph``)."""
    from autograd_core.ops.elementwise import Where
    from autograd_core.ops.reduce import softmax

    s = (q @ k.transpose(-1, -2)) * scale
    if bias is not None:
        s = s + bias
    dead = _dead_rows(s.detach().numpy())
    if dead is None:
        p = softmax(s, -1)
    else:  # rows of -inf: P = 0, with finite scores under the softmax (finite grads)
        p = Where.apply(dead, 0.0, softmax(Where.apply(dead, 0.0, s), -1))
    if dropout_mask is not None:
        p = p * dropout_mask
    return p @ v


class ScaledDotProductAttention(Function):
    """softmax(q k^T scale + bias) (dropped out) v in one node (module docstring)."""

    formula = Custom(
        "attention",
        local=lambda v, i: ["ds k·scale", "dsᵀ q·scale", "Pdᵀ", "ds", None][i])
    composite = staticmethod(_composite)

    @staticmethod
    def forward(ctx, q, k, v, bias, dropout_mask, *, scale):
        needs = ctx.needs_input_grad
        fused = _fused_arrays(q, k, v, bias, dropout_mask,
                              need_bias=len(needs) > 3 and needs[3])
        ctx.fused = fused is not None
        if fused is not None:
            q3, k3, v3, bias3 = fused
            out, m, total = _fused.attention_forward(q3, k3, v3, bias3, scale)
            ctx.save_for_backward(q3, k3, v3, bias3, m, total, None)
            ctx.shapes = (q.shape, k.shape, v.shape)
            return out.reshape(q.shape[:-1] + v.shape[-1:])
        slices = _batch_slices(q, k, v, bias, dropout_mask)
        out = np.empty(q.shape[:-1] + v.shape[-1:], q.dtype)
        stats = q.shape[:-1] + (1,)
        # The scores' dtype: the row statistics must keep it, or backward's P differs.
        score_dtype = np.result_type(q, k) if bias is None else np.result_type(q, k, bias)
        m = np.empty(stats, score_dtype)
        total = np.empty(stats, score_dtype)

        def one(i):
            sl, bs = slices[i]
            p, m[sl], total[sl] = _probabilities(q[sl], k[sl], _part(bias, bs), scale)
            pd = p if dropout_mask is None else p * dropout_mask[sl]
            out[sl] = pd @ v[sl]  # cast to q's dtype, as PyTorch's result

        _run(one, slices)
        # P is (..., L, S), the largest array of the op: keep only its row maxima and
        # sums ((..., L, 1)), from which backward rebuilds it to the bit (as PyTorch's
        # fused CPU attention keeps only a log-sum-exp).
        ctx.save_for_backward(q, k, v, bias, m, total, dropout_mask)
        return out

    @staticmethod
    def backward(ctx, grad):
        q, k, v, bias, m, total, mask = ctx.saved_tensors
        scale = ctx.options["scale"]
        if getattr(ctx, "fused", False):
            q_shape, k_shape, v_shape = ctx.shapes
            g = np.asarray(grad, dtype=np.float32).reshape(q.shape[:2] + v.shape[2:])
            gq, gk, gv = _fused.attention_backward(q, k, v, bias, scale, m, total, g)
            return gq.reshape(q_shape), gk.reshape(k_shape), gv.reshape(v_shape), None, None
        slices = _batch_slices(q, k, v, bias, mask)
        need_bias = ctx.needs_input_grad[3]
        grads = [None] * len(slices)

        def one(i):
            sl, bs = slices[i]
            grads[i] = _backward_part(q[sl], k[sl], v[sl], _part(bias, bs), m[sl], total[sl],
                                      None if mask is None else mask[sl], grad[sl], scale,
                                      need_bias)

        _run(one, slices)
        if len(slices) == 1:
            return grads[0] + (None,)
        joined = [np.concatenate([g[j] for g in grads]) for j in range(3)]
        grad_bias = np.concatenate([g[3] for g in grads]) if need_bias else None
        return joined[0], joined[1], joined[2], grad_bias, None


#: Batches of attention are cut into at most this many slices along their first axis,
#: run on the worker threads (a constant, so the same slices on any machine; each
#: slice's products and rows are computed as in the whole batch, so results do not
#: depend on the cut either).
_SLICES = 8
#: ... when the scores have at least this many elements (below, one call is cheaper).
_SLICE_MIN_SCORES = 1 << 16


def _batch_slices(q, k, v, bias, mask):
    """``[(slice of the first axis, slice of bias's first axis)]``: one whole-array
    entry unless q, k and v share a batch shape (no broadcasting between them) and the
    scores are large enough to share out."""
    whole = [(slice(None), slice(None))]
    if q.ndim < 3 or not (q.shape[:-2] == k.shape[:-2] == v.shape[:-2]):
        return whole
    n = q.shape[0]
    if n < 2 or q.size // q.shape[-1] * k.shape[-2] < _SLICE_MIN_SCORES:
        return whole
    b = np.ndim(bias)
    if b == q.ndim and np.shape(bias)[0] not in (1, n):
        return whole
    if mask is not None and np.shape(mask)[0] != n:
        return whole
    per_batch = b == q.ndim and np.shape(bias)[0] == n
    cuts = [n * i // min(n, _SLICES) for i in range(min(n, _SLICES) + 1)]
    return [(slice(a, z), slice(a, z) if per_batch else slice(None))
            for a, z in zip(cuts, cuts[1:])]


def _fused_arrays(q, k, v, bias, dropout_mask, need_bias):
    """(q, k, v, bias) as the fused kernels take them (``kernels.attention``: float32
    (B, L, E), (B, S, E), (B, S, Ev) of any strides, a bias of (L, S) or (B, L, S)), or
    None where the NumPy path runs: other dtypes, broadcasting between q, k and v, a
    bias of any other shape or needing its gradient, dropout, empty arrays."""
    arrays = (q, k, v)
    if dropout_mask is not None or need_bias or \
            not all(type(a) is np.ndarray and a.dtype == np.float32 and a.ndim >= 2
                    and a.size > 0 for a in arrays) or \
            not (q.shape[:-2] == k.shape[:-2] == v.shape[:-2]) or \
            q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        return None  # (mismatched shapes: NumPy's products raise with the shapes)
    batch = int(np.prod(q.shape[:-2], dtype=np.int64))
    length, source = q.shape[-2], k.shape[-2]
    if bias is not None:
        if type(bias) is not np.ndarray or bias.dtype != np.float32:
            return None
        if bias.ndim >= 2 and bias.shape[-2:] == (length, source) and \
                all(d == 1 for d in bias.shape[:-2]):
            bias = np.ascontiguousarray(bias.reshape(length, source))
        elif bias.shape == q.shape[:-2] + (length, source):
            bias = np.ascontiguousarray(bias.reshape(batch, length, source))
        else:
            return None

    def as3(a):  # a view where the strides allow (the kernels take any strides)
        return a.reshape((batch,) + a.shape[-2:])

    return as3(q), as3(k), as3(v), bias


def _part(bias, rows):
    return None if bias is None or np.ndim(bias) == 0 else bias[rows]


def _run(one, slices):
    if len(slices) == 1:
        one(0)
    else:
        run_chunks(one, len(slices))


def _backward_part(q, k, v, bias, m, total, mask, grad, scale, need_bias):
    """(grad_q, grad_k, grad_v, grad_bias or None) of one batch slice."""
    p, _, _ = _probabilities(q, k, bias, scale, m, total)
    pd = p if mask is None else p * mask
    grad_v = _swap(pd) @ grad
    del pd
    ds = grad @ _swap(v)  # dPd, a new array: the steps below work in it
    if mask is not None:
        ds *= mask
    # ds = P (dP - sum_S(dP P)), the same operations as ever (same bits), in place
    ds -= _row_sums_of_product(ds, p)
    ds *= p
    del p
    grad_q = (ds @ k) * scale
    grad_k = (_swap(ds) @ q) * scale
    return grad_q, grad_k, grad_v, (ds if need_bias else None)


def _row_sums_of_product(a, b, block_bytes=1 << 18):
    """``np.sum(a * b, axis=-1, keepdims=True)`` without an ``a``-sized product: block
    by block over the leading rows, through one small buffer. Each row's sum is the
    same reduction as on the whole array (NumPy reduces every row on its own), so
    the bits are the same."""
    if a.size == 0:  # (no keys or no rows: reshape(-1, 0) is ambiguous)
        return np.sum(a * b, axis=-1, keepdims=True)
    rows = a.reshape(-1, a.shape[-1]) if a.flags.c_contiguous else None
    other = b.reshape(-1, b.shape[-1]) if b.flags.c_contiguous and b.shape == a.shape \
        else None
    if rows is None or other is None or a.size * a.itemsize <= block_bytes:
        return np.sum(a * b, axis=-1, keepdims=True)
    step = max(1, block_bytes // (rows.shape[1] * max(rows.itemsize, other.itemsize)))
    dtype = np.result_type(a, b)
    out = np.empty((rows.shape[0], 1), dtype)
    buffer = np.empty((min(step, rows.shape[0]), rows.shape[1]), dtype)
    for start in range(0, rows.shape[0], step):
        stop = min(start + step, rows.shape[0])
        product = buffer[:stop - start]
        np.multiply(rows[start:stop], other[start:stop], out=product)
        np.sum(product, axis=-1, keepdims=True, out=out[start:stop])
    return out.reshape(a.shape[:-1] + (1,))


def _probabilities(q, k, bias, scale, m=None, total=None):
    """P = softmax(q k^T scale + bias) over the last axis, with its row maxima m (0
    where a row is all -inf) and row sums of exp(s - m). Given the m and sums of an
    earlier call on the same arrays, the very same P (the same operations in the same
    order). Works in one (..., L, S) array where the dtypes allow."""
    s = q @ _swap(k)
    s *= scale
    if bias is not None:
        if np.broadcast_shapes(s.shape, np.shape(bias)) == s.shape and \
                np.result_type(s, bias) == s.dtype:
            s += bias
        else:
            s = s + bias
    # In place; float32 by the one-pass kernel (its own exp), float64 by NumPy.
    p, m, total = softmax_last_axis(s, m, total)
    dead = np.asarray(total) == 0  # only where every score is -inf (the max gives 1)
    if dead.any():
        p[np.broadcast_to(dead, p.shape)] = 0  # 0/0 there: PyTorch's P is 0
    return p, m, total


def _dead_rows(s):
    """A boolean (..., 1) array of the rows of ``s`` whose every entry is -inf, or None
    when there are none."""
    dead = np.all(np.isneginf(s), axis=-1, keepdims=True)
    return dead if dead.any() else None

