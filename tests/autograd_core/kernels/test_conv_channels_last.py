"""Channels-last column matrices (kernels.conv_channels_last) and the rule that picks them.

Against the reference loops (float64 to 1e-10, every stride, dilation, asymmetric
padding and input rows past what the taps read), against PyTorch (float32), by
hypothesis over small shapes, and bit-identical with one and two threads.
"""

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_core.kernels import conv as K
from autograd_core.kernels import conv_channels_last as CL
from tests.reference.conv import conv2d_backward_ref, conv2d_ref


def _both(x, w, b, stride, padding, dilation=1, go=None, need=(True, True, True)):
    geo = K.conv_geometry(x.shape, w.shape, stride, padding, dilation)
    out = CL.channels_last_forward(x, w, b, geo)
    if go is None:
        go = np.random.default_rng(1).standard_normal(out.shape).astype(x.dtype)
    grads = CL.channels_last_backward(go, x, w, geo, *need)
    return geo, out, go, grads


def _check_against_reference(x, w, b, stride, padding, dilation=1):
    geo, out, go, (gx, gw, gb) = _both(x, w, b, stride, padding, dilation)
    s, d = K.pair(stride, "stride"), K.pair(dilation, "dilation")
    want = conv2d_ref(x, w, b, s, padding, d)
    rgx, rgw, rgb = conv2d_backward_ref(go, x, w, s, padding, d)
    tol = dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out, want, **tol)
    np.testing.assert_allclose(gx, rgx, **tol)
    np.testing.assert_allclose(gw, rgw, **tol)
    np.testing.assert_allclose(gb, rgb, **tol)


@pytest.mark.parametrize(
    "N, C, OC, H, W, k, stride, padding, dilation",
    [
        (3, 5, 4, 7, 6, 3, 2, 1, 1),
        (2, 3, 2, 8, 9, 3, 1, 1, 1),
        (4, 6, 3, 9, 9, 2, 3, 0, 1),  # rows/columns past the taps' reach
        (2, 4, 5, 10, 8, 3, 2, 2, 2),  # dilated
        (5, 16, 32, 8, 8, 1, 2, 0, 1),  # 1x1 stride 2
        (3, 2, 3, 9, 7, 3, (2, 1), (0, 2), (1, 2)),  # per-axis stride and dilation
        (2, 3, 4, 8, 8, 3, 1, "same", 1),
        (2, 3, 4, 8, 8, 4, 1, "same", 1),  # even kernel: asymmetric 'same' padding
        (3, 2, 3, 1, 1, 2, 8, 3, 1),  # padding wider than the taps' extent (Wp 2, pw 3)
        (2, 3, 2, 2, 3, 1, 7, (4, 5), 1),  # one tap, one output, all padding read
        (2, 37, 35, 7, 9, 3, 2, 1, 1),  # channel blocks of 16, 16 and 5 (COPY_CHANNEL_BLOCK)
        (2, 20, 18, 9, 9, 3, 1, 1, 1),  # 81 pixels: runs of 32, 32 and 17 (COPY_PIXEL_RUN)
    ],
)
def test_matches_reference_loops(N, C, OC, H, W, k, stride, padding, dilation):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((OC, C, k, k))
    b = rng.standard_normal(OC)
    _check_against_reference(x, w, b, stride, padding, dilation)


@settings(max_examples=40, deadline=None)
@given(
    N=st.integers(1, 3), C=st.integers(1, 5), OC=st.integers(1, 4),
    H=st.integers(1, 9), W=st.integers(1, 9), kh=st.integers(1, 3), kw=st.integers(1, 3),
    sh=st.integers(1, 6), sw=st.integers(1, 6), ph=st.integers(0, 4), pw=st.integers(0, 4),
    dh=st.integers(1, 2), dw=st.integers(1, 2), seed=st.integers(0, 2**16),
)
def test_any_small_geometry_matches_reference(N, C, OC, H, W, kh, kw, sh, sw, ph, pw, dh,
                                              dw, seed):
    if H + 2 * ph < dh * (kh - 1) + 1 or W + 2 * pw < dw * (kw - 1) + 1:
        return  # no output
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((OC, C, kh, kw))
    b = rng.standard_normal(OC)
    _check_against_reference(x, w, b, (sh, sw), (ph, pw), (dh, dw))


@pytest.mark.parametrize("need", [(True, False, False), (False, True, False),
                                  (False, False, True), (True, True, False)])
