"""Gradients of gradients through the activation, loss, normalisation, reduction,
indexing and movement ops (issue 14): each backward is written once and records itself
on Tensors inside ``create_graph=True``.

gradgradcheck (float64 finite differences of the engine's vector-Jacobian product) runs
over the op table's entries for these ops and over variants the table does not reach;
a few representative second derivatives are compared with PyTorch to 1e-10.
"""

import numpy as np
import pytest

import autograd_core as ag
import nn.functional as F
from autograd_core import autograd
from autograd_core.gradcheck import gradgradcheck
from tests.autograd_core.op_table import GRAPH_OPS, sample

# The op-table entries of the ops made twice differentiable here.
TWICE = {
    "elu", "softplus", "silu", "prelu", "gelu", "mish", "hardswish", "hardsigmoid",
    "softsign", "celu", "glu", "cross_entropy", "nll_loss", "bce", "bce_logits", "mse",
    "l1", "huber", "focal", "kl_div", "batch_norm", "layer_norm", "instance_norm",
    "group_norm", "cumprod", "logcumsumexp", "norm_p3", "scatter", "scatter_add",
    "scatter_reduce_mean", "scatter_reduce_amax", "index_add", "index_put_accumulate",
    "cat_stack", "repeat", "einsum", "einsum_diagonal", "copysign", "fmod", "remainder",
    "lgamma", "erfinv",
}
TABLE = [op for op in GRAPH_OPS if op.name in TWICE]


def test_every_op_named_here_is_in_the_op_table():
    assert {op.name for op in TABLE} == TWICE


@pytest.mark.parametrize("op", TABLE, ids=lambda op: op.name)
def test_gradgradcheck_over_the_op_table(op):
    fn, inputs = op.build(np.random.default_rng(0))
    assert gradgradcheck(fn, inputs)


def _leaf(*shape, domain="real", seed=0):
    return ag.Tensor(sample(np.random.default_rng(seed), shape, domain), requires_grad=True)


def _const(array):
    return ag.tensor(np.asarray(array, dtype=np.float64))


_LABELS = ag.tensor([0, 2, 1, 3, 2])
_IGNORED = ag.tensor([0, -100, 1, 3, -100])
_W4 = _const([0.5, 1.5, 1.0, 2.0])


def _soft(t):
    return t.softmax(dim=1)


