"""Winograd F(2x2, 3x3) (kernels.conv_winograd) and the shape rule that picks it.

Against the reference loops and PyTorch: float64 to 1e-10; float32 within a forward
error bound ``ERR * eps32 * (|x| (*) |w|)`` (the convolution of the absolute values,
which bounds every partial sum; the transforms' entries are 0, +-1/2 and +-1, so the
rounding grows by a small constant factor, ERR, over a direct sum's).
"""

import numba
import numpy as np
import pytest

from autograd_core.kernels import conv as K
from autograd_core.kernels import conv_winograd as W
from tests.reference.conv import conv2d_backward_ref, conv2d_ref

EPS32 = np.finfo(np.float32).eps
ERR = 64


def _arrays(rng, N, C, H, Wd, OC, dtype):
    x = rng.standard_normal((N, C, H, Wd)).astype(dtype)
    w = rng.standard_normal((OC, C, 3, 3)).astype(dtype)
    b = rng.standard_normal(OC).astype(dtype)
    return x, w, b


def _close(got, want, bound_terms):
    """float64: 1e-10; float32: ERR * eps * the sum of the absolute terms."""
    if got.dtype == np.float64:
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    else:
        err = np.abs(got.astype(np.float64) - want)
        assert (err <= ERR * EPS32 * bound_terms + 1e-30).all(), err.max()


def _abs_forward(x, w, padding):
    return conv2d_ref(np.abs(x).astype(np.float64), np.abs(w).astype(np.float64), None,
                      (1, 1), padding, (1, 1), 1)


def _grad_terms(go, x, w, padding):
    """Sums of the absolute terms of grad_x and grad_weight (their error bounds' scale)."""
    a = [np.abs(v).astype(np.float64) for v in (go, x, w)]
    gx_terms, gw_terms, _ = conv2d_backward_ref(a[0], a[1], a[2], (1, 1), padding, (1, 1), 1)
    return gx_terms, gw_terms


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    "x_shape,w_shape,kwargs,forward,input_grad",
    [
        ((2, 16, 32, 32), (16, 16, 3, 3), dict(padding=1), True, True),
        ((2, 16, 16, 16), (20, 16, 3, 3), dict(padding=1), True, True),
        ((2, 16, 18, 18), (16, 16, 3, 3), dict(padding=0), True, True),  # 16x16 out
        ((2, 16, 17, 17), (16, 16, 3, 3), dict(padding=0), False, True),  # 15x15 out
        ((2, 3, 32, 32), (16, 3, 3, 3), dict(padding=1), False, True),  # a stem
        ((2, 16, 32, 32), (3, 16, 3, 3), dict(padding=1), True, False),
        ((2, 64, 8, 8), (64, 64, 3, 3), dict(padding=1), False, False),  # small planes
        ((2, 16, 32, 32), (32, 16, 3, 3), dict(padding=1, stride=2), False, False),
        ((2, 16, 32, 32), (16, 16, 3, 3), dict(padding=2, dilation=2), False, False),
        ((2, 16, 32, 32), (16, 8, 3, 3), dict(padding=1, groups=2), False, False),
        ((2, 16, 32, 32), (16, 16, 5, 5), dict(padding=2), False, False),
        ((2, 16, 32, 32), (16, 16, 3, 3), dict(padding=3), False, False),
        ((2, 16, 32, 32), (16, 16, 1, 1), dict(padding=0), False, False),
    ],
)
def test_rule_depends_on_the_shapes(x_shape, w_shape, kwargs, forward, input_grad):
    geo = K.conv_geometry(x_shape, w_shape, **kwargs)
    assert K._use_winograd(geo) is forward
    assert K._use_winograd_input_grad(geo) is input_grad
    assert K._use_winograd_grad_weight(geo) is (forward and x_shape[1] <= 64)


@pytest.mark.parametrize("N, H, winograd", [
    (32, 8, True),    # 8x8 planes with 32 * 16 = 512 tiles over the batch
    (31, 8, False),   # one sample short of 512 tiles
    (64, 7, False),   # 7x7: under 64 pixels, whatever the batch
    (2, 16, True),    # 16x16 planes: any batch
    (1, 15, False),   # 225 pixels, 64 tiles
    (11, 15, True),   # 11 * 64 = 704 tiles
])
def test_small_planes_take_winograd_with_enough_tiles_over_the_batch(N, H, winograd):
    geo = K.conv_geometry((N, 32, H, H), (32, 32, 3, 3), 1, 1)
    assert K._use_winograd(geo) is winograd
    assert K._use_winograd_input_grad(geo) is winograd
    assert K._use_winograd_grad_weight(geo) is winograd


def test_small_planes_take_winograd_backward_only_up_to_128_channels():
    geo = K.conv_geometry((32, 128, 8, 8), (128, 128, 3, 3), 1, 1)
    assert K._use_winograd(geo) and K._use_winograd_input_grad(geo)
    geo = K.conv_geometry((32, 256, 8, 8), (256, 256, 3, 3), 1, 1)
    assert K._use_winograd(geo)
    assert not K._use_winograd_input_grad(geo) and not K._use_winograd_grad_weight(geo)
    geo = K.conv_geometry((32, 256, 16, 16), (256, 256, 3, 3), 1, 1)
    assert K._use_winograd(geo) and K._use_winograd_input_grad(geo)


