"""Ops written as compositions of the others: each is a functional form over existing
op classes (so its gradient is theirs) or, for integer-valued answers (bincount,
unique, searchsorted, ...), a result outside the graph.

>>> import autograd_core as torch
>>> torch.kron(torch.eye(2), torch.ones(1, 2)).tolist()
[[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]]
"""

import builtins

import numpy as np

from autograd_core.errors import DTypeError, ShapeError
from autograd_core.ops import elementwise as _ew
from autograd_core.ops import indexing as _ix
from autograd_core.ops import linalg as _la
from autograd_core.ops import movement as _mv
from autograd_core.ops import reduce as _red
from autograd_core.ops._registry import method_only, public
from autograd_core.ops._shapes import normalize_dim
from autograd_core.ops.elementwise import Where
from autograd_core.ops.movement import GetItem, Permute, Reshape, SetItem
from autograd_core.tensor import Tensor

__all__ = ["cdist", "cross", "kron", "cov", "corrcoef", "diff", "rot90", "nan_to_num"]


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _const(array):
    return Tensor._make(np.asarray(array))


# ------------------------------------------------------------------ elementwise compositions
@public(ops=(_ew.Log,))
def logit(input, eps=None):
    """log(p / (1 - p)), with p clamped to [eps, 1 - eps] when ``eps`` is given."""
    p = _t(input)
    if eps is not None:
        p = p.clamp(eps, 1 - eps)
    return (p / (1 - p)).log()


@public(ops=(_ew.Mul, _ew.Log, Where))
def xlogy(input, other):
    """x log y, 0 where x = 0 (even where y = 0), as PyTorch."""
    x, y = _t(input), _t(other)
    safe = _ew.where(x == 0, 1.0, y) if y.ndim or x.ndim else (1.0 if x.item() == 0 else y)
    return _ew.where(x == 0, 0.0, x * _t(safe).log())


@public(ops=(_ew.Sin, Where))
def sinc(input):
    """sin(pi x) / (pi x), 1 at 0."""
    x = _t(input)
    pix = x * np.pi
    safe = _ew.where(x == 0, 1.0, pix)
    return _ew.where(x == 0, 1.0, safe.sin() / safe)


@public(ops=(_ew.Mul,))
def deg2rad(input):
    return _t(input) * (np.pi / 180)


@public(ops=(_ew.Mul,))
def rad2deg(input):
    return _t(input) * (180 / np.pi)


@public()
def heaviside(input, values):
    """0 for x < 0, ``values`` at 0, 1 for x > 0 (outside the graph)."""
    x, v = _t(input), _t(values)
    return _const(np.heaviside(x._data, v._data).astype(np.result_type(x._data, v._data)))