# (name, function of the leaves, leaf shapes, domain): what the table does not reach
VARIANTS = [
    ("ce_soft_targets_weights_smoothing", lambda z, t: F.cross_entropy(
        z, _soft(t), weight=_W4, label_smoothing=0.2), [(5, 4), (5, 4)], "real"),
    ("ce_weights_ignore_index_sum", lambda z: F.cross_entropy(
        z, _IGNORED, weight=_W4, reduction="sum", label_smoothing=0.1), [(5, 4)], "real"),
    ("ce_weighted_mean", lambda z: F.cross_entropy(z, _LABELS, weight=_W4), [(5, 4)], "real"),
    ("ce_none_spatial", lambda z: F.cross_entropy(
        z, ag.tensor([[0, 2], [1, 1]]), reduction="none"), [(2, 3, 2)], "real"),
    ("ce_unbatched", lambda z: F.cross_entropy(z, ag.tensor(2)), [(4,)], "real"),
    ("nll_weights_ignore", lambda x: F.nll_loss(
        x.log_softmax(dim=1), _IGNORED, weight=_W4), [(5, 4)], "real"),
    ("bce_weight_sum", lambda p, t: F.binary_cross_entropy(
        p.sigmoid(), t.sigmoid(), weight=_const([1.0, 2.0, 0.5]), reduction="sum"),
     [(2, 3), (2, 3)], "real"),
    ("bce_logits_pos_weight", lambda z, t: F.binary_cross_entropy_with_logits(
        z, t.sigmoid(), weight=_const([1.0, 2.0, 0.5]), pos_weight=_const([2.0, 0.5, 1.0])),
     [(2, 3), (2, 3)], "real"),
    ("focal_alpha", lambda z: F.focal_loss(
        z, ag.tensor([0, 2, 1, 3, 2]), gamma=1.5, alpha=_W4, reduction="sum"), [(5, 4)], "real"),
    ("kl_log_target_sum", lambda x, t: F.kl_div(
        x.log_softmax(dim=1), t.log_softmax(dim=1), reduction="sum", log_target=True),
     [(3, 4), (3, 4)], "real"),
    ("mse_sum_broadcast", lambda x, t: F.mse_loss(x, t, reduction="sum") * x.sum(),
     [(6,), (6,)], "real"),
    ("huber_none", lambda x, t: F.huber_loss(x, t, reduction="none", delta=0.7),
     [(6,), (6,)], "real"),
    ("batch_norm_eval", lambda x, w, b: F.batch_norm(
        x, _const([0.1, -0.2, 0.3]), _const([1.5, 0.5, 2.0]), w, b, training=False),
     [(4, 3, 2), (3,), (3,)], "real"),
    ("batch_norm_1d_no_affine", lambda x: F.batch_norm(x, None, None, training=True),
     [(5, 3)], "real"),
    ("layer_norm_2d_no_affine", lambda x: F.layer_norm(x, (3, 4)), [(2, 3, 4)], "real"),
    ("instance_norm_affine", lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
     [(2, 3, 4), (3,), (3,)], "real"),
    ("group_norm_no_affine", lambda x: F.group_norm(x, 3, eps=1e-3), [(2, 6, 2)], "real"),
    ("prod_dim_keepdim", lambda x: x.prod(dim=1, keepdim=True), [(3, 4)], "positive"),
    ("prod_all", lambda x: x.prod(), [(2, 3)], "positive"),
    ("prod_with_a_zero", lambda x: (x * _const([[1, 0, 1], [1, 1, 1]])).prod(dim=1),
     [(2, 3)], "positive"),
    ("cumprod_with_a_zero", lambda x: (x * _const([[1, 0, 1, 1]])).cumprod(1), [(2, 4)],
     "positive"),
    ("norm_2_keepdim", lambda x: x.norm(dim=1, keepdim=True), [(3, 4)], "real"),
    ("norm_all", lambda x: x.norm(), [(3, 4)], "real"),
    ("norm_1", lambda x: ag.linalg.vector_norm(x, 1, dim=0), [(3, 4)], "away_from_zero"),
    ("norm_inf", lambda x: ag.linalg.vector_norm(x, float("inf"), dim=1), [(3, 4)],
     "distinct"),
    ("scatter_reduce_prod_without_self", lambda a, s: a.scatter_reduce(
        0, ag.tensor([[0, 2, 1], [2, 2, 0]]), s, "prod", include_self=False),
     [(3, 3), (2, 3)], "positive"),
    ("scatter_reduce_amin", lambda a, s: a.scatter_reduce(
        0, ag.tensor([[0, 2, 1], [2, 2, 0]]), s, "amin"), [(3, 3), (2, 3)], "distinct"),
    ("scatter_reduce_sum_broadcast_source", lambda a, s: a.scatter_reduce(
        0, ag.tensor([[0, 2], [2, 2]]), s, "sum"), [(3, 3), (3, 3)], "real"),
    ("stack_dim1_cat_negative", lambda a, b: ag.cat([ag.stack([a, b], dim=1), a[:, None]],
                                                    dim=-2), [(2, 3), (2, 3)], "real"),
    ("glu_dim0", lambda x: F.glu(x, dim=0), [(4, 3)], "real"),
    ("softplus_low_threshold", lambda x: F.softplus(x, beta=1.5, threshold=0.5), [(3, 4)],
     "away_from_zero"),
    ("hardswish_outside", lambda x: F.hardswish(x * 3), [(3, 4)], "away_from_integers"),
    ("prelu_one_slope", lambda x, w: F.prelu(x, w), [(2, 3), (1,)], "away_from_zero"),
    ("einsum_three_operands", lambda a, b, c: ag.einsum("ij,jk,k->i", a, b, c),
     [(2, 3), (3, 4), (4,)], "real"),
]


