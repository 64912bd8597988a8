"""Gradients of gradients: create_graph, gradgradcheck and autograd.functional."""

import math

import numpy as np
import pytest

import autograd_core as ag
from autograd_core import autograd
from autograd_core.gradcheck import gradgradcheck
from tests.autograd_core.op_table import BINARY, UNARY, sample


def _leaf(array):
    return ag.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def test_tanh_derivatives_up_to_the_fourth_order():
    # DeZero's classic plot: tanh and its first four derivatives, here at several points
    xs = np.linspace(-2.0, 2.0, 9)
    x = _leaf(xs)
    t = np.tanh(xs)
    d1 = 1 - t ** 2
    d2 = -2 * t * d1
    d3 = (-2 + 6 * t ** 2) * d1
    d4 = (16 * t - 24 * t ** 3) * d1
    g = x.tanh()
    for expected in (d1, d2, d3, d4):
        (g,) = autograd.grad(g.sum(), x, create_graph=True)
        np.testing.assert_allclose(g.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_newtons_method_with_the_second_derivative():
    # f(x) = x^4 - 2 x^2 + x: Newton's step x <- x - f'(x) / f''(x) from x = 2
    x = _leaf(2.0)
    for _ in range(8):
        y = x ** 4 - 2 * x ** 2 + x
        (first,) = autograd.grad(y, x, create_graph=True)
        (second,) = autograd.grad(first, x)
        with ag.no_grad():
            x -= first / second
    value = x.item()
    assert abs(4 * value ** 3 - 4 * value + 1) < 1e-10  # f'(x) = 0 at the found point
    assert 12 * value ** 2 - 4 > 0  # a minimum


def test_backward_with_create_graph_leaves_a_differentiable_grad():
    x = _leaf([1.0, 2.0])
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.grad_fn is not None
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])
    (gx,) = autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(gx.numpy(), [6.0, 12.0])


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_gradient_penalty_matches_torch(activation, torch_or_skip):
    """WGAN-GP: the norm of the input gradient in the loss."""
    torch = torch_or_skip
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in [(6, 3), (8, 3), (8,), (1, 8)]]
    x, w1, b1, w2 = (_leaf(a) for a in arrays)
    tx, tw1, tb1, tw2 = (torch.tensor(a, requires_grad=True) for a in arrays)

    def critic(lib_x, lib_w1, lib_b1, lib_w2, F):
        hidden = getattr(F.linear(lib_x, lib_w1, lib_b1), activation)()
        return F.linear(hidden, lib_w2).sum()

    import nn.functional as ours_F

    (gx,) = autograd.grad(critic(x, w1, b1, w2, ours_F), x, create_graph=True)
    penalty = ((gx * gx).sum(dim=1).sqrt() - 1) ** 2
    penalty.mean().backward()
    (tgx,) = torch.autograd.grad(critic(tx, tw1, tb1, tw2, torch.nn.functional), tx,
                                 create_graph=True)
    (((tgx * tgx).sum(dim=1).sqrt() - 1) ** 2).mean().backward()
    for mine, theirs in zip((x, w1, b1, w2), (tx, tw1, tb1, tw2)):
        # relu's second derivative is 0: some inputs get no gradient (None) or zeros
        got = np.zeros(mine.shape) if mine.grad is None else mine.grad.numpy()
        expected = np.zeros(mine.shape) if theirs.grad is None else theirs.grad.numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_hessian_vector_product_on_an_mlp_matches_torch(torch_or_skip):
    torch = torch_or_skip
    rng = np.random.default_rng(1)
    data = rng.standard_normal((5, 4))
    shapes = [(7, 4), (7,), (3, 7), (3,)]
    params = [rng.standard_normal(s) for s in shapes]
    vectors = [rng.standard_normal(s) for s in shapes]

    def loss(lib, F, *ps):
        w1, b1, w2, b2 = ps
        h = F.linear(lib.tensor(data), w1, b1).tanh()
        return (F.linear(h, w2, b2) ** 2).mean()

    import nn.functional as ours_F

    _, ours = autograd.functional.hvp(
        lambda *ps: loss(ag, ours_F, *ps), tuple(ag.tensor(p) for p in params),
        tuple(ag.tensor(v) for v in vectors))
    _, theirs = torch.autograd.functional.hvp(
        lambda *ps: loss(torch, torch.nn.functional, *ps), tuple(torch.tensor(p) for p in params),
        tuple(torch.tensor(v) for v in vectors))
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine.numpy(), other.numpy(), rtol=1e-10, atol=1e-12)


