"""Gradients of gradients through the kernel-backed ops: conv2d, conv_transpose2d, the
fused recurrent layers, attention, embeddings, dropout and fractional max pooling.

Conv and the index ops write their rule again with differentiable ops when the gradient
is a Tensor (``twice_differentiable``); the recurrent layers and attention name a
``composite`` forward that a create_graph pass replays (``autograd.engine._replayed``).
Checked with float64 finite differences (gradgradcheck) and against PyTorch.
"""

import numpy as np
import pytest

import autograd_core as ag
import nn
import nn.functional as F
from autograd_core import autograd
from autograd_core.gradcheck import gradcheck, gradgradcheck
from autograd_core.ops.recurrent import Recurrent
from nn.stochastic import fractional_max_pool2d


def _rng(seed=0):
    return np.random.default_rng(seed)


def _leaf(array):
    return ag.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def _random(rng, *shape):
    return _leaf(rng.standard_normal(shape))


def _backward_both(torch, loss, arrays):
    """``loss(lib, functional, *leaves).backward()`` in both libraries on leaves made
    from ``arrays``; returns (ours, theirs), the leaves, for comparing their grads."""
    ours = [_leaf(a) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    loss(ag, F, *ours).backward()
    loss(torch, torch.nn.functional, *theirs).backward()
    return ours, theirs


# ------------------------------------------------------------------------ convolutions
@pytest.mark.parametrize("x_shape, w_shape, options", [
    ((2, 2, 5, 5), (3, 2, 3, 3), {}),
    ((2, 2, 6, 7), (3, 2, 3, 2), dict(stride=2, padding=1)),
    ((1, 2, 7, 6), (2, 2, 2, 3), dict(dilation=2, padding=(1, 2))),
    ((2, 4, 5, 5), (6, 2, 2, 3), dict(groups=2, stride=(2, 1))),
    ((1, 2, 5, 5), (2, 2, 2, 2), dict(padding="same", dilation=(1, 2))),  # odd total pad
    ((2, 5, 5), (3, 2, 3, 3), {}),  # unbatched
], ids=["plain", "stride_padding", "dilation", "groups", "same", "unbatched"])
def test_gradgradcheck_conv2d(x_shape, w_shape, options):
    rng = _rng(1)
    x, w, b = _random(rng, *x_shape), _random(rng, *w_shape), _random(rng, w_shape[0])
    assert gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, **options), (x, w, b))


@pytest.mark.parametrize("x_shape, w_shape, options", [
    ((2, 2, 3, 3), (2, 3, 3, 3), {}),
    ((2, 2, 3, 4), (2, 3, 3, 2), dict(stride=2, padding=1, output_padding=1)),
    ((1, 2, 4, 5), (2, 2, 2, 3), dict(dilation=2, padding=(1, 2))),
    ((2, 4, 3, 3), (4, 3, 2, 3), dict(groups=2, stride=(2, 1))),
    ((2, 3, 3), (2, 3, 3, 3), {}),
], ids=["plain", "stride_output_padding", "dilation", "groups", "unbatched"])
def test_gradgradcheck_conv_transpose2d(x_shape, w_shape, options):
    rng = _rng(2)
    c_out = w_shape[1] * options.get("groups", 1)
    x, w, b = _random(rng, *x_shape), _random(rng, *w_shape), _random(rng, c_out)
    assert gradgradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, **options), (x, w, b))


def test_conv_create_graph_gradients_equal_the_kernel_gradients():
    """The Tensor rule (create_graph) and the Numba rule give the same first order."""
    rng = _rng(3)
    x, w, b = _random(rng, 2, 4, 6, 6), _random(rng, 6, 2, 3, 3), _random(rng, 6)
    wt = _random(rng, 6, 2, 2, 2)

    def net():
        y = F.conv2d(x, w, b, stride=2, padding=1, groups=2).tanh()
        return (F.conv_transpose2d(y, wt, stride=2, groups=3) ** 2).sum()

    fast = autograd.grad(net(), (x, w, b, wt))
    graph = autograd.grad(net(), (x, w, b, wt), create_graph=True)
    for a, g in zip(fast, graph):
        assert g.grad_fn is not None
        np.testing.assert_allclose(g.numpy(), a.numpy(), rtol=1e-12, atol=1e-12)


