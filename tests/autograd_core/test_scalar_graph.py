"""The lean scalar path (``autograd_core.scalar_graph``) against the general engine.

Every test computes the same user code twice: with the lean path, and inside
``scalar_graph.switched_off()`` (the ops applied as Functions, run by the engine). Values
must agree to the bit; gradients to the bit where no gradient is a sum of three or more
contributions (the two paths add those in different orders), else to float64 rounding.
"""

import gc
import sys
import weakref

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from autograd_core import Tensor, autograd, no_grad, scalar_graph
from autograd_core.autograd import topological_order
from autograd_core.function import Context
from autograd_core.gradcheck import gradcheck
from autograd_core.viz import backward_steps, flat_code


def leaf(value, name=None):
    return Tensor(np.float64(value), requires_grad=True, name=name)


def is_lean(t) -> bool:
    return t._value is not None and t._lean is not None


def neuron(w0, w1, x0, x1, b):
    """micrograd's neuron with its hinge loss: every lean op, constants on both sides."""
    s = w0 * x0 + w1 * x1 + b
    h = s.relu()
    return (1 + -0.5 * h) / (2 - s) - h * 3 + 1.5 / (b - 7)


def both(fn, values, require_lean=True):
    """(value, grads) with the lean path and with the engine, same leaves' values."""
    results = []
    for lean in (True, False):
        leaves = [leaf(v) for v in values]
        if lean:
            out = fn(*leaves)
            assert is_lean(out) or not require_lean
        else:
            with scalar_graph.switched_off():
                out = fn(*leaves)
            assert out._value is None and isinstance(out.grad_fn, Context)
        out.backward()
        results.append((out.item(), [None if t.grad is None else t.grad.item()
                                     for t in leaves]))
    return results


def bits(x):
    return np.float64(x).tobytes() if x is not None else None


finite = st.floats(-1e3, 1e3, allow_nan=False)


@given(st.lists(finite, min_size=5, max_size=5))
@settings(max_examples=80, deadline=None)
def test_a_neuron_is_bit_identical_to_the_engine(values):
    w0, w1, x0, x1, b = values
    assume(w0 * x0 + w1 * x1 + b != 2 and b != 7)  # (a division by zero is not lean)
    (v1, g1), (v2, g2) = both(neuron, values)
    assert bits(v1) == bits(v2)
    assert [bits(g) for g in g1] == [bits(g) for g in g2]


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=2, max_size=2),
       st.sampled_from(["add", "sub", "mul", "div", "rsub", "rdiv", "neg", "relu"]),
       st.one_of(st.floats(allow_nan=True), st.integers(-2 ** 53, 2 ** 53)))
@settings(max_examples=200, deadline=None)
def test_each_op_with_special_values_and_number_operands(values, op, c):
    funcs = {"add": lambda a, b: a + b + c, "sub": lambda a, b: a - b - c,
             "mul": lambda a, b: a * b * c, "div": lambda a, b: a / b / c,
             "rsub": lambda a, b: c - a - b, "rdiv": lambda a, b: c / a / b,
             "neg": lambda a, b: -(a + b), "relu": lambda a, b: (a * b).relu()}
    with np.errstate(all="ignore"):
        (v1, g1), (v2, g2) = both(funcs[op], values, require_lean=False)
    same = np.testing.assert_array_equal  # NaN equals NaN here; signed zeros compared below
    same(v1, v2)
    same(np.array(g1, float), np.array(g2, float))
    assert np.signbit(v1) == np.signbit(v2) or np.isnan(v1)


@given(st.floats(-30, 30), st.floats(0.01, 5), st.sampled_from([0, 1, 2, 3, -1, 0.5, -2.5]))
@settings(max_examples=150, deadline=None)
def test_exp_log_tanh_sigmoid_pow_are_bit_identical(x, y, c):
    assume(x != 0)  # (0 ** 3 takes the engine: its derivative's power could divide by 0)

    def f(a, b):
        t = a.tanh() * a.sigmoid() + (a * 0.1).exp() - b.log() * b ** c
        return t + (b + 1.0) ** 2 + a ** 3
    (v1, g1), (v2, g2) = both(f, [x, y])
    assert bits(v1) == bits(v2)
    assert [bits(g) for g in g1] == [bits(g) for g in g2]