def test_functional_api_matches_torch(torch_or_skip):
    torch = torch_or_skip
    rng = np.random.default_rng(2)
    a, v_in, v_out = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(2)
    matrix = rng.standard_normal((2, 3))

    def f(lib):
        m = lib.tensor(matrix)
        return lambda x: (m @ x.sin()) * x.sum()

    def scalar(x):
        return (x.exp() * x).sum()

    F = autograd.functional
    T = torch.autograd.functional
    pairs = [
        (F.jacobian(f(ag), ag.tensor(a)), T.jacobian(f(torch), torch.tensor(a))),
        (F.hessian(scalar, ag.tensor(a)), T.hessian(scalar, torch.tensor(a))),
        (F.vjp(f(ag), ag.tensor(a), ag.tensor(v_out))[1],
         T.vjp(f(torch), torch.tensor(a), torch.tensor(v_out))[1]),
        (F.jvp(f(ag), ag.tensor(a), ag.tensor(v_in))[1],
         T.jvp(f(torch), torch.tensor(a), torch.tensor(v_in))[1]),
        (F.hvp(scalar, ag.tensor(a), ag.tensor(v_in))[1],
         T.hvp(scalar, torch.tensor(a), torch.tensor(v_in))[1]),
    ]
    for mine, theirs in pairs:
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_functional_jacobian_nests_several_inputs_and_outputs():
    x, y = ag.tensor([1.0, 2.0], dtype=ag.float64), ag.tensor(3.0, dtype=ag.float64)
    jac = autograd.functional.jacobian(lambda a, b: (a * b, a.sum() + b), (x, y))
    assert [[tuple(j.shape) for j in row] for row in jac] == [[(2, 2), (2,)], [(2,), ()]]
    np.testing.assert_allclose(jac[0][0].numpy(), 3.0 * np.eye(2))
    np.testing.assert_allclose(jac[1][1].numpy(), 1.0)


_TWICE = [op for op in UNARY + BINARY if op.name not in ("clamp", "relu", "abs", "maximum",
                                                          "minimum")]


@pytest.mark.parametrize("op", _TWICE, ids=lambda o: o.name)
def test_gradgradcheck_for_the_elementwise_ops(op):
    rng = np.random.default_rng(3)
    shapes = [(2, 3), (3,)] if op.arity == 2 else [(2, 3)]
    arrays = [sample(rng, s, op.domain) for s in shapes]
    if op.domain == "distinct" and op.arity == 2:
        arrays[1] = arrays[1] + 0.125
    assert gradgradcheck(op.ours, tuple(_leaf(a) for a in arrays))


@pytest.mark.parametrize("build", [
    lambda x: (x.sum(dim=0, keepdim=True) * x).mean(),
    lambda x: x.softmax(dim=1).log_softmax(dim=0).sum(dim=1),
    lambda x: (x.reshape(3, 2).T @ x.reshape(2, 3).T).tanh(),
    lambda x: x.permute(1, 0).expand(2, 3, 2).sigmoid(),
    lambda x: ag.linear(x, x.exp(), x.sum(dim=1).cos()),
], ids=["sum_mean", "softmax", "matmul", "permute_expand", "linear"])
def test_gradgradcheck_for_reductions_movement_and_matmul(build):
    assert gradgradcheck(build, (_leaf(sample(np.random.default_rng(4), (2, 3), "real")),))


class OnceScaled(ag.Function):
    """y = w x, a custom op whose rule works on arrays only (neither twice_differentiable
    nor a composite)."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        return grad * w, np.sum(grad * x)


def test_an_op_without_a_recordable_backward_says_so_only_when_needed():
    x = _leaf([[1.0, 3.0], [2.0, 0.5]])
    w = _leaf(4.0)
    y = OnceScaled.apply(x, w).sum()
    (g,) = autograd.grad(y, x, create_graph=True)  # the first order works
    np.testing.assert_allclose(g.numpy(), np.full((2, 2), 4.0))
    with pytest.raises(RuntimeError, match="OnceScaled: its backward is not differentiable"):
        autograd.grad(g.sum(), w)


@pytest.mark.parametrize("build", [
    lambda x: x.var(dim=1).sum() + x.var(),
    lambda x: x.logsumexp(dim=0) * x.logsumexp(dim=(0, 1)),
    lambda x: x.max(dim=1).values * x.amax() + x.amin(dim=(0, 1)),
], ids=["var", "logsumexp", "max_min"])
def test_gradgradcheck_for_var_logsumexp_and_extremes(build):
    x = _leaf(sample(np.random.default_rng(6), (3, 4), "distinct") / 10)
    assert gradgradcheck(build, (x,))


def test_create_graph_is_exact_for_a_custom_function_marked_twice_differentiable():
    from tests.autograd_core.viz.test_flatcode import Cube as StudentsCube

    class Cube(StudentsCube):  # its backward uses only operators on its saved input
        twice_differentiable = True

    x = _leaf(1.5)
    (g,) = autograd.grad(Cube.apply(x), x, create_graph=True)
    (gg,) = autograd.grad(g, x)
    assert g.item() == pytest.approx(3 * 1.5 ** 2) and gg.item() == pytest.approx(6 * 1.5)
    assert math.isclose(gg.item(), 9.0)


@pytest.mark.parametrize("name", ["leaky_relu", "selu", "hardtanh"])
def test_gradgradcheck_for_the_piecewise_activations(name):
    import nn.functional as F

    x = _leaf(sample(np.random.default_rng(8), (3, 4), "away_from_bounds"))
    assert gradgradcheck(lambda t: getattr(F, name)(t) * t, (x,))
