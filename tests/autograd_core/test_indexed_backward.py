"""The engine's in-place gradients of indexing (``Function.indexed_backward``).

Pieces of one tensor (``split``, ``chunk``, ``unbind``, ``x[:, t]``) add their
gradients into one array at their positions instead of each making a full array of
zeros: checked against PyTorch and a NumPy reference (hypothesis over shapes and basic
indices), that the dense rule is not needed, and that arrays the engine does not own
(another rule's gradient, a leaf's ``.grad``, a hook's) are never written to.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_core as ag
from autograd_core.ops.movement import GetItem

RNG = np.random.default_rng(0)


def _weighted_sum(pieces, weights):
    return sum((p * w).sum() for p, w in zip(pieces, weights))


@pytest.mark.parametrize("make", [
    lambda t, x: t.split(x, 2, dim=1),
    lambda t, x: t.split(x, [1, 3, 1], dim=1),
    lambda t, x: t.chunk(x, 3, dim=0),
    lambda t, x: t.unbind(x, dim=2),
    lambda t, x: (x[:, 1], x[0], x[..., ::2], x[None, 1:, :, -1]),
], ids=["split", "split_sizes", "chunk", "unbind", "getitem_mix"])
def test_pieces_gradients_match_torch(make, torch_or_skip):
    torch = torch_or_skip
    data = RNG.standard_normal((4, 5, 3))
    ours = ag.tensor(data, requires_grad=True)
    theirs = torch.tensor(data, requires_grad=True)
    # a dense path through the same tensor as well as the pieces
    base_ours, base_theirs = ours * 1.5, theirs * 1.5
    pieces_ours, pieces_theirs = make(ag, base_ours), make(torch, base_theirs)
    weights = [RNG.standard_normal(tuple(p.shape)) for p in pieces_theirs]
    loss_ours = _weighted_sum(pieces_ours, [ag.tensor(w) for w in weights]) \
        + (base_ours ** 2).sum()
    loss_theirs = _weighted_sum(pieces_theirs, [torch.tensor(w) for w in weights]) \
        + (base_theirs ** 2).sum()
    loss_ours.backward()
    loss_theirs.backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_the_pieces_do_not_need_the_dense_rule(monkeypatch):
    def dense(ctx, grad):
        raise AssertionError("GetItem.backward ran: the pieces were summed densely")

    monkeypatch.setattr(GetItem, "backward", staticmethod(dense))
    x = ag.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    a, b = x.split(2, dim=1)
    (a * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[2, 2, 0, 0]] * 3)
    (b * 3).sum().backward()  # accumulates into the leaf's existing .grad
    np.testing.assert_array_equal(x.grad.numpy(), [[2, 2, 3, 3]] * 3)


def test_gradients_of_gradients_still_record_the_scatter():
    x = ag.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    first, rest = x[:1], x[1:]
    y = (first ** 3).sum() + (rest ** 2).sum()
    (g,) = ag.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), [3.0, 4.0, 6.0])
    (gg,) = ag.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), [6.0, 2.0, 2.0])


@pytest.mark.parametrize("slice_first", [True, False])
def test_a_gradient_another_input_shares_is_not_written(slice_first):
    # z = a + b hands the same gradient array to a and b; a's slices must add into a
    # copy of it, or b's gradient would change too (both orders of the two terms, so
    # that either contribution reaches a first).
    x = ag.tensor(np.zeros(4), requires_grad=True)
    b = ag.tensor(np.zeros(4), requires_grad=True)
    a = x * 1.0
    z = a + b
    sliced = (a[1:3] * 10.0).sum()
    loss = sliced + z.sum() if slice_first else z.sum() + sliced
    loss.backward()
    np.testing.assert_array_equal(b.grad.numpy(), [1, 1, 1, 1])
    np.testing.assert_array_equal(x.grad.numpy(), [1, 11, 11, 1])


def test_hooks_and_retained_gradients_see_the_whole_sum():
    x = ag.tensor(np.ones((2, 3)), requires_grad=True)
    base = x * 2.0
    base.retain_grad()
    seen = []
    base.register_hook(lambda g: seen.append(g.numpy().copy()))
    top, bottom = base.unbind(0)
    loss = (top * 5.0).sum() + (bottom * 7.0).sum()
    loss.backward()
    expected = np.array([[5.0] * 3, [7.0] * 3])
    np.testing.assert_array_equal(base.grad.numpy(), expected)
    np.testing.assert_array_equal(seen[0], expected)
    np.testing.assert_array_equal(x.grad.numpy(), 2 * expected)


def test_a_leafs_grad_from_an_earlier_pass_is_added_to_not_aliased():
    x = ag.tensor(np.zeros(3), requires_grad=True)
    x[1:].sum().backward()
    first = x.grad
    x[:2].sum().backward()
    x[2:].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 2, 2])
    assert first is x.grad  # accumulated in place, as PyTorch does


def test_unbinding_a_long_sequence_allocates_one_gradient_array():
    # Before: each of the T pieces' backward made a (T, N, H) array of zeros (O(T^2)
    # memory traffic); now the base's gradient is one array. Counted, not timed.
    import tracemalloc

    steps, features = 64, 2048
    x = ag.tensor(np.ones((steps, features)), requires_grad=True)
    base = x * 1.0
    loss = sum(piece.sum() for piece in base.unbind(0))
    tracemalloc.start()
    try:
        loss.backward()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    full = x.numpy().nbytes
    # the base's gradient, x's (Mul's product) and small change; dense was 3+ arrays
    assert peak < 2.5 * full, peak / full
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((steps, features)))


_SLICES = st.builds(
    slice,
    st.one_of(st.none(), st.integers(-6, 6)),
    st.one_of(st.none(), st.integers(-6, 6)),
    st.one_of(st.none(), st.integers(-3, 3).filter(lambda s: s != 0)),
)


@st.composite
def _basic_index(draw, ndim):
    items = []
    for _ in range(draw(st.integers(0, ndim))):
        items.append(draw(st.one_of(_SLICES, st.none(), st.integers(-1, 0))))
    if draw(st.booleans()) and Ellipsis not in items:
        items.insert(draw(st.integers(0, len(items))), Ellipsis)
    return tuple(items)


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
       data=st.data())
def test_basic_indices_match_a_numpy_reference(shape, data):
    values = np.random.default_rng(len(shape)).standard_normal(shape)
    x = ag.tensor(values, requires_grad=True)
    base = x * 1.0
    expected = np.full(shape, 0.5)  # from the dense term below
    loss = (base * 0.5).sum()
    for k in range(data.draw(st.integers(1, 4))):
        index = data.draw(_basic_index(len(shape)))
        piece = base[index]
        weight = np.random.default_rng(k).standard_normal(piece.shape)
        loss = loss + (piece * ag.tensor(weight)).sum()
        scattered = np.zeros(shape)
        scattered[index] = weight  # basic indexing: each element at most once
        expected = expected + scattered
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=1e-12)
