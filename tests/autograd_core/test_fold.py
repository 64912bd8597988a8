"""unfold / fold (im2col / col2im as public ops): PyTorch's layouts, values, gradients
and gradients of gradients (float64, 1e-10), their adjointness, layers and errors."""

import numpy as np
import pytest

import autograd_core as ag
import nn
import nn.functional as F
from autograd_core import DTypeError, ShapeError
from autograd_core.gradcheck import gradcheck, gradgradcheck

TOL = dict(rtol=1e-10, atol=1e-12)

# (input shape, kernel_size, dilation, padding, stride)
CASES = [
    ((2, 3, 6, 7), 2, 1, 0, 1),
    ((2, 3, 6, 7), (2, 3), (1, 2), 1, 2),
    ((1, 2, 5, 5), 3, 2, (2, 1), (2, 1)),
    ((3, 6, 4), (1, 2), 1, (0, 1), (1, 3)),  # unbatched
    ((2, 1, 4, 4), 4, 1, 0, 1),  # one block: L = 1
    ((0, 2, 5, 5), 2, 1, 1, 2),  # empty batch
]


def _pair_of_libs(torch, array):
    return ag.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def _check_values_and_grads(torch, ours, theirs, array, seed=0):
    mine, other = _pair_of_libs(torch, array)
    out, ref = ours(mine), theirs(other)
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), **TOL)
    weights = np.random.default_rng(seed).standard_normal(tuple(ref.shape))
    out.backward(ag.tensor(weights))
    ref.backward(torch.tensor(weights))
    np.testing.assert_allclose(mine.grad.numpy(), other.grad.numpy(), **TOL)


@pytest.mark.parametrize("shape,k,d,p,s", CASES)
def test_unfold_matches_torch(torch_or_skip, shape, k, d, p, s):
    torch = torch_or_skip
    x = np.random.default_rng(1).standard_normal(shape)
    _check_values_and_grads(torch, lambda t: F.unfold(t, k, d, p, s),
                            lambda t: torch.nn.functional.unfold(t, k, d, p, s), x)


@pytest.mark.parametrize("shape,k,d,p,s", CASES)
def test_fold_matches_torch(torch_or_skip, shape, k, d, p, s):
    torch = torch_or_skip
    size = shape[-2:]
    cols_shape = tuple(torch.nn.functional.unfold(torch.zeros(shape), k, d, p, s).shape)
    cols = np.random.default_rng(2).standard_normal(cols_shape)
    _check_values_and_grads(torch, lambda t: F.fold(t, size, k, d, p, s),
                            lambda t: torch.nn.functional.fold(t, size, k, d, p, s), cols)