def test_weight_gradient_rule_over_64_channels_needs_512_tiles():
    assert K._use_winograd_grad_weight(K.conv_geometry((2, 64, 32, 32), (8, 64, 3, 3), 1, 1))
    geo = K.conv_geometry((2, 128, 16, 16), (8, 128, 3, 3), 1, 1)  # 128 tiles
    assert K._use_winograd(geo) and not K._use_winograd_grad_weight(geo)
    geo = K.conv_geometry((8, 128, 16, 16), (8, 128, 3, 3), 1, 1)  # 512 tiles
    assert K._use_winograd_grad_weight(geo)
    geo = K.conv_geometry((8, 256, 16, 16), (8, 256, 3, 3), 1, 1)  # over 128 channels
    assert K._use_winograd(geo) and not K._use_winograd_grad_weight(geo)


def test_filter_transform_matches_its_definition():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 2, 3, 3))
    G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    u = W.filter_transform(w)
    for o in range(3):
        for c in range(2):
            np.testing.assert_allclose(u[:, o, c].reshape(4, 4), G @ w[o, c] @ G.T)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_input_gradient_filters_are_the_flipped_transposed_ones(dtype):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((5, 3, 3, 3)).astype(dtype)
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    u = W.filter_transform(w, input_grad=True)
    assert u.shape == (16, 3, 5)
    np.testing.assert_array_equal(u, W.filter_transform(flipped))


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_filter_gradient_is_the_adjoint_of_the_filter_transform(dtype, rtol):
    # <filter_transform(w), dU> = <w, G^T dU G> for every w and dU, and per filter
    # G^T dU G is the definition
    rng = np.random.default_rng(2)
    G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    dU = rng.standard_normal((16, 4, 6)).astype(dtype)
    w = rng.standard_normal((4, 6, 3, 3)).astype(dtype)
    gw = np.empty((4, 6, 3, 3), dtype=dtype)
    W._filter_gradient(dU, gw)
    np.testing.assert_allclose(np.vdot(W.filter_transform(w), dU), np.vdot(w, gw), rtol=rtol)
    for o in range(4):
        for c in range(6):
            np.testing.assert_allclose(gw[o, c], G.T @ dU[:, o, c].reshape(4, 4) @ G,
                                       rtol=rtol, atol=rtol)


# -------------------------------------------------------------- against the references


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "N,C,H,Wd,OC,padding",
    [
        (3, 5, 17, 19, 7, 1),  # odd sides: a last tile row and column cut in half
        (2, 4, 18, 16, 3, 0),
        (1, 3, 16, 17, 2, 2),  # padding 2: the input gradient's padding is 0
        (2, 6, 16, 21, 5, (2, 1)),
        (2, 2, 16, 16, 4, (0, 2)),
        (2, 3, 17, 16, 4, "same"),
        (9, 2, 16, 16, 3, 1),  # more samples than lanes
        (2, 16, 16, 16, 16, 1),  # the rule's own minimum
    ],
)
def test_matches_reference_loops(monkeypatch, dtype, N, C, H, Wd, OC, padding):
    # few channels keep the reference loops quick: the rule's channel minimum is lifted
    monkeypatch.setattr(K, "WINOGRAD_MIN_CHANNELS", 1)
    rng = np.random.default_rng(1)
    x, w, b = _arrays(rng, N, C, H, Wd, OC, dtype)
    geo = K.conv_geometry(x.shape, w.shape, 1, padding)
    assert K._use_winograd_input_grad(geo)
    out = K.conv2d_forward(x, w, b, 1, padding)
    ref = conv2d_ref(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64),
                     (1, 1), padding, (1, 1), 1)
    assert out.dtype == dtype and out.shape == ref.shape
    _close(out, ref, _abs_forward(x, w, padding) + np.abs(b)[:, None, None])
    go = rng.standard_normal(out.shape).astype(dtype)
    gx, gw, gb = K.conv2d_backward(go, x, w, 1, padding)
    rgx, rgw, rgb = conv2d_backward_ref(go.astype(np.float64), x.astype(np.float64),
                                        w.astype(np.float64), (1, 1), padding, (1, 1), 1)
    gx_terms, gw_terms = _grad_terms(go, x, w, padding)
    _close(gx, rgx, gx_terms)
    _close(gw, rgw, gw_terms)
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gb, rgb, **tol)
    assert gx.dtype == gw.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("padding", [1, 0, 2])
