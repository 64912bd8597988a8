"""scaled_dot_product_attention, MultiheadAttention and the Transformer layers against
PyTorch (loaded weights, float64), and the errors for bad masks and shapes."""

import numpy as np
import pytest

import nn
import nn.functional as F
from autograd_core import Tensor, gradcheck, manual_seed
from autograd_core.errors import DTypeError, ShapeError
from tests.reference.nn_torch import assert_close

TOL = 1e-10


def _t(rng, shape):
    return rng.standard_normal(shape)


def _both(torch, array):
    return Tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def _twin(torch, ours, theirs):
    theirs = theirs.double()  # first: loading float64 values into float32 would round them
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    return theirs


def _backward_both(rng, out, out_t):
    g = rng.standard_normal(out.shape)
    out.backward(Tensor(g))
    out_t.backward(__import__("torch").from_numpy(g))


@pytest.mark.parametrize("mask", [None, "bool", "float", "causal"])
@pytest.mark.parametrize("shapes", [((2, 3, 4), (2, 5, 4), (2, 5, 6)),
                                    ((2, 2, 4, 3), (2, 2, 4, 3), (2, 2, 4, 3)),
                                    ((4, 3), (6, 3), (6, 2))])
def test_sdpa_matches_torch(torch_or_skip, rng, mask, shapes):
    torch = torch_or_skip
    (qo, qt), (ko, kt), (vo, vt) = (_both(torch, _t(rng, s)) for s in shapes)
    length, source = shapes[0][-2], shapes[1][-2]
    kwargs, kwargs_t = {}, {}
    if mask == "bool":
        m = rng.random((length, source)) > 0.3
        m[:, 0] = True  # no fully masked row
        kwargs["attn_mask"], kwargs_t["attn_mask"] = Tensor(m), torch.from_numpy(m)
    elif mask == "float":
        m = _t(rng, (length, source))
        kwargs["attn_mask"], kwargs_t["attn_mask"] = Tensor(m), torch.from_numpy(m)
    elif mask == "causal":
        kwargs["is_causal"] = kwargs_t["is_causal"] = True
    out = F.scaled_dot_product_attention(qo, ko, vo, **kwargs)
    out_t = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, **kwargs_t)
    assert_close(out, out_t, atol=TOL)
    _backward_both(rng, out, out_t)
    for a, b in ((qo, qt), (ko, kt), (vo, vt)):
        assert_close(a.grad, b.grad, atol=TOL)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mask_shape", ["full", "broadcast"])
def test_sdpa_rows_with_every_key_masked_give_zeros_as_in_torch(torch_or_skip, rng, dtype,
                                                                  mask_shape):
    # PyTorch's attention gives such a row 0 (output and gradients), not softmax's 0/0;
    # float32 with a full-shape mask runs the fused kernels, the others the NumPy path
    torch = torch_or_skip
    shape = (2, 3, 5, 4)
    (qo, qt), (ko, kt), (vo, vt) = (_both(torch, _t(rng, shape).astype(dtype))
                                    for _ in range(3))
    allowed = rng.random((2, 3, 5, 5)) > 0.4
    allowed[..., 0] = True
    allowed[:, :, 2] = False      # one query row sees no key in every head
    allowed[1, 0, 4] = False      # and one more, in one head only
    if mask_shape == "broadcast":
        allowed = allowed[:, :1]  # (2, 1, 5, 5): broadcast over the heads
    out = F.scaled_dot_product_attention(qo, ko, vo, attn_mask=Tensor(allowed))
    out_t = torch.nn.functional.scaled_dot_product_attention(
        qt, kt, vt, attn_mask=torch.from_numpy(allowed))
    assert (out.numpy()[:, :, 2] == 0).all()
    tol = 1e-5 if dtype == np.float32 else TOL
    assert_close(out, out_t, atol=tol)
    _backward_both(rng, out, out_t)
    for a, b in ((qo, qt), (ko, kt), (vo, vt)):
        assert np.isfinite(a.grad.numpy()).all()
        assert_close(a.grad, b.grad, atol=tol)
    assert (qo.grad.numpy()[:, :, 2] == 0).all()


