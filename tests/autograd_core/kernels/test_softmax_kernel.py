"""The one-pass float32 softmax and the fused float32 log-softmax: against float64
NumPy, special values, the rebuild from saved statistics, and the same bits for any
thread count."""

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_core as ag
from autograd_core.kernels import softmax as K


def _reference(s):
    s = s.astype(np.float64)
    m = np.max(s, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    e = np.exp(s - m)
    with np.errstate(invalid="ignore"):
        return e / e.sum(axis=-1, keepdims=True)


#: float32 score rows, a share of them masked to -inf (whole rows too, now and then)
masked_scores = st.builds(
    lambda rows, width, masked, seed: _masked(rows, width, masked, seed),
    st.integers(1, 40), st.integers(1, 70), st.floats(0, 0.7), st.integers(0, 2**31 - 1))


def _masked(rows, width, masked, seed):
    rng = np.random.default_rng(seed)
    s = (rng.standard_normal((rows, width)) * 6).astype(np.float32)
    s[rng.random((rows, width)) < masked] = -np.inf
    return s


@settings(max_examples=40, deadline=None)
@given(s=masked_scores)
def test_softmax_matches_float64_with_masked_entries(s):
    rows = s.shape[0]
    expected = _reference(s)
    p, m, total = K.softmax_last_axis(s.copy())
    assert m.shape == total.shape == (rows, 1)
    finite = ~np.isnan(expected)
    np.testing.assert_allclose(p[finite], expected[finite], rtol=1e-5, atol=1e-7)
    assert np.array_equal(np.isnan(p), ~finite)  # rows of only -inf: 0/0, as PyTorch
    assert np.all(p[np.isneginf(s)] == 0) or not finite.all()


def test_rows_of_minus_inf_plus_inf_and_nan():
    s = np.array([[-np.inf, -np.inf], [np.inf, 0.0], [np.nan, 1.0], [0.0, 0.0]], np.float32)
    p, m, _ = K.softmax_last_axis(s.copy())
    assert np.isnan(p[0]).all() and np.isnan(p[1, 0]) and np.isnan(p[2]).all()
    assert p[3].tolist() == [0.5, 0.5]
    assert m[0, 0] == 0 and m[1, 0] == 0


def test_a_rebuild_from_the_statistics_gives_the_same_bits():
    rng = np.random.default_rng(3)
    s = rng.standard_normal((6, 9, 33)).astype(np.float32)
    p, m, total = K.softmax_last_axis(s.copy())
    again, m2, t2 = K.softmax_last_axis(s.copy(), m, total)
    assert again.tobytes() == p.tobytes() and m2 is not None and t2 is not None
    with pytest.raises(ValueError, match="both m and total"):
        K.softmax_last_axis(s.copy(), m)
    with pytest.raises(ValueError, match="need 54 rows"):
        K.softmax_last_axis(s.copy(), m[:2], total[:2])


def test_float64_and_strided_arrays_take_the_numpy_formula():
    rng = np.random.default_rng(4)
    s = rng.standard_normal((5, 7))
    p, _, _ = K.softmax_last_axis(s.copy())
    np.testing.assert_array_equal(p, K._numpy_softmax(s.copy(), None, None)[0])
    strided = rng.standard_normal((7, 5)).astype(np.float32).T
    assert not K.softmax_applies(strided)
    expected = _reference(strided)
    np.testing.assert_allclose(K.softmax_last_axis(strided)[0], expected, rtol=1e-6)


def test_the_same_bits_with_one_and_two_threads():
    rng = np.random.default_rng(5)
    s = rng.standard_normal((64, 32, 64)).astype(np.float32)  # above THREADED_ELEMENTS
    assert s.size >= K.THREADED_ELEMENTS
    for one, two in zip(*_on_one_and_two_threads(lambda: K.softmax_last_axis(s.copy()))):
        assert one.tobytes() == two.tobytes()


def _on_one_and_two_threads(fn):
    results = []
    before = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            results.append(fn())
    finally:
        numba.set_num_threads(before)
    return results


# ------------------------------------------------------------------- log-softmax rows


def _log_reference(z):
    z = z.astype(np.float64)
    m = np.max(z, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (z - m) - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


@settings(max_examples=40, deadline=None)
@given(z=masked_scores)
def test_log_softmax_matches_float64_with_masked_entries(z):
    before = z.copy()
    out = K.log_softmax_last_axis(z, min_elements=0)
    assert out.dtype == np.float32 and out.shape == z.shape
    assert np.array_equal(z, before)  # the input is not written
    expected = _log_reference(z)
    finite = np.isfinite(expected)
    # float32 rounding of (z - m) and of log(sum): a few ulps of values up to ~50
    np.testing.assert_allclose(out[finite], expected[finite], rtol=1e-6, atol=2e-5)
    assert np.array_equal(np.isneginf(out), np.isneginf(expected))
    assert np.array_equal(np.isnan(out), np.isnan(expected))  # rows of only -inf


@pytest.mark.parametrize("offset", [300.0, 1e4, -1e4])
def test_log_softmax_keeps_its_accuracy_far_from_zero(offset):
    # (z - m) - log(sum), not z - (m + log(sum)): the second rounds to m's precision
    rng = np.random.default_rng(8)
    z = (rng.standard_normal((64, 33)) * 4 + offset).astype(np.float32)
    z[0, :2] = [offset, offset - 10]
    out = K.log_softmax_last_axis(z, min_elements=0)
    expected = _log_reference(z)
    np.testing.assert_allclose(out, expected, rtol=2e-6, atol=1e-6)  # ulps of log(sum)
    huge = np.full((1, 2), 3e38, np.float32)
    np.testing.assert_allclose(K.log_softmax_last_axis(huge, min_elements=0), np.log(0.5),
                               rtol=1e-6)


def test_log_softmax_rows_of_special_values():
    z = np.array([[-np.inf, -np.inf], [np.inf, 0.0], [np.nan, 1.0], [0.0, 0.0]], np.float32)
    out = K.log_softmax_last_axis(z, min_elements=0)
    expected = _log_reference(z)
    assert np.array_equal(np.isnan(out), np.isnan(expected))
    assert out[1, 1] == expected[1, 1] == -np.inf
    np.testing.assert_allclose(out[3], np.log([0.5, 0.5]), rtol=1e-6)


def test_log_softmax_same_bits_with_one_and_two_threads():
    rng = np.random.default_rng(6)
    z = rng.standard_normal((4096, 65)).astype(np.float32)  # above the threading size
    assert z.size >= K.LOG_SOFTMAX_THREADED_ELEMENTS
    one, two = _on_one_and_two_threads(lambda: K.log_softmax_last_axis(z))
    assert one.tobytes() == two.tobytes()


def test_log_softmax_kernel_serves_the_ops_from_its_size_and_declines_other_arrays():
    from autograd_core.ops.loss import log_softmax

    rng = np.random.default_rng(7)
    z = rng.standard_normal((2048, 13)).astype(np.float32)  # over LOG_SOFTMAX_MIN_ELEMENTS
    fused = K.log_softmax_last_axis(z)
    assert fused is not None
    assert log_softmax(z, 1).tobytes() == fused.tobytes()
    assert log_softmax(z, -1).tobytes() == fused.tobytes()
    small = z[:8]  # a teaching batch: NumPy's formula, the flat code's bits
    assert small.size < K.LOG_SOFTMAX_MIN_ELEMENTS and K.log_softmax_last_axis(small) is None
    shifted = small - small.max(axis=1, keepdims=True)
    expected = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    assert log_softmax(small, 1).tobytes() == expected.tobytes()
    assert K.log_softmax_last_axis(z.astype(np.float64)) is None  # float64: NumPy's exp
    assert K.log_softmax_last_axis(np.asfortranarray(z)) is None
    assert K.log_softmax_last_axis(np.empty((3, 0), np.float32), min_elements=0) is None
    np.testing.assert_allclose(log_softmax(z.T, 0), _log_reference(z).T, rtol=1e-6, atol=1e-6)


def test_the_log_softmax_op_takes_the_kernel_and_keeps_its_gradient():
    rng = np.random.default_rng(9)
    z = rng.standard_normal((2048, 13)).astype(np.float32)  # over LOG_SOFTMAX_MIN_ELEMENTS
    x = ag.Tensor(z, requires_grad=True)
    y = x.log_softmax(dim=-1)
    assert y.numpy().tobytes() == K.log_softmax_last_axis(z).tobytes()
    g = rng.standard_normal(z.shape).astype(np.float32)
    y.backward(ag.Tensor(g))
    expected = g - np.exp(y.numpy()) * g.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert x.log_softmax(dim=0).numpy().tobytes() != y.numpy().tobytes()  # other axes: NumPy
