"""Losses: every reduction, against finite differences and PyTorch; stability; errors."""

import numpy as np
import pytest

import nn
import nn.functional as F
from autograd_core import Tensor, gradcheck
from tests.reference.nn_torch import assert_close, to_torch

REDUCTIONS = ["mean", "sum", "none"]


def _compare(torch, ours_fn, theirs_fn, inputs, rng, atol=1e-10, grad_of=(0,)):
    """Run both, compare outputs and the gradients of the inputs listed in ``grad_of``."""
    ours_in = [Tensor(a, requires_grad=i in grad_of) if a.dtype.kind == "f" else a
               for i, a in enumerate(inputs)]
    theirs_in = [to_torch(torch, a, requires_grad=i in grad_of) for i, a in enumerate(inputs)]
    out, out_t = ours_fn(*ours_in), theirs_fn(*theirs_in)
    diff = assert_close(out, out_t, atol=atol, rtol=atol, what="forward")
    g = rng.standard_normal(out.shape).astype(inputs[0].dtype)
    out.backward(g)
    out_t.backward(torch.from_numpy(g))
    for i in grad_of:
        diff = max(diff, assert_close(ours_in[i].grad, theirs_in[i].grad, atol=atol, rtol=atol,
                                      what=f"grad of input {i}"))
    return diff


# ----------------------------------------------------------------- regression losses
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss"])
def test_regression_losses(name, reduction, rng, torch_or_skip):
    torch = torch_or_skip
    x = rng.standard_normal((4, 3)) * 2
    y = rng.standard_normal((4, 3))
    kwargs = {"huber_loss": {"delta": 0.7}, "smooth_l1_loss": {"beta": 0.5}}.get(name, {})
    ours = getattr(F, name)
    theirs = getattr(torch.nn.functional, name)
    _compare(torch, lambda a, b: ours(a, b, reduction=reduction, **kwargs),
             lambda a, b: theirs(a, b, reduction=reduction, **kwargs), [x, y], rng,
             grad_of=(0, 1))
    xt, yt = Tensor(x, requires_grad=True), Tensor(y, requires_grad=True)
    assert gradcheck(lambda a, b: ours(a, b, reduction=reduction, **kwargs), (xt, yt))


def test_regression_loss_modules(rng):
    x = Tensor(rng.standard_normal(5))
    y = Tensor(rng.standard_normal(5))
    d = x.numpy() - y.numpy()
    assert nn.MSELoss()(x, y).item() == pytest.approx(np.mean(d**2), rel=1e-6)
    assert nn.L1Loss(reduction="sum")(x, y).item() == pytest.approx(np.abs(d).sum(), rel=1e-6)
    huber = np.where(np.abs(d) < 1, 0.5 * d**2, np.abs(d) - 0.5)
    assert nn.HuberLoss()(x, y).item() == pytest.approx(huber.mean(), rel=1e-6)
    assert nn.SmoothL1Loss(reduction="none")(x, y).shape == (5,)


def test_mse_shape_mismatch_warns_and_bad_reduction_raises():
    with pytest.warns(UserWarning, match="broadcast"):
        F.mse_loss(Tensor(np.zeros((3, 1))), Tensor(np.zeros(3)))
    with pytest.raises(ValueError, match="do not broadcast"):
        F.mse_loss(Tensor(np.zeros((3, 2))), Tensor(np.zeros(3)))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        nn.MSELoss(reduction="avg")