@pytest.mark.parametrize("case", VARIANTS, ids=lambda c: c[0])
def test_gradgradcheck_for_variants_outside_the_table(case):
    _, fn, shapes, domain = case
    inputs = tuple(_leaf(*s, domain=domain, seed=k + 1) for k, s in enumerate(shapes))
    assert gradgradcheck(fn, inputs)


@pytest.mark.parametrize("op", TABLE, ids=lambda op: op.name)
def test_the_first_gradient_is_the_same_on_arrays_and_on_tensors(op):
    # one rule, two paths: create_graph=True must not change the first derivative
    fn, inputs = op.build(np.random.default_rng(2))
    out = fn(*inputs)
    weights = ag.tensor(np.random.default_rng(3).standard_normal(out.shape))
    plain = autograd.grad((out * weights).sum(), inputs, retain_graph=True, allow_unused=True)
    recorded = autograd.grad((out * weights).sum(), inputs, create_graph=True,
                             allow_unused=True)
    for a, b in zip(plain, recorded):
        if a is None:
            assert b is None
            continue
        assert b.requires_grad or b.grad_fn is None
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-13, atol=1e-15)


def test_ctc_loss_stays_once_differentiable_and_says_so():
    from autograd_core.ops.loss import CtcLoss

    assert not CtcLoss.twice_differentiable
    assert "Once differentiable" in CtcLoss.__doc__
    x = _leaf(4, 1, 3)
    loss = F.ctc_loss(x.log_softmax(dim=2), ag.tensor([[1, 2]]), ag.tensor([4]), ag.tensor([2]))
    (g,) = autograd.grad(loss, x, create_graph=True)  # the first order works
    with pytest.raises(RuntimeError, match="CtcLoss: its backward is not differentiable"):
        autograd.grad((g * g).sum(), x)


# ------------------------------------------------------------------ against PyTorch
def _hessian_vector_products(lib, grad, params, loss_of, vectors):
    """(dL/dp, H v) for the parameters ``params`` of ``loss_of()``."""
    loss = loss_of()
    grads = grad(loss, params, create_graph=True)
    dot = sum((g * v).sum() for g, v in zip(grads, vectors))
    return ([g.detach().numpy() for g in grads],
            [h.detach().numpy() for h in grad(dot, params)])


