"""einsum (diagonals, broadcasting, implicit output), bmm, outer, inner, tensordot,
addmm, baddbmm, mm/mv/dot: values and gradients against PyTorch (float64); einsum's
shape errors name the operand."""

import numpy as np
import pytest

import autograd_core as ag
from autograd_core.errors import ShapeError
from tests.autograd_core.op_table import compare_with_torch

R = np.random.default_rng(0)
EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("bij,bjk", [(2, 2, 3), (2, 3, 2)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]),
    ("i,j->ij", [(3,), (2,)]),
    ("ij->", [(2, 3)]),
    ("ij,k->ijk", [(2, 2), (3,)]),
    ("iij->j", [(2, 2, 3)]),
    ("ij,ij->i", [(3, 4), (3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("i,i,i->", [(4,), (4,), (4,)]),
]


@pytest.mark.parametrize("equation,shapes", EINSUMS, ids=[e for e, _ in EINSUMS])
def test_einsum_matches_torch(equation, shapes, torch_or_skip):
    torch = torch_or_skip
    arrays = [R.standard_normal(s) for s in shapes]
    compare_with_torch(torch, lambda *xs: ag.einsum(equation, *xs),
                       lambda *xs: torch.einsum(equation, *xs), arrays)


PRODUCTS = [
    ("mm", [(2, 3), (3, 4)], lambda t, a, b: a.mm(b)),
    ("mv", [(2, 3), (3,)], lambda t, a, b: a.mv(b)),
    ("dot", [(3,), (3,)], lambda t, a, b: a.dot(b)),
    ("matmul_method", [(2, 2, 3), (3, 4)], lambda t, a, b: a.matmul(b)),
    ("bmm", [(2, 2, 3), (2, 3, 4)], lambda t, a, b: t.bmm(a, b)),
    ("outer", [(3,), (4,)], lambda t, a, b: t.outer(a, b)),
    ("inner", [(2, 3), (4, 3)], lambda t, a, b: t.inner(a, b)),
    ("tensordot", [(2, 3, 4), (3, 4, 5)], lambda t, a, b: t.tensordot(a, b, 2)),
    ("tensordot_pairs", [(2, 3, 4), (4, 2)], lambda t, a, b: t.tensordot(a, b, ([0, 2], [1, 0]))),
    ("addmm", [(2, 2), (2, 4)], lambda t, a, b: t.addmm(a, b, b.t(), beta=0.5, alpha=2)),
    ("baddbmm", [(2, 3, 3), (2, 3, 3)], lambda t, a, b: t.baddbmm(a, a, b, alpha=0.5)),
]


@pytest.mark.parametrize("name,shapes,fn", PRODUCTS, ids=[p[0] for p in PRODUCTS])
def test_products_match_torch(name, shapes, fn, torch_or_skip):
    torch = torch_or_skip
    arrays = [R.standard_normal(s) for s in shapes]
    compare_with_torch(torch, lambda *xs: fn(ag, *xs), lambda *xs: fn(torch, *xs), arrays)


def test_einsum_errors_name_the_operand():
    with pytest.raises(ShapeError, match="operand 1"):
        ag.einsum("ij,jk->ik", ag.zeros(2, 3), ag.zeros(3))
    with pytest.raises(ShapeError, match="size 3 and 4"):
        ag.einsum("ij,jk->ik", ag.zeros(2, 3), ag.zeros(4, 2))
    with pytest.raises(ShapeError, match="2 operand"):
        ag.einsum("ij,jk", ag.zeros(2, 2))


def test_numpy_functions_on_tensors_keep_the_gradient(torch_or_skip):
    x = ag.tensor(R.standard_normal((3, 3)), requires_grad=True)
    v = ag.tensor(R.standard_normal(3), requires_grad=True)
    results = [np.dot(v, v), np.outer(v, v).sum(), np.tensordot(x, x, 2), np.trace(x),
               np.diag(v).sum(), np.roll(x, 1, 0).sum(), np.triu(x).sum(), np.tril(x, -1).sum(),
               np.repeat(v, 2).sum(), np.cumsum(x, axis=1).sum(), np.prod(v),
               np.var(x, ddof=1), np.std(x, axis=0, ddof=0).sum(),
               np.squeeze(np.expand_dims(v, 0)).sum(), np.concatenate([v, v]).sum(),
               np.stack([v, v]).sum(), np.linalg.norm(v), np.einsum("ii", x), np.flip(v).sum()]
    for result in results:
        assert isinstance(result, ag.Tensor) and result.requires_grad
    total = results[0]
    for r in results[1:]:
        total = total + r
    total.backward()
    assert np.isfinite(x.grad.numpy()).all() and np.isfinite(v.grad.numpy()).all()
