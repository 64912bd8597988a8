"""Linear, Dropout, Dropout2d, DropConnect: maths, PyTorch parity, mask statistics."""

import numpy as np
import pytest

import nn
import nn.functional as F
from autograd_core import Tensor, gradcheck, manual_seed, ones, randn
from tests.reference.nn_torch import assert_close, to_torch


def test_linear_gradcheck_and_pytorch(rng, torch_or_skip):
    torch = torch_or_skip
    layer = nn.Linear(4, 3).double()
    x = Tensor(rng.standard_normal((5, 4)), requires_grad=True)
    assert gradcheck(lambda x, w, b: layer(x), (x, layer.weight, layer.bias))
    theirs = torch.nn.Linear(4, 3).double()
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in layer.state_dict().items()})
    xt = to_torch(torch, x, requires_grad=True)
    out, out_t = layer(x), theirs(xt)
    assert_close(out, out_t, atol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    out_t.backward(torch.from_numpy(g))
    assert_close(x.grad, xt.grad, atol=1e-12)
    assert_close(layer.weight.grad, theirs.weight.grad, atol=1e-12)
    assert_close(layer.bias.grad, theirs.bias.grad, atol=1e-12)
    # batched leading dims, no bias
    layer = nn.Linear(4, 2, bias=False)
    assert layer(randn(2, 3, 4)).shape == (2, 3, 2)
    assert layer.bias is None and list(layer.state_dict()) == ["weight"]


def test_linear_is_one_node_and_names_wrong_sizes():
    layer = nn.Linear(4, 3)
    out = layer(randn(2, 4))
    assert out.grad_fn.op_name == "Linear"
    with pytest.raises(ValueError, match=r"in_features=4, got input of shape \(2, 5\)"):
        layer(randn(2, 5))
    with pytest.raises(ValueError, match="in_features must be a positive integer"):
        nn.Linear(0, 2)
    with pytest.raises(ValueError, match="in_features=3"):
        F.linear(randn(2, 4), randn(5, 3))


def test_dropout_mask_statistics_and_scaling():
    manual_seed(0)
    p = 0.3
    layer = nn.Dropout(p)
    x = ones(200, 500)
    y = layer(x).numpy()
    kept = y != 0
    assert abs(kept.mean() - (1 - p)) < 0.005  # 100k draws: sd ~ 0.0015
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.01  # inverted dropout keeps the expectation
    # masks differ between calls and rows (no accidental reuse)
    y2 = layer(x).numpy()
    assert (kept != (y2 != 0)).mean() > 0.3


def test_dropout_gradient_uses_the_same_mask():
    manual_seed(1)
    x = Tensor(np.arange(1.0, 21.0), requires_grad=True)
    y = F.dropout(x, 0.5, training=True)
    assert y.grad_fn.op_name == "Dropout"
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (y.numpy() != 0) * 2.0)


def test_dropout_eval_identity_and_edge_probabilities():
    x = randn(4, 5)
    layer = nn.Dropout(0.5).eval()
    assert layer(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert not F.dropout(x, 1.0).numpy().any()
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, -0.1)


def test_dropout_is_seeded():
    manual_seed(5)
    a = F.dropout(ones(10, 10), 0.5).numpy()
    manual_seed(5)
    b = F.dropout(ones(10, 10), 0.5).numpy()
    np.testing.assert_array_equal(a, b)


def test_dropout2d_drops_whole_channels():
    manual_seed(2)
    y = nn.Dropout2d(0.5)(ones(8, 16, 3, 3)).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert ((per_channel == 0).all(axis=2) | (per_channel == 2).all(axis=2)).all()
    assert 0.3 < (per_channel[..., 0] == 0).mean() < 0.7


def test_drop_connect():
    manual_seed(3)
    layer = nn.DropConnect(20, 30, p=0.4)
    assert list(layer.state_dict()) == ["weight", "bias"]
    x = Tensor(np.eye(20, dtype=np.float32))  # row i of the output reads column i of W
    out = layer(x)
    assert "DropConnect" in {out.grad_fn.op_name} | {
        p.grad_fn.op_name for p in out.grad_fn.parents()
        if p.grad_fn is not None}
    effective = (out.numpy() - layer.bias.numpy()).T  # = W * M, shape (30, 20)
    w = layer.weight.numpy()
    dropped = np.isclose(effective, 0, atol=1e-7) & ~np.isclose(w, 0, atol=1e-7)
    assert abs(dropped.mean() - 0.4) < 0.06
    np.testing.assert_allclose(effective[~dropped], w[~dropped] / 0.6, atol=1e-7)
    # the mask is shared by the batch: a gradient check through one mask
    out.sum().backward()
    assert layer.weight.grad.shape == (30, 20)
    np.testing.assert_allclose(layer.weight.grad.numpy()[dropped], 0)
    # eval uses every weight, unscaled
    layer.eval()
    np.testing.assert_allclose((layer(x).numpy() - layer.bias.numpy()).T, w, atol=1e-7)
    assert repr(layer) == "DropConnect(in_features=20, out_features=30, bias=True, p=0.4)"


def test_drop_connect_gradcheck_with_fixed_mask():
    layer = nn.DropConnect(3, 2, p=0.5).double()
    x = Tensor(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)

    def fn(x, w, b):
        manual_seed(11)  # the same mask at every evaluation
        return layer(x)

    assert gradcheck(fn, (x, layer.weight, layer.bias))


def test_linear_on_a_list_gives_float32_and_refuses_object_arrays():
    layer = nn.Linear(5, 2)
    out = layer([[1.0] * 5])
    assert out.dtype == np.float32 and out.shape == (1, 2)
    with pytest.raises(TypeError, match="input has dtype object"):
        layer(np.array([[1.0] * 5], dtype=object))
    with pytest.raises(TypeError, match="input has dtype object"):
        F.linear(np.array([[1.0] * 5], dtype=object), layer.weight, layer.bias)


# ----------------------------------------------------------------------- Bilinear
@pytest.mark.parametrize("lead", [(4,), (2, 3), ()])
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_matches_torch(torch_or_skip, rng, lead, bias):
    from tests.reference.nn_torch import assert_close

    torch = torch_or_skip
    ours = nn.Bilinear(3, 5, 2, bias=bias).double()
    theirs = torch.nn.Bilinear(3, 5, 2, bias=bias).double()
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    a, b = rng.standard_normal(lead + (3,)), rng.standard_normal(lead + (5,))
    ao, bo = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    at, bt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, out_t = ours(ao, bo), theirs(at, bt)
    assert_close(out, out_t, atol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(Tensor(g))
    out_t.backward(torch.from_numpy(g))
    for x, xt in ((ao, at), (bo, bt), (ours.weight, theirs.weight)):
        assert_close(x.grad, xt.grad, atol=1e-12)
    assert repr(ours) == repr(theirs)
