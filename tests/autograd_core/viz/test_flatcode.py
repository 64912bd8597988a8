"""flat_code: straight-line code that reproduces the engine's numbers exactly."""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import autograd_core as ag
from autograd_core import Function, Tensor
from autograd_core.viz import flat_code, op_backward, op_forward

from .helpers import assert_flat_code_matches_engine, neuron, run_flat_code


def leaf(shape, name, rng, low=-2.0, high=2.0, requires_grad=True, dtype=np.float64):
    data = rng.uniform(low, high, size=shape).astype(dtype)
    return Tensor(data, requires_grad=requires_grad, name=name)


def test_the_neuron_reads_like_the_slides():
    L, _ = neuron()
    source = flat_code(L)
    assert "def forward_backward(" in source
    for line in ("s0 = w0 * x0", "s1 = w1 * x1", "s2 = s0 + s1", "s3 = s2 + w2",
                 "L = sigmoid(s3)", "grad_L = np.ones_like(L)",
                 "grad_s3 = grad_L * L * (1 - L)", "grad_w0 = grad_s0 * x0",
                 "grad_x0 = grad_s0 * w0", "return L, {"):
        assert line in source, line
    assert "# 0.7311" in source  # the traced value, as a comment
    assert source.index("grad_s3 =") < source.index("grad_s2 =") < source.index("grad_w0 =")


def test_the_neuron_reproduces_the_engine_exactly():
    L, leaves = neuron()
    source = assert_flat_code_matches_engine(L)
    assert float(leaves["w2"].grad.item()) == pytest.approx(0.19661193, rel=1e-7)
    assert "op_backward" not in source  # every op of the neuron has a one-line formula


def test_defaults_run_the_traced_example():
    L, leaves = neuron()
    namespace = {}
    exec(flat_code(L), namespace)
    value, grads = namespace["forward_backward"]()
    L.backward()
    assert value == L.item()
    assert grads["w0"] == leaves["w0"].grad.item()


def test_fan_out_is_summed_in_the_engines_order():
    a = Tensor(1.5, requires_grad=True, name="a", dtype="float64")
    b = a * a + a.exp() + a  # a feeds four edges
    source = assert_flat_code_matches_engine(b)
    assert "grad_a = grad_a + " in source
    assert "contributions add up" in source


def test_a_float32_graph_matches_when_run_on_float32_arrays():
    L, _ = neuron("float32")
    assert_flat_code_matches_engine(L)


def test_broadcasting_is_summed_back_explicitly(rng):
    x = leaf((4, 3), "x", rng)
    b = leaf((3,), "b", rng)
    c = leaf((4, 1), "c", rng)
    loss = ((x * b + c).tanh()).sum()
    source = assert_flat_code_matches_engine(loss)
    assert ".sum(axis=(0,), keepdims=True).reshape((3,))" in source
    assert ".sum(axis=(1,), keepdims=True).reshape((4, 1))" in source


def test_a_leaf_root_and_constants(rng):
    x = Tensor(2.0, requires_grad=True, name="x", dtype="float64")
    namespace = {}
    exec(flat_code(x), namespace)
    value, grads = namespace["forward_backward"](x.numpy())
    assert value == 2.0 and grads == {"x": 1.0}
    y = 3 * x + np.array([1.0, 2.0])  # a constant array is written inline
    source = assert_flat_code_matches_engine(y.sum())
    assert "np.array([1.0, 2.0])" in source


def test_data_leaves_are_arguments_without_gradients(rng):
    w = leaf((3,), "w", rng)
    x = leaf((3,), "x", rng, requires_grad=False)
    source = assert_flat_code_matches_engine((w * x).sum())
    assert "    w=np.array(" in source and "    x=np.array(" in source
    assert "'x':" not in source


def test_params_name_arguments(rng):
    weight = leaf((2, 3), None, rng)
    bias = leaf((2,), None, rng)
    x = leaf((4, 3), None, rng, requires_grad=False)
    params = {"fc1.weight": weight, "fc1.bias": bias}
    out = ag.linear(x, weight, bias).relu().sum()
    value, grads, source, _ = run_flat_code(out, params=params)
    assert "fc1_weight=" in source and set(grads) == {"fc1.weight", "fc1.bias"}
    assert_flat_code_matches_engine(out, params=params)


