"""PyTorch's type promotion: float32 models stay float32 next to NumPy scalars, 0-d
tensors and integers; checked against torch.result_type when PyTorch is installed."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_core as ag
from autograd_core.ops._dtypes import result_dtype
from tests.conftest import requires_torch

DTYPES = [np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64]


def test_the_common_mixed_cases_stay_float32():
    f32 = ag.Tensor([1.0, 2.0])
    assert (f32 / np.sqrt(4)).dtype == np.float32  # a NumPy float64 scalar
    assert (f32 * ag.Tensor(np.float64(2.0))).dtype == np.float32  # a 0-d float64 tensor
    assert (ag.Tensor([1, 2]) / 2).dtype == np.float32  # true division of ints
    assert ag.Tensor([1, 2]).exp().dtype == np.float32
    assert (ag.Tensor([1, 2]) + f32).dtype == np.float32  # int64 + float32
    assert ag.where(f32 > 1, 1.0, 0.0).dtype == np.float32
    assert (f32 ** ag.Tensor([1, 2])).dtype == np.float32
    assert (f32 + ag.Tensor(np.ones(2))).dtype == np.float64  # float64 with dims wins
    assert (ag.Tensor([1, 2]) * 2).dtype == np.int64


def test_promotion_keeps_gradients_in_each_inputs_dtype():
    w = ag.Tensor([1.0, 2.0], requires_grad=True)
    scale = ag.Tensor(np.float64(3.0), requires_grad=True)
    y = (w * scale).sum()
    assert y.dtype == np.float32
    y.backward()
    assert w.grad.dtype == np.float32 and scale.grad.dtype == np.float64
    assert scale.grad.item() == pytest.approx(3.0)


def _operand(kind, dtype, draw):
    if kind == "tensor":
        return np.ones(2, dtype=dtype)
    if kind == "zerodim":
        return np.ones((), dtype=dtype)
    return draw(st.sampled_from([True, 2, 2.5, np.float64(2.5), np.int32(2)]))


@requires_torch
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_result_dtype_matches_torch(data):
    import torch

    kinds = data.draw(st.lists(st.sampled_from(["tensor", "zerodim", "scalar"]),
                               min_size=2, max_size=2))
    if kinds == ["scalar", "scalar"]:
        kinds[0] = "tensor"
    operands = [_operand(k, data.draw(st.sampled_from(DTYPES)), data.draw) for k in kinds]
    as_torch = [torch.from_numpy(x) if isinstance(x, np.ndarray) else
                (x.item() if isinstance(x, np.generic) else x) for x in operands]
    expected = str(torch.result_type(*as_torch)).replace("torch.", "")
    assert str(result_dtype(*operands)) == expected, operands


@pytest.mark.parametrize("op", ["add", "mul", "sub", "maximum"])
def test_binary_ops_compute_in_torchs_dtype(op, torch_or_skip):
    torch = torch_or_skip
    for left in DTYPES[1:]:
        for right in DTYPES[1:]:
            for right_kind in ("tensor", "zerodim"):
                a = np.arange(1, 4).astype(left)
                b = (np.arange(1, 4) if right_kind == "tensor" else np.asarray(2)).astype(right)
                ours = {"add": lambda x, y: x + y, "mul": lambda x, y: x * y,
                        "sub": lambda x, y: x - y, "maximum": ag.maximum}[op](
                    ag.Tensor(a), ag.Tensor(b))
                theirs = getattr(torch, op)(torch.from_numpy(a), torch.from_numpy(b))
                assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (left, right)
                np.testing.assert_allclose(ours.numpy(), theirs.numpy())