def test_only_the_gradients_asked_for(need):
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((4, 3, 9, 9)), rng.standard_normal((5, 3, 3, 3))
    _, _, go, grads = _both(x, w, np.zeros(5), 2, 1, need=need)
    rgx, rgw, rgb = conv2d_backward_ref(go, x, w, (2, 2), 1)
    for wanted, got, ref in zip(need, grads, (rgx, rgw, rgb)):
        if wanted:
            np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)
        else:
            assert got is None


def test_matches_torch_through_the_rule(torch_or_skip):
    torch = torch_or_skip
    rng = np.random.default_rng(3)
    x = rng.standard_normal((32, 16, 32, 32)).astype(np.float32)
    w = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    geo = K.conv_geometry(x.shape, w.shape, 2, 1)
    # both directions channels-last (too many columns for the channel-blocked backward)
    assert K._use_channels_last(geo) and not K._use_channel_blocks(geo)
    out = K.conv2d_forward(x, w, b, 2, 1)
    go = rng.standard_normal(out.shape).astype(np.float32)
    gx, gw, gb = K.conv2d_backward(go, x, w, 2, 1)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    ref = torch.nn.functional.conv2d(tx, tw, tb, 2, 1)
    ref.backward(torch.from_numpy(go))
    tol = dict(rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out, ref.detach().numpy(), **tol)
    np.testing.assert_allclose(gx, tx.grad.numpy(), **tol)
    np.testing.assert_allclose(gw, tw.grad.numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(gb, tb.grad.numpy(), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(
    "x_shape, w_shape, kwargs, expected",
    [
        ((32, 16, 32, 32), (32, 16, 3, 3), dict(stride=2, padding=1), True),
        ((32, 128, 4, 4), (128, 128, 3, 3), dict(padding=1), True),  # 4x4 planes
        ((32, 64, 16, 16), (64, 64, 3, 3), dict(padding=1), False),  # Winograd's
        ((16, 64, 9, 9), (64, 64, 3, 3), dict(padding=1), False),  # 81 pixels, stride 1
        ((32, 16, 32, 32), (32, 16, 1, 1), dict(stride=2), False),  # one tap
        ((16, 128, 16, 16), (256, 128, 3, 3), dict(stride=2, padding=1), False),  # 256 out
        ((3, 16, 8, 8), (16, 16, 3, 3), dict(stride=2, padding=1), False),  # 48 pixels
        ((32, 1, 16, 16), (8, 1, 3, 3), dict(stride=2, padding=1), False),  # direct's
        ((32, 16, 16, 16), (32, 8, 3, 3), dict(stride=2, padding=1, groups=2), False),
    ],
)
def test_rule_depends_on_the_shapes(x_shape, w_shape, kwargs, expected):
    assert K._use_channels_last(K.conv_geometry(x_shape, w_shape, **kwargs)) is expected


def test_few_columns_keep_the_channel_blocked_backward(monkeypatch):
    # ResNet-18 w16's 4x4 layers: channels-last forward, channel-blocked backward
    geo = K.conv_geometry((32, 128, 4, 4), (128, 128, 3, 3), 1, 1)
    assert K._use_channels_last(geo) and K._use_channel_blocks(geo)
    monkeypatch.setattr(CL, "channels_last_backward", None)  # would raise if called
    rng = np.random.default_rng(5)
    x = rng.standard_normal((32, 128, 4, 4)).astype(np.float32)
    w = rng.standard_normal((128, 128, 3, 3)).astype(np.float32)
    gx, gw, gb = K.conv2d_backward(np.ones((32, 128, 4, 4), np.float32), x, w, 1, 1)
    assert gx.shape == x.shape and gw.shape == w.shape


def test_lanes_hold_whole_samples_by_the_shapes():
    geo = K.conv_geometry((32, 16, 32, 32), (32, 16, 3, 3), 2, 1)
    lanes = CL.plan(geo, 4)
    assert len(lanes) == CL.LANES
    chunks = [c for lane in lanes for c in lane]
    assert chunks[0][0] == 0 and chunks[-1][1] == 32
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))  # consecutive samples
    assert all(n1 > n0 for n0, n1 in chunks)


def test_bit_identical_with_one_and_two_threads():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba was started with a single thread")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((32, 16, 32, 32)).astype(np.float32)
    w = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    geo = K.conv_geometry(x.shape, w.shape, 2, 1)
    assert K._use_channels_last(geo) and not K._use_channel_blocks(geo)
    go = rng.standard_normal((32, 32, 16, 16)).astype(np.float32)
    results = []
    before = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            results.append((K.conv2d_forward(x, w, b, 2, 1),) + K.conv2d_backward(go, x, w, 2, 1))
    finally:
        numba.set_num_threads(before)
    for one, two in zip(*results):
        assert one.tobytes() == two.tobytes()