# ----------------------------------------------------------------- cross entropy
CE_CASES = {
    "plain": {},
    "smoothing": {"label_smoothing": 0.2},
    "weight": {"weight": True},
    "weight_smoothing_ignore": {"weight": True, "label_smoothing": 0.1, "ignore_index": 1},
    "ignore": {"ignore_index": 2},
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", sorted(CE_CASES))
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 2), (4,)])
def test_cross_entropy_class_indices(shape, case, reduction, rng, torch_or_skip):
    torch = torch_or_skip
    opts = dict(CE_CASES[case])
    classes = shape[1] if len(shape) > 1 else shape[0]
    z = rng.standard_normal(shape) * 3
    target_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    y = rng.integers(0, classes, size=target_shape).astype(np.int64)
    if len(shape) > 1:
        y.flat[0] = opts.get("ignore_index", 0)  # at least one ignored position when set
        y.flat[-1] = 3
    if opts.pop("weight", False):
        opts["weight"] = rng.uniform(0.5, 2.0, classes)
    kw_ours = dict(opts, reduction=reduction)
    kw_theirs = dict(opts, reduction=reduction)
    if "weight" in opts:
        kw_theirs["weight"] = torch.from_numpy(opts["weight"])
    _compare(torch, lambda a, b: F.cross_entropy(a, b, **kw_ours),
             lambda a, b: torch.nn.functional.cross_entropy(a, b, **kw_theirs), [z, y], rng)
    assert gradcheck(lambda a: F.cross_entropy(a, y, **kw_ours), (Tensor(z, requires_grad=True),))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_probabilities(reduction, smoothing, weighted, rng, torch_or_skip):
    torch = torch_or_skip
    z = rng.standard_normal((5, 3, 2))
    t = rng.dirichlet(np.ones(3), size=(5, 2)).transpose(0, 2, 1).copy()
    w = rng.uniform(0.5, 2, 3) if weighted else None
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    _compare(torch, lambda a, b: F.cross_entropy(a, b, weight=w, **kw),
             lambda a, b: torch.nn.functional.cross_entropy(
                 a, b, weight=None if w is None else torch.from_numpy(w), **kw),
             [z, t], rng, grad_of=(0, 1))
    assert gradcheck(lambda a, b: F.cross_entropy(a, b, weight=w, **kw),
                     (Tensor(z, requires_grad=True), Tensor(t, requires_grad=True)))


def test_cross_entropy_float32_matches_pytorch(rng, torch_or_skip):
    torch = torch_or_skip
    z = (rng.standard_normal((64, 10)) * 5).astype(np.float32)
    y = rng.integers(0, 10, 64)
    diff = _compare(torch, F.cross_entropy, torch.nn.functional.cross_entropy, [z, y], rng,
                    atol=2e-6)
    assert diff < 2e-6


def test_cross_entropy_is_one_node_and_stable():
    z = Tensor([[1000.0, -1000.0], [-1e30, 1e30]], requires_grad=True)
    loss = F.cross_entropy(z, [0, 0])
    assert loss.grad_fn.op_name == "CrossEntropy"
    assert loss.grad_fn.parents() == (z,)
    assert np.isfinite(loss.item())
    assert loss.item() == pytest.approx(1e30)
    loss.backward()
    assert np.isfinite(z.grad.numpy()).all()
    np.testing.assert_allclose(z.grad.numpy(), [[0, 0], [-0.5, 0.5]], atol=1e-6)


def test_cross_entropy_module_and_errors():
    z = Tensor(np.zeros((2, 5), dtype=np.float32))
    assert nn.CrossEntropyLoss()(z, Tensor([1, 2])).item() == pytest.approx(np.log(5))
    with pytest.raises(IndexError, match="target value 7 is out of range for 5 classes"):
        F.cross_entropy(z, [1, 7])
    with pytest.raises(IndexError, match="target value -3"):
        F.cross_entropy(z, [-3, 1])
    with pytest.raises(TypeError, match="integer class indices.*convert class indices"):
        F.cross_entropy(z, np.array([1.0, 2.0], dtype=np.float32))
    with pytest.raises(ValueError, match=r"target must have shape \(2,\), got \(3,\)"):
        F.cross_entropy(z, [1, 2, 3])
    with pytest.raises(ValueError, match=r"weight must have one entry per class"):
        F.cross_entropy(z, [1, 2], weight=np.ones(3))
    with pytest.raises(TypeError, match="reduction='sum'"):
        F.cross_entropy(z, [1, 2], "sum")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(z, [1, 2], label_smoothing=1.5)
    with pytest.warns(RuntimeWarning, match="every target equals ignore_index"):
        F.cross_entropy(z, [-100, -100])
    assert F.cross_entropy(z, [-100, -100], reduction="sum").item() == 0.0


