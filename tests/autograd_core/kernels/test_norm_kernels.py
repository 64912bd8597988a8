"""Batch-norm kernels (``kernels.norm``) against a float64 NumPy reference and PyTorch:
forward, batch statistics, running estimates and the three gradients, training and
eval, ranks 3 and 4, odd sizes; which inputs the op hands to them; thread-count
independence; clear errors."""

import numba
import numpy as np
import pytest

import nn
from autograd_core import Tensor
from autograd_core.kernels import norm as K
from autograd_core.ops import normalization as ops_norm

# planes of 7, 35, 3, 1 and 48 values: both the small-plane kernels and the others
SHAPES = [(3, 5, 7), (2, 3, 5, 7), (4, 1, 3, 1), (2, 4, 1), (3, 4, 6, 8)]
EPS = 1e-5


def _tol(dtype):
    return dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-11)


def _reference(x, w, b, g, mean=None, var=None, eps=EPS):
    """Batch norm and its gradients in float64, written out (training if mean is None)."""
    x, g = x.astype(np.float64), g.astype(np.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    training = mean is None
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    r = 1.0 / np.sqrt(np.asarray(var, np.float64) + eps)
    xhat = (x - np.reshape(mean, shape)) * r.reshape(shape)
    wr = np.reshape(1.0 if w is None else w.astype(np.float64), (-1,))
    wr = np.broadcast_to(wr, (x.shape[1],)).reshape(shape)
    y = xhat * wr + (0.0 if b is None else b.astype(np.float64).reshape(shape))
    count = x.size // x.shape[1]
    if training:
        gx = wr * r.reshape(shape) * (g - g.sum(axis=axes, keepdims=True) / count
                                      - xhat * (g * xhat).sum(axis=axes, keepdims=True) / count)
    else:
        gx = g * wr * r.reshape(shape)
    return y, xhat, mean, var, gx, (g * xhat).sum(axis=axes), g.sum(axis=axes)


def _case(rng, shape, dtype, affine=True):
    x = (3.0 + 2.0 * rng.standard_normal(shape)).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    c = shape[1]
    w = (1.0 + 0.3 * rng.standard_normal(c)).astype(dtype) if affine else None
    b = (0.5 * rng.standard_normal(c)).astype(dtype) if affine else None
    return x, g, w, b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_training_matches_float64_reference(rng, shape, dtype, affine):
    x, g, w, b = _case(rng, shape, dtype, affine)
    y, xhat, invstd, mean, var = K.batch_norm_forward(x, w, b, None, None, training=True,
                                                      eps=EPS)
    ry, rxhat, rmean, rvar, rgx, rgw, rgb = _reference(x, w, b, g)
    tol = _tol(dtype)
    for got, want in ((y, ry), (xhat, rxhat), (mean, rmean), (var, rvar),
                      (invstd.ravel(), 1.0 / np.sqrt(rvar + EPS))):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, **tol)
    assert invstd.shape == (1, shape[1]) + (1,) * (len(shape) - 2)
    gx, gw, gb = K.batch_norm_backward(g, xhat, invstd, w, training=True)
    for got, want in ((gx, rgx), (gw, rgw), (gb, rgb)):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, **tol)
    none, gw2, gb2 = K.batch_norm_backward(g, xhat, invstd, w, training=True, need_x=False)
    assert none is None
    np.testing.assert_array_equal(gw2, gw)
    np.testing.assert_array_equal(gb2, gb)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_eval_matches_float64_reference(rng, shape, dtype):
    x, g, w, b = _case(rng, shape, dtype)
    rm = rng.standard_normal(shape[1]).astype(dtype)
    rv = (0.5 + rng.random(shape[1])).astype(dtype)
    y, xhat, invstd, mean, var = K.batch_norm_forward(x, w, b, rm, rv, training=False, eps=EPS)
    assert mean is None and var is None
    ry, rxhat, _, _, rgx, rgw, rgb = _reference(x, w, b, g, rm, rv)
    tol = _tol(dtype)
    np.testing.assert_allclose(y, ry, **tol)
    np.testing.assert_allclose(xhat, rxhat, **tol)
    gx, gw, gb = K.batch_norm_backward(g, xhat, invstd, w, training=False)
    for got, want in ((gx, rgx), (gw, rgw), (gb, rgb)):
        np.testing.assert_allclose(got, want, **tol)
    y2, none, *_ = K.batch_norm_forward(x, w, b, rm, rv, training=False, eps=EPS, save=False)
    assert none is None
    np.testing.assert_array_equal(y2, y)


def test_statistics_are_sound_for_a_large_offset(rng):
    # sum(x^2) - M mu^2 would lose every digit here in float32; two passes keep them
    x = (1e4 + 1e-2 * rng.standard_normal((8, 3, 9, 9))).astype(np.float32)
    _, _, _, mean, var = K.batch_norm_forward(x, None, None, None, None, training=True, eps=EPS)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(var, x64.var(axis=(0, 2, 3)), rtol=1e-4)
    np.testing.assert_allclose(mean, x64.mean(axis=(0, 2, 3)), rtol=1e-7)