def test_exp_log_tanh_sigmoid_pow_stay_lean_and_fall_back_where_they_must():
    a = leaf(0.5)
    for out in (a.exp(), a.log(), a.tanh(), a.sigmoid(), a ** 2, a ** -1.5, -a):
        assert is_lean(out)
    zero, negative = leaf(0.0), leaf(-2.0)
    with np.errstate(all="ignore"):
        for out in (zero.log(), zero ** 2, negative ** 0.5, a ** Tensor(np.float64(2.0))):
            assert not is_lean(out)
    assert is_lean(negative ** 3)
    names = [n.name() for n in topological_order(a.sigmoid() ** 2)]
    assert names == ["SigmoidBackward0", "PowBackward0"]


@given(st.lists(finite, min_size=2, max_size=2), st.floats(-5, 5))
@settings(max_examples=60, deadline=None)
def test_numpy_float64_constants_on_either_side_stay_lean(values, c):
    """As the micrograd notebook writes it: the data are NumPy float64 numbers."""
    k = np.float64(c)

    def f(a, b):
        return (k * a + b * k - k / (b * b + 1.0)).relu() + (1 - k * a)

    (v1, g1), (v2, g2) = both(f, values)
    assert bits(v1) == bits(v2)
    assert [bits(g) for g in g1] == [bits(g) for g in g2]


def random_graph(draw_ops, n_leaves):
    """A DAG of lean ops over the leaves, each op's operands any earlier value."""
    def build(*leaves):
        values = list(leaves)
        for op, i, j, c in draw_ops:
            a, b = values[i % len(values)], values[j % len(values)]
            values.append({"add": a + b, "sub": a - b, "mul": a * b * 0.5,
                           "div": a / (b * b + 1.0), "relu": (a + c).relu(), "neg": -a,
                           "cmul": c * a, "cadd": c + a}[op])
        return sum(values[n_leaves:], values[-1])
    return build


ops_strategy = st.lists(st.tuples(
    st.sampled_from(["add", "sub", "mul", "div", "relu", "neg", "cmul", "cadd"]),
    st.integers(0, 50), st.integers(0, 50), st.floats(-2, 2)), min_size=1, max_size=30)


@given(ops_strategy, st.lists(st.floats(-2, 2), min_size=3, max_size=3))
@settings(max_examples=80, deadline=None)
def test_random_graphs_agree_with_the_engine(ops, values):
    (v1, g1), (v2, g2) = both(random_graph(ops, 3), values)
    assert bits(v1) == bits(v2)
    g1, g2 = np.array(g1, float), np.array(g2, float)
    # the two paths add several contributions in different orders: agree to rounding of
    # the largest magnitude involved (cancellation can leave a small sum of large terms)
    scale = 1 + np.nanmax(np.abs(np.concatenate([g1, g2, [v1]]))) if np.isfinite(v1) else 1
    np.testing.assert_allclose(g1, g2, rtol=1e-9, atol=1e-12 * scale)


def test_nodes_made_on_demand_are_the_engines_nodes():
    def build():
        w, b = leaf(0.7, "w"), leaf(-0.2, "b")
        x = Tensor(np.float64(1.3), name="x")
        return ((w * x + b).relu() * 2.0 - 1 / w), (w, b)

    out, _ = build()
    assert is_lean(out)
    with scalar_graph.switched_off():
        ref, _ = build()

    def shape(t):
        return [(n.name(), [None if f is None else f.name() for f, _ in n.next_functions],
                 n.needs_input_grad, [type(s) for s in n._saved])
                for n in topological_order(t)]

    assert shape(out) == shape(ref)
    assert not is_lean(out) and out._value is None  # reading grad_fn made it ordinary
    assert flat_code(out) == flat_code(ref)
    assert [str(step) for step in backward_steps(out)] == \
        [str(step) for step in backward_steps(ref)]


def test_reading_values_keeps_the_graph_lean():
    w = leaf(1.5)
    y = w * w + 1.0
    assert y.item() == 3.25 and float(y) == 3.25 and y.shape == () and y.dtype == np.float64
    assert y.requires_grad and not y.is_leaf
    assert repr(y) == "tensor(3.2500, dtype=torch.float64, grad_fn=<AddBackward0>)"
    assert type(y.numpy()) is np.ndarray
    assert is_lean(y)


def test_the_lean_backward_runs_and_frees_like_the_engine():
    w = leaf(2.0)
    y = w * w * w  # dy/dw = 3 w^2
    assert is_lean(y)
    y.backward(retain_graph=True)
    assert w.grad.item() == 12.0 and w.grad.dtype == np.float64
    assert is_lean(y)  # still lean: the lean loop ran
    y.backward()
    assert w.grad.item() == 24.0  # accumulated, as the engine does
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
    # drawing after backward still works (the structure stays, as in the engine)
    assert [n.name() for n in topological_order(y)] == ["MulBackward0", "MulBackward0"]
    assert all(n.freed for n in topological_order(y))