# ----------------------------------------------------------------- nll, bce
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(reduction, weighted, rng, torch_or_skip):
    torch = torch_or_skip
    logp = np.log(rng.dirichlet(np.ones(4), size=6))
    y = rng.integers(0, 4, 6)
    y[0] = -100
    w = rng.uniform(0.5, 2, 4) if weighted else None
    _compare(torch, lambda a, b: F.nll_loss(a, b, weight=w, reduction=reduction),
             lambda a, b: torch.nn.functional.nll_loss(
                 a, b, weight=None if w is None else torch.from_numpy(w), reduction=reduction),
             [logp, y], rng)
    assert gradcheck(lambda a: F.nll_loss(a, y, weight=w, reduction=reduction),
                     (Tensor(logp, requires_grad=True),))


def test_log_softmax_then_nll_equals_cross_entropy(rng):
    z = Tensor(rng.standard_normal((5, 3)))
    y = rng.integers(0, 3, 5)
    a = nn.NLLLoss()(nn.LogSoftmax(dim=1)(z), y).item()
    b = nn.CrossEntropyLoss()(z, y).item()
    assert a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(reduction, weighted, rng, torch_or_skip):
    torch = torch_or_skip
    p = rng.uniform(0.05, 0.95, (4, 3))
    y = rng.uniform(0, 1, (4, 3))
    w = rng.uniform(0.5, 2, 3) if weighted else None
    _compare(torch, lambda a, b: F.binary_cross_entropy(a, b, weight=w, reduction=reduction),
             lambda a, b: torch.nn.functional.binary_cross_entropy(
                 a, b, weight=None if w is None else torch.from_numpy(w), reduction=reduction),
             [p, y], rng, grad_of=(0, 1))
    assert gradcheck(lambda a: F.binary_cross_entropy(a, y, weight=w, reduction=reduction),
                     (Tensor(p, requires_grad=True),))


