"""Every op: forward against NumPy, gradient against finite differences (float64) and,
where installed, value and gradient against PyTorch, over hypothesis-generated shapes
including broadcasting and 0-d tensors."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import autograd_core as ag
from tests.autograd_core.op_table import BINARY, REDUCTIONS, UNARY, sample

SETTINGS = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
small_shapes = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


def _leaf(array):
    return ag.Tensor(array, requires_grad=True)


def _pair_inputs(op, shapes, seed):
    rng = np.random.default_rng(seed)
    a = sample(rng, shapes[0], op.domain)
    b = sample(rng, shapes[1], op.domain)
    if op.domain == "distinct":
        b = b + 0.125  # a and b never tie elementwise
    return a, b


@pytest.mark.parametrize("op", UNARY, ids=lambda o: o.name)
@SETTINGS
@given(shape=small_shapes, seed=st.integers(0, 2**16))
def test_unary_forward_and_gradcheck(op, shape, seed):
    a = sample(np.random.default_rng(seed), shape, op.domain)
    x = _leaf(a)
    out = op.ours(x)
    assert out.shape == np.shape(op.numpy(a))
    np.testing.assert_allclose(out.numpy(), op.numpy(a), rtol=1e-12, atol=1e-12)
    assert ag.gradcheck(op.ours, (x,))


@pytest.mark.parametrize("op", BINARY, ids=lambda o: o.name)
@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       seed=st.integers(0, 2**16))
def test_binary_broadcasting_forward_and_gradcheck(op, shapes, seed):
    a, b = _pair_inputs(op, shapes.input_shapes, seed)
    x, y = _leaf(a), _leaf(b)
    out = op.ours(x, y)
    assert out.shape == shapes.result_shape
    np.testing.assert_allclose(out.numpy(), op.numpy(a, b), rtol=1e-12, atol=1e-12)
    assert ag.gradcheck(op.ours, (x, y))
    # the engine reduced the broadcast dims: each grad has its input's shape
    out.backward(ag.ones_like(out))
    assert x.grad.shape == a.shape and y.grad.shape == b.shape


@st.composite
def shape_and_dims(draw):
    shape = draw(array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    ndim = len(shape)
    choice = draw(st.sampled_from(["none", "int", "tuple"]) if ndim else st.just("none"))
    if choice == "none":
        dim = None
    elif choice == "int":
        dim = draw(st.integers(-ndim, ndim - 1))
    else:
        dims = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        dim = tuple(dims)
    return shape, dim, draw(st.booleans())


@pytest.mark.parametrize("op", REDUCTIONS, ids=lambda o: o.name)
@SETTINGS
@given(spec=shape_and_dims(), seed=st.integers(0, 2**16))
def test_reduction_forward_and_gradcheck(op, spec, seed):
    shape, dim, keepdim = spec
    a = sample(np.random.default_rng(seed), shape, op.domain)
    if op.name == "var":
        count = int(np.prod(shape)) if dim is None else int(
            np.prod([shape[d] for d in np.atleast_1d(dim)]))
        assume(count >= 2)  # the unbiased variance of one value is nan, as in PyTorch
    x = _leaf(a)
    axis = dim if not isinstance(dim, int) else dim
    out = op.ours(x, dim, keepdim)
    np.testing.assert_allclose(out.numpy(), op.numpy(a, axis, keepdim), rtol=1e-12, atol=1e-12)
    assert ag.gradcheck(lambda t: op.ours(t, dim, keepdim), (x,))


def _torch_tensor(torch, array):
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


@pytest.mark.parametrize("op", UNARY + BINARY, ids=lambda o: o.name)
def test_elementwise_against_torch(op, torch_or_skip):
    torch = torch_or_skip
    shapes = [(3, 1, 4), (2, 4)] if op.arity == 2 else [(2, 3, 4)]
    rng = np.random.default_rng(7)
    arrays = [sample(rng, s, op.domain) for s in shapes]
    if op.domain == "distinct" and op.arity == 2:
        arrays[1] = arrays[1] + 0.125
    ours = [_leaf(a) for a in arrays]
    theirs = [_torch_tensor(torch, a) for a in arrays]
    out, ref = op.ours(*ours), op.torch(*theirs)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    seed = rng.standard_normal(ref.shape)
    out.backward(seed)
    ref.backward(torch.tensor(seed))
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), other.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op", REDUCTIONS, ids=lambda o: o.name)
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_reductions_against_torch(op, dim, keepdim, torch_or_skip):
    torch = torch_or_skip
    a = sample(np.random.default_rng(3), (3, 4, 5), op.domain)
    x, t = _leaf(a), _torch_tensor(torch, a)
    out, ref = op.ours(x, dim, keepdim), op.torch(t, dim, keepdim)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    seed = np.random.default_rng(4).standard_normal(tuple(ref.shape))
    out.backward(seed)
    ref.backward(torch.tensor(seed))
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_max_over_a_dim_sends_the_gradient_to_the_first_maximum():
    x = ag.Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    x.max(dim=1).values.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]


def test_full_max_shares_the_gradient_between_ties():
    x = ag.Tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.5]


def test_max_with_dim_has_values_and_indices_like_torch():
    x = ag.Tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 1.0]])
    result = x.max(dim=1)
    assert result.values.tolist() == [5.0, 7.0]
    assert result.indices.tolist() == [1, 0]
    values, indices = x.min(dim=0)
    assert values.tolist() == [1.0, 0.0, 1.0] and indices.tolist() == [0, 1, 1]


def test_softmax_and_log_softmax_are_stable_and_differentiable():
    x = ag.Tensor([[1000.0, 1001.0, 999.0], [-5.0, 0.0, 5.0]], dtype=np.float64,
                  requires_grad=True)
    p = x.softmax(dim=1)
    assert np.all(np.isfinite(p.numpy()))
    np.testing.assert_allclose(p.numpy().sum(axis=1), [1.0, 1.0])
    np.testing.assert_allclose(np.exp(x.log_softmax(dim=1).numpy()), p.numpy(), rtol=1e-12)
    small = ag.Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    assert ag.gradcheck(lambda t: t.softmax(dim=1), (small,))
    assert ag.gradcheck(lambda t: t.log_softmax(dim=0), (small,))


def test_logsumexp_of_minus_infinity_rows_is_minus_infinity():
    x = ag.Tensor([[-np.inf, -np.inf], [0.0, 0.0]], dtype=np.float64)
    out = x.logsumexp(dim=1)
    assert out.numpy()[0] == -np.inf
    np.testing.assert_allclose(out.numpy()[1], np.log(2.0))


@SETTINGS
@given(shapes=st.tuples(
    array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
    st.integers(1, 4), st.integers(1, 4)), seed=st.integers(0, 2**16))
def test_matmul_batched_and_one_dimensional(shapes, seed):
    batch, k, m = shapes[0][:-1], shapes[0][-1], shapes[1]
    rng = np.random.default_rng(seed)
    for a_shape, b_shape in [(batch + (k,), (k, m)), ((k,), (k,)), ((k,), (k, m)),
                             (batch + (k,), (k,)), (batch + (2, k), (1, k, m))]:
        a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
        x, y = _leaf(a), _leaf(b)
        np.testing.assert_allclose((x @ y).numpy(), a @ b, rtol=1e-12, atol=1e-12)
        assert ag.gradcheck(lambda p, q: p @ q, (x, y))


def test_linear_matches_its_composition():
    rng = np.random.default_rng(0)
    x = _leaf(rng.standard_normal((2, 3, 4)))
    w = _leaf(rng.standard_normal((5, 4)))
    b = _leaf(rng.standard_normal(5))
    np.testing.assert_allclose(ag.linear(x, w, b).numpy(), (x @ w.T + b).numpy(), rtol=1e-12)
    assert ag.gradcheck(ag.linear, (x, w, b))
    assert ag.gradcheck(lambda p, q: ag.linear(p, q), (x, w))


def test_where_routes_gradients_by_condition():
    rng = np.random.default_rng(1)
    a, b = _leaf(rng.standard_normal((3, 4))), _leaf(rng.standard_normal((4,)))
    cond = ag.Tensor(rng.standard_normal((3, 4)) > 0)
    out = ag.where(cond, a, b)
    np.testing.assert_allclose(out.numpy(), np.where(cond.numpy(), a.numpy(), b.numpy()))
    assert ag.gradcheck(lambda p, q: ag.where(cond, p, q), (a, b))


def test_cast_keeps_gradients_flowing_in_the_source_dtype():
    x = ag.Tensor([1.0, 2.0], requires_grad=True)  # float32
    y = x.double() * 3
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, 3.0]


def test_numpy_ufuncs_on_tensors_record_the_graph():
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    y = np.exp(x) + np.ones(2) * x
    assert isinstance(y, ag.Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, 2.0]) + 1, rtol=1e-6)
    assert isinstance(np.mean(x), ag.Tensor)  # keeps the graph: x requires grad
    assert isinstance(np.mean(x.detach()), (float, np.floating))
