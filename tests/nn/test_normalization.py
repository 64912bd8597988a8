"""BatchNorm1d/2d, LayerNorm, InstanceNorm2d: gradients, PyTorch parity, running stats."""

import numpy as np
import pytest

import nn
import nn.functional as F
from autograd_core import Tensor, gradcheck, no_grad
from tests.reference.nn_torch import assert_close, to_torch


def _randomise_affine(ours, rng):
    for p in ours.parameters():
        p.numpy()[...] = rng.uniform(0.5, 1.5, p.shape)


def _torch_twin(torch, ours, theirs):
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    return theirs


def _check_step(torch, ours, theirs, x, rng, atol):
    xo = Tensor(x, requires_grad=True)
    xt = to_torch(torch, x, requires_grad=True)
    out, out_t = ours(xo), theirs(xt)
    diff = assert_close(out, out_t, atol=atol, rtol=atol, what="forward")
    g = rng.standard_normal(out.shape).astype(x.dtype)
    out.backward(g)
    out_t.backward(torch.from_numpy(g))
    diff = max(diff, assert_close(xo.grad, xt.grad, atol=atol, rtol=atol, what="grad x"))
    for (name, p), pt in zip(ours.named_parameters(), theirs.parameters()):
        diff = max(diff, assert_close(p.grad, pt.grad, atol=atol * 10, rtol=atol, what=name))
    return diff


BATCH_NORMS = [
    ("BatchNorm1d", (8, 3)),
    ("BatchNorm1d", (6, 3, 5)),
    ("BatchNorm2d", (4, 3, 5, 5)),
]


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("name,shape", BATCH_NORMS)
def test_batch_norm_gradcheck(name, shape, affine, rng):
    for training in (True, False):
        bn = getattr(nn, name)(shape[1], affine=affine).double()
        _randomise_affine(bn, rng)
        bn.running_mean.numpy()[...] = rng.standard_normal(shape[1])
        bn.running_var.numpy()[...] = rng.uniform(0.5, 2, shape[1])
        bn.train(training)
        x = Tensor(rng.standard_normal(shape), requires_grad=True)
        before = bn.running_mean.numpy().copy()
        assert gradcheck(lambda x, *ps, bn=bn: bn(x), (x, *bn.parameters()))
        if not training:
            np.testing.assert_array_equal(bn.running_mean.numpy(), before)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("dtype,atol", [(np.float64, 1e-10), (np.float32, 2e-5)])
@pytest.mark.parametrize("name,shape", BATCH_NORMS)
def test_batch_norm_matches_pytorch_over_steps(name, shape, dtype, atol, momentum, rng,
                                               torch_or_skip):
    torch = torch_or_skip
    ours = getattr(nn, name)(shape[1], momentum=momentum).to(dtype)
    _randomise_affine(ours, rng)
    theirs = _torch_twin(torch, ours, getattr(torch.nn, name)(shape[1], momentum=momentum)
                         .to(getattr(torch, np.dtype(dtype).name)))
    for _ in range(4):
        x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
        _check_step(torch, ours, theirs, x, rng, atol)
    for key, value in theirs.state_dict().items():  # running stats after several steps
        assert_close(ours.state_dict()[key], value, atol=atol, rtol=atol, what=key)
    assert ours.num_batches_tracked.item() == 4
    ours.eval()
    theirs.eval()
    _check_step(torch, ours, theirs, rng.standard_normal(shape).astype(dtype), rng, atol)
    assert ours.num_batches_tracked.item() == 4


def test_running_stats_by_hand(rng):
    bn = nn.BatchNorm1d(2, momentum=0.3)
    xs = [rng.standard_normal((5, 2)).astype(np.float32) for _ in range(3)]
    mean, var = np.zeros(2), np.ones(2)
    for x in xs:
        bn(Tensor(x))
        mean = 0.7 * mean + 0.3 * x.mean(axis=0)
        var = 0.7 * var + 0.3 * x.var(axis=0, ddof=1)  # unbiased for the running estimate
    np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=1e-5)
    # updates happen under no_grad too (no node: the op's forward keeps its statistics)
    with no_grad():
        bn(Tensor(xs[0]))
    assert bn.num_batches_tracked.item() == 4
    mean = 0.7 * mean + 0.3 * xs[0].mean(axis=0)
    np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-5)


def _norm_layer(kind, shape):
    if kind == "instance":  # tracking running estimates, affine
        return nn.InstanceNorm2d(shape[1], affine=True, track_running_stats=True)
    return nn.BatchNorm2d(shape[1]) if len(shape) == 4 else nn.BatchNorm1d(shape[1])


@pytest.mark.parametrize("kind, shape", [("batch", (8, 4, 6, 6)), ("batch", (4, 16, 40, 40)),
                                         ("batch", (6, 3)), ("instance", (5, 4, 7, 6))])
