"""ReLU's one-pass forward and backward (``kernels.elementwise``) against NumPy and
PyTorch, which gradients the op hands to it, and create_graph still differentiating
through ReLU; the row bias add against NumPy's broadcast add, and Linear using it."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_core as ag
from autograd_core import Tensor
from autograd_core.kernels import elementwise as E
from autograd_core.ops import elementwise as ops_ew
from autograd_core.ops.linalg import linear


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (7,), (3, 5, 2), (2, 3, 4, 5)])
def test_matches_the_numpy_formula(rng, shape, dtype):
    x = np.asarray(rng.standard_normal(shape), dtype)
    x[x > 1.0] = 0.0  # ties at 0 get gradient 0
    out = np.asarray(np.maximum(x, 0))
    g = np.asarray(rng.standard_normal(shape), dtype)
    got = E.relu_backward(g, out)
    assert got.dtype == dtype and got.shape == g.shape
    np.testing.assert_array_equal(got, g * (out > 0))


def test_non_finite_grads_where_out_is_zero_give_zero_as_pytorch(torch_or_skip):
    # (a NaN input keeps the NumPy formula's gradient 0: the rule reads out > 0)
    torch = torch_or_skip
    x = np.array([-1.0, 0.0, 2.0, -3.0, 4.0])
    g = np.array([np.nan, np.inf, 5.0, -0.0, np.nan])
    xt = torch.tensor(x, requires_grad=True)
    torch.relu(xt).backward(torch.tensor(g))
    got = E.relu_backward(g, np.maximum(x, 0))
    np.testing.assert_array_equal(got, xt.grad.numpy())
    assert not np.signbit(got[3])


def test_the_op_uses_the_kernel_for_contiguous_array_grads(rng, monkeypatch):
    calls = []
    real = E._relu_backward
    monkeypatch.setattr(E, "_relu_backward", lambda g, o: calls.append(1) or real(g, o))
    x = Tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    ops_ew.Relu.apply(x).backward(Tensor(np.ones((3, 4), np.float32)))
    assert calls == [1]
    np.testing.assert_array_equal(x.grad.numpy(), (x.numpy() > 0).astype(np.float32))
    # a broadcast grad (from sum()) and a Tensor grad take the NumPy formula
    x.grad = None
    ops_ew.Relu.apply(x).sum().backward()
    assert calls == [1]
    np.testing.assert_array_equal(x.grad.numpy(), (x.numpy() > 0).astype(np.float32))
    assert not E.relu_backward_applies(Tensor(np.ones(3)), np.ones(3))
    assert not E.relu_backward_applies(np.ones(3, np.float32), np.ones(3))


def test_create_graph_still_differentiates_through_relu(rng):
    x = Tensor(rng.standard_normal(6), requires_grad=True)
    y = (ops_ew.Relu.apply(x) ** 2).sum()
    (gx,) = ag.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(gx.numpy(), 2 * np.maximum(x.numpy(), 0))
    gx.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0 * (x.numpy() > 0))


def test_bad_input_is_a_clear_error():
    with pytest.raises(TypeError, match="arrays of one shape and dtype"):
        E.relu_backward(np.ones(3), np.ones(4))


def float_arrays(min_side=0, min_ndim=0):
    """Normal float32 or float64 arrays of up to 4 dimensions of at most 9."""
    return st.builds(
        lambda shape, dtype, seed: np.random.default_rng(seed).standard_normal(shape)
        .astype(dtype),
        st.lists(st.integers(min_side, 9), min_size=min_ndim, max_size=4),
        st.sampled_from([np.float32, np.float64]), st.integers(0, 2**31 - 1))


@settings(max_examples=40, deadline=None)
@given(a=float_arrays())
def test_relu_forward_gives_numpy_maximums_bits(a):
    dtype = a.dtype
    specials = np.array([np.nan, -0.0, 0.0, np.inf, -np.inf, 1e-45], dtype)
    flat = a.reshape(-1)
    flat[:min(flat.size, specials.size)] = specials[:flat.size]
    out = E.relu_forward(a)
    assert out.shape == a.shape and out.dtype == a.dtype
    assert out.tobytes() == np.maximum(a, 0).tobytes()
    assert E.relu_forward(a.T).tobytes() == np.maximum(a.T, 0).tobytes()  # strided: NumPy


@settings(max_examples=30, deadline=None)
@given(out=float_arrays(min_side=1, min_ndim=1), seed=st.integers(0, 2**31 - 1))
def test_add_to_rows_gives_numpy_broadcast_adds_bits(out, seed):
    bias = np.random.default_rng(seed).standard_normal(out.shape[-1]).astype(out.dtype)
    expected = out + bias
    assert E.add_to_rows(out, bias)
    assert out.tobytes() == expected.tobytes()


def test_add_to_rows_declines_what_it_cannot_add_in_place(rng):
    out = rng.standard_normal((4, 6)).astype(np.float32)
    before = out.copy()
    assert not E.add_to_rows(out, rng.standard_normal(6))  # float64 bias: promotes
    assert not E.add_to_rows(out, rng.standard_normal(12).astype(np.float32)[::2])
    assert not E.add_to_rows(out.T, rng.standard_normal(4).astype(np.float32))
    assert not E.add_to_rows(out, rng.standard_normal(5).astype(np.float32))
    assert not E.add_to_rows(out.astype(np.int64), np.ones(6, np.int64))
    np.testing.assert_array_equal(out, before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_adds_its_bias_with_the_kernel(rng, dtype, monkeypatch):
    x = Tensor(rng.standard_normal((5, 3, 4)).astype(dtype))
    w = Tensor(rng.standard_normal((6, 4)).astype(dtype))
    b = Tensor(rng.standard_normal(6).astype(dtype))
    calls = []
    original = E.add_to_rows
    monkeypatch.setattr(E, "add_to_rows", lambda o, bb: calls.append(o.shape) or original(o, bb))
    y = linear(x, w, b)
    assert calls == [(5, 3, 6)]
    expected = x.numpy().reshape(-1, 4) @ w.numpy().T + b.numpy()
    np.testing.assert_array_equal(y.numpy(), expected.reshape(5, 3, 6))
