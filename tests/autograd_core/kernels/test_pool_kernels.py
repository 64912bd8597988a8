"""Pooling kernels against the reference loops and PyTorch; ties, NaNs, ceil_mode,
divisors, adaptive bins, validation and thread-count independence."""

import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_core.kernels import pool as P
from tests.reference.pool import (
    adaptive_avg_pool2d_backward_ref,
    adaptive_avg_pool2d_ref,
    avg_pool2d_backward_ref,
    avg_pool2d_ref,
    max_pool2d_backward_ref,
    max_pool2d_ref,
)


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


@st.composite
def pool_cases(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    H = draw(st.integers(max(1, kh - 2 * ph), 10))
    W = draw(st.integers(max(1, kw - 2 * pw), 10))
    N, C = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    ceil_mode = draw(st.booleans())
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return (N, C, H, W), (kh, kw), (sh, sw), (ph, pw), ceil_mode, dtype


def _data(shape, dtype, seed, ties=False):
    rng = np.random.default_rng(seed)
    if ties:  # few distinct values: many windows have tied maxima
        return rng.integers(0, 3, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


@settings(max_examples=60, deadline=None)
@given(pool_cases(), st.booleans())
def test_max_pool_matches_reference(case, ties):
    shape, k, s, p, ceil_mode, dtype = case
    x = _data(shape, dtype, hash(case) % 2**32, ties)
    out, idx = P.max_pool2d_forward(x, k, s, p, ceil_mode)
    rout, ridx = max_pool2d_ref(x, k, s, p, ceil_mode)
    np.testing.assert_array_equal(out, rout)
    np.testing.assert_array_equal(idx, ridx)
    assert out.dtype == x.dtype
    go = _data(out.shape, dtype, 1)
    np.testing.assert_allclose(
        P.max_pool2d_backward(go, idx, x.shape),
        max_pool2d_backward_ref(go, ridx, x.shape),
        **_tol(dtype),
    )


@settings(max_examples=40, deadline=None)
@given(pool_cases(), st.integers(1, 3), st.integers(1, 3), st.booleans())
def test_dilated_max_pool_matches_reference(case, dh, dw, ties):
    shape, k, s, p, ceil_mode, dtype = case
    N, C, H, W = shape
    # room for one dilated window in the padded input
    shape = (N, C, max(H, dh * (k[0] - 1) + 1), max(W, dw * (k[1] - 1) + 1))
    x = _data(shape, dtype, hash(case) % 2**32, ties)
    out, idx = P.max_pool2d_forward(x, k, s, p, ceil_mode, (dh, dw))
    rout, ridx = max_pool2d_ref(x, k, s, p, ceil_mode, (dh, dw))
    np.testing.assert_array_equal(out, rout)
    np.testing.assert_array_equal(idx, ridx)


def test_unpool_and_gather_are_adjoint_and_match_loops():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5))
    indices = rng.integers(0, 6 * 7, size=x.shape)  # repeats: the last write wins
    out = P.max_unpool2d_forward(x, indices, (6, 7))
    expected = np.zeros((2, 3, 6 * 7))
    for n in range(2):
        for c in range(3):
            for value, at in zip(x[n, c].ravel(), indices[n, c].ravel()):
                expected[n, c, at] = value
    np.testing.assert_array_equal(out, expected.reshape(out.shape))
    values = rng.standard_normal((2, 3, 6, 7))
    gathered = P.gather_planes(values, indices)
    np.testing.assert_array_equal(
        gathered, np.take_along_axis(values.reshape(2, 3, -1), indices.reshape(2, 3, -1),
                                     axis=2).reshape(x.shape))
    distinct = np.stack([rng.permutation(42)[:20] for _ in range(6)]).reshape(x.shape)
    unpooled = P.max_unpool2d_forward(x, distinct, (6, 7))
    np.testing.assert_allclose(np.vdot(unpooled, values),
                               np.vdot(x, P.gather_planes(values, distinct)), rtol=1e-12)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: P.max_unpool2d_forward(np.ones((1, 1, 2, 2)), np.full((1, 1, 2, 2), 9), (3, 3)),
         "outside the output planes"),
        (lambda: P.max_unpool2d_forward(np.ones((1, 1, 2, 2)), np.zeros((1, 1, 2, 1), np.int64),
                                        (3, 3)), "differs from x"),
        (lambda: P.max_unpool2d_forward(np.ones((1, 1, 2, 2)), np.zeros((1, 1, 2, 2)), (3, 3)),
         "int32 or int64"),
        (lambda: P.gather_planes(np.ones((1, 1, 2, 2)), np.full((1, 1, 1, 1), -1)),
         "outside the output planes"),
        (lambda: P.gather_planes(np.ones((1, 2, 2, 2)), np.zeros((1, 1, 1, 1), np.int64)),
         "does not match"),
    ],
)
def test_unpool_and_gather_validate(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()


@settings(max_examples=60, deadline=None)
@given(pool_cases(), st.booleans())
def test_avg_pool_matches_reference(case, count_include_pad):
    shape, k, s, p, ceil_mode, dtype = case
    x = _data(shape, dtype, hash(case) % 2**32)
    out = P.avg_pool2d_forward(x, k, s, p, ceil_mode, count_include_pad)
    np.testing.assert_allclose(
        out, avg_pool2d_ref(x, k, s, p, ceil_mode, count_include_pad), **_tol(dtype)
    )
    assert out.dtype == x.dtype
    go = _data(out.shape, dtype, 1)
    gx = P.avg_pool2d_backward(go, x.shape, k, s, p, ceil_mode, count_include_pad)
    ref = avg_pool2d_backward_ref(go, x.shape, k, s, p, ceil_mode, count_include_pad)
    np.testing.assert_allclose(gx, ref, **_tol(dtype))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 9),
    st.integers(1, 9),
    st.one_of(
        st.integers(1, 10),
        st.tuples(
            st.one_of(st.none(), st.integers(1, 10)), st.one_of(st.none(), st.integers(1, 10))
        ),
    ),
    st.sampled_from([np.float32, np.float64]),
)
def test_adaptive_avg_pool_matches_reference(H, W, output_size, dtype):
    x = _data((2, 3, H, W), dtype, H * 10 + W)
    out = P.adaptive_avg_pool2d_forward(x, output_size)
    OH, OW = P.adaptive_output_size(x.shape, output_size)
    assert out.shape == (2, 3, OH, OW) and out.dtype == x.dtype
    np.testing.assert_allclose(out, adaptive_avg_pool2d_ref(x, (OH, OW)), **_tol(dtype))
    go = _data(out.shape, dtype, 3)
    np.testing.assert_allclose(
        P.adaptive_avg_pool2d_backward(go, x.shape),
        adaptive_avg_pool2d_backward_ref(go, x.shape),
        **_tol(dtype),
    )


