"""The measurement core: interleaving, per-repetition ratios, hooks, baselines."""

import numpy as np
import pytest

from benchmarks import baselines
from benchmarks.timing import Comparison, Contender, Stats, compare, geomean


def test_interleaving_alternates_order():
    calls = []
    contenders = {name: (lambda n=name: calls.append(n)) for name in "abc"}
    compare(contenders, reps=4, warmup=0, min_sample_time=0.0, max_number=1)
    timed = calls[3:]  # after the three calibration calls
    assert timed == list("abc" "cba" "abc" "cba")


def test_ratio_is_median_of_pairs():
    a = Stats(2.0, 1.0, 10.0, 1, [1.0, 2.0, 10.0])
    b = Stats(2.0, 1.0, 10.0, 1, [2.0, 1.0, 10.0])
    r = Comparison({"a": a, "b": b}, ["a", "b"]).ratio("a", "b")
    assert (r.median, r.min, r.max, r.of_best) == (1.0, 0.5, 2.0, 1.0)


def test_hooks_run_outside_samples():
    log = []
    c = Contender(lambda: log.append("fn"), before=lambda: log.append("in"),
                  after=lambda: log.append("out"))
    res = compare({"c": c}, reps=2, warmup=1, min_sample_time=0.0, max_number=1)
    assert log == ["in", "fn", "out"] * 4
    assert res.stats["c"].number == 1


def test_geomean():
    assert geomean([2.0, 8.0]) == pytest.approx(4.0)
    assert geomean([]) is None


@pytest.mark.parametrize("stride,pad,dil,groups", [(1, 0, 1, 1), (2, 1, 1, 2), (1, 2, 2, 4)])
def test_numpy_and_naive_conv_agree(stride, pad, dil, groups):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((8, 4 // groups, 3, 3))
    b = rng.standard_normal(8)
    args = (stride, pad, dil, groups)
    out, cols = baselines.numpy_conv2d_forward(x, w, b, *args)
    np.testing.assert_allclose(out, baselines.naive_conv2d_forward(x, w, b, *args), atol=1e-12)
    g = rng.standard_normal(out.shape)
    for a, n in zip(baselines.numpy_conv2d_backward(g, x, w, cols, *args),
                    baselines.naive_conv2d_backward(g, x, w, *args)):
        np.testing.assert_allclose(a, n, atol=1e-12)


def test_numpy_col2im_is_adjoint_of_im2col():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 5))
    cols = baselines.numpy_im2col(x, 3, 2, 1)
    c = rng.standard_normal(cols.shape)
    lhs = np.sum(cols * c)
    rhs = np.sum(x * baselines.numpy_col2im(c, x.shape, 3, 2, 1))
    assert lhs == pytest.approx(rhs)


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_numpy_pool_matches_naive(mode):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 7, 8))
    out, arg = baselines.numpy_pool2d_forward(x, 3, 2, 1, mode=mode)
    g = rng.standard_normal(out.shape)
    gx = baselines.numpy_pool2d_backward(g, x.shape, arg, 3, 2, 1, mode=mode)
    if mode == "max":
        ref, rarg = baselines.naive_max_pool2d_forward(x, 3, 2, 1)
        np.testing.assert_array_equal(out, ref)
        np.testing.assert_allclose(gx, baselines.naive_max_pool2d_backward(g, x.shape, rarg))
    else:
        assert np.sum(gx * x) == pytest.approx(np.sum(out * g))  # adjoint
