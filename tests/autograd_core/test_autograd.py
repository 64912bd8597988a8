"""The backward pass: chain rule, accumulation, deep graphs, retain_graph, retain_grad,
freeing, memory, and the guarantee that an error changes no gradient."""

import gc
import math
import sys
import threading
import weakref

import numpy as np
import pytest

import autograd_core as ag
from autograd_core.autograd import topological_order


def test_the_slides_sigmoid_neuron_has_the_textbook_gradients():
    w0, x0, w1, x1, w2 = (ag.Tensor(v, requires_grad=True) for v in (2.0, -1.0, -3.0, -2.0, -3.0))
    L = (w0 * x0 + w1 * x1 + w2).sigmoid()
    L.backward()
    s = 1 / (1 + math.exp(-1.0))  # the pre-activation is 1.0
    local = s * (1 - s)  # 0.19661...
    assert L.item() == pytest.approx(0.7310586, abs=1e-6)
    assert w0.grad.item() == pytest.approx(local * -1.0, rel=1e-6)  # x0
    assert x0.grad.item() == pytest.approx(local * 2.0, rel=1e-6)  # w0
    assert w1.grad.item() == pytest.approx(local * -2.0, rel=1e-6)  # x1
    assert x1.grad.item() == pytest.approx(local * -3.0, rel=1e-6)  # w1
    assert w2.grad.item() == pytest.approx(0.19661193, rel=1e-6)


def test_fan_out_accumulates():
    a = ag.Tensor(3.0, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0


def test_reused_value_in_a_product_gets_both_contributions():
    x = ag.Tensor(3.0, requires_grad=True)
    y = x * x * x  # d/dx x^3 = 27
    y.backward()
    assert x.grad.item() == pytest.approx(27.0)


def test_leaves_accumulate_across_backward_calls_until_zeroed():
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_leaf_gradients_never_alias_each_other():
    a = ag.Tensor([1.0, 2.0], requires_grad=True)
    b = ag.Tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()  # Add hands the same array to both inputs
    a.grad.numpy()[0] = 100.0
    assert b.grad.tolist() == [1.0, 1.0]


def test_interior_nodes_keep_grad_only_after_retain_grad():
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    kept = (x * 3).retain_grad()
    (h * kept).sum().backward()
    assert h.grad is None
    np.testing.assert_allclose(kept.grad.numpy(), h.numpy())
    assert kept.retains_grad and not h.retains_grad


def test_retained_interior_grad_is_not_corrupted_by_later_accumulation():
    x = ag.Tensor(2.0, requires_grad=True)
    y = (x + 0).retain_grad()
    z = y + y  # y's grad array is handed twice to x's accumulation
    z.backward()
    assert y.grad.item() == 2.0 and x.grad.item() == 2.0


def test_non_scalar_backward_needs_a_gradient():
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"scalar outputs.*\(2,\)"):
        y.backward()
    y.backward(ag.Tensor([1.0, 10.0]))
    assert x.grad.tolist() == [2.0, 20.0]
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        (x * 2).backward(np.ones(3))


def test_second_backward_needs_retain_graph_and_says_so():
    x = ag.Tensor(2.0, requires_grad=True)
    y = (x * x).exp()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(2 * 4 * math.exp(4.0), rel=1e-5)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    # the structure survives the freeing (for drawing)
    assert y.grad_fn.op_name == "Exp" and y.grad_fn.parents()[0].grad_fn.op_name == "Mul"
    with pytest.raises(RuntimeError, match="retain_graph"):
        _ = y.grad_fn.saved_tensors


