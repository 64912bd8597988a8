"""Stride-1 convs on 'same'-width planes (kernels.conv_same_width), depthwise and
grouped or not, and the rule that sends first layers there.

Against the reference loops (float64 to 1e-10: groups, channel multipliers,
dilations, even kernels' asymmetric 'same' padding, row padding of any size), by
hypothesis over 'same'-width geometries, the depthwise forward bit-identical to the
direct kernels it replaces, against PyTorch (float32) through
``conv2d_forward``/``conv2d_backward``, and bit-identical with one and two threads.
"""

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_core.kernels import conv as K
from autograd_core.kernels import conv_same_width as SW
from tests.reference.conv import conv2d_backward_ref, conv2d_ref


def _check_against_reference(x, w, b, padding, dilation=1, groups=None):
    C = x.shape[1]
    groups = C if groups is None else groups  # depthwise unless told
    geo = K.conv_geometry(x.shape, w.shape, 1, padding, dilation, groups)
    assert SW.same_width(geo)
    out = SW.same_width_forward(x, w, b, geo)
    go = np.random.default_rng(1).standard_normal(out.shape)
    gx, gw, gb = SW.same_width_backward(go, x, w, geo, True, True, True)
    d = K.pair(dilation, "dilation")
    tol = dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out, conv2d_ref(x, w, b, (1, 1), padding, d, groups), **tol)
    rgx, rgw, rgb = conv2d_backward_ref(go, x, w, (1, 1), padding, d, groups)
    np.testing.assert_allclose(gx, rgx, **tol)
    np.testing.assert_allclose(gw, rgw, **tol)
    np.testing.assert_allclose(gb, rgb, **tol)


@pytest.mark.parametrize(
    "N, C, H, W, kh, kw, padding, dilation",
    [
        (3, 5, 9, 8, 3, 3, 1, 1),  # MobileNet's 3x3 'same'
        (2, 3, 7, 10, 5, 5, 2, 1),  # 5x5
        (2, 4, 9, 9, 3, 3, 2, 2),  # dilated
        (2, 3, 8, 8, 4, 4, "same", 1),  # even kernel: asymmetric 'same' padding
        (2, 3, 8, 7, 2, 3, "same", (1, 2)),
        (2, 2, 6, 5, 3, 3, (0, 1), 1),  # no row padding: fewer output rows
        (2, 2, 5, 6, 3, 3, (4, 1), 1),  # row padding past the taps: extra rows
        (2, 3, 6, 1, 3, 1, (1, 0), 1),  # one column
        (1, 2, 4, 4, 1, 1, 0, 1),  # one tap
        # planes FUSED_3X3_MIN_WIDTH wide: nine taps in one loop inside
        (2, 3, 6, 26, 3, 3, 1, 1),
        (2, 2, 9, 25, 3, 3, 2, 2),  # dilated
        (2, 2, 2, 24, 3, 3, 1, 1),  # no row has all three input rows: no interior
        (2, 2, 5, 24, 3, 3, (2, 1), 1),  # row padding past the middle: taps' loops only
    ],
)
def test_matches_reference_loops(N, C, H, W, kh, kw, padding, dilation):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((C, 1, kh, kw))
    b = rng.standard_normal(C)
    _check_against_reference(x, w, b, padding, dilation)