def _cases(rng):
    """(name, thunk building a scalar loss) covering every core op of the engine."""
    def t(shape, name="x", **kw):
        return leaf(shape, name, rng, **kw)

    pos = dict(low=0.5, high=2.0)
    return {
        "add_sub_neg": lambda: (t((2, 3)) - t((3,), "y") + (-t((2, 1), "z"))).sum(),
        "mul_div": lambda: (t((2, 3)) / t((2, 3), "y", **pos) * 2.5).sum(),
        "rdiv_rsub": lambda: (1.5 / t((3,), **pos) - 2.0).sum(),
        "pow_scalar": lambda: (t((3,)) ** 3).sum(),
        "pow_square": lambda: (t((3,)) ** 2).sum(),
        "pow_zero": lambda: (t((3,)) ** 0).sum(),
        "pow_tensor": lambda: (t((2, 3), **pos) ** t((3,), "e")).sum(),
        "rpow": lambda: (2.0 ** t((3,))).sum(),
        "exp_log_sqrt": lambda: (t((3,)).exp() + t((3,), "y", **pos).log()
                                 + t((3,), "z", **pos).sqrt()).sum(),
        "abs_sin_cos_tanh": lambda: (t((4,)).abs() + t((4,), "y").sin()
                                     + t((4,), "z").cos() * t((4,), "w").tanh()).sum(),
        "sigmoid_relu": lambda: (t((5,), low=-30, high=30).sigmoid() + t((5,), "y").relu()).sum(),
        "clamp": lambda: (t((6,)).clamp(-0.5, 0.7) + t((6,), "y").clamp(min=0.1)
                          + t((6,), "z").clamp(max=0.2)).sum(),
        "maximum_minimum": lambda: (ag.maximum(t((2, 3)), t((3,), "y"))
                                    + ag.minimum(t((2, 3), "z"), 0.3)).sum(),
        "maximum_ties": lambda: ag.maximum(Tensor([1.0, 2.0], requires_grad=True, dtype="float64"),
                                           Tensor([1.0, 3.0], requires_grad=True,
                                                  dtype="float64")).sum(),
        "where": lambda: ag.where(np.array([True, False, True]), t((3,)), t((2, 3), "y")).sum(),
        "cast": lambda: (t((3,)).float() * 2).sum(),
        "sum_mean_dims": lambda: (t((2, 3, 4)).sum(dim=1).mean(dim=-1, keepdim=True)
                                  * t((2, 3, 4), "y").mean(dim=(0, 2))[0]).sum(),
        "max_min_all": lambda: t((2, 3)).max() + t((2, 3), "y").min(),
        "max_min_dim": lambda: (t((2, 3)).max(dim=1).values
                                + t((2, 3), "y").min(dim=0, keepdim=True).values
                                .sum()).sum(),
        "max_multi_dim": lambda: t((2, 3, 2)).amax(dim=(0, 2)).sum(),
        "max_ties": lambda: Tensor([[1.0, 1.0], [0.0, 2.0]], requires_grad=True,
                                   dtype="float64").max(),
        "var": lambda: t((3, 4)).var(dim=1).sum() + t((5,), "y").var(unbiased=False),
        "std": lambda: t((3, 4)).std(),
        "logsumexp": lambda: t((3, 4)).logsumexp(dim=1).sum() + t((4,), "y").logsumexp(dim=0),
        "softmax": lambda: (t((3, 4)).softmax(dim=1) * t((3, 4), "y")).sum(),
        "log_softmax": lambda: (t((3, 4)).log_softmax(dim=0) * t((3, 4), "y")).sum(),
        "reshape_flatten": lambda: (t((2, 3)).reshape(3, 2) * t((6,), "y").view(3, 2)).sum()
        + t((2, 3, 2), "z").flatten(1).sum(),
        "permute_transpose": lambda: (t((2, 3, 4)).permute(2, 0, 1) * t((4, 2, 3), "y")).sum()
        + (t((2, 3), "z").T * t((3, 2), "w")).sum(),
        "unsqueeze_squeeze": lambda: (t((3,)).unsqueeze(0) * t((2, 1), "y").squeeze(1)[:, None]
                                      ).sum(),
        "expand": lambda: (t((3, 1)).expand(3, 4) * t((3, 4), "y")).sum(),
        "getitem_basic": lambda: (t((4, 5))[1:3, ::2] * 2).sum() + t((3,), "y")[1],
        "getitem_advanced": lambda: (t((5,))[[0, 0, 3]] * t((3,), "y")).sum()
        + t((3, 4), "z")[np.array([2, 0]), 1:].sum(),
        "getitem_bool": lambda: t((4,))[np.array([True, False, True, True])].sum(),
        "cat_stack": lambda: (ag.cat([t((2, 3)), t((1, 3), "y")], dim=0).sum(dim=0)
                              * ag.stack([t((3,), "z"), t((3,), "w")], dim=1).sum(dim=1)).sum(),
        "matmul_2d": lambda: (t((2, 3)) @ t((3, 4), "y")).sum(),
        "matmul_1d": lambda: (t((3,)) @ t((3, 4), "y")).sum()
        + (t((2, 3), "z") @ t((3,), "w")).sum() + t((3,), "u") @ t((3,), "v"),
        "matmul_batched": lambda: (t((2, 2, 3)) @ t((3, 4), "y")).sum()
        + (t((4, 3), "z") @ t((2, 3, 2), "w")).sum(),
        "linear": lambda: ag.linear(t((4, 3)), t((2, 3), "w"), t((2,), "b")).sum()
        + ag.linear(t((2, 4, 3), "z"), t((2, 3), "v")).sum(),
        "linear_mixed_dtype_bias": lambda: ag.linear(
            t((4, 3), dtype=np.float32), t((2, 3), "w", dtype=np.float32), t((2,), "b")).sum(),
    }


