"""The row scatter-add kernel (``kernels.scatter``) against a slow loop (same bits),
float64 sums, PyTorch's embedding gradient; its errors; which backwards use it."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd_core import Tensor
from autograd_core.kernels import scatter as S
from autograd_core.ops import embedding as ops_embedding


def _loop(rows, idx, n):
    table = np.zeros((n, rows.shape[1]), rows.dtype)
    seen = set()
    for j, i in enumerate(idx):
        if i in seen:
            table[i] += rows[j]
        else:
            table[i] = rows[j]
            seen.add(i)
    return table


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 9), m=st.integers(0, 40), d=st.integers(1, 6),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16),
       strided=st.booleans())
def test_same_bits_as_a_loop_in_index_order(n, m, d, dtype, seed, strided):
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((m, 2 * d)).astype(dtype)
    rows = rows[:, ::2] if strided else rows[:, :d]
    idx = rng.integers(0, n, m)
    got = S.scatter_rows(rows, idx, n)
    assert got.dtype == dtype and got.shape == (n, d)
    assert got.tobytes() == _loop(rows, idx, n).tobytes()


def test_close_to_float64_sums_and_keeps_a_lone_negative_zero(rng):
    rows = rng.standard_normal((2048, 128)).astype(np.float32)
    idx = rng.integers(0, 65, 2048)
    exact = np.zeros((65, 128))
    np.add.at(exact, idx, rows.astype(np.float64))
    np.testing.assert_allclose(S.scatter_rows(rows, idx, 65), exact, rtol=0, atol=2e-5)
    got = S.scatter_rows(np.array([[-0.0, 1.0]]), np.array([2]), 3)
    assert np.signbit(got[2, 0]) and not np.signbit(got[0, 0])


def test_bad_input_is_named():
    rows = np.ones((3, 2), np.float32)
    with pytest.raises(IndexError, match=r"\[0, 4\).*\[0, 4\]"):
        S.scatter_rows(rows, np.array([0, 4, 1]), 4)
    with pytest.raises(IndexError, match="-1"):
        S.scatter_rows(rows, np.array([0, -1, 1]), 4)
    with pytest.raises(TypeError, match="int32"):
        S.scatter_rows(rows.astype(np.int32), np.array([0, 1, 2]), 4)
    with pytest.raises(TypeError, match=r"\(2,\)"):
        S.scatter_rows(rows, np.array([0, 1]), 4)


def test_embedding_backward_uses_it_and_matches_torch(torch_or_skip, rng, monkeypatch):
    torch = torch_or_skip
    calls = []
    real = S.scatter_rows
    monkeypatch.setattr(S, "scatter_rows", lambda *a: calls.append(1) or real(*a))
    ours = nn.Embedding(11, 5)
    theirs = torch.nn.Embedding(11, 5)
    theirs.weight.data = torch.from_numpy(ours.weight.numpy().copy())
    idx = rng.integers(0, 11, (6, 7))
    g = rng.standard_normal((6, 7, 5)).astype(np.float32)
    ours(Tensor(idx)).backward(Tensor(g))
    theirs(torch.from_numpy(idx)).backward(torch.from_numpy(g))
    assert calls == [1]
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                               rtol=1e-6, atol=1e-6)


def test_other_dtypes_keep_the_numpy_form(monkeypatch):
    monkeypatch.setattr(S, "_scatter_rows", None)  # would raise if called
    rows = np.ones((4, 2), np.float16)
    got = ops_embedding._scatter_rows(rows, np.array([1, 1, 0, 1]), 3, np.float16)
    assert got.dtype == np.float16 and got[:, 0].tolist() == [1.0, 3.0, 0.0]