@settings(max_examples=40, deadline=None)
@given(
    N=st.integers(1, 3), C=st.integers(2, 5), H=st.integers(1, 9), W=st.integers(1, 9),
    kh=st.integers(1, 4), kw=st.integers(1, 4), ph=st.integers(0, 4),
    dh=st.integers(1, 2), dw=st.integers(1, 2), seed=st.integers(0, 2**16),
)
def test_any_same_width_geometry_matches_reference(N, C, H, W, kh, kw, ph, dh, dw, seed):
    if dw * (kw - 1) % 2 or H + 2 * ph < dh * (kh - 1) + 1:
        return  # no symmetric 'same' column padding, or no output row
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((C, 1, kh, kw))
    _check_against_reference(x, w, rng.standard_normal(C), (ph, dw * (kw - 1) // 2),
                             (dh, dw))


@pytest.mark.parametrize(
    "N, C, OC, H, W, k, padding, groups",
    [
        (3, 1, 6, 9, 8, 5, 2, 1),  # LeNet's first layer: one input, six outputs
        (2, 3, 4, 7, 7, 3, 1, 1),  # a 3-channel stem
        (2, 4, 6, 6, 5, 3, 1, 2),  # two groups of 2 -> 3
        (2, 3, 6, 6, 6, 3, 1, 3),  # channel multiplier 2
        (2, 2, 3, 5, 6, 4, "same", 1),  # even kernel, asymmetric padding
        (2, 3, 5, 7, 30, 3, 1, 1),  # a stem on planes wide enough for one 3x3 loop
        (2, 4, 6, 5, 24, 3, 1, 2),  # grouped, the same
    ],
)
def test_any_groups_match_reference_loops(N, C, OC, H, W, k, padding, groups):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((OC, C // groups, k, k))
    _check_against_reference(x, w, rng.standard_normal(OC), padding, 1, groups)


@settings(max_examples=30, deadline=None)
@given(
    N=st.integers(1, 2), G=st.integers(1, 3), Cg=st.integers(1, 3), OCg=st.integers(1, 3),
    H=st.integers(1, 7), W=st.integers(1, 7), kh=st.integers(1, 3), kw=st.sampled_from([1, 3]),
    ph=st.integers(0, 2), seed=st.integers(0, 2**16),
)
def test_any_grouped_same_width_geometry_matches_reference(N, G, Cg, OCg, H, W, kh, kw, ph,
                                                           seed):
    if H + 2 * ph < kh:
        return  # no output row
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, G * Cg, H, W))
    w = rng.standard_normal((G * OCg, Cg, kh, kw))
    _check_against_reference(x, w, rng.standard_normal(G * OCg), (ph, kw // 2), 1, G)


@pytest.mark.parametrize(
    "x_shape, w_shape, padding, forward, backward",
    [
        ((128, 1, 28, 28), (6, 1, 5, 5), 2, True, True),  # LeNet-5's first layer
        ((32, 3, 32, 32), (16, 3, 3, 3), 1, True, True),  # ResNet w16's stem
        ((32, 3, 32, 32), (32, 3, 3, 3), 1, False, False),  # 32 outputs: GEMMs
        ((32, 3, 32, 32), (8, 3, 3, 3), 1, True, True),
        ((16, 3, 32, 32), (64, 3, 3, 3), 1, False, False),  # 64 outputs: GEMMs
        ((32, 3, 32, 32), (16, 3, 5, 5), 2, False, False),  # 75 products
        ((32, 3, 32, 32), (16, 3, 3, 3), 0, False, False),  # narrower output
        ((32, 16, 32, 32), (16, 1, 3, 3), 1, False, False),  # depthwise: its own rule
    ],
)
def test_first_layers_take_the_planes_by_the_shapes(x_shape, w_shape, padding, forward,
                                                    backward):
    groups = x_shape[1] // w_shape[1]
    geo = K.conv_geometry(x_shape, w_shape, 1, padding, 1, groups)
    assert K._use_same_width_planes(geo, backward=False) is forward
    assert K._use_same_width_planes(geo, backward=True) is backward


@pytest.mark.parametrize("size, dilation", [(16, 1), (SW.FUSED_3X3_MIN_WIDTH + 8, 1),
                                            (SW.FUSED_3X3_MIN_WIDTH + 3, 2)])
def test_forward_bits_are_the_direct_kernels(size, dilation):
    # on the wider planes the 3x3 taps are one loop inside: the same sums in the same order
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 16, size, size)).astype(np.float32)
    w = rng.standard_normal((16, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    geo = K.conv_geometry(x.shape, w.shape, 1, dilation, dilation, 16)
    direct = np.empty((4, 16, size, size), np.float32)
    K.run_planes(K._direct_forward, 4 * 16, (x, w, b, direct, 16, *K._direct_args(geo)),
                 K._direct_work(geo))
    assert SW.same_width_forward(x, w, b, geo).tobytes() == direct.tobytes()


@pytest.mark.parametrize(
    "x_shape, w_shape, kwargs, expected",
    [
        ((2, 8, 8, 8), (8, 1, 3, 3), dict(padding=1, groups=8), True),
        ((2, 8, 8, 8), (8, 1, 3, 3), dict(padding=0, groups=8), False),  # narrower
        ((2, 8, 8, 8), (8, 1, 3, 3), dict(stride=2, padding=1, groups=8), False),
        ((2, 8, 8, 8), (16, 1, 3, 3), dict(padding=1, groups=8), True),  # multiplier 2
        ((2, 8, 8, 8), (8, 8, 3, 3), dict(padding=1), True),  # not grouped
        ((1, 2, 4096, 4096), (2, 1, 3, 3), dict(padding=1, groups=2), False),  # masks
        ((1, 3, 2048, 2048), (8, 3, 3, 3), dict(padding=1), False),  # 3 planes' masks
    ],
)
def test_which_convs_the_planes_can_take(x_shape, w_shape, kwargs, expected):
    assert SW.same_width(K.conv_geometry(x_shape, w_shape, **kwargs)) is expected


@pytest.mark.parametrize(
    "x_shape, w_shape, padding, groups",
    [
        ((32, 32, 32, 32), (32, 1, 3, 3), 1, 32),  # depthwise
        ((128, 1, 28, 28), (6, 1, 5, 5), 2, 1),  # LeNet's first layer
        ((32, 3, 32, 32), (16, 3, 3, 3), 1, 1),  # ResNet w16's stem
    ],
)
def test_matches_torch_through_the_rule(torch_or_skip, x_shape, w_shape, padding, groups):
    torch = torch_or_skip
    rng = np.random.default_rng(3)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    geo = K.conv_geometry(x.shape, w.shape, 1, padding, 1, groups)
    assert K._depthwise_kernels(geo) == "plane" or K._use_same_width_planes(geo, True)
    out = K.conv2d_forward(x, w, None, 1, padding, 1, groups)
    go = rng.standard_normal(out.shape).astype(np.float32)
    gx, gw, _ = K.conv2d_backward(go, x, w, 1, padding, 1, groups, need_bias=False)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ref = torch.nn.functional.conv2d(tx, tw, None, 1, padding, 1, groups)
    ref.backward(torch.from_numpy(go))
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gw, tw.grad.numpy(), rtol=1e-4, atol=2e-2)


def test_bit_identical_with_one_and_two_threads():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba was started with a single thread")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((32, 64, 16, 16)).astype(np.float32)
    w = rng.standard_normal((64, 1, 3, 3)).astype(np.float32)
    go = rng.standard_normal(x.shape).astype(np.float32)
    stem_x = rng.standard_normal((64, 3, 32, 32)).astype(np.float32)
    stem_w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    stem_go = rng.standard_normal((64, 8, 32, 32)).astype(np.float32)
    results = []
    before = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            results.append((K.conv2d_forward(x, w, None, 1, 1, 1, 64),)
                           + K.conv2d_backward(go, x, w, 1, 1, 1, 64)
                           + (K.conv2d_forward(stem_x, stem_w, None, 1, 1),)
                           + K.conv2d_backward(stem_go, stem_x, stem_w, 1, 1))
    finally:
        numba.set_num_threads(before)
    for one, two in zip(*results):
        assert one.tobytes() == two.tobytes()