def test_global_average_pooling_is_the_mean():
    x = _data((2, 4, 5, 7), np.float64, 0)
    np.testing.assert_allclose(P.adaptive_avg_pool2d_forward(x, 1)[..., 0, 0], x.mean(axis=(2, 3)))


def test_max_pool_ties_take_the_first_in_row_major_order():
    x = np.array([[[[1, 3, 3], [3, 0, 2], [3, 3, 1]]]], np.float32)
    out, idx = P.max_pool2d_forward(x, 2, 1)
    np.testing.assert_array_equal(out[0, 0], [[3, 3], [3, 3]])
    np.testing.assert_array_equal(idx[0, 0], [[1, 1], [3, 7]])


def test_max_pool_nan_wins_and_padding_never_does():
    x = np.full((1, 1, 4, 4), -np.inf, np.float64)
    x[0, 0, 1, 1] = np.nan
    out, idx = P.max_pool2d_forward(x, 2, 2)
    assert np.isnan(out[0, 0, 0, 0]) and idx[0, 0, 0, 0] == 5
    assert out[0, 0, 1, 1] == -np.inf and idx[0, 0, 1, 1] == 10  # first of the window
    out, idx = P.max_pool2d_forward(-np.ones((1, 1, 3, 3)), 3, 1, 1)
    assert (out == -1).all()