def _assert_all_close(mine, theirs, rtol=1e-10, atol=1e-12):
    for a, b in zip(mine, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def test_hessian_vector_product_through_layernorm_gelu_cross_entropy_matches_torch(
        torch_or_skip):
    torch = torch_or_skip
    rng = np.random.default_rng(0)
    shapes = [(6, 5), (6,), (6,), (6,), (4, 6), (4,)]  # w1 b1 gamma beta w2 b2
    arrays = [rng.standard_normal(s) * 0.7 for s in shapes]
    arrays[2] += 1.0
    x = rng.standard_normal((8, 5))
    labels = rng.integers(0, 4, 8)
    vectors = [rng.standard_normal(s) for s in shapes]

    def mlp(lib, Fn, p, inputs, target):
        w1, b1, gamma, beta, w2, b2 = p
        hidden = Fn.gelu(Fn.layer_norm(Fn.linear(inputs, w1, b1), (6,), gamma, beta))
        return Fn.cross_entropy(Fn.linear(hidden, w2, b2), target, label_smoothing=0.1)

    ours = [ag.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    mine = _hessian_vector_products(
        ag, autograd.grad, ours, lambda: mlp(ag, F, ours, ag.tensor(x), ag.tensor(labels)),
        [ag.tensor(v) for v in vectors])
    ref = _hessian_vector_products(
        torch, torch.autograd.grad, theirs,
        lambda: mlp(torch, torch.nn.functional, theirs, torch.tensor(x), torch.tensor(labels)),
        [torch.tensor(v) for v in vectors])
    _assert_all_close(mine[0] + mine[1], ref[0] + ref[1])


def test_batchnorm2d_in_training_mode_second_derivatives_match_torch(torch_or_skip):
    torch = torch_or_skip
    import nn

    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3, 2, 3))
    weight, bias = rng.standard_normal(3) + 1, rng.standard_normal(3)
    probe = rng.standard_normal(x.shape)
    vectors = [rng.standard_normal(s) for s in (x.shape, (3,), (3,))]

    def run(lib, grad, module):
        module.train()
        xt = lib.tensor(x, requires_grad=True)
        with lib.no_grad():
            module.weight.copy_(lib.tensor(weight))
            module.bias.copy_(lib.tensor(bias))
        leaves = [xt, module.weight, module.bias]
        # a loss that is not linear in y, so every second derivative is exercised
        return _hessian_vector_products(
            lib, grad, leaves, lambda: (module(xt).tanh() * lib.tensor(probe)).sum(),
            [lib.tensor(v) for v in vectors])

    mine = run(ag, autograd.grad, nn.BatchNorm2d(3).double())
    ref = run(torch, torch.autograd.grad, torch.nn.BatchNorm2d(3).double())
    _assert_all_close(mine[0] + mine[1], ref[0] + ref[1])


def test_softplus_second_derivative_matches_torch(torch_or_skip):
    torch = torch_or_skip
    xs = np.array([-30.0, -3.0, -0.4, 0.0, 0.3, 2.0, 4.9, 5.0, 5.1, 25.0])

    def second(lib, grad, Fn):
        x = lib.tensor(xs, requires_grad=True)
        (g,) = grad(Fn.softplus(x, beta=2.0, threshold=10.0).sum(), [x], create_graph=True)
        (gg,) = grad((g * g).sum(), [x])  # the weighting keeps the linear part in the graph
        return g.detach().numpy(), gg.detach().numpy()

    mine = second(ag, autograd.grad, F)
    ref = second(torch, torch.autograd.grad, torch.nn.functional)
    _assert_all_close(mine, ref)


@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_second_derivatives_match_torch(log_target, torch_or_skip):
    torch = torch_or_skip
    rng = np.random.default_rng(2)
    z, t = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    vectors = [rng.standard_normal((3, 5)) for _ in range(2)]

    def run(lib, grad, Fn):
        leaves = [lib.tensor(z, requires_grad=True), lib.tensor(t, requires_grad=True)]

        def loss():
            target = leaves[1].log_softmax(dim=1) if log_target else leaves[1].softmax(dim=1)
            return Fn.kl_div(leaves[0].log_softmax(dim=1), target, reduction="batchmean",
                             log_target=log_target)

        return _hessian_vector_products(lib, grad, leaves, loss,
                                        [lib.tensor(v) for v in vectors])

    mine = run(ag, autograd.grad, F)
    ref = run(torch, torch.autograd.grad, torch.nn.functional)
    _assert_all_close(mine[0] + mine[1], ref[0] + ref[1])


def _kink_ops(lib, Fn, slope):
    zeros = lib.tensor(np.zeros(6))
    return {
        # alpha 0.5: PyTorch's CELU scales by 1/alpha in float32 (1/0.7 would differ)
        "elu": lambda x: Fn.elu(x, 0.7), "celu": lambda x: Fn.celu(x, 0.5),
        "selu": Fn.selu, "prelu": lambda x: Fn.prelu(x, slope),
        "huber": lambda x: Fn.huber_loss(x, zeros, delta=0.5, reduction="none"),
        "softplus": lambda x: Fn.softplus(x, beta=2.0, threshold=1.0),
    }