def test_matches_torch(torch_or_skip, dtype, padding):
    torch = torch_or_skip
    rng = np.random.default_rng(2)
    x, w, b = _arrays(rng, 4, 16, 17, 18, 16, dtype)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, 1, padding)
    go = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(go))
    out = K.conv2d_forward(x, w, b, 1, padding)
    gx, gw, gb = K.conv2d_backward(go, x, w, 1, padding)
    terms = _abs_forward(x, w, padding) + np.abs(b)[:, None, None]
    gx_terms, gw_terms = _grad_terms(go, x, w, padding)
    # PyTorch's own rounding is within the same kind of bound: allow both.
    _close(out, ty.detach().numpy().astype(np.float64), 2 * terms)
    _close(gx, tx.grad.numpy().astype(np.float64), 2 * gx_terms)
    _close(gw, tw.grad.numpy().astype(np.float64), 2 * gw_terms)
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gb, tb.grad.numpy(), **tol)


def test_unbatched_through_the_op(monkeypatch):
    monkeypatch.setattr(K, "WINOGRAD_MIN_CHANNELS", 1)
    import autograd_core as torch
    from autograd_core.ops.conv import conv2d

    rng = np.random.default_rng(3)
    x, w, b = _arrays(rng, 1, 3, 16, 16, 4, np.float64)
    tx = torch.tensor(x[0], requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    out = conv2d(tx, tw, None, padding=1)
    np.testing.assert_allclose(out.detach().numpy(), conv2d_ref(x, w, None, (1, 1), 1)[0],
                               rtol=1e-10, atol=1e-10)
    out.sum().backward()
    rgx, rgw, _ = conv2d_backward_ref(np.ones((1, 4, 16, 16)), x, w, (1, 1), 1)
    np.testing.assert_allclose(tx.grad.numpy(), rgx[0], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(tw.grad.numpy(), rgw, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------- thread counts


@pytest.mark.parametrize("N,padding", [(9, 1), (2, (0, 2)), (1, 1)])
def test_bit_identical_with_one_and_two_threads(monkeypatch, N, padding):
    monkeypatch.setattr(K, "WINOGRAD_MIN_CHANNELS", 1)
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba was started with a single thread")
    rng = np.random.default_rng(4)
    x, w, b = _arrays(rng, N, 8, 17, 20, 8, np.float32)
    go = rng.standard_normal(K.conv2d_forward(x, w, b, 1, padding).shape).astype(np.float32)
    results = []
    before = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            results.append((K.conv2d_forward(x, w, b, 1, padding),)
                           + K.conv2d_backward(go, x, w, 1, padding))
    finally:
        numba.set_num_threads(before)
    for one, two in zip(*results):
        assert one.tobytes() == two.tobytes()


def test_chunks_hold_whole_samples_and_enough_tiles():
    lanes = W._plan(32, 16 * 32 * 256 * 4, 256, 8, W.CHUNK_BYTES)
    assert len(lanes) == 8
    assert [n for lane in lanes for chunk in lane for n in range(*chunk)] == list(range(32))
    # 4 tiles per sample: a chunk takes 64 samples' worth when the lane has them
    lanes = W._plan(32, 100, 4, 1, W.CHUNK_BYTES)
    assert lanes == [[(0, 32)]]


@pytest.mark.parametrize("lanes,chunk_bytes", [(1, 1), (3, 1), (3, 10**9), (20, 1)])
def test_many_chunks_and_lanes_give_the_same_sums(lanes, chunk_bytes):
    # 1-byte chunks: one sample per chunk until MIN_TILES (here 4 samples of 72 tiles)
    rng = np.random.default_rng(5)
    x, w, b = _arrays(rng, 11, 3, 17, 16, 4, np.float64)
    ref = conv2d_ref(x, w, b, (1, 1), 1)
    out = W.winograd_conv3x3(x, w, b, 1, 1, 17, 16, lanes, chunk_bytes=chunk_bytes)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)
    go = rng.standard_normal(ref.shape)
    _, rgw, _ = conv2d_backward_ref(go, x, w, (1, 1), 1)
    gw = W.winograd_grad_weight3x3(go, x, 1, 1, lanes, chunk_bytes=chunk_bytes)
    np.testing.assert_allclose(gw, rgw, rtol=1e-10, atol=1e-10)


def test_convs_over_the_workspace_cap_stay_on_im2col(monkeypatch):
    geo = K.conv_geometry((2, 64, 32, 32), (64, 64, 3, 3), 1, 1)
    assert K._use_winograd(geo)
    monkeypatch.setattr(K, "MAX_WORKSPACE_BYTES", 1 << 20)
    assert not K._use_winograd(geo) and not K._use_winograd_input_grad(geo)


@pytest.mark.parametrize("C, T, dtype", [(16, 512, np.float32), (64, 2048, np.float32),
                                         (3, 7, np.float64), (128, 64, np.float64)])
def test_stack_views_share_a_buffer_whose_rows_avoid_4kib_strides(C, T, dtype):
    base, view = W._stack(C, T, dtype)
    assert view.shape == (16, C, T) and base.shape[0] == 16
    assert base.strides[0] % 4096 == 64  # not a multiple of 4 KiB (L1 set aliasing)
    assert base.shape[1] >= C * T
    view[...] = np.arange(16 * C * T, dtype=dtype).reshape(16, C, T)
    k, c, t = 15, C - 1, T - 1
    assert base[k, c * T + t] == view[k, c, t]
    assert np.shares_memory(base, view)