@pytest.mark.parametrize(
    "shape,k,s,p",
    [
        ((2, 3, 8, 8), 2, 2, 0),
        ((2, 3, 7, 9), 2, 2, 0),
        ((1, 2, 9, 9), 3, 2, 1),
        ((2, 2, 6, 6), 3, 1, 1),
    ],
)
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_pooling_matches_torch(torch_or_skip, shape, k, s, p, ceil_mode):
    torch = torch_or_skip
    F = torch.nn.functional
    x = _data(shape, np.float64, 4)
    x[0, 0, 0, :2] = x[0, 0, 0, 0]  # a tie
    tx = torch.tensor(x, requires_grad=True)
    ty, tidx = F.max_pool2d(tx, k, s, p, ceil_mode=ceil_mode, return_indices=True)
    go = _data(tuple(ty.shape), np.float64, 5)
    ty.backward(torch.tensor(go))
    out, idx = P.max_pool2d_forward(x, k, s, p, ceil_mode)
    np.testing.assert_array_equal(out, ty.detach().numpy())
    np.testing.assert_array_equal(idx, tidx.numpy())
    np.testing.assert_allclose(P.max_pool2d_backward(go, idx, x.shape), tx.grad.numpy())
    for cip in (True, False):
        tx = torch.tensor(x, requires_grad=True)
        ty = F.avg_pool2d(tx, k, s, p, ceil_mode=ceil_mode, count_include_pad=cip)
        ty.backward(torch.tensor(go))
        np.testing.assert_allclose(
            P.avg_pool2d_forward(x, k, s, p, ceil_mode, cip), ty.detach().numpy(), rtol=1e-12
        )
        np.testing.assert_allclose(
            P.avg_pool2d_backward(go, x.shape, k, s, p, ceil_mode, cip), tx.grad.numpy(), rtol=1e-12
        )
    for size in (1, (3, 2), (None, 5), 7):
        tx = torch.tensor(x, requires_grad=True)
        ty = F.adaptive_avg_pool2d(tx, size)
        g = _data(tuple(ty.shape), np.float64, 6)
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(
            P.adaptive_avg_pool2d_forward(x, size), ty.detach().numpy(), rtol=1e-12
        )
        np.testing.assert_allclose(
            P.adaptive_avg_pool2d_backward(g, x.shape), tx.grad.numpy(), rtol=1e-12
        )


def test_ceil_mode_output_sizes():
    # floor((5 - 2) / 2) + 1 = 2; ceil gives 3 (the last window starts inside the input)
    assert P.pool_geometry((1, 1, 5, 5), 2, ceil_mode=True).OH == 3
    assert P.pool_geometry((1, 1, 5, 5), 2).OH == 2
    # ceil((4 + 2 - 2) / 2) + 1 = 3, but that window would start at 4 = H + P: dropped
    assert P.pool_geometry((1, 1, 4, 4), 2, 2, 1, ceil_mode=True).OH == 3
    assert P.pool_geometry((1, 1, 5, 5), 3, 3, 1, ceil_mode=True).OH == 2


def test_avg_pool_divisors_at_the_border():
    x = np.ones((1, 1, 6, 6))
    # kernel 3, stride 2, padding 1, ceil_mode: OH = ceil((6 + 2 - 3) / 2) + 1 = 4.  The
    # last window starts at 5 and is clipped at the padded border 6 + 1 = 7: it covers
    # 2 rows (1 real, 1 padding), so the corner divisor is 2 * 2 = 4 and its sum is 1.
    out = P.avg_pool2d_forward(x, 3, 2, 1, ceil_mode=True)
    assert out.shape == (1, 1, 4, 4)
    assert out[0, 0, 3, 3] == pytest.approx(1 / 4)
    assert out[0, 0, 0, 0] == pytest.approx(4 / 9)  # first window: 2x2 real of 3x3
    assert out[0, 0, 0, 3] == pytest.approx(2 / 6)
    out = P.avg_pool2d_forward(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)
    np.testing.assert_allclose(out, 1.0)
    # without padding the border clip leaves only real pixels: the average stays 1
    np.testing.assert_allclose(P.avg_pool2d_forward(np.ones((1, 1, 5, 5)), 2, ceil_mode=True), 1)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda x: P.max_pool2d_forward(x, 2, padding=2), "at most half"),
        (lambda x: P.max_pool2d_forward(x, 0), "kernel_size must be positive"),
        (lambda x: P.max_pool2d_forward(x, 2, 0), "stride must be positive"),
        (lambda x: P.avg_pool2d_forward(x, 2, padding=-1), "non-negative"),
        (lambda x: P.max_pool2d_forward(x, 9), "output would be empty"),
        (lambda x: P.max_pool2d_forward(x[0], 2), "4-D"),
        (lambda x: P.adaptive_avg_pool2d_forward(x, 0), "positive"),
        (lambda x: P.adaptive_avg_pool2d_forward(x, (1, 2, 3)), "pair"),
        (lambda x: P.avg_pool2d_forward(x, (2, 2, 2)), "pair"),
    ],
)
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call(np.zeros((1, 1, 4, 4), np.float32))


def test_bad_dtypes():
    with pytest.raises(TypeError, match="int32"):
        P.max_pool2d_forward(np.zeros((1, 1, 4, 4), np.int32), 2)
    with pytest.raises(TypeError, match="float16"):
        P.adaptive_avg_pool2d_forward(np.zeros((1, 1, 4, 4), np.float16), 2)


