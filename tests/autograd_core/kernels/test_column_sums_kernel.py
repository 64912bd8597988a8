"""Column sums (``kernels.column_sums``): NumPy's axis-0 sums bit for bit, for any
shape and both dtypes; their errors; the Linear and layer-norm backwards that use them
against PyTorch."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_core
import nn
from autograd_core import Tensor
from autograd_core.kernels import column_sums as C


@settings(max_examples=80, deadline=None)
@given(rows=st.integers(1, 300), cols=st.integers(2, 70),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_same_bits_as_numpy_axis_0_sums(rows, cols, dtype, seed):
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal((rows, cols)) * 10 ** rng.uniform(-3, 3)).astype(dtype)
    b = rng.standard_normal((rows, cols)).astype(dtype)
    got, got_product = C.column_sums(a), C.column_sums(a, b)
    assert got.dtype == dtype and got.shape == (cols,)
    assert got.tobytes() == a.sum(axis=0).tobytes()
    assert got_product.tobytes() == (a * b).sum(axis=0).tobytes()


def test_the_reduction_numpy_does_is_row_after_row(rng):
    # the claim the kernel's bits rest on, checked on this NumPy
    a = rng.standard_normal((513, 37)).astype(np.float32)
    total = a[0].copy()
    for row in a[1:]:
        total += row
    assert total.tobytes() == a.sum(axis=0).tobytes()


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="int64"):
        C.column_sums(np.ones((3, 2), np.int64))
    with pytest.raises(TypeError, match=r"\(3, 2\).*\(2, 3\)"):
        C.column_sums(np.ones((3, 2)), np.ones((2, 3)))
    with pytest.raises(TypeError, match=r"\(4,\)"):
        C.column_sums(np.ones(4))
    assert not C.column_sums_apply(np.ones((4, 3))[:, ::2])  # strided: NumPy's path
    assert not C.column_sums_apply(np.ones((40, 1)))  # one column: NumPy sums it pairwise


@pytest.mark.parametrize("shape", [(6, 5), (2, 3, 5)])
def test_linear_and_layer_norm_parameter_gradients_match_torch(torch_or_skip, rng, shape):
    torch = torch_or_skip
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape[:-1] + (4,)).astype(np.float32)
    # Seeded: the layer's initial weights otherwise follow the global generator, which
    # the tests before this one (hypothesis's among them) leave in any state
    autograd_core.manual_seed(0)
    lin, norm = nn.Linear(5, 4), nn.LayerNorm(4)
    t_lin, t_norm = torch.nn.Linear(5, 4), torch.nn.LayerNorm(4)
    with torch.no_grad():
        t_lin.weight.copy_(torch.from_numpy(lin.weight.numpy()))
        t_lin.bias.copy_(torch.from_numpy(lin.bias.numpy()))
        t_norm.weight.copy_(torch.from_numpy(rng.standard_normal(4).astype(np.float32)))
    norm.weight.numpy()[...] = t_norm.weight.detach().numpy()
    norm(lin(Tensor(x))).backward(Tensor(g))
    t_norm(t_lin(torch.from_numpy(x))).backward(torch.from_numpy(g))
    for ours, theirs in ((lin.bias, t_lin.bias), (lin.weight, t_lin.weight),
                         (norm.weight, t_norm.weight), (norm.bias, t_norm.bias)):
        # float32 through a layer norm: over 600 initial weights the largest gap was
        # 1.7x (1e-5 + 1e-5 |torch|), so 1e-4 relative leaves a margin on any machine
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-4,
                                   atol=1e-5)
