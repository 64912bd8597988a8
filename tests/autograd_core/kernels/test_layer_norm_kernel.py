"""The layer-norm kernels against the formula in float64, the op on them against the
op's NumPy code, the same bits for any thread count, and clear errors."""

import numba
import numpy as np
import pytest

from autograd_core import Tensor
from autograd_core.kernels import layer_norm as K
from autograd_core.ops import normalization


def _reference(x, w, b, g, eps):
    x, g = x.astype(np.float64), g.astype(np.float64)
    mu = x.mean(-1, keepdims=True)
    r = 1 / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps)
    h = (x - mu) * r
    w = np.ones(x.shape[-1]) if w is None else w.astype(np.float64)
    b = np.zeros(x.shape[-1]) if b is None else b.astype(np.float64)
    d = g * w
    gx = r * (d - d.mean(-1, keepdims=True) - h * (d * h).mean(-1, keepdims=True))
    return h * w + b, h, r, gx


@pytest.mark.parametrize("dtype, tol", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("shape", [(7,), (5, 1), (3, 4, 64), (2049, 33)])
@pytest.mark.parametrize("affine", [False, True])
def test_forward_and_backward_match_the_formula(dtype, tol, shape, affine):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(shape[-1]).astype(dtype) if affine else None
    b = rng.standard_normal(shape[-1]).astype(dtype) if affine else None
    y, h, r, gx = _reference(x, w, b, g, 1e-5)
    got_y, got_h, got_r = K.layer_norm_forward(x, w, b, 1e-5)
    assert got_y.dtype == got_h.dtype == got_r.dtype == dtype
    assert got_r.shape == shape[:-1] + (1,)
    np.testing.assert_allclose(got_y, y, rtol=tol, atol=tol)
    np.testing.assert_allclose(got_h, h, rtol=tol, atol=tol)
    np.testing.assert_allclose(got_r, r, rtol=tol)
    got_gx = K.layer_norm_backward(g, got_h, got_r, w)
    np.testing.assert_allclose(got_gx, gx, rtol=tol, atol=tol * 10)


def test_the_same_bits_with_one_and_two_threads():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4096, 64)).astype(np.float32)  # large enough to thread
    g = rng.standard_normal(x.shape).astype(np.float32)
    w = rng.standard_normal(64).astype(np.float32)
    results = []
    before = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            y, h, r = K.layer_norm_forward(x, w, None, 1e-5)
            results.append((y, h, r, K.layer_norm_backward(g, h, r, w)))
    finally:
        numba.set_num_threads(before)
    for one, two in zip(*results):
        assert one.tobytes() == two.tobytes()


def test_the_op_on_the_kernels_agrees_with_its_numpy_code(monkeypatch):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 5, 6))
    w, b = rng.standard_normal((5, 6)), rng.standard_normal((5, 6))
    g = rng.standard_normal(x.shape)

    def run():
        ts = [Tensor(a, requires_grad=True) for a in (x, w, b)]
        y = normalization.LayerNorm.apply(*ts, normalized_ndim=2, eps=1e-5)
        y.backward(Tensor(g))
        return [y.numpy()] + [t.grad.numpy() for t in ts]

    fused = run()
    monkeypatch.setattr(K, "layer_norm_applies", lambda *a: False)
    plain = run()
    for a, b_ in zip(fused, plain):
        np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-12)


def test_bad_input_is_refused_with_a_clear_error():
    x = np.ones((3, 4), np.float32)
    with pytest.raises(TypeError, match="layer_norm_forward: expected a C-contiguous"):
        K.layer_norm_forward(x.astype(np.int64), None, None, 1e-5)
    with pytest.raises(TypeError, match="parameters of its last axis's length"):
        K.layer_norm_forward(x, np.ones(3, np.float32), None, 1e-5)
    with pytest.raises(TypeError, match="layer_norm_backward"):
        K.layer_norm_backward(np.ones((3, 5), np.float32), x, np.ones((3, 1), np.float32),
                              None)