def test_sdpa_fully_masked_rows_have_finite_gradients_of_gradients():
    # create_graph replays the op as a composite: its rows of -inf must give 0 there too
    rng = np.random.default_rng(3)
    q, k, v = (Tensor(rng.standard_normal((1, 3, 4)), requires_grad=True) for _ in range(3))
    mask = np.zeros((3, 3))
    mask[1] = -np.inf
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=Tensor(mask))
    assert (out.numpy()[:, 1] == 0).all()
    (gq,) = __import__("autograd_core").autograd.grad((out * out).sum(), [q],
                                                        create_graph=True)
    assert (gq.numpy()[:, 1] == 0).all()
    gq.sum().backward()
    for t in (q, k, v):
        assert np.isfinite(t.grad.numpy()).all()


@pytest.mark.parametrize("shapes, kwargs", [
    ([(1, 4, 8), (2, 5, 8), (2, 5, 6)], {}),                         # query broadcast up
    ([(4, 8), (2, 5, 8), (2, 5, 6)], {}),
    ([(1, 4, 3, 8), (1, 2, 5, 8), (1, 2, 5, 6)], {"enable_gqa": True}),
    ([(2, 6, 3, 8), (2, 3, 5, 8), (2, 3, 5, 6)], {"enable_gqa": True, "is_causal": True}),
    ([(2, 4, 3, 8), (2, 4, 5, 8), (2, 4, 5, 6)], {"enable_gqa": True}),  # nothing to group
    ([(1, 8, 3, 8), (1, 2, 5, 8), (1, 4, 5, 6)], {"enable_gqa": True}),  # k, v apart
    ([(1, 8, 3, 8), (1, 8, 5, 8), (1, 2, 5, 6)], {"enable_gqa": True}),
    ([(2, 4, 8), (2, 0, 8), (2, 0, 6)], {}),                         # no keys: zeros
])
def test_sdpa_broadcast_query_grouped_heads_and_no_keys_match_torch(torch_or_skip, rng,
                                                                     shapes, kwargs):
    torch = torch_or_skip
    (qo, qt), (ko, kt), (vo, vt) = (_both(torch, _t(rng, s)) for s in shapes)
    out = F.scaled_dot_product_attention(qo, ko, vo, **kwargs)
    out_t = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, **kwargs)
    assert tuple(out.shape) == tuple(out_t.shape)
    assert_close(out, out_t, atol=TOL)
    _backward_both(rng, out, out_t)
    for a, b in ((qo, qt), (ko, kt), (vo, vt)):
        assert_close(a.grad, b.grad, atol=TOL)


def test_sdpa_grouped_heads_and_broadcast_query_have_torchs_second_derivatives(
        torch_or_skip, rng):
    torch = torch_or_skip
    shapes = [(1, 4, 3, 8), (2, 2, 5, 8), (2, 2, 5, 6)]  # grouped and broadcast at once
    (qo, qt), (ko, kt), (vo, vt) = (_both(torch, _t(rng, s)) for s in shapes)
    out = F.scaled_dot_product_attention(qo, ko, vo, enable_gqa=True)
    out_t = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, enable_gqa=True)
    grads = __import__("autograd_core").autograd.grad((out * out).sum(), [qo, ko],
                                                       create_graph=True)
    grads_t = torch.autograd.grad((out_t * out_t).sum(), [qt, kt], create_graph=True)
    (grads[0].sum() + grads[1].sum()).backward()
    (grads_t[0].sum() + grads_t[1].sum()).backward()
    for a, b in zip(grads, grads_t):
        assert_close(a, b, atol=TOL)
    for a, b in ((qo, qt), (ko, kt), (vo, vt)):
        assert_close(a.grad, b.grad, atol=TOL)