def test_gradient_penalty_through_a_small_cnn_matches_torch(torch_or_skip):
    """WGAN-GP style: || d critic / dx || in the loss, through conv, conv_transpose and
    a dilated conv; every parameter's gradient equals PyTorch's to 1e-10."""
    torch = torch_or_skip
    rng = _rng(4)
    shapes = [(2, 2, 6, 6), (4, 2, 3, 3), (4,), (4, 2, 2, 2), (4,), (1, 4, 3, 3)]
    arrays = [rng.standard_normal(s) for s in shapes]

    def penalty(lib, functional, x, w1, b1, w2, b2, w3):
        h = functional.conv2d(x, w1, b1, stride=2, padding=1).tanh()
        h = functional.conv_transpose2d(h, w2, b2, stride=2, groups=2).tanh()
        critic = functional.conv2d(h, w3, dilation=2).sum()
        (gx,) = lib.autograd.grad(critic, x, create_graph=True)
        return (((gx * gx).sum(dim=(1, 2, 3)).sqrt() - 1) ** 2).mean()

    ours, theirs = _backward_both(torch, penalty, arrays)
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), other.grad.numpy(), rtol=1e-10,
                                   atol=1e-12)


# ------------------------------------------------------------------ recurrent layers
def _layer(rng, mode, inputs, hidden, proj=0):
    gates = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}[mode]
    out = proj or hidden
    return dict(w_ih=_random(rng, gates * hidden, inputs), w_hh=_random(rng, gates * hidden, out),
                b_ih=_random(rng, gates * hidden), b_hh=_random(rng, gates * hidden),
                w_hr=_random(rng, proj, hidden) if proj else None)


@pytest.mark.parametrize("mode, reverse, batch_sizes, proj", [
    ("RNN_TANH", False, (2, 2, 2), 0),
    ("RNN_RELU", True, (2, 2, 2), 0),
    ("LSTM", False, (3, 2, 1), 0),  # packed: the batch shrinks
    ("LSTM", True, (3, 2, 1), 0),
    ("LSTM", False, (2, 2), 1),  # proj_size
    ("GRU", False, (3, 2, 1), 0),
    ("GRU", True, (2, 2, 2), 0),
], ids=["rnn_tanh", "rnn_relu_reverse", "lstm_packed", "lstm_packed_reverse", "lstm_proj",
        "gru_packed", "gru_reverse"])
def test_gradgradcheck_recurrent_op(mode, reverse, batch_sizes, proj):
    rng = _rng(5)
    hidden, out = 2, proj or 2
    layer = _layer(rng, mode, 2, hidden, proj)
    x = _random(rng, sum(batch_sizes), 2)
    h0 = _random(rng, batch_sizes[0], out)
    c0 = _random(rng, batch_sizes[0], hidden) if mode == "LSTM" else None
    names = ["w_ih", "w_hh", "b_ih", "b_hh", "w_hr"]

    def run(x, h0, w_ih, w_hh, *rest):
        weights = dict(zip(names, (w_ih, w_hh, *rest)))
        weights.setdefault("w_hr", None)
        return Recurrent.apply(x, h0, c0, weights["w_ih"], weights["w_hh"], weights["b_ih"],
                               weights["b_hh"], weights["w_hr"], mode=mode,
                               batch_sizes=batch_sizes, reverse=reverse)

    checked = [layer[n] for n in names if layer[n] is not None]
    assert gradgradcheck(run, (x, h0, *checked))


def test_gradgradcheck_recurrent_op_through_c0():
    rng = _rng(6)
    layer = _layer(rng, "LSTM", 2, 2)
    x, h0, c0 = _random(rng, 4, 2), _random(rng, 2, 2), _random(rng, 2, 2)

    def run(c0, w_hh):
        return Recurrent.apply(x, h0, c0, layer["w_ih"], w_hh, None, None, None,
                               mode="LSTM", batch_sizes=(2, 2), reverse=False)

    assert gradgradcheck(run, (c0, layer["w_hh"]))


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU])
def test_gradgradcheck_two_layer_module(cls):
    rng = _rng(7)
    module = cls(2, 2, num_layers=2).double()
    x = _random(rng, 3, 1, 2)
    weight = module.weight_hh_l0
    assert gradgradcheck(lambda x, w: module(x)[0], (x, weight))


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU])
def test_gradgradcheck_bidirectional_module(cls):
    rng = _rng(8)
    module = cls(2, 2, num_layers=2, bidirectional=True).double()
    x = _random(rng, 3, 1, 2)
    assert gradgradcheck(lambda x, w: module(x)[0], (x, module.weight_ih_l1_reverse))