def test_an_error_during_backward_leaves_every_grad_unchanged():
    class Broken(ag.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            raise ArithmeticError("boom")

    a = ag.Tensor(1.0, requires_grad=True)
    b = ag.Tensor(1.0, requires_grad=True)
    loss = a * 3 + Broken.apply(b)
    with pytest.raises(ArithmeticError):
        loss.backward()
    assert a.grad is None and b.grad is None
    # as in PyTorch, the nodes that ran freed their arrays as they went (that keeps the
    # peak of a deep backward down); the failing node and what lies behind it did not
    assert loss.grad_fn.freed
    assert not loss.grad_fn.parents()[1].grad_fn.freed


def test_backward_on_a_tensor_without_grad_is_a_clear_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.Tensor(1.0).backward()


def test_a_leaf_root_receives_the_seed():
    x = ag.Tensor(5.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


def test_gradients_have_the_dtype_of_their_tensor():
    w = ag.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    x = ag.Tensor(np.arange(3.0), requires_grad=True)  # float64
    y = (w * x).sum()
    assert y.dtype == np.float64
    y.backward()
    assert w.grad.dtype == np.float32 and x.grad.dtype == np.float64


def test_constants_and_arrays_in_expressions_get_no_gradient():
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    y = (np.array([3.0, 4.0]) * x + 1.0) / 2
    y.sum().backward()
    assert x.grad.tolist() == [1.5, 2.0]


def test_topological_order_puts_every_node_after_its_inputs():
    a = ag.Tensor(1.0, requires_grad=True)
    b = a * 2
    c = b + a
    d = c * b
    e = d + c
    order = topological_order(e)  # the nodes, as PyTorch's graph holds them
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for parent, _ in node.next_functions:
            if parent is not None and parent.name() != "AccumulateGrad":
                assert position[parent] < position[node]
    assert len(order) == 4  # b, c, d, e (a is a leaf)
    assert order[-1] is e.grad_fn


def test_a_deep_chain_needs_no_recursion():
    limit = sys.getrecursionlimit()
    x = ag.Tensor(1.0, requires_grad=True, dtype=np.float64)
    y = x
    for _ in range(50 * limit):
        y = y * 1.0000001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0000001 ** (50 * limit), rel=1e-9)
    del y  # releasing a long chain must not overflow the C stack either


@pytest.mark.slow
def test_a_million_node_chain_backprops_in_linear_time():
    import time

    def run(n):
        x = ag.Tensor(1.0, requires_grad=True, dtype=np.float64)
        y = x
        for _ in range(n):
            y = y + 1.0
        start = time.perf_counter()
        y.backward()
        elapsed = time.perf_counter() - start
        assert x.grad.item() == 1.0
        return elapsed

    small, large = run(100_000), run(1_000_000)
    # linear: ten times the nodes, about ten times the time (generous bound for noise)
    assert large < 30 * small


def test_grad_fn_next_functions_and_name_as_pytorch():
    w = ag.Tensor([1.0, 2.0], requires_grad=True)
    x = ag.Tensor([3.0, 4.0])
    y = (w * x).sum()
    assert y.grad_fn.name() == "SumBackward0"
    ((mul, index),) = y.grad_fn.next_functions
    assert mul.name() == "MulBackward0" and index == 0
    (acc, _), (none, _) = mul.next_functions
    assert acc.name() == "AccumulateGrad" and acc.variable is w and none is None
    # one accumulator per leaf, shared by every op that uses it
    assert (w + 1).grad_fn.next_functions[0][0] is acc


def test_a_kept_loss_holds_its_graph_not_its_activations():
    x = ag.Tensor(np.ones((64, 256), dtype=np.float32))
    w = ag.Tensor(np.ones((256, 256), dtype=np.float32), requires_grad=True)
    h = (x @ w).relu()
    loss = (h * h).mean()
    h_ref = weakref.ref(h)
    del h
    assert h_ref() is None  # the node does not keep its output alive
    loss.backward()
    held = [a for node in topological_order(loss) for a in node._saved]
    assert held == []  # backward freed every saved array
    # the teaching tools rebuild the dropped intermediate from the leaves
    from autograd_core.viz import backward_steps
    assert [s.op for s in backward_steps(loss)] == ["Mean", "Mul", "Relu", "MatMul"]


def test_dropping_the_output_frees_the_graph():
    x = ag.Tensor(np.ones(1000), requires_grad=True)
    y = (x * 2).exp().sum()
    inner = weakref.ref(y.grad_fn.parents()[0])
    saved = weakref.ref(y.grad_fn.parents()[0].grad_fn)
    gc.disable()  # reference counting alone must free it: no cycles
    try:
        del y
        assert inner() is None and saved() is None
    finally:
        gc.enable()


def test_backward_releases_saved_arrays():
    x = ag.Tensor(np.ones(10), requires_grad=True)
    y = x.exp()
    ctx = y.grad_fn
    assert len(ctx.saved_tensors) == 1
    y.sum().backward()
    assert ctx.freed and ctx._saved == ()


def test_grad_function_leaves_dot_grad_alone():
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    (gx,) = ag.grad(h.sum(), x, retain_graph=True)
    assert gx.tolist() == [2.0, 4.0] and x.grad is None
    (gh,) = ag.grad((h * 3).sum(), [h])
    assert gh.tolist() == [3.0, 3.0]
    unused = ag.Tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused"):
        ag.grad((x * 2).sum(), [x, unused])
    assert ag.grad((x * 2).sum(), [x, unused], allow_unused=True)[1] is None


class TestGradMode:
    def test_no_grad_records_nothing(self):
        x = ag.Tensor(1.0, requires_grad=True)
        with ag.no_grad():
            y = x * 2
            assert not ag.is_grad_enabled()
        assert ag.is_grad_enabled()
        assert y.grad_fn is None and not y.requires_grad and y.is_leaf

    def test_enable_grad_inside_no_grad_and_decorators(self):
        x = ag.Tensor(1.0, requires_grad=True)

        @ag.no_grad()
        def frozen(t):
            return t * 2

        @ag.enable_grad()
        def recorded(t):
            return t * 2

        assert not frozen(x).requires_grad
        with ag.no_grad():
            assert recorded(x).requires_grad
            with ag.enable_grad():
                assert (x * 3).requires_grad
            assert not (x * 3).requires_grad

    def test_set_grad_enabled(self):
        with ag.set_grad_enabled(False):
            assert not ag.is_grad_enabled()
        assert ag.is_grad_enabled()

    def test_mode_is_restored_after_an_exception(self):
        with pytest.raises(KeyError):
            with ag.no_grad():
                raise KeyError
        assert ag.is_grad_enabled()

    def test_grad_mode_is_per_thread(self):
        inside_thread = {}
        release = threading.Event()
        entered = threading.Event()

        def worker():
            with ag.no_grad():
                entered.set()
                release.wait(5)
                inside_thread["enabled"] = ag.is_grad_enabled()

        def fresh_thread():
            inside_thread["fresh"] = ag.is_grad_enabled()

        thread = threading.Thread(target=worker)
        thread.start()
        entered.wait(5)
        # the worker is inside no_grad; this thread is not affected
        x = ag.Tensor(1.0, requires_grad=True)
        assert (x * 2).requires_grad and ag.is_grad_enabled()
        release.set()
        thread.join()
        with ag.no_grad():
            other = threading.Thread(target=fresh_thread)
            other.start()
            other.join()
        assert inside_thread == {"enabled": False, "fresh": True}


class TestCustomFunction:
    def test_custom_function_with_saved_tensors_and_needs_input_grad(self):
        seen = {}

        class ScaledSquare(ag.Function):
            @staticmethod
            def forward(ctx, x, scale, *, power=2):
                ctx.save_for_backward(x)
                ctx.scale = scale
                return scale * x ** power

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                seen["needs"] = ctx.needs_input_grad
                return grad * ctx.scale * 2 * x, None

        x = ag.Tensor([1.0, 3.0], requires_grad=True, dtype=np.float64)
        y = ScaledSquare.apply(x, 5.0)
        assert y.grad_fn.op_name == "ScaledSquare" and y.grad_fn.options == {}
        y.sum().backward()
        assert x.grad.tolist() == [10.0, 30.0]
        assert seen["needs"] == (True, False)
        assert ag.gradcheck(lambda t: ScaledSquare.apply(t, 5.0), (x,))

    def test_wrong_number_of_gradients_is_reported(self):
        class TooFew(ag.Function):
            @staticmethod
            def forward(ctx, a, b):
                return a + b

            @staticmethod
            def backward(ctx, grad):
                return grad

        a = ag.Tensor(1.0, requires_grad=True)
        with pytest.raises(RuntimeError, match="TooFew.backward returned 1 gradient"):
            TooFew.apply(a, a).backward()

    def test_wrong_gradient_shape_is_reported(self):
        class BadShape(ag.Function):
            @staticmethod
            def forward(ctx, a):
                return a * 2

            @staticmethod
            def backward(ctx, grad):
                return np.ones(5)

        a = ag.Tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(ValueError, match=r"BadShape.*\(5,\).*\(2,\)"):
            BadShape.apply(a).sum().backward()


class TestGradModeDecorators:
    def test_set_grad_enabled_as_a_decorator_does_not_leak(self):
        @ag.set_grad_enabled(False)
        def frozen(t):
            return (t * 2).requires_grad

        assert ag.is_grad_enabled()
        assert frozen(ag.Tensor(1.0, requires_grad=True)) is False
        assert ag.is_grad_enabled()

    def test_bare_no_grad_decorator(self):
        @ag.no_grad
        def frozen(t):
            return (t * 2).requires_grad

        assert frozen(ag.Tensor(1.0, requires_grad=True)) is False and ag.is_grad_enabled()

    def test_no_grad_on_a_generator_applies_inside_it_only(self):
        x = ag.Tensor(1.0, requires_grad=True)

        @ag.no_grad()
        def rows():
            for _ in range(2):
                yield (x * 2).requires_grad

        seen = []
        for inside in rows():
            seen.append((inside, (x * 2).requires_grad))
        assert seen == [(False, True), (False, True)]