def test_sdpa_grouped_heads_must_divide():
    q, k = Tensor(np.ones((1, 3, 2, 4))), Tensor(np.ones((1, 2, 2, 4)))
    with pytest.raises(ShapeError, match="multiple of the key heads"):
        F.scaled_dot_product_attention(q, k, k, enable_gqa=True)


def test_sdpa_gradcheck_with_float_mask_and_dropout(rng):
    q, k, v = (Tensor(_t(rng, (2, 3, 4)), requires_grad=True) for _ in range(3))
    bias = Tensor(_t(rng, (3, 3)), requires_grad=True)
    assert gradcheck(lambda q, k, v, b: F.scaled_dot_product_attention(q, k, v, b, scale=0.7),
                     (q, k, v, bias))
    manual_seed(3)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    manual_seed(3)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    # the dropped-out node's backward uses the same mask: compare with finite differences
    from autograd_core.ops.attention import ScaledDotProductAttention
    from autograd_core.ops.dropout import dropout_mask

    mask = dropout_mask((2, 3, 3), 0.5, np.float64, np.random.default_rng(0))
    assert gradcheck(lambda q, k, v: ScaledDotProductAttention.apply(q, k, v, None, mask,
                                                                     scale=0.5), (q, k, v))


def test_sdpa_bad_masks(rng):
    q = Tensor(_t(rng, (2, 3, 4)))
    with pytest.raises(ShapeError, match="does not broadcast"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=Tensor(np.ones((2, 4), dtype=bool)))
    with pytest.raises(DTypeError, match="bool or floating point"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=Tensor(np.ones((3, 3), dtype=np.int64)))
    with pytest.raises(ShapeError, match="expected query"):
        F.scaled_dot_product_attention(q, Tensor(_t(rng, (2, 3, 5))), q)


MHA_CASES = [
    dict(),
    dict(batch_first=True),
    dict(bias=False),
    dict(kdim=3, vdim=5),
    dict(add_bias_kv=True),
    dict(add_zero_attn=True),
    dict(add_bias_kv=True, add_zero_attn=True, batch_first=True),
]


