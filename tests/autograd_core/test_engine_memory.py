"""What the backward pass keeps alive: saved arrays and gradients are dropped node by
node, and a leaf's ``.grad`` is the rule's fresh array when nothing else can reach it,
a copy otherwise (never an alias of an array someone else holds).

Structural checks only (which arrays are alive, which share memory), never sizes.
"""

import gc
import weakref

import numpy as np
import pytest

import autograd_core as ag
from autograd_core import Tensor


def _fresh_leaf(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return Tensor(rng.standard_normal(shape), requires_grad=True)


class _Probe(ag.Function):
    """y = 2 x; its backward records what was freed by the time it runs."""

    seen, nodes = [], []

    @staticmethod
    def forward(ctx, x, *, name):
        ctx.save_for_backward(x * 2.0)  # an array only this node holds
        _Probe.nodes.append(ctx)
        return x * 2.0

    @staticmethod
    def backward(ctx, grad):
        _Probe.seen.append((ctx.options["name"], tuple(n.freed for n in _Probe.nodes)))
        return grad * 2.0


class _Returns(ag.Function):
    """y = x, whose backward returns a fresh array and keeps only a weak reference."""

    returned = []

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        out = np.array(grad, copy=True)
        _Returns.returned.append(weakref.ref(out))
        return out


class _Passes(ag.Function):
    """y = x, whose backward hands on the incoming gradient itself."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


class _ReturnsSaved(ag.Function):
    """y = x^2, whose backward (for a gradient of ones) returns the very array it saved."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(2.0 * x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (two_x,) = ctx.saved_tensors
        return two_x if np.all(grad == 1.0) else grad * two_x


def test_saved_arrays_are_freed_during_backward_not_after_it():
    _Probe.seen.clear()
    _Probe.nodes.clear()
    x = _fresh_leaf(3)
    loss = _Probe.apply(_Probe.apply(_Probe.apply(x, name="first"), name="second"),
                        name="third").sum()
    loss.backward()
    # each rule runs on its own arrays; every node that ran before it has let go of its own
    assert _Probe.seen == [("third", (False, False, False)), ("second", (False, False, True)),
                           ("first", (False, True, True))]
    _Probe.nodes.clear()
    node = loss.grad_fn
    while node is not None:  # the whole graph ends freed, its structure kept
        assert node.freed and node._saved == ()
        parents = [p for p in node.parents() if p.grad_fn is not None]
        node = parents[0].grad_fn if parents else None


def test_a_saved_array_is_gone_once_its_node_has_run():
    x = _fresh_leaf(4)
    y = x.exp()             # Exp saves its output: y's own array
    dead = []

    class _Check(ag.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1.0

        @staticmethod
        def backward(ctx, grad):
            return grad

    probe = weakref.ref(y._data)
    loss = _Check.apply((y * 3.0).sum(0, keepdim=True)).sum()
    del y
    x.register_hook(lambda g: dead.append(probe() is None))
    loss.backward()
    gc.collect()
    assert dead == [True]  # already freed when the leaf's hook saw the gradient
    np.testing.assert_allclose(x.grad.numpy(), 3.0 * np.exp(x.detach().numpy()))


def test_an_incoming_gradient_is_dropped_once_its_node_has_run():
    _Returns.returned.clear()
    alive_then = []

    class _Last(ag.Function):  # runs last: are the earlier gradients still held?
        @staticmethod
        def forward(ctx, a):
            return a.copy()

        @staticmethod
        def backward(ctx, grad):
            alive_then.append([r() is not None for r in _Returns.returned])
            return grad

    x = _fresh_leaf(5)
    loss = _Returns.apply(_Returns.apply(_Last.apply(x))).sum()
    loss.backward()
    # the first rule's gradient went into the second and is gone; the second's is the
    # gradient _Last is running on
    assert alive_then == [[False, True]]


class _ReturnsAt(ag.Function):
    """y = x, whose backward returns a fresh array and notes only where its data is.

    Not ``_Returns``: the weak reference that one keeps counts as a holder, so the
    engine would (rightly) copy the gradient instead of taking it as ``.grad``.
    """

    addresses = []

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        out = np.array(grad, copy=True)
        _ReturnsAt.addresses.append(out.ctypes.data)
        return out


def test_a_fresh_leaf_gradient_becomes_grad_without_a_copy():
    _ReturnsAt.addresses.clear()
    x = _fresh_leaf(6)
    _ReturnsAt.apply(x).sum().backward()
    # a copy would have been made while the original was alive: another address
    assert x.grad._data.ctypes.data == _ReturnsAt.addresses[0]
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(6))


def test_a_leaf_gradient_never_aliases_the_callers_seed():
    x = _fresh_leaf(3)
    seed = np.array([1.0, 2.0, 3.0])
    _Passes.apply(x).backward(seed)
    assert not np.shares_memory(x.grad._data, seed)
    x.grad.zero_()
    np.testing.assert_array_equal(seed, [1.0, 2.0, 3.0])


def test_a_leaf_gradient_never_aliases_an_array_the_graph_still_holds():
    x = _fresh_leaf(3)
    y = _ReturnsSaved.apply(x)
    y.backward(np.ones(3), retain_graph=True)
    (saved,) = y.grad_fn._saved
    assert not np.shares_memory(x.grad._data, saved)
    first = x.grad.numpy().copy()
    y.backward(np.ones(3))  # the saved array is intact, so the second pass agrees
    np.testing.assert_array_equal(x.grad.numpy(), 2 * first)


def test_a_gradient_a_hook_kept_is_copied_into_grad():
    x = _fresh_leaf(3)
    kept = []
    x.register_hook(lambda g: kept.append(g))
    (_Returns.apply(x) * 2.0).sum().backward()
    assert not np.shares_memory(x.grad._data, kept[0]._data)
    x.grad.zero_()
    np.testing.assert_array_equal(kept[0].numpy(), np.full(3, 2.0))


def test_two_leaves_fed_one_array_get_their_own_grads():
    a, b = _fresh_leaf(4, seed=1), _fresh_leaf(4, seed=2)
    (a + b).sum().backward()     # Add returns the incoming gradient for both inputs
    assert not np.shares_memory(a.grad._data, b.grad._data)
    a.grad.zero_()
    np.testing.assert_array_equal(b.grad.numpy(), np.ones(4))


def test_a_retained_interior_gradient_and_a_leaf_gradient_do_not_alias():
    x = _fresh_leaf(3)
    y = _Returns.apply(x)
    z = _Passes.apply(y)
    y.retain_grad()
    z.sum().backward()
    assert not np.shares_memory(x.grad._data, y.grad._data)


def test_owned_grads_accumulate_in_place_and_stay_correct():
    w = _fresh_leaf(4, 3)
    x = Tensor(np.arange(8.0).reshape(2, 4))
    for _ in range(2):
        (x @ w).sum().backward()
    expected = 2 * x.numpy().T @ np.ones((2, 3))
    np.testing.assert_allclose(w.grad.numpy(), expected)


def test_grad_returns_fresh_arrays_that_alias_nothing(torch_or_skip):
    torch = torch_or_skip
    w = _fresh_leaf(4, 3)
    x = Tensor(np.arange(8.0).reshape(2, 4))
    (gw,) = ag.autograd.grad((x @ w).relu().sum(), w)
    tw = torch.tensor(w.detach().numpy(), requires_grad=True)
    (tg,) = torch.autograd.grad((torch.tensor(x.numpy()) @ tw).relu().sum(), tw)
    np.testing.assert_allclose(gw.numpy(), tg.numpy())
    assert w.grad is None


@pytest.mark.parametrize("retain", [False, True])
def test_a_linear_layers_weight_grad_matches_torch(torch_or_skip, retain):
    torch = torch_or_skip
    import nn.functional as F

    rng = np.random.default_rng(3)
    xs, ws, bs = rng.standard_normal((5, 7)), rng.standard_normal((4, 7)), rng.standard_normal(4)
    w, b = Tensor(ws, requires_grad=True), Tensor(bs, requires_grad=True)
    F.linear(Tensor(xs), w, b).tanh().sum().backward(retain_graph=retain)
    tw = torch.tensor(ws, requires_grad=True)
    tb = torch.tensor(bs, requires_grad=True)
    torch.nn.functional.linear(torch.tensor(xs), tw, tb).tanh().sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-12)


