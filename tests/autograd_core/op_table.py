"""The engine's ops as data, shared by the gradcheck, NumPy and PyTorch tests.

Each entry says how to call the op in this engine, in NumPy (the forward reference)
and in PyTorch, and which input domain keeps it differentiable (log needs x > 0,
abs and relu stay away from their kink, max/min away from ties).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import autograd_core as ag


@dataclass(frozen=True)
class Op:
    name: str
    arity: int
    ours: Callable
    numpy: Callable
    torch: Callable
    domain: str = "real"  # real | positive | away_from_zero | distinct
    kwargs_note: str = ""
    extra: dict = field(default_factory=dict)


UNARY = [
    Op("neg", 1, lambda a: -a, lambda a: -a, lambda a: -a),
    Op("exp", 1, lambda a: a.exp(), np.exp, lambda a: a.exp()),
    Op("log", 1, lambda a: a.log(), np.log, lambda a: a.log(), "positive"),
    Op("sqrt", 1, lambda a: a.sqrt(), np.sqrt, lambda a: a.sqrt(), "positive"),
    Op("abs", 1, lambda a: a.abs(), np.abs, lambda a: a.abs(), "away_from_zero"),
    Op("sin", 1, lambda a: a.sin(), np.sin, lambda a: a.sin()),
    Op("cos", 1, lambda a: a.cos(), np.cos, lambda a: a.cos()),
    Op("tanh", 1, lambda a: a.tanh(), np.tanh, lambda a: a.tanh()),
    Op("sigmoid", 1, lambda a: a.sigmoid(), lambda a: 1 / (1 + np.exp(-a)),
       lambda a: a.sigmoid()),
    Op("relu", 1, lambda a: a.relu(), lambda a: np.maximum(a, 0), lambda a: a.relu(),
       "away_from_zero"),
    Op("clamp", 1, lambda a: a.clamp(-0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7),
       lambda a: a.clamp(-0.5, 0.7), "away_from_bounds"),
    Op("pow_scalar", 1, lambda a: a ** 3, lambda a: a ** 3, lambda a: a ** 3),
    Op("square", 1, lambda a: a ** 2, lambda a: a ** 2, lambda a: a ** 2),
    Op("rpow", 1, lambda a: 2.0 ** a, lambda a: 2.0 ** a, lambda a: 2.0 ** a),
    Op("radd", 1, lambda a: 1.5 + a, lambda a: 1.5 + a, lambda a: 1.5 + a),
    Op("rsub", 1, lambda a: 1.5 - a, lambda a: 1.5 - a, lambda a: 1.5 - a),
    Op("rmul", 1, lambda a: 1.5 * a, lambda a: 1.5 * a, lambda a: 1.5 * a),
    Op("rdiv", 1, lambda a: 1.5 / a, lambda a: 1.5 / a, lambda a: 1.5 / a,
       "away_from_zero"),
] + [
    # the rest of PyTorch's elementwise math (issue 13): same name here and in torch
    Op(name, 1, (lambda n: lambda a: getattr(a, n)())(name), np_fn,
       (lambda n: lambda a: getattr(a, n)())(name), domain)
    for name, np_fn, domain in [
        ("tan", np.tan, "unit"), ("sinh", np.sinh, "real"), ("cosh", np.cosh, "real"),
        ("asin", np.arcsin, "unit"), ("acos", np.arccos, "unit"),
        ("atan", np.arctan, "real"), ("asinh", np.arcsinh, "real"),
        ("acosh", np.arccosh, "above_one"), ("atanh", np.arctanh, "unit"),
        ("erf", lambda a: np.vectorize(math.erf)(a) if np.ndim(a) else math.erf(a), "real"),
        ("erfc", lambda a: np.vectorize(math.erfc)(a) if np.ndim(a) else math.erfc(a), "real"),
        ("rsqrt", lambda a: 1 / np.sqrt(a), "positive"), ("exp2", np.exp2, "real"),
        ("log2", np.log2, "positive"), ("log10", np.log10, "positive"),
        ("log1p", np.log1p, "positive"), ("expm1", np.expm1, "real"),
        ("reciprocal", np.reciprocal, "away_from_zero"), ("square", np.square, "real"),
        ("frac", lambda a: a - np.trunc(a), "away_from_integers"),
        ("floor", np.floor, "away_from_integers"), ("ceil", np.ceil, "away_from_integers"),
        ("trunc", np.trunc, "away_from_integers"), ("sign", np.sign, "away_from_zero"),
        ("round", np.round, "away_from_integers"),
    ]
]

BINARY = [
    Op("add", 2, lambda a, b: a + b, np.add, lambda a, b: a + b),
    Op("sub", 2, lambda a, b: a - b, np.subtract, lambda a, b: a - b),
    Op("mul", 2, lambda a, b: a * b, np.multiply, lambda a, b: a * b),
    Op("div", 2, lambda a, b: a / b, np.divide, lambda a, b: a / b, "away_from_zero"),
    Op("pow", 2, lambda a, b: a ** b, np.power, lambda a, b: a ** b, "positive"),
    Op("maximum", 2, ag.maximum, np.maximum, lambda a, b: __import__("torch").maximum(a, b),
       "distinct"),
    Op("minimum", 2, ag.minimum, np.minimum, lambda a, b: __import__("torch").minimum(a, b),
       "distinct"),
    Op("atan2", 2, ag.atan2, np.arctan2, lambda a, b: a.atan2(b), "away_from_zero"),
    Op("hypot", 2, ag.hypot, np.hypot, lambda a, b: a.hypot(b), "away_from_zero"),
    Op("logaddexp", 2, ag.logaddexp, np.logaddexp, lambda a, b: a.logaddexp(b)),
    Op("lerp", 2, lambda a, b: ag.lerp(a, b, 0.3), lambda a, b: a + 0.3 * (b - a),
       lambda a, b: a.lerp(b, 0.3)),
    Op("lerp_weight", 2, lambda a, b: ag.lerp(a * 0 + 1.0, 2.5, b) + a,
       lambda a, b: 1.0 + b * 1.5 + a, lambda a, b: (a * 0 + 1.0).lerp(
           __import__("torch").tensor(2.5, dtype=a.dtype), b) + a),
]


def _reduction(name, method, np_fn, torch_fn=None, domain="real"):
    torch_fn = torch_fn or (lambda a, dim, keepdim: getattr(a, method)(
        *(() if dim is None else (dim,)), **({} if dim is None else {"keepdim": keepdim})))
    return Op(
        name, 1,
        lambda a, dim, keepdim: getattr(a, method)(dim=dim, keepdim=keepdim),
        lambda a, dim, keepdim: np_fn(a, axis=dim, keepdims=keepdim),
        torch_fn, domain,
    )


def _torch_max(a, dim, keepdim):
    if dim is None:
        out = a.amax()
        return out.reshape([1] * a.ndim) if keepdim else out
    if isinstance(dim, tuple):
        return a.amax(dim=dim, keepdim=keepdim)
    return a.max(dim=dim, keepdim=keepdim).values


def _torch_min(a, dim, keepdim):
    if dim is None:
        out = a.amin()
        return out.reshape([1] * a.ndim) if keepdim else out
    if isinstance(dim, tuple):
        return a.amin(dim=dim, keepdim=keepdim)
    return a.min(dim=dim, keepdim=keepdim).values


def _torch_var(a, dim, keepdim):
    return a.var(dim=dim, keepdim=keepdim) if dim is not None else (
        a.var().reshape([1] * a.ndim) if keepdim else a.var())


def _torch_lse(a, dim, keepdim):
    if dim is None:
        out = a.reshape(-1).logsumexp(0)
        return out.reshape([1] * a.ndim) if keepdim else out
    return a.logsumexp(dim=dim, keepdim=keepdim)


def _torch_sum(a, dim, keepdim):
    if dim is None:
        return a.sum().reshape([1] * a.ndim) if keepdim else a.sum()
    return a.sum(dim=dim, keepdim=keepdim)


def _torch_mean(a, dim, keepdim):
    if dim is None:
        return a.mean().reshape([1] * a.ndim) if keepdim else a.mean()
    return a.mean(dim=dim, keepdim=keepdim)


def _np_lse(a, axis, keepdims):
    m = np.max(a, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def _torch_prod(a, dim, keepdim):
    import torch

    if dim is None:
        out = a.prod()
        return out.reshape([1] * a.ndim) if keepdim else out
    dims = sorted(((dim,) if isinstance(dim, int) else dim), key=lambda d: d % a.ndim,
                  reverse=True)
    for d in dims:  # torch.prod takes one dim: reduce the highest first
        a = torch.prod(a, dim=d, keepdim=keepdim)
    return a


def _torch_norm(a, dim, keepdim):
    import torch

    return torch.linalg.vector_norm(a, dim=dim, keepdim=keepdim)


REDUCTIONS = [
    _reduction("sum", "sum", np.sum, _torch_sum),
    _reduction("mean", "mean", np.mean, _torch_mean),
    _reduction("amax", "amax", np.max, _torch_max, "distinct"),
    _reduction("amin", "amin", np.min, _torch_min, "distinct"),
    _reduction("var", "var", lambda a, axis, keepdims: np.var(
        a, axis=axis, keepdims=keepdims, ddof=1), _torch_var),
    _reduction("logsumexp", "logsumexp", _np_lse, _torch_lse),
    _reduction("prod", "prod", np.prod, _torch_prod, "away_from_zero"),
    Op("vector_norm", 1, lambda a, dim, keepdim: ag.linalg.vector_norm(a, dim=dim,
                                                                      keepdim=keepdim),
       lambda a, axis, keepdims: np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims)),
       _torch_norm, "away_from_zero"),
    Op("vector_norm_3", 1, lambda a, dim, keepdim: ag.linalg.vector_norm(
        a, 3, dim=dim, keepdim=keepdim),
       lambda a, axis, keepdims: np.sum(np.abs(a) ** 3, axis=axis, keepdims=keepdims) ** (1 / 3),
       lambda a, dim, keepdim: __import__("torch").linalg.vector_norm(a, 3, dim=dim,
                                                                    keepdim=keepdim),
       "away_from_zero"),
]


def sample(rng, shape, domain, dtype=np.float64):
    """Inputs drawn so that the op is smooth around them (no kinks, ties or poles)."""
    x = rng.uniform(-2.0, 2.0, size=shape)
    if domain == "positive":
        x = rng.uniform(0.3, 2.0, size=shape)
    elif domain == "away_from_zero":
        x = np.sign(x + (x == 0)) * rng.uniform(0.2, 2.0, size=shape)
    elif domain == "unit":
        x = rng.uniform(-0.9, 0.9, size=shape)
    elif domain == "above_one":
        x = rng.uniform(1.2, 3.0, size=shape)
    elif domain == "away_from_integers":
        x = rng.integers(-3, 3, size=shape) + rng.uniform(0.1, 0.4, size=shape)
    elif domain == "away_from_bounds":
        x = rng.choice([-1.5, -0.2, 0.1, 0.4, 1.2], size=shape) + rng.uniform(
            -0.05, 0.05, size=shape)
    elif domain == "distinct":
        # well-separated values: no ties within reach of the finite-difference step
        n = int(np.prod(shape))
        x = (rng.permutation(n) * 0.25 - 0.1 * n).reshape(shape)
    return np.asarray(x, dtype=dtype)


# --------------------------------------------------------------------- every other op
@dataclass(frozen=True)
class GraphOp:
    """An op reached through its functional form: ``build(rng) -> (fn, inputs)`` gives a
    function of float64 leaves that gradcheck can differentiate smoothly."""

    name: str
    build: Callable


def _x(rng, *shape, domain="real"):
    return ag.Tensor(sample(rng, shape, domain), requires_grad=True)


def _seeded(fn, seed=0):
    """``fn`` with the global generator reseeded at each call (a fixed dropout mask)."""
    def run(*args):
        ag.manual_seed(seed)
        return fn(*args)
    return run


def _classes(n, classes, seed=5):
    return ag.tensor(np.random.default_rng(seed).integers(0, classes, n))


def _graph_ops():
    import nn.functional as F

    def one(name, fn, *shapes, domain="real"):
        return GraphOp(name, lambda rng: (fn, tuple(_x(rng, *s, domain=domain) for s in shapes)))

    distinct = "distinct"
    return [
        one("softmax", lambda a: a.softmax(dim=1), (3, 4)),
        one("log_softmax", lambda a: a.log_softmax(dim=0), (3, 4)),
        one("reshape_permute_expand", lambda a: a.reshape(2, 3).permute(1, 0).expand(2, 3, 2),
            (6,)),
        one("getitem", lambda a: a[1:, [0, 2, 2]], (3, 4)),
        one("setitem", lambda a, b: _set(a, b), (3, 4), (4,)),
        one("cat_stack", lambda a, b: ag.stack([ag.cat([a, b], dim=1), ag.cat([b, a], dim=1)]),
            (2, 3), (2, 3)),
        one("matmul", lambda a, b: a @ b, (2, 3), (3, 4)),
        one("linear", lambda a, w, b: F.linear(a, w, b), (2, 3), (4, 3), (4,)),
        one("where", lambda a, b: ag.where(a > 0, a, b), (3, 4), (3, 4), domain="away_from_zero"),
        one("clone_cast", lambda a: a.clone() * 2, (3,)),
        one("leaky_relu", lambda a: F.leaky_relu(a, 0.1), (3, 4), domain="away_from_zero"),
        one("elu", lambda a: F.elu(a), (3, 4), domain="away_from_zero"),
        one("selu", lambda a: F.selu(a), (3, 4), domain="away_from_zero"),
        one("softplus", lambda a: F.softplus(a, beta=2.0), (3, 4)),
        one("silu", lambda a: F.silu(a), (3, 4)),
        one("hardtanh", lambda a: F.hardtanh(a), (3, 4), domain="away_from_bounds"),
        one("prelu", lambda a, w: F.prelu(a, w), (2, 3, 4), (3,), domain="away_from_zero"),
        one("dropout", _seeded(lambda a: F.dropout(a, 0.4, training=True)), (4, 5)),
        one("drop_connect", _seeded(lambda a, w, b: F.drop_connect(a, w, b, 0.3)),
            (2, 3), (4, 3), (4,)),
        one("batch_norm", lambda a, w, b: F.batch_norm(a, None, None, w, b, training=True),
            (4, 3, 2, 2), (3,), (3,)),
        one("layer_norm", lambda a, w, b: F.layer_norm(a, (4,), w, b), (3, 4), (4,), (4,)),
        one("instance_norm", lambda a: F.instance_norm(a), (2, 3, 3, 3)),
        one("cross_entropy", lambda a: F.cross_entropy(a, _classes(5, 4), label_smoothing=0.1),
            (5, 4)),
        one("nll_loss", lambda a: F.nll_loss(a.log_softmax(dim=1), _classes(5, 4)), (5, 4)),
        one("bce", lambda a, t: F.binary_cross_entropy(a.sigmoid(), t.sigmoid()), (6,), (6,)),
        one("bce_logits", lambda a, t: F.binary_cross_entropy_with_logits(a, t.sigmoid()),
            (6,), (6,)),
        one("mse", lambda a, t: F.mse_loss(a, t), (6,), (6,)),
        one("l1", lambda a: F.l1_loss(a, ag.zeros(6, dtype=ag.float64)), (6,),
            domain="away_from_zero"),
        one("huber", lambda a, t: F.huber_loss(a, t, delta=0.5), (6,), (6,)),
        one("focal", lambda a: F.focal_loss(a, _classes(5, 3)), (5, 3)),
        one("conv2d", lambda a, w, b: F.conv2d(a, w, b, stride=2, padding=1),
            (2, 2, 5, 5), (3, 2, 3, 3), (3,)),
        one("conv_transpose2d", lambda a, w, b: F.conv_transpose2d(
            a, w, b, stride=2, padding=1, output_padding=1, groups=2, dilation=(1, 2)),
            (2, 4, 3, 3), (4, 1, 3, 2), (2,)),
        one("max_pool2d", lambda a: F.max_pool2d(a, 2, ceil_mode=True), (1, 2, 5, 5),
            domain=distinct),
        one("avg_pool2d", lambda a: F.avg_pool2d(a, 3, stride=2, padding=1), (1, 2, 5, 5)),
        one("adaptive_avg_pool2d", lambda a: F.adaptive_avg_pool2d(a, (2, 3)), (1, 2, 5, 7)),
        one("max_pool2d_dilated", lambda a: F.max_pool2d(a, 2, 1, 1, dilation=2, ceil_mode=True),
            (1, 2, 5, 5), domain=distinct),
        one("adaptive_max_pool2d", lambda a: F.adaptive_max_pool2d(a, (2, 3)), (1, 2, 5, 7),
            domain=distinct),
        one("avg_pool2d_divisor", lambda a: F.avg_pool2d(a, 3, 2, 1, ceil_mode=True,
                                                         divisor_override=4), (1, 2, 5, 5)),
        one("max_unpool2d", lambda a: F.max_unpool2d(a, _unpool_indices(), 2, output_size=(5, 5)),
            (1, 2, 2, 2)),
        one("unfold", lambda a: F.unfold(a, (2, 3), dilation=(1, 2), padding=1, stride=2),
            (2, 2, 5, 6)),
        one("fold", lambda a: F.fold(a, (4, 5), 2, padding=(1, 0), stride=(1, 2)), (2, 8, 10)),
        one("gelu", lambda a: F.gelu(a) + F.gelu(a, approximate="tanh"), (3, 4)),
        one("mish", lambda a: F.mish(a), (3, 4)),
        one("hardswish", lambda a: F.hardswish(a), (3, 4), domain="away_from_zero"),
        one("hardsigmoid", lambda a: F.hardsigmoid(a), (3, 4)),
        one("softsign", lambda a: F.softsign(a), (3, 4), domain="away_from_zero"),
        one("celu", lambda a: F.celu(a, alpha=0.7), (3, 4), domain="away_from_zero"),
        one("glu", lambda a: F.glu(a, dim=-1), (3, 4)),
        one("scaled_dot_product_attention",
            lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
            (1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4)),
        one("embedding", lambda w: F.embedding(ag.tensor([[0, 2], [2, 3]]), w), (4, 3)),
        one("embedding_bag", lambda w: F.embedding_bag(
            ag.tensor([0, 2, 2, 3, 1]), w, ag.tensor([0, 2]), mode="mean"), (4, 3)),
        one("fractional_max_pool2d", lambda a: _fractional_pool()(a), (1, 2, 5, 5),
            domain=distinct),
        one("kl_div", lambda a, t: F.kl_div(a.log_softmax(dim=1), t.softmax(dim=1),
                                            reduction="batchmean"), (3, 4), (3, 4)),
        one("ctc_loss", lambda a: F.ctc_loss(a.log_softmax(dim=2), ag.tensor([[1, 2]]),
                                             ag.tensor([4]), ag.tensor([2])), (4, 1, 3)),
        one("group_norm", lambda a, w, b: F.group_norm(a, 2, w, b), (2, 4, 3), (4,), (4,)),
        one("lstm", lambda a: _recurrent("LSTM")(a)[0], (3, 2, 2)),
        one("gru", lambda a: _recurrent("GRU")(a)[0], (3, 2, 2)),
    ]


def _unpool_indices():
    """Where max_pool2d(2) of a fixed shuffled (1, 2, 5, 5) image puts its maxima."""
    import nn.functional as F

    image = np.random.default_rng(3).permutation(50).reshape(1, 2, 5, 5).astype(float)
    return F.max_pool2d(ag.tensor(image), 2, return_indices=True)[1]


def _fractional_pool():
    import nn

    samples = np.array([[[0.3, 0.7], [0.1, 0.9]]])
    return nn.FractionalMaxPool2d(2, output_size=(2, 2), _random_samples=samples)


def _recurrent(kind):
    import nn

    ag.manual_seed(0)
    return getattr(nn, kind)(2, 3, num_layers=1, bidirectional=True).double()


def _set(a, b):
    out = a * 1.0
    out[1] = b
    return out


GRAPH_OPS = _graph_ops()


def compare_with_torch(torch, ours, theirs, arrays, seed=0, rtol=1e-10, atol=1e-12,
                       differentiable=None):
    """Run ``ours`` on float64 leaves and ``theirs`` on PyTorch leaves of the same
    ``arrays``; check the forward values (every output of a tuple) and, for float
    outputs, the gradients of a random weighting of the first output."""
    differentiable = differentiable if differentiable is not None else [
        np.asarray(a).dtype.kind == "f" for a in arrays]
    mine = [ag.tensor(a, requires_grad=d) if d else ag.tensor(a)
            for a, d in zip(arrays, differentiable)]
    other = [torch.tensor(a, requires_grad=d) if d else torch.tensor(a)
             for a, d in zip(arrays, differentiable)]
    out, ref = ours(*mine), theirs(*other)
    outs = out if isinstance(out, tuple) else (out,)
    refs = ref if isinstance(ref, tuple) else (ref,)
    assert len(outs) == len(refs)
    for o, r in zip(outs, refs):
        assert tuple(o.shape) == tuple(r.shape), (o.shape, r.shape)
        assert str(o.dtype) == str(r.dtype).replace("torch.", ""), (o.dtype, r.dtype)
        np.testing.assert_allclose(o.numpy(), r.detach().numpy(), rtol=rtol, atol=atol)
    first, first_ref = outs[0], refs[0]
    if first_ref.requires_grad and first_ref.dtype.is_floating_point:
        weights = np.random.default_rng(seed).standard_normal(tuple(first_ref.shape))
        first.backward(ag.tensor(weights))
        first_ref.backward(torch.tensor(weights))
        for m, t in zip(mine, other):
            if t.requires_grad:
                expected = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
                got = m.grad.numpy() if m.grad is not None else np.zeros(m.shape)
                np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)
    return out


def _breadth_graph_ops():
    """The ops of issue 13 that take more than a tensor (dims, indices, equations)."""
    def one(name, fn, *shapes, domain="real"):
        return GraphOp(name, lambda rng: (fn, tuple(_x(rng, *s, domain=domain) for s in shapes)))

    idx = ag.tensor([[0, 2, 1], [2, 2, 0]])
    return [
        # distinct positions: with repeats which write wins is unspecified (as in PyTorch)
        one("scatter", lambda a, s: a.scatter(0, ag.tensor([[0, 2, 1], [2, 1, 0]]), s),
            (3, 3), (2, 3)),
        one("scatter_add", lambda a, s: a.scatter_add(0, idx, s), (3, 3), (2, 3)),
        one("scatter_reduce_mean", lambda a, s: a.scatter_reduce(0, idx, s, "mean"),
            (3, 3), (2, 3)),
        one("scatter_reduce_amax", lambda a, s: a.scatter_reduce(0, idx, s, "amax"),
            (3, 3), (2, 3), domain="distinct"),
        one("index_add", lambda a, s: a.index_add(1, ag.tensor([2, 0, 2]), s, alpha=2.0),
            (2, 3), (2, 3)),
        one("index_put_accumulate", lambda a, v: a.index_put((ag.tensor([1, 1, 0]),), v,
                                                             accumulate=True), (3, 2), (3, 2)),
        one("repeat", lambda a: a.repeat(2, 1, 3), (2, 3)),
        one("einsum", lambda a, b: ag.einsum("bij,jk->bik", a, b), (2, 2, 3), (3, 2)),
        one("einsum_diagonal", lambda a: ag.einsum("iij->j", a), (2, 2, 3)),
        one("cumsum", lambda a: a.cumsum(1), (3, 4)),
        one("cumprod", lambda a: a.cumprod(0), (3, 4)),
        one("logcumsumexp", lambda a: a.logcumsumexp(1), (3, 4)),
        one("norm_p3", lambda a: ag.linalg.vector_norm(a, 3, dim=1), (3, 4),
            domain="away_from_zero"),
        one("copysign", lambda a, b: ag.copysign(a, b), (3, 4), (3, 4), domain="away_from_zero"),
        one("fmod", lambda a: ag.fmod(a, 0.7), (3, 4), domain="away_from_bounds"),
        one("remainder", lambda a: a % 0.7, (3, 4), domain="away_from_bounds"),
        one("lgamma", lambda a: a.lgamma(), (3, 4), domain="positive"),
        one("digamma", lambda a: a.digamma(), (3, 4), domain="positive"),
        one("erfinv", lambda a: a.erfinv(), (3, 4), domain="unit"),
    ]


GRAPH_OPS = GRAPH_OPS + _breadth_graph_ops()