@pytest.mark.parametrize("case", MHA_CASES)
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("masks", [None, "bool", "float"])
def test_multihead_attention_matches_torch(torch_or_skip, rng, case, need_weights, average,
                                           masks):
    torch = torch_or_skip
    embed, heads, length, source, batch = 8, 2, 4, 5, 3
    ours = nn.MultiheadAttention(embed, heads, **case).double()
    for p in ours.parameters():  # nonzero biases too
        p.numpy()[...] = rng.standard_normal(p.shape) * 0.5
    theirs = _twin(torch, ours, torch.nn.MultiheadAttention(embed, heads, **case))
    bf = case.get("batch_first", False)

    def shape(n, d):
        return (batch, n, d) if bf else (n, batch, d)

    qo, qt = _both(torch, _t(rng, shape(length, embed)))
    ko, kt = _both(torch, _t(rng, shape(source, case.get("kdim", embed))))
    vo, vt = _both(torch, _t(rng, shape(source, case.get("vdim", embed))))
    kw, kw_t = {}, {}
    if masks == "bool":
        am = rng.random((length, source)) > 0.7
        kpm = np.zeros((batch, source), dtype=bool)
        kpm[0, -2:] = True
        kw = dict(attn_mask=Tensor(am), key_padding_mask=Tensor(kpm))
        kw_t = dict(attn_mask=torch.from_numpy(am), key_padding_mask=torch.from_numpy(kpm))
    elif masks == "float":
        am = _t(rng, (batch * heads, length, source))
        kpm = _t(rng, (batch, source))
        kw = dict(attn_mask=Tensor(am), key_padding_mask=Tensor(kpm))
        kw_t = dict(attn_mask=torch.from_numpy(am), key_padding_mask=torch.from_numpy(kpm))
    out, w = ours(qo, ko, vo, need_weights=need_weights, average_attn_weights=average, **kw)
    out_t, w_t = theirs(qt, kt, vt, need_weights=need_weights, average_attn_weights=average,
                        **kw_t)
    assert_close(out, out_t, atol=TOL)
    if need_weights:
        assert_close(w, w_t, atol=TOL)
        g, gw = _t(rng, out.shape), _t(rng, w.shape)
        loss = (out * Tensor(g)).sum() + (w * Tensor(gw)).sum()
        loss_t = (out_t * torch.from_numpy(g)).sum() + (w_t * torch.from_numpy(gw)).sum()
    else:
        assert w is None and w_t is None
        loss = (out * Tensor(g := _t(rng, out.shape))).sum()
        loss_t = (out_t * torch.from_numpy(g)).sum()
    loss.backward()
    loss_t.backward()
    for a, b in ((qo, qt), (ko, kt), (vo, vt)):
        assert_close(a.grad, b.grad, atol=TOL)
    for (name, p), (name_t, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == name_t
        assert_close(p.grad, pt.grad, atol=TOL, what=name)


@pytest.mark.parametrize("case", [dict(), dict(batch_first=True), dict(bias=False),
                                  dict(add_bias_kv=True, add_zero_attn=True)])
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_self_attention_packs_the_projection_and_matches_torch(
        torch_or_skip, rng, case, need_weights):
    """query is key is value: one packed in-projection (PyTorch's path too), whose
    slices carry q's, k's and v's gradients back into one input."""
    torch = torch_or_skip
    ours = nn.MultiheadAttention(8, 2, **case).double()
    for p in ours.parameters():
        p.numpy()[...] = rng.standard_normal(p.shape) * 0.5
    theirs = _twin(torch, ours, torch.nn.MultiheadAttention(8, 2, **case))
    xo, xt = _both(torch, _t(rng, (3, 4, 8) if case.get("batch_first") else (4, 3, 8)))
    am = np.triu(np.full((4, 4), -np.inf), 1) if case.get("add_bias_kv") is None else \
        rng.random((4, 4)) > 0.7
    out, w = ours(xo, xo, xo, attn_mask=Tensor(am), need_weights=need_weights)
    out_t, w_t = theirs(xt, xt, xt, attn_mask=torch.from_numpy(am), need_weights=need_weights)
    assert_close(out, out_t, atol=TOL)
    _backward_both(rng, out, out_t)
    assert_close(xo.grad, xt.grad, atol=TOL)
    for (name, p), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, pt.grad, atol=TOL, what=name)
    # the packed path really ran: one Linear node made q, k and v
    seen, stack = {}, [out.grad_fn]
    while stack:
        node = stack.pop()
        if node is not None and id(node) not in seen:
            seen[id(node)] = node.name()
            stack.extend(parent for parent, _ in node.next_functions)
    assert sorted(seen.values()).count("LinearBackward0") == 2  # in_proj and out_proj


def test_multihead_attention_unbatched_and_keys(torch_or_skip, rng):
    torch = torch_or_skip
    ours = nn.MultiheadAttention(6, 3).double()
    theirs = _twin(torch, ours, torch.nn.MultiheadAttention(6, 3))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = _t(rng, (4, 6))
    out, w = ours(Tensor(x), Tensor(x), Tensor(x))
    out_t, w_t = theirs(*(torch.from_numpy(x),) * 3)
    assert_close(out, out_t, atol=TOL)
    assert_close(w, w_t, atol=TOL)