def test_attention_keeps_no_probability_matrix_for_backward():
    from autograd_core.ops.attention import ScaledDotProductAttention

    rng = np.random.default_rng(4)
    q, k, v = (Tensor(rng.standard_normal(s), requires_grad=True)
               for s in [(2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4)])
    bias = Tensor(np.triu(np.full((5, 6), -np.inf), 2))
    y = ScaledDotProductAttention.apply(q, k, v, bias, None, scale=0.5)
    saved = [a for a in y.grad_fn._saved if isinstance(a, np.ndarray)]
    # q, k, v, the bias (inputs: no new memory) and two (..., L, 1) row statistics
    fresh = [a for a in saved if not any(a is t._data for t in (q, k, v, bias))]
    assert [a.shape for a in fresh] == [(2, 3, 5, 1), (2, 3, 5, 1)]


def test_an_array_held_weakly_is_not_taken_as_grad():
    held = []

    class _Weakly(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, grad):
            out = np.array(grad, copy=True)
            held.append(weakref.ref(out))  # someone may still look at it through this
            return out

    x = _fresh_leaf(3)
    _Weakly.apply(x).sum().backward()
    assert held[0]() is None or held[0]() is not x.grad._data


class _ReturnsReshaped(ag.Function):
    """y = x for a (2, 3) x, whose backward computes its gradient flat (as a fused
    kernel does) and returns it reshaped: a view of a fresh array. ``keep`` holds on to
    the flat array, or to a second view of it, when asked to."""

    addresses = []
    keep = None
    kept = []

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        flat = np.array(grad, copy=True).reshape(-1)
        _ReturnsReshaped.addresses.append(flat.ctypes.data)
        if _ReturnsReshaped.keep == "flat":
            _ReturnsReshaped.kept.append(flat)
        elif _ReturnsReshaped.keep == "view":
            _ReturnsReshaped.kept.append(flat[:3])
        return flat.reshape(2, 3)


@pytest.fixture
def reshaped():
    _ReturnsReshaped.addresses.clear()
    _ReturnsReshaped.kept.clear()
    yield _ReturnsReshaped
    _ReturnsReshaped.keep = None
    _ReturnsReshaped.kept.clear()


def test_a_reshaped_fresh_leaf_gradient_becomes_grad_without_a_copy(reshaped):
    x = Tensor(np.zeros((2, 3)), requires_grad=True)
    reshaped.apply(x).sum().backward()
    assert x.grad._data.ctypes.data == reshaped.addresses[0]
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3)))


@pytest.mark.parametrize("keep", ["flat", "view"])
def test_a_reshaped_gradient_whose_array_is_still_held_is_copied(reshaped, keep):
    reshaped.keep = keep
    x = Tensor(np.zeros((2, 3)), requires_grad=True)
    reshaped.apply(x).sum().backward()
    assert not np.shares_memory(x.grad._data, reshaped.kept[0])
    x.grad.zero_()  # writing the grad leaves the rule's array alone
    np.testing.assert_array_equal(reshaped.kept[0], np.ones(reshaped.kept[0].shape))
