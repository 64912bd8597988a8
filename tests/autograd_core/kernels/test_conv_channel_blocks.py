"""The conv backward by blocks of input channels (small planes, many channels)."""

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_core.kernels import conv as K
from tests.peak_memory import traced_peak
from tests.reference.conv import conv2d_backward_ref


def _tol(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


def _case(seed, N, C, H, W, OC, k, stride, padding, dilation, dtype):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((OC, C, *k)).astype(dtype)
    geo = K.conv_geometry(x.shape, w.shape, stride, padding, dilation)
    go = rng.standard_normal((N, OC, geo.OH, geo.OW)).astype(dtype)
    return x, w, go, geo


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "N,C,H,W,OC,k,stride,padding,dilation",
    [
        (4, 32, 6, 5, 24, (3, 3), 1, 1, 1),  # 'same' stride 1 (row kernels)
        (3, 40, 9, 7, 16, (3, 2), (2, 1), (1, 0), 1),  # strided, non-square (tap table)
        (2, 24, 10, 10, 8, (3, 3), 1, 2, 2),  # dilated
        (4, 128, 4, 4, 32, (1, 1), 1, 0, 1),  # 1x1
        (4, 128, 8, 8, 16, (1, 1), 2, 0, 1),  # 1x1 stride 2 (a ResNet shortcut)
        (1, 33, 5, 5, 7, (3, 3), 1, 1, 1),  # channels not a multiple of the blocks
    ],
)
def test_blocked_backward_matches_the_reference(
    dtype, N, C, H, W, OC, k, stride, padding, dilation
):
    x, w, go, geo = _case(1, N, C, H, W, OC, k, stride, padding, dilation, dtype)
    assert K._use_channel_blocks(geo, np.dtype(dtype).itemsize)
    s2 = (stride, stride) if isinstance(stride, int) else stride
    got = K.conv2d_backward(go, x, w, stride, padding, dilation)
    want = conv2d_backward_ref(go, x, w, s2, padding, (dilation, dilation))
    for g, r in zip(got, want):
        assert g.dtype == x.dtype and g.shape == r.shape
        np.testing.assert_allclose(g, r, **_tol(dtype))


@settings(max_examples=40, deadline=None)
@given(
    N=st.integers(1, 3), C=st.integers(2, 12), OC=st.integers(1, 9),
    H=st.integers(3, 9), W=st.integers(3, 9), kh=st.integers(1, 3), kw=st.integers(1, 3),
    sh=st.integers(1, 2), sw=st.integers(1, 2), ph=st.integers(0, 1), pw=st.integers(0, 1),
    d=st.integers(1, 2),
)
def test_random_geometries_blocked_equal_the_lane_path(
    N, C, OC, H, W, kh, kw, sh, sw, ph, pw, d
):
    # Tiny blocks so that every small geometry takes the blocked path.
    if (H + 2 * ph - d * (kh - 1)) < 1 or (W + 2 * pw - d * (kw - 1)) < 1:
        return
    x, w, go, geo = _case(2, N, C, H, W, OC, (kh, kw), (sh, sw), (ph, pw), d, np.float64)
    min_rows = K.CHANNEL_BLOCK_MIN_ROWS
    try:
        K.CHANNEL_BLOCK_MIN_ROWS = 1
        assert K._use_channel_blocks(geo, 8)
        blocked = K.conv2d_backward(go, x, w, (sh, sw), (ph, pw), d)
    finally:
        K.CHANNEL_BLOCK_MIN_ROWS = min_rows
    lanes = K.conv2d_backward(go, x, w, (sh, sw), (ph, pw), d, chunk_bytes=K.CHUNK_BYTES)
    for b, ln in zip(blocked, lanes):
        np.testing.assert_allclose(b, ln, rtol=1e-12, atol=1e-12)


def test_unneeded_gradients_are_skipped_and_the_rest_unchanged():
    x, w, go, geo = _case(3, 8, 64, 4, 4, 32, (3, 3), 1, 1, 1, np.float32)
    assert K._use_channel_blocks(geo)
    full = K.conv2d_backward(go, x, w, 1, 1)
    for need in [(True, False, False), (False, True, False), (False, True, True)]:
        got = K.conv2d_backward(go, x, w, 1, 1, need_input=need[0], need_weight=need[1],
                                need_bias=need[2])
        for g, f, wanted in zip(got, full, need):
            assert (g is None) == (not wanted)
            if wanted:
                assert g.tobytes() == f.tobytes()


def test_blocked_backward_is_bit_identical_with_one_and_two_threads():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba was started with a single thread")
    x, w, go, geo = _case(4, 16, 128, 4, 4, 64, (3, 3), 1, 1, 1, np.float32)
    assert len(K._channel_blocks(geo)) >= 4
    results, before = [], numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            results.append(K.conv2d_backward(go, x, w, 1, 1))
    finally:
        numba.set_num_threads(before)
    for one, two in zip(*results):
        assert one.tobytes() == two.tobytes()


def test_blocks_are_a_function_of_the_shapes():
    # ResNet-18 CIFAR w16 at batch 32 (the layers this path is for), and its limits.
    geo = K.conv_geometry((32, 128, 4, 4), (128, 128, 3, 3), 1, 1)
    assert K._channel_blocks(geo) == [(0, 16), (16, 32), (32, 48), (48, 64), (64, 80),
                                      (80, 96), (96, 112), (112, 128)]
    assert len(K._channel_blocks(K.conv_geometry((32, 64, 8, 8), (64, 64, 3, 3), 1, 1))) == 8
    # more output columns than CHANNEL_BLOCK_MAX_COLUMNS: lanes of samples
    assert not K._use_channel_blocks(K.conv_geometry((32, 32, 16, 16), (32, 32, 3, 3), 1, 1))
    # grouped convs and convs with too few rows for two blocks: lanes
    assert not K._use_channel_blocks(
        K.conv_geometry((8, 64, 4, 4), (64, 32, 3, 3), 1, 1, groups=2))
    assert not K._use_channel_blocks(K.conv_geometry((8, 8, 4, 4), (64, 8, 3, 3), 1, 1))


def _workspace(call, result_bytes):
    call()  # compiled and warm outside the measurement
    return traced_peak(call) - result_bytes


def test_blocked_backward_holds_no_weight_partials():
    # 256 -> 256 on 4x4 at batch 32: a lane's (OC, K) partial is 2.25 MiB, its column
    # matrix over 16 samples 2.25 MiB. The blocks hold grad_out as rows (0.5 MiB) and,
    # per thread, a block's rows of the column matrix and of grad_weight.
    x, w, go, geo = _case(5, 32, 256, 4, 4, 256, (3, 3), 1, 1, 1, np.float32)
    results = x.nbytes + w.nbytes
    blocked = _workspace(lambda: K.conv2d_backward(go, x, w, 1, 1, need_bias=False), results)
    lanes = _workspace(
        lambda: K.conv2d_backward(go, x, w, 1, 1, need_bias=False, chunk_bytes=K.CHUNK_BYTES),
        results,
    )
    threads = numba.config.NUMBA_NUM_THREADS
    block_rows = (geo.C // len(K._channel_blocks(geo))) * 9
    per_block = block_rows * (geo.N * 16 + geo.OC) * 4
    assert blocked <= go.nbytes + threads * 2 * per_block + (256 << 10)
    assert blocked < w.nbytes <= lanes