CASES = sorted(_cases(np.random.default_rng(0)))


@pytest.mark.parametrize("case", CASES)
def test_every_core_op_reproduces_the_engine(case, rng):
    loss = _cases(rng)[case]()
    assert_flat_code_matches_engine(loss)


def test_core_ops_need_no_fallback_except_where_documented(rng):
    fallback = []
    for name, build in _cases(rng).items():
        if "op_forward" in flat_code(build()) or "op_backward" in flat_code(build()):
            fallback.append(name)
    assert fallback == ["linear_mixed_dtype_bias"]


class Cube(Function):
    """A student's op: y = x^3 (no formula in the table, so flat code calls it by name)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x ** 2


def test_an_op_without_a_formula_is_called_by_name(rng):
    x = leaf((3,), "x", rng)
    y = leaf((2, 1), "y", rng)
    loss = (Cube.apply(x) * y).sum()  # broadcast after the custom op
    source = assert_flat_code_matches_engine(loss)
    # By class name, or by dotted path while another class is also called Cube.
    assert re.search(r"op_forward\('([\w.]+\.)?Cube'", source)
    assert re.search(r"op_backward\('([\w.]+\.)?Cube', grad_", source)
    assert "from autograd_core.viz import op_backward, op_forward" in source


def test_op_forward_and_backward_by_name_and_class():
    a, b = np.array([1.0, 2.0]), np.array(3.0)
    assert op_forward("Mul", (a, b)).tolist() == [3.0, 6.0]
    assert op_forward(Cube, (a,)).tolist() == [1.0, 8.0]
    grads = op_backward("Mul", np.ones(2), (a, b))
    assert grads[0].tolist() == [3.0, 3.0] and grads[1].tolist() == [1.0, 2.0]
    assert op_backward("autograd_core.ops.reduce.Sum", np.array(1.0), (a,),
                       {"dim": None, "keepdim": False})[0].tolist() == [1.0, 1.0]
    with pytest.raises(LookupError, match="no Function subclass named 'Nope'"):
        op_forward("Nope", (a,))


def test_flat_code_works_after_a_freeing_backward_and_changes_no_grad():
    L, leaves = neuron()
    L.backward()
    before = {k: t.grad.item() for k, t in leaves.items()}
    value, grads, _, _ = run_flat_code(L)
    assert {k: t.grad.item() for k, t in leaves.items()} == before
    assert {k: float(g) for k, g in grads.items()} == before


def test_a_non_scalar_root_starts_from_ones(rng):
    x = leaf((2, 3), "x", rng)
    y = x * x
    source = assert_flat_code_matches_engine(y)
    assert "gradient of L.sum()" in source  # an unnamed root is L


# --------------------------------------------------------------------- hypothesis
SHAPES = [(), (3,), (2, 1), (1, 3), (2, 3)]
UNARY = {
    "neg": lambda a: -a, "tanh": lambda a: a.tanh(), "sigmoid": lambda a: a.sigmoid(),
    "sin": lambda a: a.sin(), "relu": lambda a: a.relu(), "abs": lambda a: a.abs(),
    "exp_tanh": lambda a: a.tanh().exp(), "log1p_sq": lambda a: (a * a + 1).log(),
    "sqrt1p_sq": lambda a: (a * a + 1).sqrt(), "square": lambda a: a ** 2,
    "scale": lambda a: 0.5 * a, "shift": lambda a: a - 1.25,
    "sum_keep": lambda a: a.sum(dim=-1, keepdim=True) if a.ndim else a,
    "mean0": lambda a: a.mean(dim=0) if a.ndim else a,
    "clamp": lambda a: a.clamp(-0.5, 0.5),
}
BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1), "max": ag.maximum, "min": ag.minimum,
    "pow": lambda a, b: (a * a + 0.5) ** b.tanh(),
}


@st.composite
def expressions(draw):
    n_leaves = draw(st.integers(1, 4))
    shapes = [draw(st.sampled_from(SHAPES)) for _ in range(n_leaves)]
    dtypes = [draw(st.sampled_from([np.float64, np.float64, np.float32]))
              for _ in range(n_leaves)]
    values = [draw(st.lists(st.floats(-3, 3, allow_nan=False, width=64),
                            min_size=int(np.prod(s)), max_size=int(np.prod(s))))
              for s in shapes]
    program = draw(st.lists(st.tuples(st.sampled_from(sorted(UNARY) + sorted(BINARY)),
                                      st.integers(0, 100), st.integers(0, 100)),
                            min_size=1, max_size=7))
    return shapes, dtypes, values, program


def _build(shapes, dtypes, values, program):
    # Mixed float32/float64 leaves make the engine cast gradients back: so must the code.
    leaves = [Tensor(np.array(v, dtype=d).reshape(s), requires_grad=True)
              for s, d, v in zip(shapes, dtypes, values)]
    pool = list(leaves)
    for name, i, j in program:
        if name in UNARY:
            pool.append(UNARY[name](pool[i % len(pool)]))
        else:
            pool.append(BINARY[name](pool[i % len(pool)], pool[j % len(pool)]))
    out = pool[-1]
    return out.sum() if out.ndim else (out if out.requires_grad else out * 1.0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions())
def test_flat_code_matches_the_engine_on_random_expressions(expression):
    root = _build(*expression)
    if root.grad_fn is None:
        return
    with np.errstate(all="ignore"):
        assert_flat_code_matches_engine(root)


def test_awkward_names_become_valid_distinct_identifiers():
    def named(name, value=1.5):
        return Tensor(value, requires_grad=True, name=name, dtype="float64")

    leaves = [named("np"), named("grad_x"), named("x"), named("x"), named("my var"),
              named("1st"), named("lambda"), named("s0"), named("sigmoid")]
    total = leaves[0]
    for t in leaves[1:]:
        total = total * t + 0.25
    value, grads, source, graph = run_flat_code(total.sigmoid())
    assert len(set(graph.ident.values())) == len(graph.ident)
    assert set(grads) == {"np", "grad_x", "x", "x_2", "my var", "1st", "lambda", "s0",
                          "sigmoid"}
    assert_flat_code_matches_engine(total.sigmoid())


def test_names_that_are_not_identifiers_still_give_code_that_runs():
    import numpy as np

    from autograd_core import Tensor
    from autograd_core.viz import flat_code

    x = Tensor(2.0, requires_grad=True, name="x²")
    y = Tensor(1.0, requires_grad=True, name="1st value")
    out = (x * y).sigmoid()
    namespace = {}
    exec(flat_code(out), namespace)
    value, grads = namespace["forward_backward"](np.float32(2.0), np.float32(1.0))
    out.backward()
    assert grads["x²"] == x.grad.item() and value == out.item()


@pytest.mark.parametrize("op", ["softmax", "log_softmax", "logsumexp"])
def test_flat_code_over_an_empty_dim_matches_the_engine(op):
    # the stable-max helper the code writes handles an empty dim as the engine does
    x = Tensor(np.zeros((3, 0)), requires_grad=True, name="x")
    out = getattr(x, op)(dim=1)
    assert_flat_code_matches_engine((out * 2.0).sum())
