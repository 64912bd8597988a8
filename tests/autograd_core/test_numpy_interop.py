"""NumPy on a Tensor that requires grad never drops the gradient silently: each call
returns a Tensor in the graph (the same gradient as PyTorch's op) or raises a
TypeError naming the NumPy function."""

import numpy as np
import pytest

import autograd_core as ag

M = np.random.default_rng(0).uniform(0.5, 1.5, (3, 3))
V = np.random.default_rng(1).uniform(0.5, 1.5, 3)

CALLS = {
    "dot": lambda m, v: np.dot(v, v), "outer": lambda m, v: np.outer(v, v),
    "tensordot": lambda m, v: np.tensordot(m, m, 1), "cumsum": lambda m, v: np.cumsum(m, 0),
    "cumsum_flat": lambda m, v: np.cumsum(m), "cumprod": lambda m, v: np.cumprod(v),
    "prod": lambda m, v: np.prod(m, axis=1), "trace": lambda m, v: np.trace(m),
    "diag": lambda m, v: np.diag(v), "diag_of_matrix": lambda m, v: np.diag(m),
    "roll": lambda m, v: np.roll(m, 1, axis=1), "triu": lambda m, v: np.triu(m),
    "tril": lambda m, v: np.tril(m, -1), "repeat": lambda m, v: np.repeat(v, 2),
    "squeeze": lambda m, v: np.squeeze(v[None]), "expand_dims": lambda m, v: np.expand_dims(v, 1),
    "var_ddof": lambda m, v: np.var(m, axis=0, ddof=1), "std_ddof": lambda m, v: np.std(v, ddof=0),
    "concatenate": lambda m, v: np.concatenate([v, v]), "stack": lambda m, v: np.stack([v, v]),
    "einsum": lambda m, v: np.einsum("ij,j->i", m, v), "flip": lambda m, v: np.flip(m, 0),
    "sort": lambda m, v: np.sort(m), "tile": lambda m, v: np.tile(v, 2),
    "moveaxis": lambda m, v: np.moveaxis(m, 0, 1), "diagonal": lambda m, v: np.diagonal(m),
    "norm": lambda m, v: np.linalg.norm(v), "tan": lambda m, v: np.tan(v),
    "arctan2": lambda m, v: np.arctan2(v, v), "hypot": lambda m, v: np.hypot(v, v),
    "log1p": lambda m, v: np.log1p(v), "expm1": lambda m, v: np.expm1(v),
    "square": lambda m, v: np.square(v), "reciprocal": lambda m, v: np.reciprocal(v),
    "round": lambda m, v: np.round(v, 1), "floor": lambda m, v: np.floor(v),
    "remainder": lambda m, v: np.remainder(v, 0.3), "logaddexp": lambda m, v: np.logaddexp(v, v),
}
REFUSED = {
    "median": lambda m, v: np.median(v), "percentile": lambda m, v: np.percentile(v, 50),
    "cross": lambda m, v: np.cross(v, v), "linalg.inv": lambda m, v: np.linalg.inv(m),
    "convolve": lambda m, v: np.convolve(v, v), "gradient": lambda m, v: np.gradient(v),
    "interp": lambda m, v: np.interp(0.5, [0.0, 1.0], v[:2]),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_numpy_calls_stay_in_the_graph(name):
    m, v = ag.tensor(M, requires_grad=True), ag.tensor(V, requires_grad=True)
    out = CALLS[name](m, v)
    assert isinstance(out, ag.Tensor) and out.requires_grad, name
    # the gradient against central differences of NumPy's own function on the arrays
    weights = np.random.default_rng(2).standard_normal(out.shape)
    (out * ag.tensor(weights)).sum().backward()
    for leaf, array, position in ((m, M, 0), (v, V, 1)):
        numeric = np.zeros_like(array)
        for i in np.ndindex(array.shape):
            values = []
            for step in (1e-6, -1e-6):
                moved = [M.copy(), V.copy()]
                moved[position][i] += step
                values.append(np.sum(weights * np.asarray(CALLS[name](*moved))))
            numeric[i] = (values[0] - values[1]) / 2e-6
        got = leaf.grad.numpy() if leaf.grad is not None else np.zeros_like(array)
        np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_other_numpy_calls_are_refused_with_the_functions_name(name):
    m, v = ag.tensor(M, requires_grad=True), ag.tensor(V, requires_grad=True)
    with pytest.raises(TypeError, match=name.split(".")[-1]):
        REFUSED[name](m, v)


def test_without_gradients_numpy_runs_on_the_arrays():
    assert np.median(ag.tensor(V)) == np.median(V)
    with ag.no_grad():
        assert np.percentile(ag.tensor(V, requires_grad=True), 50) == np.percentile(V, 50)


@pytest.mark.parametrize("requires_grad", [False, True])
def test_shape_queries_answer_as_numpy_does_on_the_array(requires_grad):
    # np.shape / np.ndim / np.size take a fast path (layers check inputs with them);
    # their answers are NumPy's on the array, with or without an axis
    t = ag.tensor(M, requires_grad=requires_grad)
    for query in (np.shape, np.ndim, np.size):
        got, expected = query(t), query(M)
        assert got == expected and type(got) is type(expected)
    assert np.size(t, 1) == np.size(M, 1)
    assert np.shape(ag.tensor(2.5)) == ()
