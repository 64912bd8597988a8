"""The conv kernels against the reference loops, PyTorch, finite differences, and the
slides' worked example; plus argument validation and thread-count independence."""

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_core.kernels import conv as K
from tests.peak_memory import traced_peak
from tests.reference.conv import conv2d_backward_ref, conv2d_ref

SLIDE_IMAGE = np.array(
    [
        [3, 0, 1, 2, 7, 4],
        [1, 5, 8, 9, 3, 1],
        [2, 7, 2, 5, 1, 3],
        [0, 1, 3, 1, 7, 8],
        [4, 2, 1, 6, 2, 8],
        [2, 4, 5, 2, 3, 9],
    ],
    dtype=np.float64,
)
VERTICAL_EDGE = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=np.float64)
HORIZONTAL_EDGE = VERTICAL_EDGE.T.copy()


def _tol(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


def _case(rng, N, C, H, W, OC, kh, kw, groups, dtype, bias=True):
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((OC, C // groups, kh, kw)).astype(dtype)
    b = rng.standard_normal(OC).astype(dtype) if bias else None
    return x, w, b


def _check_against_reference(x, w, b, stride, padding, dilation, groups, chunk_bytes=None):
    kw = {} if chunk_bytes is None else {"chunk_bytes": chunk_bytes}
    out = K.conv2d_forward(x, w, b, stride, padding, dilation, groups, **kw)
    s2 = (stride, stride) if isinstance(stride, int) else stride
    d2 = (dilation, dilation) if isinstance(dilation, int) else dilation
    ref = conv2d_ref(x, w, b, s2, padding, d2, groups)
    np.testing.assert_allclose(out, ref, **_tol(x.dtype))
    assert out.dtype == x.dtype
    go = np.random.default_rng(7).standard_normal(out.shape).astype(x.dtype)
    gx, gw, gb = K.conv2d_backward(go, x, w, stride, padding, dilation, groups, **kw)
    rgx, rgw, rgb = conv2d_backward_ref(go, x, w, s2, padding, d2, groups)
    np.testing.assert_allclose(gx, rgx, **_tol(x.dtype))
    np.testing.assert_allclose(gw, rgw, **_tol(x.dtype))
    np.testing.assert_allclose(gb, rgb, **_tol(x.dtype))
    assert gx.dtype == gw.dtype == gb.dtype == x.dtype
    assert gx.shape == x.shape and gw.shape == w.shape and gb.shape == (w.shape[0],)


# ------------------------------------------------------------------ worked example


def test_slides_vertical_edge_filter():
    out = K.conv2d_forward(SLIDE_IMAGE[None, None], VERTICAL_EDGE[None, None])
    expected = [[-5, -4, 0, 8], [-10, -2, 2, 3], [0, -2, -4, -7], [-3, -2, -3, -16]]
    np.testing.assert_array_equal(out[0, 0], expected)


def test_slides_two_filters_at_once():
    # The lecture's (000) own 6x6 binary image and its two filters, stacked as one
    # (2, 1, 3, 3) weight: the maps are exactly the ones the slide prints (filter 1
    # detects the diagonal, filter 2 the vertical line), and stride 2 gives "3 -3".
    image = np.array(
        [[1, 0, 0, 0, 0, 1],
         [0, 1, 0, 0, 1, 0],
         [0, 0, 1, 1, 0, 0],
         [1, 0, 0, 0, 1, 0],
         [0, 1, 0, 0, 1, 0],
         [0, 0, 1, 0, 1, 0]], dtype=np.float64)[None, None]
    filter1 = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=np.float64)
    filter2 = np.array([[-1, 1, -1], [-1, 1, -1], [-1, 1, -1]], dtype=np.float64)
    w = np.stack([filter1, filter2])[:, None]
    out = K.conv2d_forward(image, w)
    assert out.shape == (1, 2, 4, 4)
    np.testing.assert_array_equal(
        out[0, 0], [[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]])
    np.testing.assert_array_equal(
        out[0, 1], [[-1, -1, -1, -1], [-1, -1, -2, 1], [-1, -1, -2, 1], [-1, 0, -4, 3]])
    np.testing.assert_array_equal(out, conv2d_ref(image, w))
    strided = K.conv2d_forward(image, filter1[None, None], stride=(2, 2))
    np.testing.assert_array_equal(strided[0, 0, 0], [3, -3])


# ------------------------------------------------------------- reference loops


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "N,C,H,W,OC,k,stride,padding,dilation,groups",
    [
        (2, 3, 7, 9, 4, (3, 2), (2, 1), (1, 2), (1, 2), 1),  # everything non-square
        (2, 4, 8, 8, 6, (3, 3), 1, 1, 1, 2),  # groups
        (2, 4, 9, 7, 8, (3, 3), 1, "same", 2, 4),  # 'same' with dilation
        (1, 2, 6, 5, 3, (2, 4), 1, "same", 1, 1),  # 'same' with odd totals
        (2, 3, 6, 6, 2, (3, 3), 1, "valid", 1, 1),
        (2, 4, 9, 9, 4, (3, 3), 2, 1, 1, 4),  # depthwise, stride 2
        (2, 3, 7, 7, 6, (3, 3), 1, 1, 1, 3),  # depthwise with multiplier 2
        (2, 5, 5, 6, 7, (1, 1), 1, 0, 1, 1),  # 1x1
        (2, 5, 5, 6, 7, (1, 1), 2, 1, 1, 1),  # 1x1 with stride and padding
        (1, 1, 5, 5, 1, (5, 5), 1, 0, 1, 1),  # kernel = input
        (3, 1, 8, 8, 6, (5, 5), 1, 2, 1, 1),  # LeNet on 8x8 digits
    ],
)
def test_conv_matches_reference(dtype, N, C, H, W, OC, k, stride, padding, dilation, groups):
    rng = np.random.default_rng(0)
    x, w, b = _case(rng, N, C, H, W, OC, k[0], k[1], groups, dtype)
    _check_against_reference(x, w, b, stride, padding, dilation, groups)


@pytest.mark.parametrize(
    "N,C,H,W,OC,k,stride,padding,groups",
    [
        (3, 4, 9, 8, 6, (1, 1), 1, 0, 2),  # grouped 1x1: GEMMs on the samples themselves
        (1, 3, 11, 9, 4, (3, 3), 1, 1, 1),  # batch 1: lanes split the sample's rows
        (2, 2, 13, 5, 3, (5, 3), (2, 1), 2, 1),  # batch 2, tall kernel, stride 2
        (11, 2, 6, 6, 3, (3, 3), 1, 0, 1),  # more samples than lanes
    ],
)
def test_default_chunking_paths(N, C, H, W, OC, k, stride, padding, groups):
    rng = np.random.default_rng(10)
    x, w, b = _case(rng, N, C, H, W, OC, k[0], k[1], groups, np.float64)
    _check_against_reference(x, w, b, stride, padding, 1, groups)


@pytest.mark.parametrize("chunk_bytes", [1, 200, 5000])
def test_chunking_inside_and_across_samples(chunk_bytes):
    # Tiny budgets split the flattened (n, oh) rows inside samples, not just between.
    rng = np.random.default_rng(1)
    x, w, b = _case(rng, 3, 2, 7, 6, 3, 3, 2, 1, np.float64)
    _check_against_reference(x, w, b, (2, 1), 1, 1, 1, chunk_bytes=chunk_bytes)
    x, w, b = _case(rng, 3, 4, 7, 6, 4, 3, 3, 2, np.float64)
    _check_against_reference(x, w, b, 1, "same", 1, 2, chunk_bytes=chunk_bytes)


@st.composite
def conv_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    C = groups * draw(st.integers(1, 3))
    OC = groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    H = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 9))
    W = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 9))
    N = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    bias = draw(st.booleans())
    return N, C, H, W, OC, (kh, kw), (sh, sw), (ph, pw), (dh, dw), groups, dtype, bias