def test_binary_cross_entropy_edges(torch_or_skip):
    torch = torch_or_skip
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    ours = F.binary_cross_entropy(Tensor(p), Tensor(y), reduction="none")
    theirs = torch.nn.functional.binary_cross_entropy(torch.from_numpy(p), torch.from_numpy(y),
                                                      reduction="none")
    assert_close(ours, theirs, atol=1e-12)  # log clamped at -100, never inf
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\], found 1.5"):
        F.binary_cross_entropy(Tensor([0.5, 1.5]), Tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="must equal the input's shape"):
        nn.BCELoss()(Tensor([[0.5], [0.5]]), Tensor([0.0, 1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("variant", ["plain", "weight", "pos_weight", "both"])
def test_bce_with_logits(reduction, variant, rng, torch_or_skip):
    torch = torch_or_skip
    z = rng.standard_normal((4, 3)) * 3
    y = rng.uniform(0, 1, (4, 3))
    w = rng.uniform(0.5, 2, (4, 1)) if variant in ("weight", "both") else None
    pw = rng.uniform(0.5, 3, 3) if variant in ("pos_weight", "both") else None

    def tt(a):
        return None if a is None else torch.from_numpy(a)

    _compare(torch,
             lambda a, b: F.binary_cross_entropy_with_logits(a, b, weight=w, pos_weight=pw,
                                                             reduction=reduction),
             lambda a, b: torch.nn.functional.binary_cross_entropy_with_logits(
                 a, b, weight=tt(w), pos_weight=tt(pw), reduction=reduction),
             [z, y], rng, grad_of=(0, 1))
    assert gradcheck(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, weight=w, pos_weight=pw,
                                                        reduction=reduction),
        (Tensor(z, requires_grad=True), Tensor(y, requires_grad=True)))


def test_bce_with_logits_is_stable():
    z = Tensor([1000.0, -1000.0, 80.0, -80.0], requires_grad=True)
    y = Tensor([0.0, 1.0, 1.0, 0.0])
    loss = nn.BCEWithLogitsLoss(reduction="none")(z, y)
    np.testing.assert_allclose(loss.numpy(), [1000.0, 1000.0, 0.0, 0.0], atol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), [1.0, -1.0, 0.0, 0.0], atol=1e-6)
    # integer targets are accepted (as 0/1 floats)
    assert np.isfinite(F.binary_cross_entropy_with_logits(z, np.array([0, 1, 1, 0])).item())


# ----------------------------------------------------------------- focal loss
def _torch_focal(torch, z, y, gamma, alpha, reduction):
    logp = torch.log_softmax(z, dim=1)
    logp_y = logp.gather(1, y.unsqueeze(1)).squeeze(1)
    loss = -((1 - logp_y.exp()) ** gamma) * logp_y
    if alpha is not None:
        a = torch.as_tensor(alpha, dtype=z.dtype)
        loss = loss * (a[y] if a.ndim else a)
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("gamma,alpha", [(2.0, None), (0.5, 0.25), (3.0, "per-class"),
                                         (0.0, None)])
def test_focal_loss(gamma, alpha, reduction, rng, torch_or_skip):
    torch = torch_or_skip
    z = rng.standard_normal((6, 4)) * 2
    y = rng.integers(0, 4, 6)
    if alpha == "per-class":
        alpha = rng.uniform(0.1, 1, 4)
    loss_fn = nn.FocalLoss(gamma=gamma, alpha=alpha, reduction=reduction)
    _compare(torch, loss_fn, lambda a, b: _torch_focal(torch, a, b, gamma, alpha, reduction),
             [z, y], rng)
    assert gradcheck(lambda a: loss_fn(a, y), (Tensor(z, requires_grad=True),))


def test_focal_loss_gamma0_is_cross_entropy_and_confident_is_finite(rng):
    z = Tensor(rng.standard_normal((5, 3)))
    y = rng.integers(0, 3, 5)
    assert F.focal_loss(z, y, gamma=0.0).item() == pytest.approx(F.cross_entropy(z, y).item())
    sure = Tensor([[50.0, -50.0]], requires_grad=True)
    loss = F.focal_loss(sure, [0], gamma=0.5)
    loss.backward()
    assert np.isfinite(sure.grad.numpy()).all() and loss.item() == pytest.approx(0.0)


# ----------------------------------------------------------------- penalties
def test_penalties(rng):
    a = nn.Parameter(rng.standard_normal((2, 3)))
    b = nn.Parameter(rng.standard_normal(3))
    l1 = nn.utils.l1_penalty([a, b])
    l2 = nn.utils.l2_penalty([a, b])
    assert l1.item() == pytest.approx(np.abs(a.numpy()).sum() + np.abs(b.numpy()).sum())
    assert l2.item() == pytest.approx((a.numpy() ** 2).sum() + (b.numpy() ** 2).sum())
    en = nn.utils.elastic_net_penalty(iter([a, b]), l1=0.1, l2=0.01)
    assert en.item() == pytest.approx(0.1 * l1.item() + 0.01 * l2.item())
    en.backward()
    np.testing.assert_allclose(a.grad.numpy(), 0.1 * np.sign(a.numpy()) + 0.02 * a.numpy())
    model = nn.Linear(3, 2)
    assert nn.utils.l2_penalty(model.parameters()).item() > 0


# ----------------------------------------------------------------- no silent NaN (issue 15)
@pytest.mark.parametrize("loss", [
    lambda: F.mse_loss(Tensor(np.zeros(0, np.float32)), np.zeros(0, np.float32)),
    lambda: F.l1_loss(Tensor(np.zeros((0, 3), np.float32)), np.zeros((0, 3), np.float32)),
    lambda: F.smooth_l1_loss(Tensor(np.zeros(0, np.float32)), np.zeros(0, np.float32)),
    lambda: F.cross_entropy(Tensor(np.zeros((0, 3), np.float32)), np.zeros(0, np.int64)),
    lambda: F.cross_entropy(Tensor(np.zeros((0, 3), np.float32)), np.zeros((0, 3), np.float32)),
    lambda: F.nll_loss(Tensor(np.zeros((0, 3), np.float32)), np.zeros(0, np.int64)),
    lambda: F.binary_cross_entropy(Tensor(np.zeros(0, np.float32)), np.zeros(0, np.float32)),
    lambda: F.binary_cross_entropy_with_logits(Tensor(np.zeros(0, np.float32)),
                                               np.zeros(0, np.float32)),
])
def test_the_mean_loss_of_an_empty_batch_raises_instead_of_nan(loss):
    with pytest.raises(ValueError, match="empty batch"):
        loss()


def test_an_empty_batch_sums_to_zero(torch_or_skip):
    torch = torch_or_skip
    empty = np.zeros((0, 3), np.float32)
    ours = F.cross_entropy(Tensor(empty), np.zeros(0, np.int64), reduction="sum").item()
    theirs = torch.nn.functional.cross_entropy(torch.from_numpy(empty),
                                               torch.zeros(0, dtype=torch.long),
                                               reduction="sum").item()
    assert ours == theirs == 0.0
    assert F.mse_loss(Tensor(np.zeros(0, np.float32)), np.zeros(0, np.float32),
                      reduction="sum").item() == 0.0


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_class_weights_summing_to_zero_over_the_batch_raise(fn):
    z = Tensor(np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32))
    weight = np.array([0.0, 0.0, 1.0], np.float32)
    with pytest.raises(ValueError, match=r"class weights .*classes \[0, 1\].* sum to 0"):
        fn(z, np.array([0, 1]), weight=weight)
    assert np.isfinite(fn(z, np.array([0, 2]), weight=weight).item())
    assert fn(z, np.array([0, 1]), weight=weight, reduction="sum").item() == 0.0