@pytest.mark.parametrize("name", ["elu", "celu", "selu", "prelu", "huber", "softplus"])
def test_second_derivatives_at_the_kinks_follow_torch(name, torch_or_skip):
    """x = 0 (ELU family, PReLU), |d| = delta (Huber), b x = threshold (softplus): the
    one-sided choices PyTorch makes for the first and for the second derivative."""
    torch = torch_or_skip
    xs = np.array([0.0, -1.5, 0.5, 1.0, -0.25, 2.0])
    weights = np.linspace(1.0, 2.0, xs.size)
    # PyTorch's prelu double backward differentiates the upstream gradient with slope 1
    # at x = 0 (its x >= 0 branch) while the first derivative there is w; a rule linear
    # in the upstream gradient cannot do both, so for prelu that gradient is a constant
    quadratic = name != "prelu"

    def run(lib, grad, Fn):
        x = lib.tensor(xs, requires_grad=True)
        slope = lib.tensor(np.array([0.3]), requires_grad=True)
        leaves = [x, slope] if name == "prelu" else [x]
        out = _kink_ops(lib, Fn, slope)[name](x)
        loss = (out * lib.tensor(weights)).sum() + ((out * out).sum() if quadratic else 0)
        grads = grad(loss, leaves, create_graph=True)
        dot = sum((g * lib.tensor(np.arange(1.0, 1.0 + g.shape[0]))).sum() for g in grads)
        return [g.detach().numpy() for g in grads] + [
            g.detach().numpy() for g in grad(dot, leaves)]

    mine = run(ag, autograd.grad, F)
    ref = run(torch, torch.autograd.grad, torch.nn.functional)
    _assert_all_close(mine, ref)


def _third_order(fn, array):
    x = ag.tensor(array, requires_grad=True)
    (g,) = autograd.grad(fn(x), x, create_graph=True)
    (gg,) = autograd.grad((g * g).sum(), x, create_graph=True)
    (ggg,) = autograd.grad((gg * gg).sum(), x)
    return ggg.numpy()


@pytest.mark.parametrize("name", ["layer_norm", "batch_norm", "softplus", "cross_entropy"])
def test_third_derivatives_equal_those_of_the_same_function_built_from_primitives(name):
    # the recorded rules are made of twice-differentiable ops, so orders beyond two work;
    # (PyTorch's native layer_norm disagrees with its own composite at the third order)
    def centred(x, axes):
        c = x - x.mean(dim=axes, keepdim=True)
        return c / ((c * c).mean(dim=axes, keepdim=True) + 1e-5).sqrt()

    labels = ag.tensor([0, 2, 1])
    native, composite = {
        "layer_norm": (lambda x: (F.layer_norm(x, (4,)) ** 3).sum(),
                       lambda x: (centred(x, 1) ** 3).sum()),
        "batch_norm": (lambda x: (F.batch_norm(x, None, None, training=True) ** 3).sum(),
                       lambda x: (centred(x, 0) ** 3).sum()),
        "softplus": (lambda x: F.softplus(x, beta=2.0).sum(),
                     lambda x: ((2.0 * x).exp().log1p() / 2.0).sum()),
        "cross_entropy": (lambda x: F.cross_entropy(x, labels),
                          lambda x: -(x.log_softmax(dim=1)[[0, 1, 2], [0, 2, 1]]).mean()),
    }[name]
    array = sample(np.random.default_rng(7), (3, 4), "real")
    np.testing.assert_allclose(_third_order(native, array), _third_order(composite, array),
                               rtol=1e-9, atol=1e-9)


def test_an_input_changed_in_place_after_the_forward_is_refused_on_the_create_graph_path():
    # softplus keeps b x, not x: only the second derivative reads x, from the node's inputs
    x = _leaf(3)
    h = x * 1.0
    y = F.softplus(h).sum()
    with ag.no_grad():
        h += 1.0
    with pytest.raises(RuntimeError, match="input 0 of Softplus .* modified in place"):
        autograd.grad(y, x, create_graph=True)
