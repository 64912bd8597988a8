"""gather, scatter*, index_select/index_add, masked_fill/select, index_put, nonzero,
take: values and gradients against PyTorch (float64), PyTorch's errors, and
advanced-indexing shapes."""

import numpy as np
import pytest

import autograd_core as ag
from autograd_core.errors import DTypeError, ShapeError
from tests.autograd_core.op_table import compare_with_torch

X = np.random.default_rng(0).standard_normal((3, 4))
SRC = np.random.default_rng(1).standard_normal((2, 4))
IDX = np.array([[0, 2, 1, 0], [2, 2, 0, 1]])
CASES = [
    ("gather_0", lambda t, x: t.gather(x, 0, t.tensor(IDX))),
    ("gather_1", lambda t, x: t.gather(x, 1, t.tensor(IDX[:, :3]))),
    ("gather_method", lambda t, x: x.gather(-1, t.tensor([[3], [0], [1]]))),
    ("index_select", lambda t, x: t.index_select(x, 1, t.tensor([3, 0, 3]))),
    ("masked_fill", lambda t, x: x.masked_fill(x > 0.2, -1.5)),
    ("masked_fill_row_mask", lambda t, x: x.masked_fill(t.tensor([True, False, True, False]),
                                                        0.0)),
    ("masked_select", lambda t, x: x.masked_select(x < 0.1)),
    ("take", lambda t, x: x.take(t.tensor([[0, 11], [5, 5]]))),
    ("take_along_dim", lambda t, x: t.take_along_dim(x, t.tensor([[1], [0], [3]]), 1)),
    ("advanced_int_and_tensor", lambda t, x: x[1, t.tensor([0, 2, 2])]),
    ("advanced_slice_and_tensor", lambda t, x: x[:, t.tensor([[0, 1], [3, 3]])]),
    ("advanced_two_tensors", lambda t, x: x[t.tensor([0, 2]), t.tensor([1, 3])]),
    ("bool_mask_rows", lambda t, x: x[t.tensor([True, False, True])]),
]
X3 = np.random.default_rng(2).standard_normal((3, 4, 5))
# an int mixed with index tensors: PyTorch's shapes, not NumPy's
MIXED = [
    lambda t, x: x[0, :, t.tensor([1, 2])],
    lambda t, x: x[t.tensor([0, 1]), :, 0],
    lambda t, x: x[..., 0, t.tensor([1, 2, 1])],
    lambda t, x: x[None, 0, :, t.tensor([1, 2])],
    lambda t, x: x[1, t.tensor([[0, 1]]), 2],
    lambda t, x: x[t.tensor([0, 2]), 1, t.tensor([0, 4])],
]


@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_picking_ops_match_torch(name, fn, torch_or_skip):
    compare_with_torch(torch_or_skip, lambda x: fn(ag, x), lambda x: fn(torch_or_skip, x), [X])


@pytest.mark.parametrize("k", range(len(MIXED)))
def test_an_int_mixed_with_index_tensors_gives_pytorchs_shape(k, torch_or_skip):
    fn = MIXED[k]
    compare_with_torch(torch_or_skip, lambda x: fn(ag, x), lambda x: fn(torch_or_skip, x), [X3])


SCATTERS = [
    ("scatter", lambda t, x, s: x.scatter(0, t.tensor([[0, 1, 2, 0]]), s[:1])),
    ("scatter_value", lambda t, x, s: x.scatter(1, t.tensor([[0], [3], [1]]), 2.5) + s.sum()),
    ("scatter_add", lambda t, x, s: x.scatter_add(0, t.tensor(IDX), s)),
    ("scatter_add_small_index", lambda t, x, s: t.scatter_add(x, 1, t.tensor([[0, 0]]),
                                                              s[:1, :2])),
    ("scatter_reduce_sum", lambda t, x, s: x.scatter_reduce(0, t.tensor(IDX), s, "sum")),
    ("scatter_reduce_mean", lambda t, x, s: x.scatter_reduce(0, t.tensor(IDX), s, "mean")),
    ("scatter_reduce_mean_noself", lambda t, x, s: x.scatter_reduce(
        0, t.tensor(IDX), s, "mean", include_self=False)),
    ("scatter_reduce_amax", lambda t, x, s: x.scatter_reduce(0, t.tensor(IDX), s, "amax")),
    ("scatter_reduce_amin_noself", lambda t, x, s: x.scatter_reduce(
        0, t.tensor(IDX), s, "amin", include_self=False)),
    ("scatter_reduce_prod", lambda t, x, s: x.scatter_reduce(0, t.tensor(IDX), s, "prod")),
    ("index_add", lambda t, x, s: x.index_add(0, t.tensor([2, 0]), s, alpha=0.5)),
    ("index_add_repeated", lambda t, x, s: x.index_add(0, t.tensor([1, 1]), s)),
    ("index_put", lambda t, x, s: x.index_put((t.tensor([0, 2]),), s)),
    ("index_put_accumulate", lambda t, x, s: x.index_put((t.tensor([1, 1]),), s,
                                                         accumulate=True)),
    ("index_put_broadcast", lambda t, x, s: x.index_put(
        (t.tensor([0, 1]), t.tensor([2, 3])), s[0, 0], accumulate=True)),
]