@public(ops=(Where,))
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN -> ``nan``, +inf -> ``posinf`` (default the dtype's max), -inf -> ``neginf``."""
    x = _t(input)
    if x.dtype.kind != "f":
        return x
    info = np.finfo(x.dtype)
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    out = Where.apply(np.isnan(x._data), np.asarray(nan, x.dtype), x)
    out = Where.apply(np.isposinf(x._data), np.asarray(posinf, x.dtype), out)
    return Where.apply(np.isneginf(x._data), np.asarray(neginf, x.dtype), out)


@public(ops=(Where,))
def fmax(input, other):
    """Elementwise maximum that ignores NaN (the other value wins)."""
    a, b = _t(input), _t(other)
    return _ew.where(np.isnan(a._data), b, _ew.where(np.isnan(b._data), a, _ew.maximum(a, b)))


@public(ops=(Where,))
def fmin(input, other):
    """Elementwise minimum that ignores NaN (the other value wins)."""
    a, b = _t(input), _t(other)
    return _ew.where(np.isnan(a._data), b, _ew.where(np.isnan(b._data), a, _ew.minimum(a, b)))


@public(ops=(_ew.Pow,))
def float_power(input, exponent):
    """input ** exponent computed in float64."""
    base = _t(input).double()
    return base ** (exponent.double() if isinstance(exponent, Tensor) else exponent)


@public(ops=(_ew.Sign,))
def sgn(input):
    return _ew.sign(input)


@public()
def positive(input):
    return _t(input)


@method_only()
def conj(input):
    """The complex conjugate: real tensors are returned as they are."""
    return _t(input)


@method_only()
def resolve_conj(input):
    return _t(input)


@public(ops=(_ew.Mul, _ew.Add))
def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 * tensor2."""
    return _t(input) + value * (_t(tensor1) * tensor2)


@public(ops=(_ew.Div, _ew.Add))
def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 / tensor2."""
    return _t(input) + value * (_t(tensor1) / tensor2)


@public(ops=(_la.MatMul,))
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """beta * input + alpha * (mat @ vec)."""
    return beta * _t(input) + alpha * _la.mv(mat, vec)


@public(ops=(_la.Einsum,))
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """beta * input + alpha * outer(vec1, vec2)."""
    return beta * _t(input) + alpha * _la.outer(vec1, vec2)


@public(ops=(_red.Norm,))
def dist(input, other, p=2):
    """The p-norm of input - other."""
    return _red.vector_norm(_t(input) - other, p)


@public(ops=(_red.Norm, _ew.Div))
def renorm(input, p, dim, maxnorm):
    """Each slice along ``dim`` scaled down to p-norm ``maxnorm`` where it is larger."""
    x = _t(input)
    axis = normalize_dim(dim, x.ndim, "renorm")
    others = tuple(d for d in range(x.ndim) if d != axis)
    norms = _red.vector_norm(x, p, others, keepdim=True)
    scale = _ew.where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return x * scale


# ------------------------------------------------------------------ reductions
@public(ops=(_red.Sum, Where))
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """The sum over ``dim`` with NaN counted as 0."""
    x = _t(input)
    clean = Where.apply(np.isnan(x._data), np.zeros((), x.dtype), x) if x.dtype.kind == "f" \
        else x
    return _red.sum_(clean, dim, keepdim, dtype=dtype)


@public(ops=(_red.Sum, Where))
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """The mean over ``dim`` of the values that are not NaN."""
    x = _t(input)
    count = _red.sum_(_const(~np.isnan(x._data)), dim, keepdim, dtype=x.dtype)
    return nansum(x, dim, keepdim, dtype=dtype) / count


@public(ops=(_red.Mean, _la.MatMul))
def cov(input, *, correction=1, fweights=None, aweights=None):
    """The covariance matrix of the variables in the rows (observations in columns)."""
    if fweights is not None or aweights is not None:
        raise NotImplementedError("cov: fweights and aweights are not supported")
    x = _t(input)
    if x.ndim > 2:
        raise ShapeError(f"cov: expects a 1-D or 2-D tensor, got shape {tuple(x.shape)}")
    x2 = x.reshape(1, -1) if x.ndim < 2 else x
    centered = x2 - x2.mean(dim=1, keepdim=True)
    out = centered @ centered.t() / (x2.shape[1] - correction)
    return out.reshape(()) if x.ndim < 2 else out


@public(ops=(_red.Mean, _la.MatMul))
def corrcoef(input):
    """Pearson correlation coefficients of the variables in the rows."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal().sqrt()
    return c / d.reshape(-1, 1) / d.reshape(1, -1)


@public(ops=(GetItem,))
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along ``dim``."""
    x = _t(input)
    axis = normalize_dim(dim, x.ndim, "diff")
    parts = [p for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        x = _mv.cat([_t(p) for p in parts], axis)
    for _ in range(n):
        n_now = x.shape[axis]
        x = _mv.narrow(x, axis, 1, n_now - 1) - _mv.narrow(x, axis, 0, n_now - 1) \
            if x.dtype.kind != "b" else _const(np.diff(x._data, axis=axis))
    return x


@public("trapz", ops=(GetItem,))
def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoid rule along ``dim`` (spacing ``dx`` or sample points ``x``)."""
    y = _t(y)
    axis = normalize_dim(dim, y.ndim, "trapezoid")
    n = y.shape[axis]
    mids = (_mv.narrow(y, axis, 1, n - 1) + _mv.narrow(y, axis, 0, n - 1)) / 2
    if x is not None:
        return (mids * diff(_t(x), dim=-1 if _t(x).ndim == 1 else axis)).sum(axis)
    return mids.sum(axis) * (1.0 if dx is None else dx)


# ------------------------------------------------------------------ products and distances
@public(ops=(_la.Einsum, Reshape))
def kron(input, other):
    """The Kronecker product: every element of ``input`` times the whole ``other``."""
    a, b = _t(input), _t(other)
    n = builtins.max(a.ndim, b.ndim)
    a = a.reshape((1,) * (n - a.ndim) + tuple(a.shape))
    b = b.reshape((1,) * (n - b.ndim) + tuple(b.shape))
    letters = "abcdefghijklmnopqrstuvwxyz"
    ta, tb = letters[:n], letters[n:2 * n]
    out = "".join(x + y for x, y in zip(ta, tb))
    product = _la.einsum(f"{ta},{tb}->{out}", a, b)
    return product.reshape(tuple(s * t for s, t in zip(a.shape, b.shape)))


@public(ops=(GetItem,))
def cross(input, other, dim=None):
    """The cross product of 3-vectors along ``dim`` (the first dim of size 3 if None)."""
    a, b = _t(input), _t(other)
    shape = np.broadcast_shapes(a.shape, b.shape)
    a, b = a.expand(*shape), b.expand(*shape)
    if dim is None:
        dim = next((d for d, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise ShapeError(f"cross: no dim of size 3 in shape {shape}")
    axis = normalize_dim(dim, len(shape), "cross")
    if shape[axis] != 3:
        raise ShapeError(f"cross: dim {dim} has size {shape[axis]}, not 3")

    def comp(t, i):
        return _mv.narrow(t, axis, i, 1)

    parts = [comp(a, 1) * comp(b, 2) - comp(a, 2) * comp(b, 1),
             comp(a, 2) * comp(b, 0) - comp(a, 0) * comp(b, 2),
             comp(a, 0) * comp(b, 1) - comp(a, 1) * comp(b, 0)]
    return _mv.cat(parts, axis)


@public(method=False, ops=(_red.Norm,))
def cdist(x1, x2, p=2.0, compute_mode=None):
    """Pairwise p-norm distances between the rows of x1 (..., n, d) and x2 (..., m, d)."""
    a, b = _t(x1), _t(x2)
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(f"cdist: x1 {tuple(a.shape)} and x2 {tuple(b.shape)} need the same "
                         "last dim")
    return _red.vector_norm(a.unsqueeze(-2) - b.unsqueeze(-3), p, dim=-1)


# ------------------------------------------------------------------ movement
@public(ops=(GetItem, Permute))
def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (from the first toward
    the second)."""
    x = _t(input)
    d0, d1 = dims
    k %= 4
    if k == 1:
        return _mv.flip(x, [d1]).transpose(d0, d1)
    if k == 2:
        return _mv.flip(x, [d0, d1])
    if k == 3:
        return _mv.flip(x.transpose(d0, d1), [d1])
    return x


@public(method=False, ops=(GetItem,))
def column_stack(tensors):
    """1-D tensors become columns; the rest are concatenated along dim 1."""
    cols = [_t(t).reshape(-1, 1) if _t(t).ndim <= 1 else _t(t) for t in tensors]
    return _mv.cat(cols, 1)


@public(method=False, ops=(GetItem,))
def dstack(tensors):
    """Concatenate along dim 2 (1-D and 2-D tensors get dims of size 1 first)."""
    parts = []
    for t in tensors:
        t = _t(t)
        if t.ndim == 0:
            t = t.reshape(1, 1, 1)
        elif t.ndim == 1:
            t = t.reshape(1, -1, 1)
        elif t.ndim == 2:
            t = t.unsqueeze(-1)
        parts.append(t)
    return _mv.cat(parts, 2)


@public(method=False, ops=(SetItem,))
def block_diag(*tensors):
    """The matrices (2-D; 0-d and 1-D become rows) on the diagonal of a larger one."""
    mats = [_t(t).reshape(1, -1) if _t(t).ndim < 2 else _t(t) for t in tensors]
    rows = builtins.sum(m.shape[0] for m in mats)
    cols = builtins.sum(m.shape[1] for m in mats)
    from autograd_core.ops._dtypes import result_dtype

    dtype = result_dtype(*[m._data for m in mats]) if mats else np.float32
    out = Tensor._make(np.zeros((rows, cols), dtype=dtype))
    r = c = 0
    for m in mats:
        out = SetItem.apply(out, m.to(dtype), index=(slice(r, r + m.shape[0]),
                                                     slice(c, c + m.shape[1])))
        r, c = r + m.shape[0], c + m.shape[1]
    return out


@public(method=False, ops=(Reshape,))
def cartesian_prod(*tensors):
    """All combinations of the 1-D inputs' elements, one per row."""
    from autograd_core import meshgrid

    if len(tensors) == 1:
        return _t(tensors[0])
    grids = meshgrid(*[_t(t) for t in tensors], indexing="ij")
    return _mv.stack([g.reshape(-1) for g in grids], 1)


@public(ops=(GetItem,))
def select(input, dim, index):
    """The slice at ``index`` along ``dim``, without that dim."""
    x = _t(input)
    axis = normalize_dim(dim, x.ndim, "select")
    if not -x.shape[axis] <= index < x.shape[axis]:
        raise IndexError(f"select: index {index} is out of range for dim {dim} of size "
                         f"{x.shape[axis]}")
    return GetItem.apply(x, index=(slice(None),) * axis + (int(index),))


@public(ops=(Reshape,))
def ravel(input):
    return _t(input).reshape(-1)


@public(ops=(SetItem,))
def index_fill(input, dim, index, value):
    """A copy with ``value`` at ``index`` along ``dim``."""
    x = _t(input)
    axis = normalize_dim(dim, x.ndim, "index_fill") if x.ndim else 0
    idx = _ix._vector_index(index, x.shape[axis] if x.ndim else 1, "index_fill")
    value = value if isinstance(value, Tensor) else np.asarray(value, dtype=x.dtype)
    return SetItem.apply(x, value, index=(slice(None),) * axis + (idx,))


@public(ops=(SetItem,))
def index_copy(input, dim, index, source):
    """A copy with the slices of ``source`` written at ``index`` along ``dim``."""
    x = _t(input)
    axis = normalize_dim(dim, x.ndim, "index_copy")
    idx = _ix._vector_index(index, x.shape[axis], "index_copy")
    return SetItem.apply(x, source, index=(slice(None),) * axis + (idx,))


@public(ops=(SetItem,))
def masked_scatter(input, mask, source):
    """A copy with the first elements of ``source`` written where ``mask`` is true."""
    x = _t(input)
    m = np.broadcast_to(_ix._mask_array(mask, "masked_scatter"), x.shape)
    count = int(m.sum())
    src = _t(source)
    if src.numel() < count:
        raise ShapeError(f"masked_scatter: source has {src.numel()} elements, the mask "
                         f"selects {count}")
    return SetItem.apply(x, src.reshape(-1)[:count], index=m)


@public(ops=(SetItem,))
def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """A copy with ``src`` written into the slice ``start:end:step`` of ``dim``."""
    x = _t(input)
    axis = normalize_dim(dim, x.ndim, "slice_scatter")
    return SetItem.apply(x, src, index=(slice(None),) * axis + (slice(start, end, step),))


@public(ops=(SetItem,))
def select_scatter(input, src, dim, index):
    """A copy with ``src`` written at ``index`` of ``dim``."""
    x = _t(input)
    axis = normalize_dim(dim, x.ndim, "select_scatter")
    return SetItem.apply(x, src, index=(slice(None),) * axis + (int(index),))


# ------------------------------------------------------------------ integer answers
def _ints(x, op):
    data = _t(x)._data
    if data.dtype.kind not in "iub":
        raise DTypeError(f"{op}: expects an integer tensor, got {data.dtype}")
    return data


@public()
def bincount(input, weights=None, minlength=0):
    """How often each non-negative integer occurs (summing ``weights`` if given)."""
    data = _ints(input, "bincount")
    if data.ndim != 1:
        raise ShapeError(f"bincount: expects a 1-D tensor, got shape {data.shape}")
    if data.size and data.min() < 0:
        raise ValueError("bincount: the input must be non-negative")
    w = None if weights is None else _t(weights)._data
    out = np.bincount(data, weights=w, minlength=minlength)
    return _const(out.astype(np.int64) if w is None else out.astype(
        w.dtype if w.dtype.kind == "f" else np.float64))


@public()
def histc(input, bins=100, min=0, max=0):  # noqa: A002 - torch's names
    """A histogram of ``bins`` equal bins over [min, max] (the data's range if both 0)."""
    data = _t(input)._data
    lo, hi = (data.min(), data.max()) if min == 0 and max == 0 else (min, max)
    counts, _ = np.histogram(data, bins=bins, range=(float(lo), float(hi)))
    return _const(counts.astype(data.dtype if data.dtype.kind == "f" else np.float32))


@public()
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """The distinct values (sorted), with the inverse indices and counts if asked."""
    data = _t(input)._data
    values, inverse, counts = np.unique(data, return_inverse=True, return_counts=True,
                                        axis=dim)
    out = [_const(values)]
    if return_inverse:
        out.append(_const(inverse.reshape(data.shape if dim is None else -1).astype(np.int64)))
    if return_counts:
        out.append(_const(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


@public(method=False)
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """Where ``input``'s values would go in the sorted last dim of ``sorted_sequence``."""
    seq = _t(sorted_sequence)._data
    values = _t(input)._data if isinstance(input, Tensor) else np.asarray(input)
    side = side or ("right" if right else "left")
    if seq.ndim == 1:
        result = np.searchsorted(seq, values, side=side)
    else:
        result = np.stack([np.searchsorted(s, v, side=side) for s, v in zip(
            seq.reshape(-1, seq.shape[-1]), values.reshape(-1, values.shape[-1]))]).reshape(
            values.shape)
    return _const(np.asarray(result).astype(np.int32 if out_int32 else np.int64))


@public(method=False)
def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value among the sorted 1-D ``boundaries``."""
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


@public()
def gcd(input, other):
    return _const(np.gcd(_ints(input, "gcd"), _ints(other, "gcd")))


@public()
def lcm(input, other):
    return _const(np.lcm(_ints(input, "lcm"), _ints(other, "lcm")))
