"""Depthwise convs on channels-last copies (kernels.conv_depthwise) and the rule that
picks the depthwise kernels.

Against the reference loops (float64 to 1e-10: strides, dilations, asymmetric and
oversized padding, rows past what the taps read), by hypothesis over small shapes,
against PyTorch (float32) through ``conv2d_forward``/``conv2d_backward``, and
bit-identical with one and two threads.
"""

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_core.kernels import conv as K
from autograd_core.kernels import conv_depthwise as D
from tests.reference.conv import conv2d_backward_ref, conv2d_ref


def _run(x, w, b, stride, padding, dilation=1, need=(True, True, True)):
    C = x.shape[1]
    geo = K.conv_geometry(x.shape, w.shape, stride, padding, dilation, C)
    out = D.depthwise_forward(x, w, b, geo)
    go = np.random.default_rng(1).standard_normal(out.shape).astype(x.dtype)
    return out, go, D.depthwise_backward(go, x, w, geo, *need)


def _check_against_reference(x, w, b, stride, padding, dilation=1):
    C = x.shape[1]
    out, go, (gx, gw, gb) = _run(x, w, b, stride, padding, dilation)
    s, d = K.pair(stride, "stride"), K.pair(dilation, "dilation")
    tol = dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out, conv2d_ref(x, w, b, s, padding, d, C), **tol)
    rgx, rgw, rgb = conv2d_backward_ref(go, x, w, s, padding, d, C)
    np.testing.assert_allclose(gx, rgx, **tol)
    np.testing.assert_allclose(gw, rgw, **tol)
    np.testing.assert_allclose(gb, rgb, **tol)


@pytest.mark.parametrize(
    "N, C, H, W, k, stride, padding, dilation",
    [
        (3, 5, 9, 8, 3, 2, 1, 1),  # MobileNet's stride-2 layer, odd sizes
        (2, 16, 8, 8, 3, 1, 1, 1),  # stride 1 on a small plane
        (2, 4, 11, 10, 3, 3, 1, 1),  # stride 3: three column phases
        (2, 3, 10, 9, 3, 2, 2, 2),  # dilated
        (3, 2, 9, 7, 3, (2, 1), (0, 2), (1, 2)),  # per-axis stride, padding, dilation
        (2, 3, 8, 8, 4, 1, "same", 1),  # even kernel: asymmetric 'same' padding
        (2, 4, 9, 9, 2, 3, 0, 1),  # rows and columns past the taps' reach
        (3, 2, 1, 1, 2, 8, 3, 1),  # padding wider than the taps' extent
        (2, 3, 6, 5, 5, 2, 2, 1),  # 5x5
        (1, 7, 5, 6, 1, 2, 0, 1),  # one tap
        (2, 37, 9, 8, 3, 2, 1, 1),  # channel blocks of 16, 16 and 5 (COPY_CHANNEL_BLOCK)
    ],
)
def test_matches_reference_loops(N, C, H, W, k, stride, padding, dilation):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((C, 1, k, k))
    b = rng.standard_normal(C)
    _check_against_reference(x, w, b, stride, padding, dilation)


@settings(max_examples=40, deadline=None)
@given(
    N=st.integers(1, 3), C=st.integers(2, 6), H=st.integers(1, 9), W=st.integers(1, 9),
    kh=st.integers(1, 3), kw=st.integers(1, 3), sh=st.integers(1, 4), sw=st.integers(1, 4),
    ph=st.integers(0, 3), pw=st.integers(0, 3), dh=st.integers(1, 2), dw=st.integers(1, 2),
    seed=st.integers(0, 2**16),
)
def test_any_small_geometry_matches_reference(N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw,
                                              seed):
    if H + 2 * ph < dh * (kh - 1) + 1 or W + 2 * pw < dw * (kw - 1) + 1:
        return  # no output
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((C, 1, kh, kw))
    b = rng.standard_normal(C)
    _check_against_reference(x, w, b, (sh, sw), (ph, pw), (dh, dw))


@pytest.mark.parametrize("need", [(True, False, False), (False, True, False),
                                  (False, False, True), (True, True, False)])