@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (3, 1, 1)])
def test_bit_identical_with_one_and_two_threads(k, s, p):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba was started with a single thread")
    x = _data((3, 5, 11, 12), np.float32, 9)
    before = numba.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            out, idx = P.max_pool2d_forward(x, k, s, p)
            go = _data(out.shape, np.float32, 10)
            results.append(
                [
                    out,
                    idx,
                    P.max_pool2d_backward(go, idx, x.shape),
                    P.avg_pool2d_forward(x, k, s, p),
                    P.avg_pool2d_backward(go, x.shape, k, s, p),
                    P.adaptive_avg_pool2d_forward(x, (4, 5)),
                    P.adaptive_avg_pool2d_backward(go[:, :, :4, :5].copy(), x.shape),
                    P.max_pool2d_forward(x, k, s, p, dilation=2)[0],
                    P.max_unpool2d_forward(out, idx, x.shape[2:]),
                    P.gather_planes(x, idx),
                ]
            )
    finally:
        numba.set_num_threads(before)
    for one, two in zip(*results):
        assert one.tobytes() == two.tobytes()


# ------------------------------------ unsafe inputs to the public backward (issue 15, 10)

# Run in a child process: before the checks these calls wrote outside grad_x (a segfault
# for an index of 10**9, heap corruption for an x_shape smaller than the argmax's
# source), which must never take the test process down with them.
_UNSAFE_BACKWARD_CALLS = textwrap.dedent(
    """
    import numpy as np
    from autograd_core.kernels import pool as P

    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    out, idx = P.max_pool2d_forward(x, 2)
    go = np.ones_like(out)
    far = idx.copy()
    far[1, 2, 3, 3] = 10**9
    negative = idx.copy()
    negative[0, 0, 0, 0] = -5
    cases = {
        "index 10**9": (go, far, x.shape),
        "negative index": (go, negative, x.shape),
        "x_shape smaller than the source": (go, idx, (2, 3, 4, 4)),
        "x_shape of other planes": (go, idx, (2, 2, 8, 8)),
        "x_shape of floats": (go, idx, (2, 3, 8.0, 8)),
        "x_shape with a huge side": (go, idx, (2, 3, 2**64, 8)),
        "argmax as int64": (go, idx.astype(np.int64), x.shape),
        "argmax of another shape": (go, idx[:, :, :2], x.shape),
        "grad_out as float16": (go.astype(np.float16), idx, x.shape),
        "grad_out as a list": (go.tolist(), idx, x.shape),
    }
    for name, args in cases.items():
        try:
            P.max_pool2d_backward(*args)
        except (TypeError, ValueError) as error:
            print(name, "->", type(error).__name__, error)
        else:
            print(name, "-> accepted")
    # a strided (non-contiguous) but valid argmax is fine
    wide = np.zeros((2, 3, 4, 8), np.int32)
    wide[..., ::2] = idx
    gx = P.max_pool2d_backward(go, wide[..., ::2], x.shape)
    assert np.array_equal(gx, P.max_pool2d_backward(go, idx, x.shape))
    print("done")
    """
)


def test_max_pool_backward_refuses_indices_outside_the_input():
    proc = subprocess.run(
        [sys.executable, "-c", _UNSAFE_BACKWARD_CALLS],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"child died ({proc.returncode}): {proc.stderr[-2000:]}"
    lines = proc.stdout.splitlines()
    assert lines[-1] == "done"
    results = dict(line.split(" -> ", 1) for line in lines[:-1])
    assert len(results) == 10
    assert not [name for name, result in results.items() if result == "accepted"]
    assert "outside the planes" in results["index 10**9"]
    assert "outside the planes" in results["negative index"]
    assert "outside the planes" in results["x_shape smaller than the source"]
    assert "does not match grad_out" in results["x_shape of other planes"]
    assert "x_shape" in results["x_shape of floats"]
    assert "x_shape" in results["x_shape with a huge side"]
    assert results["argmax as int64"].startswith("TypeError")
    assert "differs from grad_out" in results["argmax of another shape"]
    assert "float16" in results["grad_out as float16"]
    assert "NumPy array" in results["grad_out as a list"]


def test_adaptive_and_avg_backward_validate_x_shape():
    go = np.ones((1, 2, 2, 2), np.float32)
    with pytest.raises(ValueError, match="x_shape"):
        P.adaptive_avg_pool2d_backward(go, (1, 2, 0, 4))
    with pytest.raises(ValueError, match="x_shape"):
        P.adaptive_avg_pool2d_backward(go, (1, 2, 4.5, 4))
    with pytest.raises(ValueError, match="does not match"):
        P.adaptive_avg_pool2d_backward(go, (1, 3, 4, 4))
    with pytest.raises(ValueError, match="grad_out must have shape"):
        P.avg_pool2d_backward(go, (1, 2, 6, 6), 2)
    with pytest.raises(ValueError, match="x_shape"):
        P.avg_pool2d_backward(go, (1, 2, 4), 2)