@settings(max_examples=40, deadline=None)
@given(conv_cases())
def test_conv_random_geometries_match_reference(case):
    N, C, H, W, OC, k, stride, padding, dilation, groups, dtype, bias = case
    rng = np.random.default_rng(abs(hash(case)) % 2**32)
    x, w, b = _case(rng, N, C, H, W, OC, k[0], k[1], groups, dtype, bias)
    _check_against_reference(x, w, b, stride, padding, dilation, groups)


# --------------------------------------------------------------------- im2col


def test_im2col_layout():
    x = np.arange(2 * 1 * 3 * 3, dtype=np.float64).reshape(2, 1, 3, 3)
    cols = K.im2col(x, 2)
    # row (c, i, j), column (n, oh, ow)
    assert cols.shape == (4, 8)
    np.testing.assert_array_equal(cols[:, 0], [0, 1, 3, 4])
    np.testing.assert_array_equal(cols[0], [0, 1, 3, 4, 9, 10, 12, 13])
    padded = K.im2col(x[:1], 3, padding=1)
    assert padded.shape == (9, 9)
    np.testing.assert_array_equal(padded[:, 0], [0, 0, 0, 0, 0, 1, 0, 3, 4])


def test_col2im_is_the_adjoint_of_im2col():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 7, 6))
    args = dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(2, 1))
    cols = K.im2col(x, **args)
    c = rng.standard_normal(cols.shape)
    lhs = np.sum(cols * c)
    rhs = np.sum(x * K.col2im(c, x.shape, **args))
    assert lhs == pytest.approx(rhs, rel=1e-12)


