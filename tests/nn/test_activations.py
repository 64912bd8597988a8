"""Activation layers: forward and gradients against finite differences and PyTorch."""

import numpy as np
import pytest

import nn
import nn.functional as F
from autograd_core import Tensor, gradcheck
from tests.reference.nn_torch import assert_close, to_torch


def _input(rng, shape=(3, 4), dtype=np.float64, avoid_kinks=True):
    x = rng.standard_normal(shape) * 2
    if avoid_kinks:  # finite differences straddling a kink are meaningless
        x = np.where(np.abs(x) < 0.05, 0.3, x)
    return Tensor(x.astype(dtype), requires_grad=True)


# (our layer factory, torch layer factory)
ACTIVATIONS = {
    "ReLU": (lambda: nn.ReLU(), lambda t: t.nn.ReLU()),
    "ReLU6": (lambda: nn.ReLU6(), lambda t: t.nn.ReLU6()),
    "LeakyReLU": (lambda: nn.LeakyReLU(), lambda t: t.nn.LeakyReLU()),
    "LeakyReLU0.2": (lambda: nn.LeakyReLU(0.2), lambda t: t.nn.LeakyReLU(0.2)),
    "ELU": (lambda: nn.ELU(), lambda t: t.nn.ELU()),
    "ELU0.5": (lambda: nn.ELU(alpha=0.5), lambda t: t.nn.ELU(alpha=0.5)),
    "SELU": (lambda: nn.SELU(), lambda t: t.nn.SELU()),
    "Sigmoid": (lambda: nn.Sigmoid(), lambda t: t.nn.Sigmoid()),
    "Tanh": (lambda: nn.Tanh(), lambda t: t.nn.Tanh()),
    "Softplus": (lambda: nn.Softplus(), lambda t: t.nn.Softplus()),
    "Softplus_beta2": (lambda: nn.Softplus(beta=2.0, threshold=3.0),
                       lambda t: t.nn.Softplus(beta=2.0, threshold=3.0)),
    "SiLU": (lambda: nn.SiLU(), lambda t: t.nn.SiLU()),
    "Hardtanh": (lambda: nn.Hardtanh(), lambda t: t.nn.Hardtanh()),
    "LogSigmoid": (lambda: nn.LogSigmoid(), lambda t: t.nn.LogSigmoid()),
    "Softmax": (lambda: nn.Softmax(dim=1), lambda t: t.nn.Softmax(dim=1)),
    "Softmax0": (lambda: nn.Softmax(dim=0), lambda t: t.nn.Softmax(dim=0)),
    "LogSoftmax": (lambda: nn.LogSoftmax(dim=1), lambda t: t.nn.LogSoftmax(dim=1)),
    "LogSoftmax-1": (lambda: nn.LogSoftmax(dim=-1), lambda t: t.nn.LogSoftmax(dim=-1)),
    "GELU": (lambda: nn.GELU(), lambda t: t.nn.GELU()),
    "GELU_tanh": (lambda: nn.GELU("tanh"), lambda t: t.nn.GELU("tanh")),
    "Mish": (lambda: nn.Mish(), lambda t: t.nn.Mish()),
    "Hardswish": (lambda: nn.Hardswish(), lambda t: t.nn.Hardswish()),
    "Hardsigmoid": (lambda: nn.Hardsigmoid(), lambda t: t.nn.Hardsigmoid()),
    "Softsign": (lambda: nn.Softsign(), lambda t: t.nn.Softsign()),
    "CELU": (lambda: nn.CELU(), lambda t: t.nn.CELU()),
    "CELU0.5": (lambda: nn.CELU(0.5), lambda t: t.nn.CELU(0.5)),
    "Softmin": (lambda: nn.Softmin(dim=1), lambda t: t.nn.Softmin(dim=1)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_gradcheck(name, rng):
    layer = ACTIVATIONS[name][0]()
    x = _input(rng)
    assert gradcheck(layer, (x,))


@pytest.mark.parametrize("dtype,atol", [(np.float32, 2e-6), (np.float64, 1e-12)])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_matches_pytorch(name, dtype, atol, rng, torch_or_skip):
    torch = torch_or_skip
    ours_factory, theirs_factory = ACTIVATIONS[name]
    # include the kink at 0 and huge values: both libraries must agree there too
    data = np.concatenate([rng.standard_normal(14) * 3, [0.0, -0.0, 40.0, -40.0, 1e3, -1e3]])
    x = Tensor(data.reshape(4, 5).astype(dtype), requires_grad=True)
    xt = to_torch(torch, x, requires_grad=True)
    out = ours_factory()(x)
    out_t = theirs_factory(torch)(xt)
    assert out.dtype == dtype
    assert_close(out, out_t, atol=atol, rtol=atol)
    g = rng.standard_normal(out.shape).astype(dtype)
    out.backward(g)
    out_t.backward(torch.from_numpy(g))
    assert_close(x.grad, xt.grad, atol=atol, rtol=atol)


@pytest.mark.parametrize("num_parameters", [1, 3])
def test_prelu(num_parameters, rng, torch_or_skip):
    torch = torch_or_skip
    layer = nn.PReLU(num_parameters).double()
    layer.weight.numpy()[...] = rng.uniform(0.1, 0.5, num_parameters)
    x = _input(rng, (2, 3, 4, 5))
    assert gradcheck(lambda x, w: layer(x), (x, layer.weight))

    theirs = torch.nn.PReLU(num_parameters).double()
    theirs.load_state_dict({"weight": torch.from_numpy(layer.weight.numpy().copy())})
    xt = to_torch(torch, x, requires_grad=True)
    out, out_t = layer(x), theirs(xt)
    assert_close(out, out_t, atol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    out_t.backward(torch.from_numpy(g))
    assert_close(x.grad, xt.grad, atol=1e-12)
    assert_close(layer.weight.grad, theirs.weight.grad, atol=1e-10)


def test_prelu_wrong_channel_count():
    with pytest.raises(ValueError, match="3 elements but the input .* has 4 channels"):
        nn.PReLU(3)(Tensor(np.zeros((2, 4, 5), dtype=np.float32)))


def test_defaults_are_pytorch_defaults():
    assert nn.LeakyReLU().negative_slope == 0.01
    assert nn.ELU().alpha == 1.0
    assert nn.Softplus().beta == 1.0 and nn.Softplus().threshold == 20.0
    assert nn.PReLU().weight.tolist() == [0.25]


def test_softmax_is_stable_and_sums_to_one():
    x = Tensor([[1000.0, 0.0, -1000.0], [-1e4, -1e4, -1e4]])
    p = F.softmax(x, dim=1).numpy()
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    logp = F.log_softmax(x, dim=1).numpy()
    assert np.isfinite(logp).all() and logp[0, 2] == pytest.approx(-2000.0)


def test_softmax_implicit_dim_warns():
    with pytest.warns(UserWarning, match="implicit dimension"):
        out = nn.Softmax()(Tensor(np.zeros((2, 3), dtype=np.float32)))
    np.testing.assert_allclose(out.numpy().sum(axis=1), 1.0)


def test_activation_graph_nodes_are_named():
    x = Tensor([1.0, -1.0], requires_grad=True)
    assert F.leaky_relu(x).grad_fn.op_name == "LeakyRelu"
    assert F.elu(x).grad_fn.op_name == "Elu"
    assert F.selu(x).grad_fn.op_name == "Selu"
    assert F.softplus(x).grad_fn.op_name == "Softplus"


def test_maxout_is_max_of_affine_pieces(rng, torch_or_skip):
    torch = torch_or_skip
    layer = nn.Maxout(4, 3, pieces=2).double()
    x = _input(rng, (5, 4))
    assert gradcheck(lambda x, w, b: layer(x), (x, layer.weight, layer.bias))
    w = layer.weight.numpy().reshape(3, 2, 4)
    b = layer.bias.numpy().reshape(3, 2)
    expected = np.max(np.einsum("opi,ni->nop", w, x.numpy()) + b, axis=-1)
    np.testing.assert_allclose(layer(x).numpy(), expected, atol=1e-12)
    # the same thing in PyTorch: a Linear to out*pieces units and a max over pieces
    lin = torch.nn.Linear(4, 6).double()
    lin.load_state_dict({"weight": torch.from_numpy(layer.weight.numpy().copy()),
                         "bias": torch.from_numpy(layer.bias.numpy().copy())})
    xt = to_torch(torch, x, requires_grad=True)
    out_t = lin(xt).reshape(5, 3, 2).max(dim=-1).values
    out = layer(x)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    out_t.backward(torch.from_numpy(g))
    assert_close(x.grad, xt.grad, atol=1e-12)
    assert_close(layer.weight.grad, lin.weight.grad, atol=1e-12)
    assert repr(layer) == "Maxout(in_features=4, out_features=3, pieces=2, bias=True)"
    with pytest.raises(ValueError, match="pieces must be a positive integer"):
        nn.Maxout(2, 2, 0)


@pytest.mark.parametrize("fn,negative_slope", [
    (lambda x: F.leaky_relu(x, 0.01), 0.01), (lambda x: F.leaky_relu(x, 1.7), 1.7),
    (lambda x: F.leaky_relu(x, -0.3), -0.3),
    (lambda x: F.prelu(x, Tensor(np.array([0.013], dtype=x.dtype))), 0.013),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_piecewise_slopes_are_exact(fn, negative_slope, dtype):
    # the ops blend with a 0/1 mask instead of np.where (speed); slopes stay exact
    x = Tensor(np.array([-3.0, -0.5, 0.0, 0.25, 7.0], dtype=dtype), requires_grad=True)
    fn(x).sum().backward()
    slope = dtype(negative_slope)
    np.testing.assert_array_equal(x.grad.numpy(), np.array([slope, slope, slope, 1, 1], dtype))
    y = Tensor(np.array([-2.0, 3.0], dtype=dtype), requires_grad=True)
    F.elu(y, alpha=0.3).sum().backward()
    assert y.grad.numpy()[1] == 1.0


@pytest.mark.parametrize("name", ["softplus", "selu", "silu", "logsigmoid", "elu"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_integer_inputs_promote_to_float32_not_truncated_integers(name, dtype):
    fn = getattr(F, name)
    values = np.array([0, 1, 2], dtype=dtype) if dtype in (np.uint8, np.bool_) \
        else np.array([-1, 0, 2], dtype=dtype)
    out = fn(Tensor(values))
    expected = fn(Tensor(values.astype(np.float32)))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)
    assert fn([-1, 2]).dtype == np.float32  # a list of ints becomes int64, then float32


def test_hard_activations_at_their_kinks(torch_or_skip):
    torch = torch_or_skip
    data = np.array([-3.0, 3.0, -3.5, 3.5, 0.0, -1.0, 2.0])
    for ours, theirs in ((nn.Hardswish(), torch.nn.Hardswish()),
                         (nn.Hardsigmoid(), torch.nn.Hardsigmoid())):
        x = Tensor(data, requires_grad=True)
        xt = torch.tensor(data, requires_grad=True)
        ours(x).sum().backward()
        theirs(xt).sum().backward()
        assert_close(x.grad, xt.grad, atol=1e-15)


def test_glu_needs_an_even_dim():
    from autograd_core.errors import ShapeError

    with pytest.raises(ShapeError, match="Halving dimension must be even, but dimension 1 is "
                                         "size 5"):
        F.glu(Tensor(np.ones((2, 5))), dim=1)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_glu_matches_pytorch(dim, rng, torch_or_skip):
    torch = torch_or_skip
    x = Tensor(rng.standard_normal((4, 6, 2)), requires_grad=True)
    xt = to_torch(torch, x, requires_grad=True)
    out, out_t = nn.GLU(dim)(x), torch.nn.GLU(dim)(xt)
    assert_close(out, out_t, atol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(Tensor(g))
    out_t.backward(torch.from_numpy(g))
    assert_close(x.grad, xt.grad, atol=1e-12)
    assert gradcheck(lambda x: F.glu(x, dim), (Tensor(rng.standard_normal((4, 6, 2)),
                                                      requires_grad=True),))


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_of_an_integer_input_with_a_dtype_and_over_an_empty_dim(torch_or_skip, fn):
    torch = torch_or_skip
    ours, theirs = getattr(F, fn), getattr(torch.nn.functional, fn)
    # dtype= converts first, so an integer input is fine (PyTorch's order)
    out = ours(Tensor(np.array([1, 2, 3])), 0, dtype=np.float64)
    assert out.dtype == np.float64
    assert_close(out, theirs(torch.tensor([1, 2, 3]), 0, dtype=torch.float64), atol=1e-12)
    # over an empty dim: an empty result, not a reduction error
    x = Tensor(np.zeros((3, 0), np.float32), requires_grad=True)
    y = ours(x, -1)
    assert tuple(y.shape) == (3, 0)
    y.sum().backward()
    assert tuple(x.grad.shape) == (3, 0)