def test_gradient_penalty_through_an_lstm_matches_torch(torch_or_skip):
    torch = torch_or_skip
    rng = _rng(9)
    ours = nn.LSTM(3, 4, num_layers=2).double()
    theirs = torch.nn.LSTM(3, 4, num_layers=2).double()
    with torch.no_grad():
        for name, p in ours.named_parameters():
            getattr(theirs, name).copy_(torch.tensor(p.numpy()))
    data = rng.standard_normal((5, 2, 3))

    def penalty(lib, module, x):
        out, _ = module(x)  # (h_n, c_n stack the layers: stack is once differentiable)
        critic = (out * out).sum() + out[-1].sum()
        (gx,) = lib.autograd.grad(critic, x, create_graph=True)
        return (gx * gx).sum()

    x, tx = _leaf(data), torch.tensor(data, requires_grad=True)
    penalty(ag, ours, x).backward()
    penalty(torch, theirs, tx).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), getattr(theirs, name).grad.numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=name)


# ------------------------------------------------------------------------- attention
@pytest.mark.parametrize("options", [
    {}, dict(is_causal=True), dict(attn_mask=np.array([[True, False, True, True]] * 3)),
], ids=["plain", "causal", "bool_mask"])
def test_gradgradcheck_attention(options):
    rng = _rng(10)
    q, k, v = _random(rng, 2, 3, 2), _random(rng, 2, 4, 2), _random(rng, 2, 4, 3)
    if options.get("is_causal"):
        k, v = _random(rng, 2, 3, 2), _random(rng, 2, 3, 3)
    assert gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **options),
                         (q, k, v))


def test_gradgradcheck_attention_with_a_float_mask_and_one_tensor_as_q_k_v():
    """q = k = v: the replay gives each input position its own gradient (boundaries)."""
    rng = _rng(11)
    x, bias = _random(rng, 1, 3, 2), _random(rng, 3, 3)
    assert gradgradcheck(
        lambda x, bias: F.scaled_dot_product_attention(x, x, x, attn_mask=bias), (x, bias))


def test_attention_second_derivatives_match_torch(torch_or_skip):
    torch = torch_or_skip
    rng = _rng(12)
    arrays = [rng.standard_normal((2, 3, 4)) for _ in range(3)]

    def hessian_term(lib, functional, q, k, v):
        y = functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        grads = lib.autograd.grad((y ** 2).sum(), (q, k), create_graph=True)
        return sum((g * g).sum() for g in grads)

    ours, theirs = _backward_both(torch, hessian_term, arrays)
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), other.grad.numpy(), rtol=1e-10,
                                   atol=1e-12)


# ----------------------------------------------------------- embeddings, dropout, pooling
INDICES = np.array([[0, 2, 2], [4, 1, 0]])


@pytest.mark.parametrize("options", [{}, dict(padding_idx=2)], ids=["plain", "padding_idx"])
def test_gradgradcheck_embedding(options):
    w = _random(_rng(13), 5, 3)
    assert gradgradcheck(lambda w: F.embedding(ag.tensor(INDICES), w, **options) ** 2, (w,))


def test_embedding_scale_grad_by_freq_differentiates_its_own_rule():
    """With scale_grad_by_freq the rule is not the forward's adjoint, so only its
    derivative in the incoming gradient v is checked: exact (a gather divided by the
    counts; PyTorch's double backward leaves the counts out)."""
    rng = _rng(14)
    w, v = _random(rng, 5, 3), _random(rng, 2, 3, 3)

    def rule(v):
        with ag.enable_grad():  # gradcheck evaluates without grad mode
            y = F.embedding(ag.tensor(INDICES), w, scale_grad_by_freq=True)
            return autograd.grad(y, w, v, create_graph=True)[0]

    assert gradcheck(rule, (v,))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_gradgradcheck_embedding_bag(mode):
    rng = _rng(15)
    w, psw = _random(rng, 5, 3), _random(rng, 7)
    flat, offsets = ag.tensor(np.array([0, 2, 2, 4, 1, 0, 3])), ag.tensor(np.array([0, 3, 5]))
    assert gradgradcheck(lambda w: F.embedding_bag(flat, w, offsets, mode=mode) ** 2, (w,))
    if mode == "sum":  # per-sample weights: w and psw multiply (a mixed second derivative)
        assert gradgradcheck(lambda w, p: F.embedding_bag(
            flat, w, offsets, mode="sum", per_sample_weights=p, padding_idx=2) ** 2, (w, psw))


def test_gradgradcheck_dropout():
    x = _random(_rng(16), 3, 4)

    def dropped(x):
        ag.manual_seed(0)  # the same mask at every evaluation
        return F.dropout(x, 0.5) ** 3

    assert gradgradcheck(dropped, (x,))