# --------------------------------------------------------------------- gradients


def test_finite_differences_float64():
    rng = np.random.default_rng(3)
    x, w, b = _case(rng, 2, 4, 5, 6, 4, 3, 2, 2, np.float64)
    args = ((2, 1), (1, 0), (1, 2), 2)
    go = rng.standard_normal(K.conv2d_forward(x, w, b, *args).shape)
    gx, gw, gb = K.conv2d_backward(go, x, w, *args)

    def loss(x_, w_, b_):
        return np.sum(K.conv2d_forward(x_, w_, b_, *args) * go)

    eps = 1e-6
    for arr, grad in ((x, gx), (w, gw), (b, gb)):
        for flat in rng.choice(arr.size, size=min(8, arr.size), replace=False):
            idx = np.unravel_index(flat, arr.shape)
            old = arr[idx]
            arr[idx] = old + eps
            up = loss(x, w, b)
            arr[idx] = old - eps
            down = loss(x, w, b)
            arr[idx] = old
            assert (up - down) / (2 * eps) == pytest.approx(grad[idx], rel=1e-6, abs=1e-7)


def test_backward_skips_unneeded_gradients():
    rng = np.random.default_rng(4)
    x, w, _ = _case(rng, 2, 3, 6, 6, 4, 3, 3, 1, np.float32)
    go = np.ones((2, 4, 4, 4), np.float32)
    full = K.conv2d_backward(go, x, w)
    gx, gw, gb = K.conv2d_backward(go, x, w, need_input=False, need_bias=False)
    assert gx is None and gb is None
    np.testing.assert_array_equal(gw, full[1])
    gx, gw, gb = K.conv2d_backward(go, x, w, need_weight=False)
    assert gw is None
    np.testing.assert_array_equal(gx, full[0])
    np.testing.assert_array_equal(gb, full[2])
    assert K.conv2d_backward(go, x, w, need_input=False, need_weight=False, need_bias=False) == (
        None,
        None,
        None,
    )


def test_non_contiguous_inputs_are_accepted():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 6, 6, 2)).transpose(0, 3, 1, 2)  # NHWC memory, NCHW view
    w = rng.standard_normal((4, 2, 3, 3))[:, :, ::-1]
    np.testing.assert_allclose(K.conv2d_forward(x, w), conv2d_ref(x, np.ascontiguousarray(w)))


# ------------------------------------------------------------------- PyTorch


