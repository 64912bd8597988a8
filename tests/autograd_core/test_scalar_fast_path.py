"""The scalar fast path (``function._apply_scalar``) against the array path.

Ops on 0-d float tensors compute on NumPy scalars instead of 0-d arrays; everything a
user or a teaching tool can see must be the same: values and gradients to the bit,
dtypes, node names and structure, viz's backward steps and flat code, hooks,
retain_grad, in-place checks, gradcheck and create_graph. Each test computes the same
thing twice, once with the fast path switched off for every op that has it.
"""

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_core import Tensor, autograd, no_grad, scalar_graph
from autograd_core.function import Function, _apply_scalar
from autograd_core.gradcheck import gradcheck
from autograd_core.ops import elementwise as ew
from autograd_core.viz import backward_steps, flat_code

FAST_OPS = [op for op in vars(ew).values()
            if isinstance(op, type) and issubclass(op, Function) and op.scalar_fast_path]

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
}
UNARY = {
    "neg": lambda a: -a, "exp": lambda a: a.exp(), "log": lambda a: a.log(),
    "sqrt": lambda a: a.sqrt(), "abs": lambda a: abs(a), "sin": lambda a: a.sin(),
    "cos": lambda a: a.cos(), "tanh": lambda a: a.tanh(), "sigmoid": lambda a: a.sigmoid(),
    "relu": lambda a: a.relu(),
}
DTYPES = [np.float32, np.float64]

floats = st.floats(allow_nan=True, allow_infinity=True, width=32)


@contextlib.contextmanager
def array_path():
    """Every op takes the array path (the fast path switched off) inside the block."""
    for op in FAST_OPS:
        op.scalar_fast_path = False
    try:
        with scalar_graph.switched_off():
            yield
    finally:
        for op in FAST_OPS:
            op.scalar_fast_path = True


_LEAN_OFF = scalar_graph.switched_off()


def setup_module():
    """These tests are about the NumPy-scalar path: float64's lean path (scalar_graph,
    tested in test_scalar_graph.py) is switched off while they run."""
    _LEAN_OFF.__enter__()


def teardown_module():
    _LEAN_OFF.__exit__(None, None, None)


def bits(x):
    """The exact bytes and dtype of a Tensor's (or array's) value: bitwise equality,
    signed zeros included. NaNs count as one value: which operand's NaN an operation on
    two NaNs passes on (its sign bit) is up to the compiled loop, as IEEE 754 allows."""
    array = x._data if isinstance(x, Tensor) else np.asarray(x)
    return array.dtype, array.shape, np.where(np.isnan(array), np.nan, array).tobytes()


def run(fn, values, dtype, grads=True):
    """Build 0-d leaves (numbers stay Python numbers), apply fn, backpropagate."""
    leaves = [Tensor(np.asarray(v, dtype), requires_grad=grads) if not isinstance(v, Const)
              else v.value for v in values]
    with np.errstate(all="ignore"):
        out = fn(*leaves)
        if grads and out.requires_grad:
            out.backward()
    tensors = [t for t in leaves if isinstance(t, Tensor)]
    return (bits(out), out.grad_fn.name() if out.grad_fn is not None else None,
            [None if t.grad is None else bits(t.grad) for t in tensors])


class Const:
    """A Python number operand (not a Tensor)."""

    def __init__(self, value):
        self.value = value


def both_paths(fn, values, dtype, grads=True):
    fast = run(fn, values, dtype, grads)
    with array_path():
        slow = run(fn, values, dtype, grads)
    assert fast == slow
    return fast


def test_the_fast_path_covers_the_scalar_ops():
    names = {op.__name__ for op in FAST_OPS}
    assert {"Add", "Sub", "Mul", "Div", "Pow", "Neg", "Exp", "Log", "Sqrt", "Abs", "Sin",
            "Cos", "Tanh", "Sigmoid", "Relu"} <= names


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(BINARY))
@given(a=floats, b=floats)
@settings(max_examples=60, deadline=None)
def test_binary_ops_are_bit_identical_to_the_array_path(name, dtype, a, b):
    both_paths(BINARY[name], [a, b], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(UNARY))
@given(a=floats)
@settings(max_examples=60, deadline=None)
def test_unary_ops_are_bit_identical_to_the_array_path(name, dtype, a):
    both_paths(UNARY[name], [a], dtype)