@pytest.mark.parametrize("name,fn", SCATTERS, ids=[c[0] for c in SCATTERS])
def test_writing_ops_match_torch(name, fn, torch_or_skip):
    compare_with_torch(torch_or_skip, lambda x, s: fn(ag, x, s),
                       lambda x, s: fn(torch_or_skip, x, s), [X, SRC])


def test_nonzero_and_where_with_a_condition_only(torch_or_skip):
    torch = torch_or_skip
    a = np.array([[0, 1, 0], [2, 0, 3]])
    assert ag.tensor(a).nonzero().tolist() == torch.tensor(a).nonzero().tolist()
    ours = ag.tensor(a).nonzero(as_tuple=True)
    theirs = torch.tensor(a).nonzero(as_tuple=True)
    assert [t.tolist() for t in ours] == [t.tolist() for t in theirs]
    assert [t.tolist() for t in ag.where(ag.tensor(a) > 0)] == \
        [t.tolist() for t in torch.where(torch.tensor(a) > 0)]


def test_in_place_forms_write_into_the_tensor():
    x = ag.zeros(3, 4)
    x.masked_fill_(ag.eye(3, 4).bool(), 7.0)
    assert x.numpy().trace() == 21.0
    x.index_put_((ag.tensor([0]), ag.tensor([3])), ag.tensor(5.0))
    assert x[0, 3].item() == 5.0
    y = ag.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        y.masked_fill_(ag.tensor([True, False, False]), 1.0)
    z = y * 1
    z.masked_fill_(ag.tensor([True, False, False]), 1.0)
    z.sum().backward()
    assert y.grad.tolist() == [0.0, 1.0, 1.0]


def test_errors_name_the_problem():
    x = ag.zeros(3, 4)
    with pytest.raises(IndexError, match="out of bounds"):
        ag.gather(x, 0, ag.tensor([[3, 0, 0, 0]]))
    with pytest.raises(DTypeError, match="integer"):
        ag.gather(x, 0, ag.tensor([[0.0]]))
    with pytest.raises(ShapeError, match="as many dims"):
        ag.gather(x, 0, ag.tensor([0, 1]))
    with pytest.raises(DTypeError, match="bool"):
        x.masked_fill(ag.tensor([1, 0, 1, 0]), 0.0)
    with pytest.raises(DTypeError, match="dtype"):
        x.scatter_add(0, ag.tensor([[0]]), ag.ones(1, 1, dtype=ag.float64))
    with pytest.raises(IndexError, match="out of range"):
        x.index_select(0, ag.tensor([5]))
    with pytest.raises(ValueError, match="reduce"):
        x.scatter_reduce(0, ag.tensor([[0]]), ag.ones(1, 1), "median")


ZERO_D = [
    lambda t, x: x.gather(0, t.tensor(0)),
    lambda t, x: x.index_select(0, t.tensor([0])),
    lambda t, x: x.scatter(0, t.tensor(0), 2.0),
    lambda t, x: x.scatter_add(0, t.tensor(0), x * 2),
    lambda t, x: x.masked_fill(t.tensor(True), 1.0),
    lambda t, x: x.take(t.tensor([0, 0])),
]


@pytest.mark.parametrize("k", range(len(ZERO_D)))
def test_zero_dimensional_inputs_as_torch(k, torch_or_skip):
    fn = ZERO_D[k]
    compare_with_torch(torch_or_skip, lambda x: fn(ag, x), lambda x: fn(torch_or_skip, x),
                       [np.array(1.5)])