@pytest.mark.parametrize(
    "C,OC,k,stride,padding,dilation,groups",
    [
        (3, 8, 3, 1, 1, 1, 1),
        (4, 6, (3, 5), (2, 1), (1, 2), (2, 1), 2),
        (8, 8, 3, 2, 1, 1, 8),
        (6, 4, 1, 1, 0, 1, 1),
        (3, 5, (4, 2), 1, "same", (1, 2), 1),
    ],
)
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_matches_torch(torch_or_skip, C, OC, k, stride, padding, dilation, groups):
    torch = torch_or_skip
    rng = np.random.default_rng(6)
    k2 = (k, k) if isinstance(k, int) else k
    x, w, b = _case(rng, 3, C, 11, 10, OC, k2[0], k2[1], groups, np.float64)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, stride, padding, dilation, groups)
    go = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(go))
    out = K.conv2d_forward(x, w, b, stride, padding, dilation, groups)
    gx, gw, gb = K.conv2d_backward(go, x, w, stride, padding, dilation, groups)
    for mine, theirs in ((out, ty), (gx, tx.grad), (gw, tw.grad), (gb, tb.grad)):
        np.testing.assert_allclose(mine, theirs.detach().numpy(), rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------- threads


def _two_threads_or_skip():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba was started with a single thread")


@pytest.mark.parametrize(
    "N,groups,C,OC,k,chunk_bytes",
    [
        (5, 1, 6, 8, 3, 3000),
        (5, 2, 6, 8, 3, K.CHUNK_BYTES),
        (5, 6, 6, 12, 3, K.CHUNK_BYTES),  # depthwise
        (1, 1, 4, 8, 3, K.CHUNK_BYTES),  # batch 1: two phases of lanes
        (20, 1, 8, 16, 1, K.CHUNK_BYTES),  # pointwise, more samples than lanes
    ],
)
def test_bit_identical_with_one_and_two_threads(N, groups, C, OC, k, chunk_bytes):
    _two_threads_or_skip()
    rng = np.random.default_rng(8)
    x, w, b = _case(rng, N, C, 13, 11, OC, k, k, groups, np.float32)
    pad = k // 2
    go = rng.standard_normal((N, OC, 13, 11)).astype(np.float32)
    def compute():
        out = K.conv2d_forward(x, w, b, 1, pad, 1, groups, chunk_bytes=chunk_bytes)
        return (out,) + K.conv2d_backward(go, x, w, 1, pad, 1, groups, chunk_bytes=chunk_bytes)

    _assert_bit_identical_with_one_and_two_threads(compute)


def test_a_strided_depthwise_conv_splits_its_planes_over_threads_with_the_same_bits():
    # Big enough that the direct kernels' work (taps x elements touched) crosses the
    # threading threshold: the planes are cut into ranges run by the worker threads.
    from autograd_core.kernels._threads import SMALL_WORK

    _two_threads_or_skip()
    rng = np.random.default_rng(9)
    n, c, size = 16, 64, 32
    x, w, b = _case(rng, n, c, size, size, c, 3, 3, c, np.float32)
    geo = K.conv_geometry(x.shape, w.shape, 2, 1, 1, c)
    assert K._use_direct(geo) and K._direct_work(geo) >= SMALL_WORK
    go = rng.standard_normal((n, c, geo.OH, geo.OW)).astype(np.float32)

    def compute():
        out = K.conv2d_forward(x, w, b, 2, 1, 1, c)
        return (out,) + K.conv2d_backward(go, x, w, 2, 1, 1, c)

    _assert_bit_identical_with_one_and_two_threads(compute)


def _assert_bit_identical_with_one_and_two_threads(compute):
    results = []
    before = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            results.append(compute())
    finally:
        numba.set_num_threads(before)
    for one, two in zip(*results):
        assert one.tobytes() == two.tobytes()


# ----------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "x_shape,w_shape,kwargs,match",
    [
        ((1, 3, 5), (2, 3, 3, 3), {}, "x must be 4-D"),
        ((1, 3, 5, 5), (2, 3, 3), {}, "weight must be 4-D"),
        ((1, 4, 5, 5), (2, 3, 3, 3), {}, "4 channels"),
        ((1, 4, 5, 5), (4, 2, 3, 3), {"groups": 3}, "not divisible by groups=3"),
        ((1, 4, 5, 5), (3, 2, 3, 3), {"groups": 2}, "out_channels=3"),
        ((1, 1, 3, 3), (1, 1, 4, 4), {}, "larger than the padded input"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"dilation": 3}, "larger than the padded input"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"stride": 0}, "stride must be positive"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"stride": (1, -1)}, "stride must be positive"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"dilation": 0}, "dilation must be positive"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"padding": -1}, "non-negative"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"padding": "same", "stride": 2}, "stride 1"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"padding": "full"}, "'valid' or 'same'"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"padding": (1, 2, 3)}, "pair"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"groups": 0}, "groups"),
        ((1, 1, 5, 5), (1, 1, 3, 3), {"stride": 1.5}, "stride"),
    ],
)
def test_bad_arguments_raise_value_errors(x_shape, w_shape, kwargs, match):
    x = np.zeros(x_shape, np.float32)
    w = np.zeros(w_shape, np.float32)
    with pytest.raises(ValueError, match=match):
        K.conv2d_forward(x, w, **kwargs)