def test_only_the_gradients_asked_for(need):
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((4, 6, 9, 9)), rng.standard_normal((6, 1, 3, 3))
    _, go, grads = _run(x, w, np.zeros(6), 2, 1, need=need)
    refs = conv2d_backward_ref(go, x, w, (2, 2), 1, (1, 1), 6)
    for wanted, got, ref in zip(need, grads, refs):
        if wanted:
            np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)
        else:
            assert got is None


@pytest.mark.parametrize(
    "x_shape, kwargs, expected",
    [
        ((32, 128, 16, 16), dict(stride=2, padding=1), "channels_last"),  # MobileNet s2
        ((32, 64, 32, 32), dict(stride=2, padding=1), "channels_last"),
        ((32, 256, 8, 8), dict(padding=1), "channels_last"),  # a small plane
        ((32, 128, 16, 16), dict(padding=1), "plane"),  # 'same' width from 16 wide
        ((32, 32, 32, 32), dict(padding=1), "plane"),
        ((32, 4, 8, 8), dict(padding=1), "plane"),  # few channels: the plane kernels
        ((32, 4, 32, 32), dict(stride=2, padding=1), None),  # ... or the direct ones
        ((32, 64, 16, 16), dict(padding=0), "channels_last"),  # narrower output
    ],
)
def test_rule_depends_on_the_shapes(x_shape, kwargs, expected):
    C = x_shape[1]
    geo = K.conv_geometry(x_shape, (C, 1, 3, 3), groups=C, **kwargs)
    assert K._depthwise_kernels(geo) == expected


def test_not_depthwise_takes_none_of_them():
    # a channel multiplier (OC = 2C) and grouped convs with several channels per group
    assert K._depthwise_kernels(K.conv_geometry((2, 8, 8, 8), (16, 1, 3, 3), groups=8)) is None
    assert K._depthwise_kernels(K.conv_geometry((2, 8, 8, 8), (8, 2, 3, 3), groups=4)) is None
    assert K._depthwise_kernels(K.conv_geometry((2, 8, 8, 8), (8, 8, 3, 3))) is None


def test_matches_torch_through_the_rule(torch_or_skip):
    torch = torch_or_skip
    rng = np.random.default_rng(3)
    x = rng.standard_normal((32, 128, 16, 16)).astype(np.float32)
    w = rng.standard_normal((128, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(128).astype(np.float32)
    assert K._depthwise_kernels(K.conv_geometry(x.shape, w.shape, 2, 1, 1, 128)) == (
        "channels_last")
    out = K.conv2d_forward(x, w, b, 2, 1, 1, 128)
    go = rng.standard_normal(out.shape).astype(np.float32)
    gx, gw, gb = K.conv2d_backward(go, x, w, 2, 1, 1, 128)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ref = torch.nn.functional.conv2d(tx, tw, tb, 2, 1, 1, 128)
    ref.backward(torch.from_numpy(go))
    tol = dict(rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out, ref.detach().numpy(), **tol)
    np.testing.assert_allclose(gx, tx.grad.numpy(), **tol)
    np.testing.assert_allclose(gw, tw.grad.numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(gb, tb.grad.numpy(), rtol=1e-4, atol=1e-3)


def test_lanes_hold_whole_samples_by_the_shapes():
    geo = K.conv_geometry((32, 128, 16, 16), (128, 1, 3, 3), 2, 1, 1, 128)
    lanes = D.plan(geo, 4)
    assert len(lanes) == D.LANES
    chunks = [c for lane in lanes for c in lane]
    assert chunks[0][0] == 0 and chunks[-1][1] == 32
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))  # consecutive samples
    assert all(n1 > n0 for n0, n1 in chunks)
    tiny = K.conv_geometry((2, 8, 4, 4), (8, 1, 3, 3), 2, 1, 1, 8)
    assert len(D.plan(tiny, 4)) == 1  # too few outputs for a second lane


def test_bit_identical_with_one_and_two_threads():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba was started with a single thread")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((32, 64, 16, 16)).astype(np.float32)
    w = rng.standard_normal((64, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    go = rng.standard_normal((32, 64, 8, 8)).astype(np.float32)
    results = []
    before = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            results.append((K.conv2d_forward(x, w, b, 2, 1, 1, 64),)
                           + K.conv2d_backward(go, x, w, 2, 1, 1, 64))
    finally:
        numba.set_num_threads(before)
    for one, two in zip(*results):
        assert one.tobytes() == two.tobytes()
