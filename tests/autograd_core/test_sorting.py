"""sort, argsort, topk, kthvalue, median, mode, msort: values, indices (named tuples)
and gradients against PyTorch, ties included."""

import numpy as np
import pytest

import autograd_core as ag
from tests.autograd_core.op_table import compare_with_torch

DISTINCT = np.random.default_rng(0).permutation(20).reshape(4, 5) * 0.5 - 3.0
TIES = np.array([[3.0, 1.0, 2.0, 2.0, 1.0], [0.0, 5.0, 5.0, 1.0, 0.0]])

CASES = [
    ("sort", lambda t, x: tuple(x.sort())),
    ("sort_dim0_desc", lambda t, x: tuple(t.sort(x, 0, descending=True))),
    ("argsort", lambda t, x: x.argsort(dim=1).double() + x.sum() * 0),
    ("msort", lambda t, x: t.msort(x)),
    ("topk", lambda t, x: tuple(x.topk(2))),
    ("topk_smallest_dim0", lambda t, x: tuple(t.topk(x, 2, dim=0, largest=False))),
    ("kthvalue", lambda t, x: tuple(x.kthvalue(2))),
    ("kthvalue_keepdim", lambda t, x: tuple(x.kthvalue(1, 0, keepdim=True))),
    ("median_all", lambda t, x: x.median()),
    ("median_dim", lambda t, x: tuple(x.median(1))),
    ("median_keepdim", lambda t, x: tuple(x.median(0, keepdim=True))),
    ("mode", lambda t, x: tuple(x.mode(1))),
]


@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("data", [DISTINCT, TIES[:, :4]], ids=["distinct", "ties"])
def test_order_statistics_match_torch(name, fn, data, torch_or_skip):
    if name == "mode" and data is DISTINCT:
        pytest.skip("which index PyTorch reports without repeats is unspecified")
    if name.startswith("kthvalue") and data is not DISTINCT:
        pytest.skip("which of equal values PyTorch's quickselect reports is unspecified")
    compare_with_torch(torch_or_skip, lambda x: fn(ag, x), lambda x: fn(torch_or_skip, x),
                       [data])


def test_results_are_named_tuples():
    x = ag.tensor([[3.0, 1.0, 2.0]])
    values, indices = x.sort()
    assert x.sort().values.tolist() == values.tolist() == [[1.0, 2.0, 3.0]]
    assert indices.dtype == ag.int64
    assert x.topk(1).indices.tolist() == [[0]]
    assert type(x.median(1)).__name__ == "median"


def test_the_sort_is_stable_for_equal_values():
    x = ag.tensor([2.0, 1.0, 2.0, 1.0])
    assert x.sort().indices.tolist() == [1, 3, 0, 2]
    assert x.sort(descending=True).indices.tolist() == [0, 2, 1, 3]


def test_bad_k_is_an_index_error():
    with pytest.raises(IndexError, match="k"):
        ag.tensor([1.0, 2.0]).topk(3)
    with pytest.raises(IndexError, match="k"):
        ag.tensor([1.0, 2.0]).kthvalue(0)


@pytest.mark.parametrize("descending", [False, True])
def test_nan_and_infinities_sort_as_in_pytorch(descending, torch_or_skip):
    torch = torch_or_skip
    data = np.array([[1.0, np.nan, np.inf, 2.0, 2.0, -np.inf, np.nan],
                     [3.0, 1.0, 2.0, 2.0, 1.0, 0.0, 5.0]])
    ours = ag.tensor(data).sort(descending=descending)
    theirs = torch.tensor(data).sort(descending=descending, stable=True)
    assert ours.indices.tolist() == theirs.indices.tolist()
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