def test_bad_dtypes_raise_type_errors():
    w = np.zeros((1, 1, 2, 2), np.float32)
    with pytest.raises(TypeError, match="int64"):
        K.conv2d_forward(np.zeros((1, 1, 3, 3), np.int64), w)
    with pytest.raises(TypeError, match="share one dtype"):
        K.conv2d_forward(np.zeros((1, 1, 3, 3), np.float64), w)
    with pytest.raises(TypeError, match="NumPy array"):
        K.conv2d_forward([[[[1.0]]]], w)
    with pytest.raises(ValueError, match="bias has 2 entries"):
        K.conv2d_forward(np.zeros((1, 1, 3, 3), np.float32), w, np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="grad_out must have shape"):
        K.conv2d_backward(np.zeros((1, 1, 3, 3), np.float32), np.zeros((1, 1, 3, 3), np.float32), w)


def test_output_size_formula():
    # (N + 2P - d(F-1) - 1) / S + 1
    assert K.conv_output_size(32, 3, 1, 2, 1) == 32
    assert K.conv_output_size(32, 3, 2, 2, 1) == 16
    assert K.conv_output_size(7, 3, 2, 0, 2) == 2
    geo = K.conv_geometry((1, 1, 6, 5), (1, 1, 2, 4), padding="same")
    assert (geo.OH, geo.OW, geo.pad, geo.pad_total) == (6, 5, (0, 1), (1, 3))


# ---------------------------------------------- the workspace cap (issue 15, item 20)


def _chunk_workspace(conv, chunk):
    r0, r1, c0, c1 = chunk
    columns = (r1 - r0) * conv.geo.OW if c1 - c0 == conv.geo.OW else c1 - c0
    return (conv.K + conv.geo.OC) * columns * conv.dtype.itemsize


def test_issue_shape_plans_chunks_under_the_cap():
    # x (1, 512, 11, 4096), w (1, 512, 11, 11): one output row's workspace is ~1 GiB.
    geo = K.conv_geometry((1, 512, 11, 4096), (1, 512, 11, 11))
    x = np.empty((1, 1, 1, 1), np.float32)  # the plan needs only the geometry and dtype
    conv = K._Conv(geo, x, np.empty((1, 512, 11, 11), np.float32), K.CHUNK_BYTES)
    assert conv.bytes_per_row > 900 * 2**20 > K.MAX_WORKSPACE_BYTES
    assert max(_chunk_workspace(conv, c) for c in conv.chunks) <= K.MAX_WORKSPACE_BYTES
    # the spans tile the output exactly once
    covered = np.zeros((geo.N * geo.OH, geo.OW), np.int64)
    for r0, r1, c0, c1 in conv.chunks:
        covered[r0:r1, c0:c1] += 1
    assert (covered == 1).all()


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.35, 0.8])
@pytest.mark.parametrize(
    "N,C,H,W,OC,k,stride,padding,dilation,groups",
    [
        (1, 6, 5, 40, 4, (3, 3), 1, 1, 1, 1),
        (2, 4, 6, 23, 6, (2, 3), (2, 3), (1, 2), (1, 2), 2),
        (3, 3, 4, 30, 5, (3, 3), 1, "same", 1, 1),
    ],
)
def test_rows_over_the_cap_are_cut_into_spans(
    monkeypatch, fraction, N, C, H, W, OC, k, stride, padding, dilation, groups
):
    rng = np.random.default_rng(3)
    x, w, b = _case(rng, N, C, H, W, OC, k[0], k[1], groups, np.float64)
    geo = K.conv_geometry(x.shape, w.shape, stride, padding, dilation, groups)
    cap = max(1, int(K._Conv(geo, x, w, K.CHUNK_BYTES).bytes_per_row * fraction))
    monkeypatch.setattr(K, "MAX_WORKSPACE_BYTES", cap)  # a row is over the cap
    conv = K._Conv(geo, x, w, K.CHUNK_BYTES)
    one_column = (conv.K + geo.OC) * x.itemsize
    assert max(_chunk_workspace(conv, c) for c in conv.chunks) <= max(cap, one_column)
    assert any(c1 - c0 < geo.OW for _, _, c0, c1 in conv.chunks)
    _check_against_reference(x, w, b, stride, padding, dilation, groups)