@pytest.mark.parametrize("layer, shape", [("BatchNorm2d", (4, 3, 5, 7)),
                                          ("BatchNorm1d", (5, 4, 9))])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layers_match_pytorch(torch_or_skip, rng, layer, shape, dtype):
    torch = torch_or_skip
    ours, theirs = getattr(nn, layer)(shape[1]), getattr(torch.nn, layer)(shape[1])
    if dtype == "float64":
        ours, theirs = ours.double(), theirs.double()
    x, g, w, b = _case(rng, shape, dtype)
    for p, q, v in ((ours.weight, theirs.weight, w), (ours.bias, theirs.bias, b)):
        p._data[...] = v
        with torch.no_grad():
            q.copy_(torch.from_numpy(v))
    tol = _tol(np.dtype(dtype))
    for step in range(2):  # the running estimates move twice, then eval uses them
        xt, xq = Tensor(x + step, requires_grad=True), torch.tensor(x + step, requires_grad=True)
        yt, yq = ours(xt), theirs(xq)
        yt.backward(Tensor(g))
        yq.backward(torch.from_numpy(g))
        np.testing.assert_allclose(yt.numpy(), yq.detach().numpy(), **tol)
        np.testing.assert_allclose(xt.grad.numpy(), xq.grad.numpy(), **tol)
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), **tol)
        np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), **tol)
        np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), **tol)
        np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), **tol)
        ours.weight.grad = ours.bias.grad = None
        theirs.weight.grad = theirs.bias.grad = None
    ours.eval()
    theirs.eval()
    xt, xq = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yt, yq = ours(xt), theirs(xq)
    yt.backward(Tensor(g))
    yq.backward(torch.from_numpy(g))
    np.testing.assert_allclose(yt.numpy(), yq.detach().numpy(), **tol)
    np.testing.assert_allclose(xt.grad.numpy(), xq.grad.numpy(), **tol)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), **tol)


def _count_kernel_calls(monkeypatch):
    calls = []
    for name in ("_batch_norm_forward", "_batch_norm_backward"):
        real = getattr(K, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(K, name, spy)
    return calls


def _run_op(x, w, b, training=True):
    xt, wt, bt = (Tensor(a, requires_grad=True) for a in (x, w, b))
    rm, rv = np.zeros(x.shape[1], x.dtype), np.ones(x.shape[1], x.dtype)
    y = ops_norm.BatchNorm.apply(xt, wt, bt, None if training else rm, None if training else rv,
                                 training=training, eps=EPS)
    y.backward(Tensor(np.cos(np.arange(x.size, dtype=x.dtype)).reshape(x.shape)))
    return y.numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@pytest.mark.parametrize("training", [True, False])
def test_the_op_uses_the_kernels_for_contiguous_input_only(rng, monkeypatch, training):
    x, _, w, b = _case(rng, (4, 3, 6, 5), np.float32)
    calls = _count_kernel_calls(monkeypatch)
    fused = _run_op(x, w, b, training)
    assert calls == ["_batch_norm_forward", "_batch_norm_backward"]
    calls.clear()
    # a transposed view, a rank-2 input and mixed dtypes take the NumPy code
    strided = np.asfortranarray(x)
    assert not K.fusable(strided) and not K.fusable(x[:, :, 0, 0])
    assert not K.fusable(x, w.astype(np.float64))
    numpy_path = _run_op(strided, w, b, training)
    assert "_batch_norm_forward" not in calls  # (its xhat keeps x's layout: NumPy too)
    for a, c in zip(fused, numpy_path):
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-5)
    calls.clear()
    _run_op(x[:, :, 0, 0].copy(), w, b, training)
    assert calls == []


def test_a_tensor_grad_is_never_taken(rng):
    x, g, w, _ = _case(rng, (2, 3, 4, 4), np.float32)
    _, xhat, invstd, _, _ = K.batch_norm_forward(x, w, None, None, None, training=True, eps=EPS)
    assert K.fusable_grad(g, xhat, invstd, w.reshape(invstd.shape))
    assert not K.fusable_grad(Tensor(g), xhat, invstd, w)
    assert not K.fusable_grad(g.astype(np.float64), xhat, invstd, w)
    assert not K.fusable_grad(g, xhat, invstd, w.astype(np.float64))


@pytest.mark.parametrize("shape", [(8, 12, 24, 32), (64, 32, 4, 4)])
def test_bit_identical_for_any_thread_count(rng, shape):
    # large enough (> _threads.SMALL_WORK) that two threads split the channels; the
    # second has small planes (the span kernels)
    x, g, w, b = _case(rng, shape, np.float32)
    before = numba.get_num_threads()
    results = []
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            y, xhat, invstd, mean, var = K.batch_norm_forward(x, w, b, None, None,
                                                              training=True, eps=EPS)
            grads = K.batch_norm_backward(g, xhat, invstd, w, training=True)
            ye, he, *_ = K.batch_norm_forward(x, w, b, mean, var, training=False, eps=EPS)
            eval_grads = K.batch_norm_backward(g, he, invstd, w, training=False)
            results.append([y, xhat, invstd, mean, var, *grads, ye, *eval_grads])
    finally:
        numba.set_num_threads(before)
    for a, c in zip(*results):
        assert a.tobytes() == c.tobytes()


def test_bad_input_is_a_clear_error(rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    with pytest.raises(TypeError, match="C-contiguous float32/float64 array of rank 3 or 4"):
        K.batch_norm_forward(x.astype(np.int32), None, None, None, None, training=True, eps=EPS)
    with pytest.raises(TypeError, match="rank 3 or 4"):
        K.batch_norm_forward(x, np.ones(4, np.float32), None, None, None, training=True,
                             eps=EPS)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        K.batch_norm_forward(x[:1, :, :1].copy(), None, None, None, None, training=True,
                             eps=EPS)
    _, xhat, invstd, _, _ = K.batch_norm_forward(x, None, None, None, None, training=True,
                                                 eps=EPS)
    with pytest.raises(TypeError, match="grad and xhat of one shape"):
        K.batch_norm_backward(x[:1], xhat, invstd, None, training=True)
