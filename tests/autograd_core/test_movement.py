"""Movement ops (reshape, permute, transpose, expand, squeeze, indexing, cat, stack):
forward against NumPy, gradients by finite differences, and against PyTorch."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, basic_indices

import autograd_core as ag

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _leaf(array):
    return ag.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


@SETTINGS
@given(shape=array_shapes(min_dims=0, max_dims=4, max_side=4), data=st.data())
def test_reshape_with_minus_one_and_flatten(shape, data):
    a = np.random.default_rng(0).standard_normal(shape)
    x = _leaf(a)
    size = a.size
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    first = data.draw(st.sampled_from(divisors))
    out = x.reshape(first, -1)
    assert out.shape == (first, size // first)
    np.testing.assert_array_equal(out.numpy(), a.reshape(first, -1))
    assert ag.gradcheck(lambda t: t.reshape(first, -1) * 2.0, (x,))
    assert x.flatten().shape == (max(size, 1) if a.ndim == 0 else size,)
    if a.ndim >= 2:
        assert x.flatten(1).shape == (shape[0], int(np.prod(shape[1:])))
        assert ag.gradcheck(lambda t: t.flatten(0, -2).sin(), (x,))


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=4, max_side=4), data=st.data())
def test_permute_transpose_and_T(shape, data):
    a = np.random.default_rng(1).standard_normal(shape)
    x = _leaf(a)
    perm = data.draw(st.permutations(range(a.ndim)))
    np.testing.assert_array_equal(x.permute(*perm).numpy(), np.transpose(a, perm))
    assert ag.gradcheck(lambda t: t.permute(*perm).exp(), (x,))
    d0 = data.draw(st.integers(-a.ndim, a.ndim - 1))
    d1 = data.draw(st.integers(-a.ndim, a.ndim - 1))
    np.testing.assert_array_equal(x.transpose(d0, d1).numpy(), np.swapaxes(a, d0, d1))
    np.testing.assert_array_equal(x.T.numpy(), a.T)


@SETTINGS
@given(shape=array_shapes(min_dims=0, max_dims=3, max_side=3), data=st.data())
def test_expand_unsqueeze_squeeze(shape, data):
    a = np.random.default_rng(2).standard_normal(shape)
    x = _leaf(a)
    target = tuple(data.draw(st.integers(1, 3)) if s == 1 else s for s in shape)
    lead = data.draw(st.lists(st.integers(1, 3), max_size=2))
    target = tuple(lead) + target
    np.testing.assert_array_equal(x.expand(*target).numpy(), np.broadcast_to(a, target))
    assert ag.gradcheck(lambda t: t.expand(*target) * 1.5, (x,))
    d = data.draw(st.integers(-a.ndim - 1, a.ndim))
    assert x.unsqueeze(d).shape == np.expand_dims(a, d).shape
    assert x.unsqueeze(d).squeeze(d).shape == a.shape
    assert x.squeeze().shape == np.squeeze(a).shape


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5), data=st.data())
def test_basic_indexing(shape, data):
    a = np.random.default_rng(3).standard_normal(shape)
    index = data.draw(basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    x = _leaf(a)
    np.testing.assert_array_equal(x[index].numpy(), a[index])
    assert ag.gradcheck(lambda t: t[index] * 3.0, (x,))


def test_integer_array_indexing_accumulates_repeats():
    a = np.arange(12.0).reshape(3, 4)
    x = _leaf(a)
    rows = np.array([0, 2, 0, 0])
    cols = np.array([1, 1, 3, 1])
    out = x[rows, cols]
    np.testing.assert_array_equal(out.numpy(), a[rows, cols])
    out.backward(np.array([1.0, 10.0, 100.0, 1000.0]))
    expected = np.zeros((3, 4))
    expected[0, 1] = 1001.0
    expected[2, 1] = 10.0
    expected[0, 3] = 100.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_indexing_with_tensors_lists_and_masks():
    a = np.random.default_rng(4).standard_normal((4, 3))
    x = _leaf(a)
    np.testing.assert_array_equal(x[ag.tensor([3, 1])].numpy(), a[[3, 1]])
    np.testing.assert_array_equal(x[[0, 0]].numpy(), a[[0, 0]])
    mask = x > 0
    np.testing.assert_array_equal(x[mask].numpy(), a[a > 0])
    assert ag.gradcheck(lambda t: t[:, [2, 0, 2]] ** 2, (x,))
    assert ag.gradcheck(lambda t: t[1:, np.array([1, 1])].sum(dim=0), (x,))


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=3), data=st.data(),
       count=st.integers(1, 3))
def test_cat_and_stack(shape, data, count):
    rng = np.random.default_rng(5)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    arrays = []
    for _ in range(count):
        s = list(shape)
        s[dim] = data.draw(st.integers(1, 3))
        arrays.append(rng.standard_normal(s))
    xs = [_leaf(a) for a in arrays]
    np.testing.assert_array_equal(ag.cat(xs, dim=dim).numpy(), np.concatenate(arrays, axis=dim))
    assert ag.gradcheck(lambda *ts: ag.cat(list(ts), dim=dim).tanh(), tuple(xs))
    same = [_leaf(rng.standard_normal(shape)) for _ in range(count)]
    sdim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    np.testing.assert_array_equal(
        ag.stack(same, dim=sdim).numpy(), np.stack([t.numpy() for t in same], axis=sdim))
    assert ag.gradcheck(lambda *ts: ag.stack(list(ts), dim=sdim) * 2.0, tuple(same))


def test_iterating_a_tensor_yields_differentiable_rows():
    x = _leaf(np.arange(6.0).reshape(3, 2))
    rows = list(x)
    assert len(rows) == 3 and rows[1].tolist() == [2.0, 3.0]
    sum(r.sum() * (i + 1) for i, r in enumerate(rows)).backward()
    assert x.grad.tolist() == [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]


@pytest.mark.parametrize("case", ["reshape", "permute", "expand", "index", "cat", "stack"])
def test_movement_against_torch(case, torch_or_skip):
    torch = torch_or_skip
    a = np.random.default_rng(6).standard_normal((2, 3, 4))
    ours, theirs = _leaf(a), torch.tensor(a, requires_grad=True)
    fns = {
        "reshape": (lambda t: t.reshape(4, -1), lambda t: t.reshape(4, -1)),
        "permute": (lambda t: t.permute(2, 0, 1), lambda t: t.permute(2, 0, 1)),
        "expand": (lambda t: t[:, :1].expand(2, 5, 4), lambda t: t[:, :1].expand(2, 5, 4)),
        "index": (lambda t: t[[1, 0, 1], ..., 2:], lambda t: t[[1, 0, 1], ..., 2:]),
        "cat": (lambda t: ag.cat([t, t * 2], dim=1), lambda t: torch.cat([t, t * 2], dim=1)),
        "stack": (lambda t: ag.stack([t, t.exp()], dim=-1),
                  lambda t: torch.stack([t, t.exp()], dim=-1)),
    }
    mine, ref = fns[case][0](ours), fns[case][1](theirs)
    np.testing.assert_allclose(mine.numpy(), ref.detach().numpy())
    seed = np.random.default_rng(7).standard_normal(tuple(ref.shape))
    mine.backward(seed)
    ref.backward(torch.tensor(seed))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)