def test_training_mode_without_a_graph_matches_the_graph_path(rng, kind, shape):
    # inputs that do not require grad, and no_grad: no node is recorded, and the
    # running estimates and the output must be those of a recorded call, to the bit
    x = rng.standard_normal(shape).astype(np.float32) * 3 + 1
    recorded, unrecorded, under_no_grad = (_norm_layer(kind, shape) for _ in range(3))
    y_graph = recorded(Tensor(x, requires_grad=True))
    assert y_graph.grad_fn is not None
    for bn in (unrecorded, under_no_grad):
        for p in bn.parameters():
            p.requires_grad_(bn is under_no_grad)  # parameters that need grad, too
    y_plain = unrecorded(Tensor(x))
    with no_grad():
        y_off = under_no_grad(Tensor(x, requires_grad=True))
    for y, bn in ((y_plain, unrecorded), (y_off, under_no_grad)):
        assert y.grad_fn is None and not y.requires_grad
        assert np.array_equal(y.numpy(), y_graph.detach().numpy())
        assert np.array_equal(bn.running_mean.numpy(), recorded.running_mean.numpy())
        assert np.array_equal(bn.running_var.numpy(), recorded.running_var.numpy())


def test_batch_norm_without_running_stats(rng, torch_or_skip):
    torch = torch_or_skip
    ours = nn.BatchNorm2d(3, track_running_stats=False).double()
    theirs = torch.nn.BatchNorm2d(3, track_running_stats=False).double()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "bias"]
    for mode in (True, False):
        ours.train(mode)
        theirs.train(mode)
        _check_step(torch, ours, theirs, rng.standard_normal((2, 3, 4, 4)), rng, 1e-10)


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(Tensor(np.zeros((1, 3), dtype=np.float32)))
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(Tensor(np.zeros((2, 3), dtype=np.float32)))
    with pytest.raises(ValueError, match="expected 3 channels"):
        nn.BatchNorm2d(3)(Tensor(np.zeros((2, 4, 2, 2), dtype=np.float32)))
    bn = nn.BatchNorm1d(3).eval()
    assert bn(Tensor(np.zeros((1, 3), dtype=np.float32))).shape == (1, 3)  # fine in eval


def test_batch_norm_is_one_node():
    bn = nn.BatchNorm2d(2)
    x = Tensor(np.random.default_rng(0).standard_normal((2, 2, 3, 3)).astype(np.float32),
               requires_grad=True)
    out = bn(x)
    assert out.grad_fn.op_name == "BatchNorm"
    assert set(map(id, out.grad_fn.parents())) == {id(x), id(bn.weight), id(bn.bias)}


def test_functional_batch_norm_updates_given_buffers(rng, torch_or_skip):
    torch = torch_or_skip
    x = rng.standard_normal((6, 3))
    rm, rv = Tensor(np.zeros(3)), Tensor(np.ones(3))
    rmt, rvt = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    out = F.batch_norm(Tensor(x), rm, rv, training=True, momentum=0.2)
    out_t = torch.nn.functional.batch_norm(torch.from_numpy(x), rmt, rvt, training=True,
                                           momentum=0.2)
    assert_close(out, out_t, atol=1e-12)
    assert_close(rm, rmt, atol=1e-12)
    assert_close(rv, rvt, atol=1e-12)


