"""The vectorisable float32 exp and tanh: ulps against float64 NumPy over their
ranges, special values, and the in-place tanh the recurrent kernels use."""

import numpy as np
import pytest

from autograd_core.kernels import transcendental as T


def _ulps(got, exact):
    """|got - exact| in units of the float32 spacing at exact."""
    spacing = np.spacing(exact.astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - exact) / spacing


def test_exp32_is_within_one_and_a_half_ulps_over_the_normal_range():
    x = np.linspace(-87.3, 88.7, 2_000_003, dtype=np.float64).astype(np.float32)
    exact = np.exp(x.astype(np.float64))
    # 1.01 ulp measured over 20M points; NumPy's own float32 exp reaches 2.5 ulp there.
    assert _ulps(T.exp32_array(x), exact).max() <= 1.5


def test_exp32_special_values_and_the_ends_of_the_range():
    x = np.array([-np.inf, np.inf, np.nan, 0.0, -0.0, -1e-30, 1e-7, -88.0, -103.0,
                  -103.98, -104.5, -1e30, 88.72, 88.73, 1e30], dtype=np.float32)
    got = T.exp32_array(x)
    with np.errstate(over="ignore"):
        exact = np.exp(x.astype(np.float64))
    assert got[0] == 0.0 and got[1] == np.inf and np.isnan(got[2])
    assert got[3] == got[4] == 1.0 and got[5] == 1.0 and got[6] == np.float32(1 + 1e-7)
    # Denormal results keep their value to within a unit of the smallest denormal.
    assert np.all(np.abs(got[7:10] - exact[7:10]) <= 2.0 ** -149)
    assert got[10] == got[11] == 0.0
    assert got[12] == np.float32(exact[12]) or _ulps(got[12:13], exact[12:13])[0] <= 1.5
    assert got[13] == got[14] == np.inf


def test_tanh32_is_within_two_ulps_and_exact_at_the_special_values():
    x = np.linspace(-12, 12, 2_000_001, dtype=np.float64).astype(np.float32)
    exact = np.tanh(x.astype(np.float64))
    got = T.tanh32_array(x)
    nonzero = exact != 0
    assert _ulps(got[nonzero], exact[nonzero]).max() <= 2.0
    tiny = np.array([1e-30, -1e-20, 1e-7, 0.0, -0.0], np.float32)
    assert T.tanh32_array(tiny).tolist() == tiny.tolist()  # no cancellation near 0
    big = T.tanh32_array(np.array([np.inf, -np.inf, 50.0, -1e30, np.nan], np.float32))
    assert big[:4].tolist() == [1.0, -1.0, 1.0, -1.0] and np.isnan(big[4])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_in_place_on_a_block_of_columns(dtype):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((5, 12)) * 3).astype(dtype)
    expected = a.copy()
    expected[:, 4:8] = np.tanh(expected[:, 4:8].astype(np.float64))
    T.tanh_(a, (4, 8))  # a block of columns: the recurrent gate layout
    np.testing.assert_allclose(a, expected, rtol=3e-7 if dtype == np.float32 else 1e-15)
    assert np.array_equal(a[:, :4], expected[:, :4])


def test_tanh_in_place_on_strided_and_whole_arrays():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 8)).astype(np.float32)
    view = a[:, ::2]
    expected = np.tanh(view.astype(np.float64))
    T.tanh_(view)  # not C-contiguous: NumPy's tanh, in place
    np.testing.assert_allclose(a[:, ::2], expected, rtol=3e-7)
    b = rng.standard_normal((3, 5)).astype(np.float32)
    expected = np.tanh(b.astype(np.float64))
    T.tanh_(b)
    np.testing.assert_allclose(b, expected, rtol=3e-7)
