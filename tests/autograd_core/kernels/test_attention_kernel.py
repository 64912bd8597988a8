"""The fused float32 attention kernels: against a float64 NumPy reference and PyTorch,
masked and fully masked rows, which calls take them, and the same bits for any
thread count."""

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_core import Tensor
from autograd_core.kernels import attention as K
from autograd_core.ops import attention as op


def _reference(q, k, v, bias, scale, g):
    """Forward and (dq, dk, dv) in float64 by the textbook formulas."""
    q, k, v, g = (a.astype(np.float64) for a in (q, k, v, g))
    s = q @ np.swapaxes(k, -1, -2) * scale
    if bias is not None:
        s = s + bias.astype(np.float64)
    m = np.max(s, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    e = np.exp(s - m)
    with np.errstate(invalid="ignore"):
        p = e / e.sum(axis=-1, keepdims=True)
    y = p @ v
    dv = np.swapaxes(p, -1, -2) @ g
    dp = g @ np.swapaxes(v, -1, -2)
    ds = p * (dp - np.sum(dp * p, axis=-1, keepdims=True))
    return y, ds @ k * scale, np.swapaxes(ds, -1, -2) @ q * scale, dv


def _arrays(rng, batch, length, source, features, values):
    q = rng.standard_normal((batch, length, features)).astype(np.float32)
    k = rng.standard_normal((batch, source, features)).astype(np.float32)
    v = rng.standard_normal((batch, source, values)).astype(np.float32)
    g = rng.standard_normal((batch, length, values)).astype(np.float32)
    return q, k, v, g


@settings(max_examples=30, deadline=None)
@given(batch=st.integers(1, 5), length=st.integers(1, 20), source=st.integers(1, 20),
       features=st.integers(1, 20), values=st.integers(1, 9),
       bias_kind=st.sampled_from([None, "shared", "per_batch"]), masked=st.floats(0, 0.6),
       seed=st.integers(0, 2**31 - 1))
def test_forward_and_backward_match_float64(batch, length, source, features, values,
                                             bias_kind, masked, seed):
    rng = np.random.default_rng(seed)
    q, k, v, g = _arrays(rng, batch, length, source, features, values)
    bias = None
    if bias_kind is not None:
        shape = (length, source) if bias_kind == "shared" else (batch, length, source)
        bias = rng.standard_normal(shape).astype(np.float32)
        bias[rng.random(shape) < masked] = -np.inf
        bias[..., 0] = 0.5  # every row keeps a key (fully masked rows: their own test)
    scale = 1.0 / np.sqrt(features)
    y, m, total = K.attention_forward(q, k, v, bias, scale)
    gq, gk, gv = K.attention_backward(q, k, v, bias, scale, m, total, g)
    ry, rq, rk, rv = _reference(q, k, v, bias, scale, g)
    for ours, ref in ((y, ry), (gq, rq), (gk, rk), (gv, rv)):
        assert ours.dtype == np.float32 and ours.shape == ref.shape
        np.testing.assert_allclose(ours, ref, rtol=2e-4, atol=2e-5)


def test_a_fully_masked_row_gives_zeros_as_in_pytorch():
    # PyTorch's attention gives 0 there (not softmax's 0/0), in the output and gradients
    rng = np.random.default_rng(2)
    q, k, v, g = _arrays(rng, 2, 6, 4, 5, 2)
    bias = np.zeros((6, 4), np.float32)
    bias[1] = -np.inf
    bias[4] = -np.inf  # and one in the backward's four-row blocks with live rows
    y, m, total = K.attention_forward(q, k, v, bias, 0.5)
    assert (y[:, [1, 4]] == 0).all() and np.isfinite(y).all()
    assert (m[:, [1, 4]] == 0).all() and (total[:, [1, 4]] == 0).all()
    gq, gk, gv = K.attention_backward(q, k, v, bias, 0.5, m, total, g)
    assert (gq[:, [1, 4]] == 0).all()
    live = [0, 2, 3, 5]
    ref = _reference(q[:, live], k, v, bias[live], 0.5, g[:, live])
    for ours, expected in zip((gq[:, live], gk, gv), ref[1:]):
        np.testing.assert_allclose(ours, expected, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("length, source", [(37, 37), (5, 9), (20, 3)])
def test_a_causal_mask_matches_float64(length, source):
    # rows use only their first keys up to the last unmasked one: lengths that are
    # not whole vectors, and L != S, must still give the full computation's values
    rng = np.random.default_rng(length * source)
    q, k, v, g = _arrays(rng, 3, length, source, 16, 8)
    bias = np.triu(np.full((length, source), -np.inf, np.float32), 1)
    y, m, total = K.attention_forward(q, k, v, bias, 0.25)
    grads = K.attention_backward(q, k, v, bias, 0.25, m, total, g)
    for ours, ref in zip((y, *grads), _reference(q, k, v, bias, 0.25, g)):
        np.testing.assert_allclose(ours, ref, rtol=2e-4, atol=2e-5)


def test_keys_masked_at_the_end_of_every_row_stay_out_of_the_result():
    # right padding, its own length per batch entry: the padded keys hold NaN, which
    # would poison every row if they were computed with; the result is the attention
    # over the unpadded keys alone, and the padded keys' gradients are zero
    rng = np.random.default_rng(11)
    lengths = [9, 4, 1]
    q, k, v, g = _arrays(rng, 3, 6, 9, 8, 5)
    bias = np.zeros((3, 6, 9), np.float32)
    for b, n in enumerate(lengths):
        bias[b, :, n:] = -np.inf
        k[b, n:] = np.nan
        v[b, n:] = np.nan
    y, m, total = K.attention_forward(q, k, v, bias, 0.5)
    gq, gk, gv = K.attention_backward(q, k, v, bias, 0.5, m, total, g)
    for b, n in enumerate(lengths):
        alone = _reference(q[b:b + 1], k[b:b + 1, :n], v[b:b + 1, :n], None, 0.5, g[b:b + 1])
        for ours, ref in zip((y[b], gq[b], gk[b, :n], gv[b, :n]), alone):
            np.testing.assert_allclose(ours, ref[0], rtol=2e-4, atol=2e-5)
        assert (gk[b, n:] == 0).all() and (gv[b, n:] == 0).all()


def test_the_op_matches_pytorch_in_float32(torch_or_skip):
    torch = torch_or_skip
    import nn.functional as F

    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((3, 4, 33, 16)).astype(np.float32) for _ in range(3)]
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = F.scaled_dot_product_attention(*ours, is_causal=True)
    out_t = torch.nn.functional.scaled_dot_product_attention(*theirs, is_causal=True)
    assert op._fused_arrays(*arrays, None, None, False) is not None
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(Tensor(g))
    out_t.backward(torch.from_numpy(g))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_which_calls_take_the_fused_kernels():
    x = np.zeros((2, 3, 4, 8), np.float32)
    bias = np.zeros((4, 4), np.float32)
    take = op._fused_arrays
    assert take(x, x, x, None, None, False) is not None
    assert take(x, x, x, bias, None, False)[3].shape == (4, 4)
    assert take(x, x, x, bias[None, None], None, False)[3].shape == (4, 4)
    assert take(x, x, x, np.zeros((2, 3, 4, 4), np.float32), None, False)[3].shape == (6, 4, 4)
    assert take(x[0, 0], x[0, 0], x[0, 0], None, None, False)[0].shape == (1, 4, 8)
    # the NumPy path: float64, dropout, a bias gradient, broadcasting, odd bias shapes
    assert take(x.astype(np.float64), x, x, None, None, False) is None
    assert take(x, x, x, None, np.ones((2, 3, 4, 4), np.float32), False) is None
    assert take(x, x, x, bias, None, True) is None
    assert take(x, x[:1], x[:1], None, None, False) is None
    assert take(x, x, x, np.zeros((2, 1, 4, 4), np.float32), None, False) is None
    assert take(x, x, x, bias.astype(np.float64), None, False) is None


def test_the_same_bits_with_any_thread_count():
    rng = np.random.default_rng(7)
    q, k, v, g = _arrays(rng, 64, 64, 64, 16, 16)
    bias = np.triu(np.full((64, 64), -np.inf, np.float32), 1)
    before = numba.get_num_threads()
    results = []
    try:
        for threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(threads)
            y, m, total = K.attention_forward(q, k, v, bias, 0.25)
            results.append([y, m, total, *K.attention_backward(q, k, v, bias, 0.25, m,
                                                               total, g)])
    finally:
        numba.set_num_threads(before)
    for a, b in zip(results[0], results[-1]):
        assert a.tobytes() == b.tobytes()


def test_the_float32_op_agrees_with_the_float64_op_that_passes_gradcheck():
    from autograd_core import gradcheck

    rng = np.random.default_rng(9)
    arrays = [rng.standard_normal((2, 3, 4)) for _ in range(3)]
    causal = np.triu(np.full((3, 3), -np.inf), 1)

    def run(dtype):
        ts = [Tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        bias = Tensor(causal.astype(dtype))
        fn = lambda a, b, c: op.ScaledDotProductAttention.apply(a, b, c, bias, None,  # noqa: E731
                                                                scale=0.5)
        return ts, fn

    ts64, fn64 = run(np.float64)
    assert gradcheck(fn64, ts64)  # the NumPy path
    fn64(*ts64).sum().backward()
    ts32, fn32 = run(np.float32)  # the fused kernels
    out = fn32(*ts32)
    assert out.dtype == np.float32
    out.sum().backward()
    for a, b in zip(ts32, ts64):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_mismatched_arrays_get_an_error_naming_their_shapes():
    q, k = np.zeros((2, 3, 4), np.float32), np.zeros((2, 5, 4), np.float32)
    with pytest.raises(ValueError, match=r"v \(2, 6, 4\)"):
        K.attention_forward(q, k, np.zeros((2, 6, 4), np.float32), None, 1.0)
    with pytest.raises(ValueError, match=r"bias \(3, 4\)"):
        K.attention_forward(q, k, k, np.zeros((3, 4), np.float32), 1.0)
    with pytest.raises(ValueError, match="float64"):
        K.attention_forward(q.astype(np.float64), k, k, None, 1.0)
    y, m, total = K.attention_forward(q, k, k, None, 1.0)
    with pytest.raises(ValueError, match=r"grad \(2, 3, 5\)"):
        K.attention_backward(q, k, k, None, 1.0, m, total, np.zeros((2, 3, 5), np.float32))
    # through the op, keys and values of different lengths never reach the kernels
    assert op._fused_arrays(q, k, np.zeros((2, 6, 4), np.float32), None, None, False) is None