def test_gradgradcheck_fractional_max_pool2d():
    x = _random(_rng(17), 2, 2, 6, 6)
    samples = ag.tensor(np.full((2, 2, 2), 0.3))
    assert gradgradcheck(lambda x: fractional_max_pool2d(
        x, 2, output_size=3, _random_samples=samples) ** 2, (x,))


# ------------------------------------------------------ the composite of a custom op
class FusedSoftplus(ag.Function):
    """log(1 + e^x) with a hand-written rule on arrays, made twice differentiable by a
    composite: the documented way for a custom op."""

    composite = staticmethod(lambda x: (x.exp() + 1).log())

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1 + np.exp(-x))


def test_a_custom_function_with_a_composite_is_twice_differentiable():
    x = _random(_rng(18), 4)
    assert gradgradcheck(lambda x: FusedSoftplus.apply(x) * x, (x,))
    (g,) = autograd.grad(FusedSoftplus.apply(x).sum(), x, create_graph=True)
    (h,) = autograd.grad(g.sum(), x)  # sigmoid'(x)
    s = 1 / (1 + np.exp(-x.numpy()))
    np.testing.assert_allclose(h.numpy(), s * (1 - s), rtol=1e-12)


def test_a_replay_refuses_an_input_changed_in_place_since_the_forward():
    rng = _rng(19)
    q, k, bias = _random(rng, 1, 2, 2), _random(rng, 1, 2, 2), ag.tensor(np.zeros((2, 2)))
    y = F.scaled_dot_product_attention(q, k, k, attn_mask=bias)
    with ag.no_grad():
        bias.add_(1.0)  # read by the fused op's backward (it rebuilds P) and by its replay
    with pytest.raises(RuntimeError, match="input 3 of ScaledDotProductAttention .* "
                                           "modified in place"):
        autograd.grad(y.sum(), q)
    y = F.scaled_dot_product_attention(q, k, k, attn_mask=bias)
    with ag.no_grad():
        bias.add_(1.0)
    with pytest.raises(RuntimeError, match="input 3 of ScaledDotProductAttention .* "
                                           "modified in place"):
        autograd.grad(y.sum(), q, create_graph=True)


def test_third_derivatives_through_conv_and_attention_match_torch(torch_or_skip):
    """The recorded rules are themselves twice differentiable: a third order works."""
    torch = torch_or_skip
    rng = _rng(20)
    arrays = [rng.standard_normal(s) for s in [(1, 2, 4, 4), (2, 2, 2, 2)]]

    def attention(y):  # PyTorch's fused attention has no third derivative: spell it out
        s = torch.softmax(y @ y.transpose(-1, -2) / np.sqrt(y.shape[-1]), dim=-1)
        return s @ y

    def third(lib, functional, x, w):
        y = functional.conv2d(x, w, padding=1).tanh()  # (1, 2, 5, 5)
        y = (F.scaled_dot_product_attention(y, y, y) if lib is ag else attention(y)).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (h,) = lib.autograd.grad((g * g).sum(), w, create_graph=True)
        return (h * h).sum()

    ours, theirs = _backward_both(torch, third, arrays)
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), other.grad.numpy(), rtol=1e-9,
                                   atol=1e-12)


def test_ordinary_backward_keeps_the_fused_rule_and_the_replay_agrees_with_it(monkeypatch):
    rng = _rng(21)
    module = nn.GRU(3, 4).double()
    x = _random(rng, 5, 2, 3)
    params = [x, *module.parameters()]

    def loss():
        return (module(x)[0] ** 2).sum()

    graph = autograd.grad(loss(), params, create_graph=True)  # through the replay

    def refuse(*args, **options):
        raise AssertionError("an ordinary backward replayed the composite")

    monkeypatch.setattr(Recurrent, "composite", staticmethod(refuse))
    fast = autograd.grad(loss(), params)
    for g, f in zip(graph, fast):
        assert g.grad_fn is not None
        np.testing.assert_allclose(g.numpy(), f.numpy(), rtol=1e-12, atol=1e-13)


def test_gradgradcheck_attention_with_dropout():
    rng = _rng(22)
    q, k, v = _random(rng, 2, 3, 2), _random(rng, 2, 3, 2), _random(rng, 2, 3, 2)

    def attend(q, k, v):
        ag.manual_seed(0)  # the same dropout mask at every evaluation
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)

    assert gradgradcheck(attend, (q, k, v))