def test_grad_accumulates_in_place_into_an_existing_grad():
    w = leaf(3.0)
    (w * 2.0).backward()
    g = w.grad
    (w * 5.0).backward()
    assert w.grad is g and g.item() == 7.0


def test_in_place_change_after_the_forward_is_refused():
    w = leaf(2.0)
    y = w * w
    with no_grad():
        w.add_(1.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_hooks_retain_grad_and_create_graph_take_the_engine():
    w = leaf(2.0)
    h = w * w
    seen = []
    h.register_hook(lambda g: seen.append(g.item()))
    y = h * 3.0
    y.backward()
    assert seen == [3.0] and w.grad.item() == 12.0

    w = leaf(2.0)
    h = w * w
    h.retain_grad()
    (h * 3.0).backward()
    assert h.grad.item() == 3.0 and w.grad.item() == 12.0

    x = leaf(3.0)
    (g,) = autograd.grad(x * x * x, x, create_graph=True)  # 3 x^2
    assert g.item() == 27.0
    (g2,) = autograd.grad(g, x)  # 6 x
    assert g2.item() == 18.0

    w = leaf(1.0)
    w.register_hook(lambda g: g * 10)
    (w * 2.0).backward()
    assert w.grad.item() == 20.0


def test_non_lean_ops_and_other_dtypes_mix_in():
    w = leaf(0.5)
    y = (w * 2.0).exp() * w + (w - 1.0).tanh()  # exp and tanh: the engine
    y.backward()
    e = np.exp(1.0)
    assert w.grad.item() == pytest.approx(2 * e * 0.5 + e + (1 - np.tanh(-0.5) ** 2))
    f = Tensor(0.5, requires_grad=True)  # float32: the NumPy-scalar path, not lean
    z = f * f
    assert z._value is None and z.dtype == np.float32
    v = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    s = leaf(3.0) * 2.0
    (v * s).sum().backward()
    assert v.grad.tolist() == [6.0, 6.0]


def test_division_by_zero_gives_numpys_inf():
    w = leaf(1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = w / (w - 1.0)
        assert y.item() == np.inf
        y.backward()
    assert np.isnan(w.grad.item()) or np.isinf(w.grad.item())


def test_no_grad_and_requires_grad_later():
    w = leaf(2.0)
    with no_grad():
        y = w * 3.0
    assert not y.requires_grad and y.grad_fn is None
    c = Tensor(np.float64(4.0)) * 2.0
    assert not c.requires_grad
    c.requires_grad_()
    (c * c).backward()
    assert c.grad.item() == 16.0 and c.is_leaf


def test_a_long_chain_needs_no_recursion():
    w = leaf(1.0)
    y = w
    for _ in range(200_000):
        y = y * 1.0 + 0.0
    y.backward(retain_graph=True)
    assert w.grad.item() == 1.0
    assert y.grad_fn.name() == "AddBackward0"  # materialising the chain: iterative too
    assert len(topological_order(y)) == 400_000


def test_an_intermediate_dies_with_its_graph():
    gc.disable()
    try:
        w = leaf(2.0)
        h = w * w
        y = h + 1.0
        ref = weakref.ref(h)
        del h
        assert ref() is not None  # the graph holds it, as micrograd's does
        y.backward()
        del y
        assert ref() is None  # no reference cycle: freed by reference counting alone
    finally:
        gc.enable()


def test_gradcheck_on_a_lean_expression():
    x = leaf(0.3)
    assert gradcheck(lambda t: neuron(t, t * 2.0, 0.5, -1.0, t + 3.0), (x,))


def test_a_copied_lean_tensor_is_an_ordinary_one():
    import copy

    w = leaf(2.0)
    h = w * w
    for twin in (copy.copy(h), copy.deepcopy(h)):
        assert twin._value is None and twin.item() == 4.0
    y = h * 3.0 + copy.deepcopy(h)  # the copy's graph is its own (deepcopy copied w)
    y.backward()
    assert w.grad.item() == 12.0


def test_functional_forms_are_lean_too():
    import autograd_core as ag
    import nn.functional as F

    def f(a, b):
        return F.relu(ag.mul(a, b)) + ag.tanh(a).add(ag.exp(b * 0.1)) - ag.sub(1.0, a) ** 2

    (v1, g1), (v2, g2) = both(f, [0.7, -0.3])
    assert bits(v1) == bits(v2)
    assert [bits(g) for g in g1] == [bits(g) for g in g2]


def test_threads_sharing_leaves_get_every_gradient():
    import threading

    w, b = leaf(1.5), leaf(-0.5)

    def train():
        for _ in range(300):
            h = [w * float(k) + b for k in range(20)]
            sum(h[1:], h[0]).relu().backward()

    threads = [threading.Thread(target=train) for _ in range(3)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often: mid-pass, too (without the lock
    try:  # the passes mixed their sums; measured: wrong gradients and a TypeError)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    # d/dw sum_k (k w + b) = sum_k k = 190, d/db = 20 (the sum is positive): 900 passes
    assert w.grad.item() == 900 * 190.0 and b.grad.item() == 900 * 20.0


def test_a_leaf_checked_once_still_follows_its_array():
    # lean ops remember the array a leaf's checks passed on (scalar_graph's operators):
    # a value changed in place is read again, a replaced array is checked again
    w = leaf(2.0)
    assert is_lean(w * 3.0) and is_lean(3.0 * w) and is_lean(leaf(1.0) * w)
    w._data[()] = 5.0  # in place, as an optimizer's kernel writes it
    assert (w * 3.0).item() == 15.0 and (leaf(1.0) + w).item() == 6.0
    w.data = np.array([4.0])  # a one-element array: the array path, shape (1,)
    for y in (w * 3.0, 3.0 * w, leaf(1.0) * w):
        assert y.shape == (1,) and not is_lean(y)
    w.data = np.array(7.0, dtype=np.float32)  # another dtype: the array path too
    assert (w * 2.0).dtype == np.float32 and not is_lean(w * 2.0)
    w.data = np.array(1.5)
    y = w * 4.0 + w
    assert is_lean(y)
    y.backward()
    assert w.grad.item() == 5.0


def test_grad_mode_stays_per_thread_for_lean_ops():
    # lean ops read grad_mode.on_everywhere before the per-thread mode: a thread inside
    # no_grad must still record nothing, and must not stop another thread recording
    import threading

    from autograd_core import enable_grad, grad_mode

    w = leaf(2.0)
    inside, entered, release = {}, threading.Event(), threading.Event()

    def worker():
        with no_grad():
            entered.set()
            release.wait(5)
            y = w * 3.0 + 1.0
            inside["recorded"] = y.requires_grad or y.grad_fn is not None

    thread = threading.Thread(target=worker)
    thread.start()
    assert entered.wait(5)
    try:
        assert not grad_mode.on_everywhere
        y = w * 3.0 + 1.0
        assert is_lean(y) and y.requires_grad  # this thread records
    finally:
        release.set()
        thread.join()
    assert inside == {"recorded": False}
    assert grad_mode.on_everywhere  # every thread is back on
    with no_grad():
        assert not grad_mode.on_everywhere and not (w * 3.0).requires_grad
        with enable_grad():
            assert is_lean(w * 3.0)  # on again in this thread, inside no_grad
    y.backward()
    assert w.grad.item() == 3.0


def test_code_that_replaces_the_array_gets_an_ordinary_tensor():
    import nn

    c = leaf(3.0) * 2.0
    assert gradcheck(lambda t: t * t * 0.5, (c,)) and c._value is None  # probed: ordinary
    module = nn.Module()
    module.register_buffer("scale", Tensor(np.float64(2.0)) * 1.5)
    module.float()
    assert module.scale.dtype == np.float32 and module.scale._value is None
    assert (module.scale * 2.0).dtype == np.float32  # not the float64 lean value


def test_the_teaching_views_of_a_lean_graph_are_the_engines():
    from autograd_core.viz import check_graph, draw_graph, format_graph

    def build():
        names = ["w0", "x0", "w1", "x1", "w2"]
        w0, x0, w1, x1, w2 = (leaf(v, n) for v, n in zip([2.0, -1.0, -3.0, -2.0, -3.0], names))
        return (w0 * x0 + w1 * x1 + w2).sigmoid()  # the lectures' sigmoid neuron

    lean = build()
    with scalar_graph.switched_off():
        engine = build()
    for out in (lean, engine):
        out.backward(retain_graph=True)
    assert format_graph(lean) == format_graph(engine)  # values, grads and backward steps
    assert draw_graph(lean).source == draw_graph(engine).source
    checks = check_graph(lean)  # the numerical check of every node
    assert len(checks) == 5 and all(check.ok for check in checks)