def test_peak_memory_stays_under_the_cap(monkeypatch):
    cap = 1 << 20
    monkeypatch.setattr(K, "MAX_WORKSPACE_BYTES", cap)
    rng = np.random.default_rng(5)
    x, w, _ = _case(rng, 1, 64, 5, 2048, 2, 5, 5, 1, np.float32, bias=False)
    geo = K.conv_geometry(x.shape, w.shape)
    conv = K._Conv(geo, x, w, K.CHUNK_BYTES)
    assert conv.bytes_per_row > 12 * cap  # a single row would need 13 MB
    out_bytes = geo.N * geo.OC * geo.OH * geo.OW * x.itemsize
    go = np.ones((geo.N, geo.OC, geo.OH, geo.OW), np.float32)
    K.conv2d_backward(go, x, w)  # compile outside the measurement
    for call, result_bytes in (
        (lambda: K.conv2d_forward(x, w), out_bytes),
        (lambda: K.conv2d_backward(go, x, w), x.nbytes + w.nbytes * 8 + 4096),
    ):
        peak = traced_peak(call)
        # results, plus at most one chunk per thread, plus small change
        assert peak <= result_bytes + numba.config.NUMBA_NUM_THREADS * cap + (256 << 10)


# ------------------------------------------------- one lane, GEMMs in row blocks


def _wide_small_plane_case(dtype):
    # 4 samples of 6x6: 144 output columns, one lane; 85M multiply-adds: 4 row blocks.
    rng = np.random.default_rng(11)
    x, w, b = _case(rng, 4, 256, 6, 6, 256, 3, 3, 1, dtype)
    go = rng.standard_normal((4, 256, 6, 6)).astype(dtype)
    geo = K.conv_geometry(x.shape, w.shape, 1, 1)
    return x, w, b, go, geo


def test_wide_small_plane_conv_cuts_its_gemms_into_row_blocks():
    x, w, b, go, geo = _wide_small_plane_case(np.float64)
    conv = K._Conv(geo, x, w, None)
    assert len(conv.lanes) == 1 and conv.blocks == K.GEMM_BLOCKS
    out = K.conv2d_forward(x, w, b, 1, 1)
    np.testing.assert_allclose(out, conv2d_ref(x, w, b, (1, 1), 1, (1, 1), 1), **_tol(x.dtype))
    grads = K.conv2d_backward(go, x, w, 1, 1)
    for got, want in zip(grads, conv2d_backward_ref(go, x, w, (1, 1), 1, (1, 1), 1)):
        np.testing.assert_allclose(got, want, **_tol(x.dtype))


def test_row_blocks_are_bit_identical_with_one_and_two_threads():
    _two_threads_or_skip()
    x, w, b, go, _ = _wide_small_plane_case(np.float32)
    _assert_bit_identical_with_one_and_two_threads(
        lambda: (K.conv2d_forward(x, w, b, 1, 1),) + K.conv2d_backward(go, x, w, 1, 1)
    )


def test_grouped_and_small_convs_keep_whole_gemms():
    assert K._gemm_blocks(K.conv_geometry((4, 256, 6, 6), (256, 128, 3, 3), 1, 1, groups=2)) == 1
    assert K._gemm_blocks(K.conv_geometry((4, 16, 6, 6), (16, 16, 3, 3), 1, 1)) == 1
