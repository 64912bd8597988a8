"""cumsum, cumprod (zeros included), cummax, cummin, logcumsumexp, prod, norms,
var_mean/std_mean: values and gradients against PyTorch (float64)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import autograd_core as ag
from tests.autograd_core.op_table import compare_with_torch

X = np.random.default_rng(0).standard_normal((3, 4))
WITH_ZEROS = np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 0.0, 3.0, 0.5], [2.0, -1.0, 0.5, 0.0]])

CASES = [
    ("cumsum", lambda t, x: x.cumsum(1)),
    ("cumsum_dim0", lambda t, x: t.cumsum(x, dim=0)),
    ("cumprod", lambda t, x: x.cumprod(1)),
    ("cumprod_dim0", lambda t, x: x.cumprod(0)),
    ("cummax", lambda t, x: tuple(x.cummax(1))),
    ("cummin", lambda t, x: tuple(t.cummin(x, 0))),
    ("logcumsumexp", lambda t, x: x.logcumsumexp(1)),
    ("prod_all", lambda t, x: x.prod()),
    ("prod_dim", lambda t, x: x.prod(1)),
    ("prod_keepdim", lambda t, x: x.prod(0, keepdim=True)),
    ("norm", lambda t, x: x.norm()),
    ("norm_p1_dim", lambda t, x: x.norm(p=1, dim=1)),
    ("norm_inf", lambda t, x: t.linalg.vector_norm(x, float("inf"), dim=0)),
    ("norm_0", lambda t, x: t.linalg.vector_norm(x, 0)),
    ("linalg_norm_fro", lambda t, x: t.linalg.norm(x)),
    ("linalg_norm_vector_dim", lambda t, x: t.linalg.norm(x, 3, dim=1, keepdim=True)),
    ("matrix_norm_1", lambda t, x: t.linalg.matrix_norm(x, 1)),
    ("matrix_norm_inf", lambda t, x: t.linalg.matrix_norm(x, float("inf"))),
    ("var_mean", lambda t, x: t.var_mean(x, 1)),
    ("std_mean_correction0", lambda t, x: t.std_mean(x, dim=0, correction=0)),
    ("std_unbiased_false", lambda t, x: x.std(1, unbiased=False)),
    ("aminmax", lambda t, x: tuple(t.aminmax(x, dim=1))),
]


@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("data", [X, WITH_ZEROS], ids=["normal", "zeros"])
def test_cumulative_and_norms_match_torch(name, fn, data, torch_or_skip):
    if data is WITH_ZEROS and name.startswith(("norm_p1", "norm_inf", "matrix_norm", "cumm",
                                               "aminmax")):
        pytest.skip("subgradients at ties and zeros are a convention")
    compare_with_torch(torch_or_skip, lambda x: fn(ag, x), lambda x: fn(torch_or_skip, x),
                       [data])


def test_norm_of_zero_has_zero_gradient_as_pytorch():
    x = ag.zeros(3, requires_grad=True)
    x.norm().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
       seed=st.integers(0, 2**16), data=st.data())
def test_cumulative_ops_gradcheck(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = ag.tensor(np.random.default_rng(seed).uniform(0.5, 1.5, shape), requires_grad=True)
    for fn in (lambda t: t.cumsum(dim), lambda t: t.cumprod(dim),
               lambda t: t.logcumsumexp(dim), lambda t: t.prod(dim)):
        assert ag.gradcheck(fn, (x,))


def test_integer_inputs_keep_pytorchs_dtypes():
    ints = ag.tensor([[1, 2], [3, 4]])
    assert ints.cumsum(0).dtype == ag.int64 and ints.prod().dtype == ag.int64
    assert ints.prod().item() == 24
    assert ag.tensor([1, 2], dtype=ag.int32).cumsum(0).dtype == ag.int64