# ----------------------------------------------------------------- layer norm
@pytest.mark.parametrize("shape,normalized", [((4, 6), 6), ((2, 3, 4), (3, 4)),
                                              ((2, 3, 5), (5,))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm(shape, normalized, affine, rng, torch_or_skip):
    torch = torch_or_skip
    ours = nn.LayerNorm(normalized, elementwise_affine=affine).double()
    _randomise_affine(ours, rng)
    x = Tensor(rng.standard_normal(shape) * 2 + 1, requires_grad=True)
    assert gradcheck(lambda x, *ps: ours(x), (x, *ours.parameters()))
    theirs = _torch_twin(torch, ours, torch.nn.LayerNorm(normalized, elementwise_affine=affine)
                         .double())
    _check_step(torch, ours, theirs, x.numpy(), rng, 1e-10)


def test_layer_norm_float32_and_errors(rng, torch_or_skip):
    torch = torch_or_skip
    ours = nn.LayerNorm(8)
    theirs = torch.nn.LayerNorm(8)
    _check_step(torch, ours, theirs, rng.standard_normal((16, 8)).astype(np.float32), rng, 2e-5)
    with pytest.raises(ValueError, match=r"trailing shape is \(8,\), got input of shape"):
        ours(Tensor(np.zeros((2, 7), dtype=np.float32)))
    assert list(nn.LayerNorm(3, bias=False).state_dict()) == ["weight"]


# ----------------------------------------------------------------- instance norm
@pytest.mark.parametrize("affine,track", [(False, False), (True, False), (True, True)])
def test_instance_norm(affine, track, rng, torch_or_skip):
    torch = torch_or_skip
    ours = nn.InstanceNorm2d(3, affine=affine, track_running_stats=track).double()
    _randomise_affine(ours, rng)
    theirs = _torch_twin(torch, ours, torch.nn.InstanceNorm2d(
        3, affine=affine, track_running_stats=track).double())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for _ in range(3):
        _check_step(torch, ours, theirs, rng.standard_normal((2, 3, 4, 5)) * 2, rng, 1e-10)
    for key, value in theirs.state_dict().items():
        assert_close(ours.state_dict()[key], value, atol=1e-10, what=key)
    ours.eval()
    theirs.eval()
    _check_step(torch, ours, theirs, rng.standard_normal((2, 3, 4, 5)), rng, 1e-10)
    # unbatched (C, H, W)
    _check_step(torch, ours, theirs, rng.standard_normal((3, 4, 5)), rng, 1e-10)
    x = Tensor(rng.standard_normal((2, 3, 3, 3)), requires_grad=True)
    ours.train()
    assert gradcheck(lambda x, *ps: ours(x), (x, *ours.parameters()))


@pytest.mark.parametrize("eps", [-1, -1e-5, float("nan"), float("inf")])
@pytest.mark.parametrize("layer", [lambda eps: nn.BatchNorm2d(3, eps=eps),
                                   lambda eps: nn.BatchNorm1d(3, eps=eps),
                                   lambda eps: nn.InstanceNorm2d(3, eps=eps),
                                   lambda eps: nn.LayerNorm(3, eps=eps)])
def test_a_negative_or_non_finite_eps_is_refused_by_the_layers(layer, eps):
    with pytest.raises(ValueError, match="eps must be a finite non-negative number"):
        layer(eps)


def test_functional_batch_norm_refuses_bad_eps_as_pytorch_does(rng, torch_or_skip):
    torch = torch_or_skip
    x = rng.standard_normal((2, 3, 2, 2)).astype(np.float32)
    with pytest.raises(ValueError, match="eps must be positive during training"):
        torch.nn.functional.batch_norm(torch.from_numpy(x), None, None, training=True, eps=-1)
    with pytest.raises(ValueError, match="eps must be a finite positive number during training"):
        F.batch_norm(Tensor(x), None, None, training=True, eps=-1)
    with pytest.raises(ValueError, match="positive number during training"):
        F.batch_norm(Tensor(x), None, None, training=True, eps=0)
    with pytest.raises(ValueError, match="non-negative"):
        F.batch_norm(Tensor(x), np.zeros(3), np.ones(3), training=False, eps=-1)
    with pytest.raises(ValueError, match="non-negative"):
        F.layer_norm(Tensor(x), (2,), eps=-1)


# ----------------------------------------------------------------------- GroupNorm
@pytest.mark.parametrize("groups,shape", [(1, (3, 4, 5)), (2, (2, 4, 3, 3)), (4, (2, 4)),
                                          (3, (2, 6, 5, 2, 2))])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_matches_torch(torch_or_skip, rng, groups, shape, affine):
    torch = torch_or_skip
    ours = nn.GroupNorm(groups, shape[1], affine=affine).double()
    if affine:
        _randomise_affine(ours, rng)
    theirs = _torch_twin(torch, ours, torch.nn.GroupNorm(groups, shape[1],
                                                         affine=affine).double())
    x = rng.standard_normal(shape)
    _check_step(torch, ours, theirs, x, rng, atol=1e-10)
    assert gradcheck(lambda x, *ps: ours(x), (Tensor(x, requires_grad=True),
                                              *ours.parameters()))
    assert repr(ours) == repr(theirs)


def test_group_norm_bad_groups():
    with pytest.raises(ValueError, match="divisible by num_groups"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="divisible by num_groups"):
        F.group_norm(Tensor(np.ones((2, 4, 3))), 3)


@pytest.mark.parametrize("normalized_shape", [(5,), (4, 5), (3, 4, 5)])
def test_layer_norm_over_several_trailing_dims(torch_or_skip, rng, normalized_shape):
    torch = torch_or_skip
    ours = nn.LayerNorm(normalized_shape).double()
    _randomise_affine(ours, rng)
    theirs = _torch_twin(torch, ours, torch.nn.LayerNorm(normalized_shape).double())
    _check_step(torch, ours, theirs, rng.standard_normal((2, 3, 4, 5)), rng, atol=1e-10)


def test_layer_norm_backward_of_an_empty_batch():
    layer = nn.LayerNorm(8)
    x = Tensor(np.zeros((0, 8), np.float32), requires_grad=True)
    layer(x).sum().backward()
    assert tuple(x.grad.shape) == (0, 8)
    assert (layer.weight.grad.numpy() == 0).all() and (layer.bias.grad.numpy() == 0).all()
    x = Tensor(np.zeros((0, 3, 4)), requires_grad=True)
    F.layer_norm(x, (3, 4)).backward(Tensor(np.zeros((0, 3, 4))))
    assert tuple(x.grad.shape) == (0, 3, 4)