numbers = st.one_of(st.floats(allow_nan=False, width=64),
                    st.integers(-2 ** 24, 2 ** 24), st.sampled_from([0, 1, 2, -1, 0.5]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(BINARY))
@given(a=floats, c=numbers, left=st.booleans())
@settings(max_examples=40, deadline=None)
def test_python_number_operands_are_bit_identical(name, dtype, a, c, left):
    values = [Const(c), a] if left else [a, Const(c)]
    both_paths(BINARY[name], values, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@given(w=st.lists(st.floats(-3, 3, width=32), min_size=5, max_size=5))
@settings(max_examples=40, deadline=None)
def test_a_micrograd_neuron_is_bit_identical(dtype, w):
    def neuron(w0, w1, x0, x1, b):
        s = w0 * x0 + w1 * x1 + b
        return (s.relu() * s.tanh() + (1 - s).sigmoid() / 3) ** 2 + (s * s).exp().log()

    both_paths(neuron, w, dtype)


def test_mixed_shapes_dtypes_and_constants_take_the_array_path():
    a = Tensor(1.5, requires_grad=True)
    for other in (Tensor([2.0]), Tensor(np.ones((2, 3), np.float32)),
                  Tensor(np.float64(2.0)), np.float64(2.0), np.ones(()), True,
                  Tensor(3), 2 ** 40):
        assert _apply_scalar(ew.Mul, (a, other), {}) is None
    assert _apply_scalar(ew.Mul, (Tensor(np.float16(1.0)), 2.0), {}) is None
    assert _apply_scalar(ew.Mul, (a, 2.0), {}) is not None
    # broadcasting a 0-d tensor with n-d: the array path, same values as without the fast path
    v = np.arange(6, dtype=np.float32).reshape(2, 3) / 7

    def f(s, m):
        return (s * m + s).tanh().sum()

    def go():
        s, m = Tensor(1.25, requires_grad=True), Tensor(v, requires_grad=True)
        out = f(s, m)
        out.backward()
        return bits(out), bits(s.grad), bits(m.grad)

    fast = go()
    with array_path():
        assert go() == fast
    s = Tensor(1.25, requires_grad=True)
    y = s * Tensor(v)
    assert y.shape == (2, 3) and all(type(x) is np.ndarray for x in y.grad_fn._saved)


@pytest.mark.parametrize("dtype", DTYPES)
@given(a=floats, b=floats)
@settings(max_examples=40, deadline=None)
def test_one_element_arrays_mixed_in_give_the_same_results(dtype, a, b):
    def go():
        s = Tensor(np.asarray(a, dtype), requires_grad=True)
        v = Tensor(np.asarray([b], dtype), requires_grad=True)
        with np.errstate(all="ignore"):
            out = ((s * v + s) * s).tanh().sum() + s * s
            out.backward()
        return bits(out), bits(s.grad), bits(v.grad)

    fast = go()
    with array_path():
        assert go() == fast


def test_public_semantics_of_0d_results():
    a = Tensor(2.0, requires_grad=True)
    y = a * 3 + 1.0
    assert y.dtype == np.float32 and y.shape == () and y.requires_grad
    assert type(y.numpy()) is np.ndarray and y.numpy().shape == ()
    assert type(y.item()) is float and y.item() == 7.0
    y.backward()
    assert type(a.grad) is Tensor and type(a.grad._data) is np.ndarray
    assert a.grad.shape == () and a.grad.dtype == np.float32 and a.grad.item() == 3.0
    d = Tensor(np.float64(2.0), requires_grad=True)
    assert (d * 2.5).dtype == np.float64 and (d * 2.5).item() == 5.0


def test_graph_structure_and_viz_are_the_same():
    def build():
        w = Tensor(0.7, requires_grad=True, name="w")
        b = Tensor(-0.2, requires_grad=True, name="b")
        x = Tensor(1.3, name="x")
        loss = ((w * x + b).tanh() - 0.5) ** 2
        loss.name = "L"
        return loss, w

    def describe(loss):
        names, node = [], loss.grad_fn
        names.append(node.name())
        names.extend(n.name() if n is not None else None for n, _ in node.next_functions)
        steps = [(s.op, s.formula, bits(s.grad_output),
                  [None if g is None else bits(g) for g in s.grad_inputs])
                 for s in backward_steps(loss)]
        return names, steps, flat_code(loss)

    loss, w = build()
    fast = describe(loss)
    assert w.grad_fn is None and loss.grad_fn.next_functions[0][0].name() == "SubBackward0"
    loss.backward()
    after_backward = describe(loss)  # viz replays a freed graph too
    with array_path():
        slow_loss, _ = build()
        assert describe(slow_loss) == fast == after_backward


def test_hooks_and_retain_grad_see_0d_tensors():
    seen = []
    a = Tensor(1.5, requires_grad=True)
    a.register_hook(lambda g: seen.append(("leaf", type(g), type(g._data), g.shape)))
    h = a * a
    h.retain_grad()
    h.register_hook(lambda g: g * 10)
    (h + a).backward()
    assert seen == [("leaf", Tensor, np.ndarray, ())]
    assert type(h.grad._data) is np.ndarray and h.grad.item() == 10.0
    assert a.grad.item() == 10.0 * 3.0 + 1.0


def test_in_place_changes_are_still_refused():
    w = Tensor(2.0, requires_grad=True)
    y = w * w
    with no_grad():
        w += 1
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()
    x = Tensor(2.0, requires_grad=True)
    h = x * 1.5
    z = h.exp()            # saves its output; the product saves h
    q = h * h
    with no_grad():
        h.mul_(2)
    with pytest.raises(RuntimeError, match="modified in place"):
        q.backward()
    z.backward()           # exp saved only its output, which did not change
    assert x.grad is not None


def test_gradcheck_and_create_graph_through_the_fast_path():
    def f(a, b):
        return (a * b + a.sin()).tanh() / (b * b + 1)

    a = Tensor(np.float64(0.3), requires_grad=True)
    b = Tensor(np.float64(-1.1), requires_grad=True)
    assert gradcheck(f, (a, b))

    def second(x0):
        x = Tensor(np.float64(x0), requires_grad=True)
        (g,) = autograd.grad(x ** 3 * x.tanh(), x, create_graph=True)
        (gg,) = autograd.grad(g, x)
        return bits(g), bits(gg)

    fast = second(0.8)
    with array_path():
        assert second(0.8) == fast


def test_no_grad_and_leaves_without_grad_record_nothing():
    a = Tensor(2.0, requires_grad=True)
    with no_grad():
        y = a * a
    assert y.grad_fn is None and not y.requires_grad
    c = Tensor(3.0) * Tensor(4.0)
    assert c.grad_fn is None and c.item() == 12.0
    m = a * Tensor(3.0)
    assert m.grad_fn.needs_input_grad == (True, False)