def test_fold_is_the_adjoint_of_unfold():
    """<unfold(x), c> == <x, fold(c)> for any x and c: each is the other's gradient."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6))
    options = dict(kernel_size=(3, 2), dilation=(2, 1), padding=(1, 2), stride=(2, 3))
    cols = F.unfold(x, **options).numpy()
    c = rng.standard_normal(cols.shape)
    back = F.fold(c, (7, 6), **options).numpy()
    np.testing.assert_allclose(np.vdot(cols, c), np.vdot(x, back), rtol=1e-12)


@pytest.mark.parametrize("op", ["unfold", "fold"])
def test_gradgradcheck(op):
    rng = np.random.default_rng(4)
    if op == "unfold":
        x = ag.tensor(rng.standard_normal((2, 2, 5, 4)), requires_grad=True)
        fn = lambda t: F.unfold(t, 2, dilation=(2, 1), padding=1, stride=(1, 2)) ** 2  # noqa: E731
    else:
        x = ag.tensor(rng.standard_normal((8, 8)), requires_grad=True)  # unbatched
        fn = lambda t: F.fold(t, (4, 3), 2, padding=(0, 1), stride=(2, 1)) ** 2  # noqa: E731
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def _second_derivative(lib, fn, x, v):
    """d/dx <dL/dx, v> for L = sum(w * fn(x)^2): through a create_graph backward."""
    y = fn(x)
    loss = (y * y * lib.tensor(np.linspace(-1, 1, y.numel()).reshape(tuple(y.shape)))).sum()
    (g,) = lib.autograd.grad(loss, x, create_graph=True)
    (h,) = lib.autograd.grad((g * lib.tensor(v)).sum(), x)
    return g.detach().numpy(), h.numpy()


def test_second_derivatives_match_torch(torch_or_skip):
    torch = torch_or_skip
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 5, 6))
    v = rng.standard_normal(x.shape)
    options = dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(1, 2))

    def ours(t):
        return F.fold(F.unfold(t, **options) * 1.5, (5, 6), **options)

    def theirs(t):
        tf = torch.nn.functional
        return tf.fold(tf.unfold(t, **options) * 1.5, (5, 6), **options)

    mine = _second_derivative(ag, ours, ag.tensor(x, requires_grad=True), v)
    other = _second_derivative(torch, theirs, torch.tensor(x, requires_grad=True), v)
    for a, b in zip(mine, other):
        np.testing.assert_allclose(a, b, **TOL)


def test_layers_match_the_functional_forms_and_print_as_torch(torch_or_skip):
    torch = torch_or_skip
    x = np.random.default_rng(6).standard_normal((2, 3, 6, 6))
    unfold, fold = nn.Unfold(3, padding=1, stride=2), nn.Fold((6, 6), 3, padding=1, stride=2)
    cols = unfold(ag.tensor(x))
    np.testing.assert_array_equal(cols.numpy(), F.unfold(x, 3, padding=1, stride=2).numpy())
    ref = torch.nn.Fold((6, 6), 3, padding=1, stride=2)(torch.tensor(cols.numpy()))
    np.testing.assert_allclose(fold(cols).numpy(), ref.numpy(), **TOL)
    assert repr(unfold) == repr(torch.nn.Unfold(3, padding=1, stride=2))
    assert repr(fold) == repr(torch.nn.Fold((6, 6), 3, padding=1, stride=2))


def test_float32_stays_float32():
    x = ag.tensor(np.ones((1, 2, 4, 4), np.float32), requires_grad=True)
    cols = F.unfold(x, 2)
    assert cols.dtype == np.float32 and F.fold(cols, 4, 2).dtype == np.float32


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: F.unfold(np.ones((4, 4)), 2), ShapeError, "3-D .* or 4-D"),
        (lambda: F.unfold(np.ones((1, 1, 4, 4)), 5), ShapeError, "sliding blocks"),
        (lambda: F.unfold(np.ones((1, 1, 4, 4)), 2, dilation=4), ShapeError, "at least one"),
        (lambda: F.unfold(np.ones((1, 1, 4, 4)), 2, padding=-1), ValueError, "non-negative"),
        (lambda: F.unfold(np.ones((1, 1, 4, 4)), 2, stride=0), ValueError, "positive"),
        (lambda: F.unfold(np.ones((1, 1, 4, 4), np.int64), 2), DTypeError, "int64"),
        (lambda: F.unfold(np.ones((1, 0, 4, 4)), 2), ShapeError, "empty"),
        (lambda: F.fold(np.ones((4,)), 3, 2), ShapeError, "2-D .* or 3-D"),
        (lambda: F.fold(np.ones((1, 4, 5)), (3, 3), 2), ShapeError, r"2 \* 2 = 4, but got 5"),
        (lambda: F.fold(np.ones((1, 5, 4)), (3, 3), 2), ShapeError, "multiple of the product"),
        (lambda: F.fold(np.ones((1, 4, 4)), (1, 1), 2), ShapeError, "at least one"),
        (lambda: F.fold(np.ones((1, 4, 4)), (3, 0), 2), ValueError, "output_size"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_flat_code_writes_unfold_and_fold_out():
    from tests.autograd_core.viz.helpers import assert_flat_code_matches_engine

    rng = np.random.default_rng(7)
    x = ag.Tensor(rng.standard_normal((2, 2, 5, 4)), requires_grad=True, name="x")
    options = dict(kernel_size=(2, 3), dilation=(1, 1), padding=(1, 0), stride=(2, 1))
    cols = F.unfold(x, **options)
    out = (F.fold(cols * cols, (5, 4), **options) * 0.5).sum()
    source = assert_flat_code_matches_engine(out)
    assert "im2col(" in source and "col2im(" in source
