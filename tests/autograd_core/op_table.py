"""The engine's ops as data, shared by the gradcheck, NumPy and PyTorch tests.

Each entry says how to call the op in this engine, in NumPy (the forward reference)
and in PyTorch, and which input domain keeps it differentiable (log needs x > 0,
abs and relu stay away from their kink, max/min away from ties).
"""

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


REDUCTIONS = [
    _reduction("sum", "sum", np.sum, _torch_sum),
    _reduction("mean", "mean", np.mean, _torch_mean),
    _reduction("amax", "amax", np.max, _torch_max, "distinct"),
    _reduction("amin", "amin", np.min, _torch_min, "distinct"),
    _reduction("var", "var", lambda a, axis, keepdims: np.var(
        a, axis=axis, keepdims=keepdims, ddof=1), _torch_var),
    _reduction("logsumexp", "logsumexp", _np_lse, _torch_lse),
]


def sample(rng, shape, domain, dtype=np.float64):
    """Inputs drawn so that the op is smooth around them (no kinks, ties or poles)."""
    x = rng.uniform(-2.0, 2.0, size=shape)
    if domain == "positive":
        x = rng.uniform(0.3, 2.0, size=shape)
    elif domain == "away_from_zero":
        x = np.sign(x + (x == 0)) * rng.uniform(0.2, 2.0, size=shape)
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
        one("max_pool2d", lambda a: F.max_pool2d(a, 2, ceil_mode=True), (1, 2, 5, 5),
            domain=distinct),
        one("avg_pool2d", lambda a: F.avg_pool2d(a, 3, stride=2, padding=1), (1, 2, 5, 5)),
        one("adaptive_avg_pool2d", lambda a: F.adaptive_avg_pool2d(a, (2, 3)), (1, 2, 5, 7)),
    ]


def _set(a, b):
    out = a * 1.0
    out[1] = b
    return out


GRAPH_OPS = _graph_ops()
