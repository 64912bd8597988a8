"""The teaching formulas of issue 13's ops: the flat code they write reproduces the
engine's values and gradients exactly (float64 and float32)."""

import numpy as np
import pytest

import autograd_core as ag
from tests.autograd_core.viz.helpers import assert_flat_code_matches_engine


def leaf(shape, name, rng, low=-2.0, high=2.0, dtype=np.float64):
    data = rng.uniform(low, high, size=shape).astype(dtype)
    return ag.Tensor(data, requires_grad=True, name=name)

UNARY = ["tan", "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "erf",
         "erfc", "rsqrt", "exp2", "log2", "log10", "log1p", "expm1", "reciprocal", "square",
         "floor", "ceil", "trunc", "round", "sign", "frac"]
DOMAIN = {"asin": (-0.9, 0.9), "acos": (-0.9, 0.9), "atanh": (-0.9, 0.9), "tan": (-1, 1),
          "acosh": (1.2, 3.0), "rsqrt": (0.3, 2.0), "log2": (0.3, 2.0), "log10": (0.3, 2.0),
          "log1p": (0.3, 2.0), "reciprocal": (0.3, 2.0)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", UNARY)
def test_unary_flat_code_reproduces_the_engine(name, dtype):
    low, high = DOMAIN.get(name, (-2.0, 2.0))
    x = leaf((2, 3), "x", np.random.default_rng(0), low=low, high=high, dtype=dtype)
    assert_flat_code_matches_engine((getattr(x, name)() * 1.5).sum())


@pytest.mark.parametrize("name", ["atan2", "hypot", "logaddexp", "lerp"])
def test_binary_flat_code_reproduces_the_engine(name):
    rng = np.random.default_rng(1)
    a, b = leaf((2, 3), "a", rng, low=0.5), leaf((3,), "b", rng, low=0.5)
    out = ag.lerp(a, b, 0.25) if name == "lerp" else getattr(ag, name)(a, b)
    assert_flat_code_matches_engine(out.sum())


def test_cumsum_and_repeat_flat_code_reproduce_the_engine():
    x = leaf((3, 4), "x", np.random.default_rng(2))
    assert_flat_code_matches_engine((x.cumsum(1) * x.repeat(1, 1)).sum())