def test_binary_cross_entropy_targets_must_be_in_the_unit_interval(torch_or_skip):
    torch = torch_or_skip
    p = np.array([0.5, 0.5], np.float32)
    for bad in (2.0, -0.5, float("nan")):
        target = np.array([0.0, bad], np.float32)
        with pytest.raises(ValueError, match=r"target should be between 0 and 1.*found"):
            F.binary_cross_entropy(Tensor(p), target)
        if not np.isnan(bad):
            with pytest.raises(RuntimeError, match="target should be between 0 and 1"):
                torch.nn.functional.binary_cross_entropy(torch.from_numpy(p),
                                                         torch.from_numpy(target))


# ------------------------------------------------ KLDiv, cosine embedding, ranking, triplet
def _loss_pair(torch, rng, ours, theirs, arrays, constants=()):
    ts = [Tensor(a, requires_grad=True) for a in arrays]
    tts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = ours(*ts, *[Tensor(c) for c in constants])
    out_t = theirs(*tts, *[torch.from_numpy(c) for c in constants])
    assert_close(out, out_t, atol=1e-12, rtol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(Tensor(g))
    out_t.backward(torch.from_numpy(g))
    for t, tt in zip(ts, tts):
        assert_close(t.grad, tt.grad, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(torch_or_skip, rng, reduction, log_target):
    torch = torch_or_skip
    x = np.log(rng.dirichlet(np.ones(5), size=4))
    t = rng.dirichlet(np.ones(5), size=4)
    if log_target:
        t = np.log(t + 0.1)
    ours = nn.KLDivLoss(reduction=reduction, log_target=log_target)
    theirs = torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)
    _loss_pair(torch, rng, ours, theirs, [x, t])
    if not log_target:
        # a zero target probability contributes 0 (PyTorch's xlogy); its gradient with
        # respect to the target (log 0 = -inf) is NaN in PyTorch and 0 here, so the
        # target is a constant in this check
        t[0, 1] = 0.0
        _loss_pair(torch, rng, lambda x, t: ours(x, t), lambda x, t: theirs(x, t), [x], [t])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("margin", [0.0, 0.3])
def test_cosine_embedding_and_margin_ranking_match_torch(torch_or_skip, rng, reduction,
                                                         margin):
    torch = torch_or_skip
    x1, x2 = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    y = np.array([1, -1, 1, -1, -1, 1], dtype=np.float64)
    _loss_pair(torch, rng, nn.CosineEmbeddingLoss(margin, reduction=reduction),
               torch.nn.CosineEmbeddingLoss(margin, reduction=reduction), [x1, x2], [y])
    a, b = rng.standard_normal(6), rng.standard_normal(6)
    _loss_pair(torch, rng, nn.MarginRankingLoss(margin, reduction=reduction),
               torch.nn.MarginRankingLoss(margin, reduction=reduction), [a, b], [y])


@pytest.mark.parametrize("p,swap", [(2.0, False), (1.0, True), (3.0, True)])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_triplet_margin_matches_torch(torch_or_skip, rng, p, swap, reduction):
    torch = torch_or_skip
    arrays = [rng.standard_normal((5, 3)) for _ in range(3)]
    _loss_pair(torch, rng, nn.TripletMarginLoss(margin=2.0, p=p, swap=swap, reduction=reduction),
               torch.nn.TripletMarginLoss(margin=2.0, p=p, swap=swap, reduction=reduction),
               arrays)


def test_new_losses_bad_shapes():
    from autograd_core.errors import ShapeError

    with pytest.raises(ShapeError, match="target must have shape \\(3,\\)"):
        nn.CosineEmbeddingLoss()(Tensor(np.ones((3, 2))), Tensor(np.ones((3, 2))),
                                 Tensor(np.ones(4)))
    with pytest.raises(ShapeError, match="same shape"):
        nn.MarginRankingLoss()(Tensor(np.ones(3)), Tensor(np.ones(2)), Tensor(np.ones(3)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("flat_targets", [False, True])
def test_ctc_loss_matches_torch(torch_or_skip, rng, reduction, flat_targets):
    torch = torch_or_skip
    steps, batch, classes = 12, 4, 5
    logits = rng.standard_normal((steps, batch, classes))
    target_lengths = np.array([3, 0, 5, 2])
    input_lengths = np.array([12, 7, 12, 9])
    padded = rng.integers(1, classes, (batch, 5))
    padded[0, :3] = [2, 2, 3]  # a repeated label needs a blank between
    targets = (np.concatenate([padded[b, :n] for b, n in enumerate(target_lengths)])
               if flat_targets else padded)
    lo, lt = Tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    # through log_softmax (how CTC is used) and on the log-probs leaf directly
    lpo, lpt = F.log_softmax(lo, dim=2), torch.log_softmax(lt, dim=2)
    lpo.retain_grad()
    lpt.retain_grad()
    args = (targets, input_lengths, target_lengths)
    out = nn.CTCLoss(reduction=reduction)(lpo, *(Tensor(a) for a in args))
    out_t = torch.nn.CTCLoss(reduction=reduction)(lpt, *(torch.from_numpy(a) for a in args))
    assert_close(out, out_t, atol=1e-10, rtol=1e-10)
    g = rng.standard_normal(out.shape)
    out.backward(Tensor(g))
    out_t.backward(torch.from_numpy(g))
    assert_close(lpo.grad, lpt.grad, atol=1e-10, what="grad of log_probs (PyTorch's form)")
    assert_close(lo.grad, lt.grad, atol=1e-10, what="grad of logits")


def test_ctc_loss_impossible_alignment_and_bad_input(torch_or_skip):
    torch = torch_or_skip
    lp = np.log(np.full((2, 1, 3), 1 / 3))
    args = (np.array([[1, 1]]), np.array([2]), np.array([2]))  # needs 3 steps
    ours = F.ctc_loss(Tensor(lp), *(Tensor(a) for a in args), reduction="sum")
    theirs = torch.nn.functional.ctc_loss(torch.from_numpy(lp), *(torch.from_numpy(a)
                                                                  for a in args),
                                          reduction="sum")
    assert np.isinf(ours.item()) and np.isinf(theirs.item())
    x = Tensor(lp, requires_grad=True)
    zero = F.ctc_loss(x, *(Tensor(a) for a in args), zero_infinity=True)
    zero.backward()
    assert zero.item() == 0 and np.all(x.grad.numpy() == 0)
    with pytest.raises(ValueError, match="input_lengths to have value at most 2"):
        F.ctc_loss(Tensor(lp), Tensor(np.array([[1]])), Tensor(np.array([3])),
                   Tensor(np.array([1])))
    with pytest.raises(IndexError, match="target labels must be in \\[0, 3\\)"):
        F.ctc_loss(Tensor(lp), Tensor(np.array([[4]])), Tensor(np.array([2])),
                   Tensor(np.array([1])))


def test_ctc_loss_gradcheck_through_log_softmax_and_unbatched(torch_or_skip, rng):
    torch = torch_or_skip
    logits = Tensor(rng.standard_normal((6, 2, 4)), requires_grad=True)
    targets, il, tl = Tensor(np.array([[1, 2], [3, 3]])), Tensor([6, 5]), Tensor([2, 2])
    assert gradcheck(lambda z: F.ctc_loss(F.log_softmax(z, dim=2), targets, il, tl), (logits,))
    lp = rng.standard_normal((6, 4))
    lp = lp - np.log(np.exp(lp).sum(1, keepdims=True))
    ours = F.ctc_loss(Tensor(lp), Tensor(np.array([1, 2])), Tensor(6), Tensor(2),
                      reduction="none")
    theirs = torch.nn.functional.ctc_loss(torch.from_numpy(lp), torch.tensor([1, 2]),
                                          torch.tensor(6), torch.tensor(2), reduction="none")
    assert_close(ours, theirs, atol=1e-10)


@pytest.mark.parametrize("kwargs", [{}, {"weight": np.array([1.0, 2.0, 3.0])},
                                    {"label_smoothing": 0.1}])
def test_cross_entropy_with_every_target_ignored_has_zero_gradients(torch_or_skip, kwargs):
    # the mean over no targets is 0/0 = nan, as in PyTorch, but its gradient is 0 (as
    # PyTorch's): a batch of padding alone must not make the parameters NaN
    torch = torch_or_skip
    z = np.random.default_rng(1).standard_normal((2, 3))
    ours, theirs = Tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
    ours_kw = {k: Tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    theirs_kw = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
                 for k, v in kwargs.items()}
    target = np.array([-100, -100])
    with pytest.warns(RuntimeWarning, match="every target equals ignore_index"):
        loss = F.cross_entropy(ours, Tensor(target), **ours_kw)
    loss_t = torch.nn.functional.cross_entropy(theirs, torch.from_numpy(target), **theirs_kw)
    assert np.isnan(loss.item()) and np.isnan(loss_t.item())
    loss.backward(retain_graph=True)
    loss_t.backward()
    assert (ours.grad.numpy() == 0).all() and (theirs.grad.numpy() == 0).all()
    ours.grad = None
    loss.backward(Tensor(np.array(np.inf)))  # zero whatever the upstream gradient
    assert (ours.grad.numpy() == 0).all()
    logits = Tensor(z, requires_grad=True)
    with pytest.warns(RuntimeWarning):
        F.nll_loss(F.log_softmax(logits, 1), Tensor(target)).backward()
    assert (logits.grad.numpy() == 0).all()