def test_multihead_attention_bad_input(rng):
    with pytest.raises(ValueError, match="embed_dim must be divisible by num_heads, got "
                                         "embed_dim=10 and num_heads=3"):
        nn.MultiheadAttention(10, 3)
    mha = nn.MultiheadAttention(4, 2)
    x = Tensor(_t(rng, (5, 2, 4)).astype(np.float32))
    with pytest.raises(ShapeError, match="2D attn_mask is \\(5, 4\\), but should be \\(5, 5\\)"):
        mha(x, x, x, attn_mask=Tensor(np.zeros((5, 4), dtype=bool)))
    with pytest.raises(ShapeError, match="3D attn_mask"):
        mha(x, x, x, attn_mask=Tensor(np.zeros((2, 5, 5), dtype=bool)))
    with pytest.raises(ShapeError, match="key_padding_mask shape of \\(2, 5\\)"):
        mha(x, x, x, key_padding_mask=Tensor(np.zeros((5, 2), dtype=bool)))
    with pytest.raises(DTypeError, match="only bool and floating types of key_padding_mask"):
        mha(x, x, x, key_padding_mask=Tensor(np.zeros((2, 5), dtype=np.int64)))
    with pytest.raises(ShapeError, match="embedding dimension of 4, but got 3"):
        mha(x[..., :3], x[..., :3], x[..., :3])
    with pytest.raises(ShapeError, match="query should be unbatched 2D or batched 3D"):
        mha(x[None], x[None], x[None])


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_encoder_matches_torch(torch_or_skip, rng, norm_first, activation,
                                           batch_first):
    torch = torch_or_skip
    kw = dict(d_model=8, nhead=2, dim_feedforward=12, dropout=0.0, activation=activation,
              batch_first=batch_first, norm_first=norm_first)
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(**kw), num_layers=2,
                                 norm=nn.LayerNorm(8)).double()
    for p in ours.parameters():
        p.numpy()[...] += rng.standard_normal(p.shape) * 0.1
    theirs = _twin(torch, ours, torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(**kw), num_layers=2, norm=torch.nn.LayerNorm(8),
        enable_nested_tensor=False))
    shape = (3, 5, 8) if batch_first else (5, 3, 8)
    xo, xt = _both(torch, _t(rng, shape))
    causal = np.triu(np.full((5, 5), -np.inf), 1)
    kpm = np.zeros((3, 5))
    kpm[1, -1] = -np.inf  # float, like the mask (PyTorch deprecates mixing the two)
    out = ours(xo, mask=Tensor(causal), src_key_padding_mask=Tensor(kpm))
    out_t = theirs(xt, mask=torch.from_numpy(causal), src_key_padding_mask=torch.from_numpy(kpm))
    assert_close(out, out_t, atol=TOL)
    _backward_both(rng, out, out_t)
    assert_close(xo.grad, xt.grad, atol=TOL)
    for (name, p), (name_t, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == name_t
        assert_close(p.grad, pt.grad, atol=TOL, what=name)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_decoder_layer_matches_torch(torch_or_skip, rng, norm_first, batch_first):
    torch = torch_or_skip
    kw = dict(d_model=8, nhead=4, dim_feedforward=10, dropout=0.0, activation="gelu",
              batch_first=batch_first, norm_first=norm_first)
    ours = nn.TransformerDecoderLayer(**kw).double()
    for p in ours.parameters():
        p.numpy()[...] += rng.standard_normal(p.shape) * 0.1
    theirs = _twin(torch, ours, torch.nn.TransformerDecoderLayer(**kw))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    tshape, mshape = ((2, 4, 8), (2, 6, 8)) if batch_first else ((4, 2, 8), (6, 2, 8))
    (to, tt), (mo, mt) = _both(torch, _t(rng, tshape)), _both(torch, _t(rng, mshape))
    causal = nn.transformer.generate_square_subsequent_mask(4, dtype=np.float64)
    out = ours(to, mo, tgt_mask=causal)
    out_t = theirs(tt, mt, tgt_mask=torch.from_numpy(causal.numpy()))
    assert_close(out, out_t, atol=TOL)
    _backward_both(rng, out, out_t)
    assert_close(to.grad, tt.grad, atol=TOL)
    assert_close(mo.grad, mt.grad, atol=TOL)
    for (name, p), pt in zip(ours.named_parameters(), theirs.parameters()):
        assert_close(p.grad, pt.grad, atol=TOL, what=name)


# ------------------------------------------------- the op's batch slices on threads


def _attention_with_grads(q, k, v, bias, mask, need_bias=True):
    from autograd_core.ops.attention import ScaledDotProductAttention

    ts = [Tensor(a, requires_grad=True) for a in (q, k, v)]
    b = None if bias is None else Tensor(bias, requires_grad=need_bias)
    m = None if mask is None else Tensor(mask)
    out = ScaledDotProductAttention.apply(*ts, b, m, scale=0.3)
    (out * Tensor(np.linspace(-1, 1, out.numel()).reshape(out.shape).astype(out.dtype))
     ).sum().backward()
    grads = [t.grad.numpy() for t in ts] + ([b.grad.numpy()] if need_bias and b is not None
                                           else [])
    return [out.numpy()] + grads


@pytest.mark.parametrize("bias_shape", [None, (64, 64), (1, 1, 64, 64), (6, 1, 64, 64),
                                        (6, 4, 64, 64)])
@pytest.mark.parametrize("dropout", [False, True])
def test_attention_cut_into_batch_slices_gives_the_same_bits(monkeypatch, bias_shape,
                                                             dropout):
    from autograd_core.ops import attention

    rng = np.random.default_rng(11)
    q, k, v = (rng.standard_normal((6, 4, 64, 16)).astype(np.float32) for _ in range(3))
    bias = None
    if bias_shape is not None:
        bias = np.where(rng.random(bias_shape) < 0.3, -np.inf, 0.1).astype(np.float32)
        bias[..., 0] = 0.0  # no row entirely masked
    mask = None
    if dropout:
        mask = (rng.random((6, 4, 64, 64)) < 0.8).astype(np.float32) / np.float32(0.8)
    assert len(attention._batch_slices(q, k, v, bias, mask)) == 6  # cut: 6 batches
    sliced = _attention_with_grads(q, k, v, bias, mask)
    monkeypatch.setattr(attention, "_SLICE_MIN_SCORES", 1 << 40)
    assert len(attention._batch_slices(q, k, v, bias, mask)) == 1
    whole = _attention_with_grads(q, k, v, bias, mask)
    for a, b in zip(sliced, whole):
        assert a.shape == b.shape and a.tobytes() == b.tobytes()


def test_attention_batch_slices_pass_gradcheck(monkeypatch):
    from autograd_core.ops import attention

    monkeypatch.setattr(attention, "_SLICE_MIN_SCORES", 1)
    rng = np.random.default_rng(12)
    q, k, v = (Tensor(rng.standard_normal((3, 2, 4, 3)), requires_grad=True)
               for _ in range(3))
    bias = Tensor(np.where(rng.random((3, 1, 4, 4)) < 0.3, -np.inf, 0.5), requires_grad=False)
    assert len(attention._batch_slices(q.numpy(), k.numpy(), v.numpy(), bias.numpy(),
                                       None)) == 3
    assert gradcheck(lambda a, b, c: attention.ScaledDotProductAttention.apply(
        a, b, c, bias, None, scale=0.5), (q, k, v))


def test_attention_with_broadcast_batches_is_not_cut():
    from autograd_core.ops import attention

    q = np.zeros((8, 4, 64, 16), np.float32)
    k = np.zeros((1, 4, 64, 16), np.float32)
    assert len(attention._batch_slices(q, k, k, None, None)) == 1
    assert len(attention._batch_slices(q, q, q, np.zeros((2, 1, 64, 64)), None)) == 1
    assert len(attention._batch_slices(q[:1], q[:1], q[:1], None, None)) == 1
