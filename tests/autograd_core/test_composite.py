"""Ops composed of the others (ops/composite.py): values and gradients against PyTorch
(float64); the integer-valued ones (bincount, unique, searchsorted, ...) by value."""

import numpy as np
import pytest

import autograd_core as ag
from tests.autograd_core.op_table import compare_with_torch

R = np.random.default_rng(0)
A = R.standard_normal((3, 4))
B = R.standard_normal((3, 4))
P = R.uniform(0.1, 0.9, (3, 4))
V3 = R.standard_normal((2, 3))
W3 = R.standard_normal((2, 3))

CASES = [
    ("logit", [P], lambda t, p: t.logit(p)),
    ("logit_eps", [P], lambda t, p: p.logit(eps=0.2)),
    ("xlogy", [A, P], lambda t, a, p: t.xlogy(a, p)),
    ("sinc", [A], lambda t, a: t.sinc(a)),
    ("deg2rad", [A], lambda t, a: t.deg2rad(a)),
    ("rad2deg", [A], lambda t, a: a.rad2deg()),
    ("fmax", [A, B], lambda t, a, b: t.fmax(a, b)),
    ("fmin", [A, B], lambda t, a, b: t.fmin(a, b)),
    ("float_power", [P], lambda t, p: t.float_power(p, 2.5)),
    ("addcmul", [A, B, P], lambda t, a, b, p: t.addcmul(a, b, p, value=0.5)),
    ("addcdiv", [A, B, P], lambda t, a, b, p: t.addcdiv(a, b, p, value=2)),
    ("addmv", [A[:, 0], A, B[0]], lambda t, y, m, v: t.addmv(y, m, v, beta=0.5, alpha=2)),
    ("addr", [A, A[:, 0], B[0]], lambda t, m, u, v: t.addr(m, u, v, alpha=3)),
    ("dist", [A, B], lambda t, a, b: t.dist(a, b, 3)),
    ("renorm", [A], lambda t, a: t.renorm(a, 2, 0, 1.0)),
    ("nansum", [A], lambda t, a: t.nansum(a, 1)),
    ("nanmean", [A], lambda t, a: t.nanmean(a)),
    ("cov", [A], lambda t, a: t.cov(a)),
    ("corrcoef", [A], lambda t, a: t.corrcoef(a)),
    ("diff", [A], lambda t, a: t.diff(a, 2, dim=1)),
    ("diff_prepend", [A, B], lambda t, a, b: t.diff(a, dim=0, prepend=b)),
    ("trapezoid", [A], lambda t, a: t.trapezoid(a, dx=0.5)),
    ("kron", [A, B[:2, :2]], lambda t, a, b: t.kron(a, b)),
    ("cross", [V3, W3], lambda t, a, b: t.cross(a, b, dim=1)),
    ("cdist", [A, B], lambda t, a, b: t.cdist(a, b)),
    ("cdist_p1", [A, B], lambda t, a, b: t.cdist(a, b, p=1)),
    ("rot90", [A], lambda t, a: t.rot90(a)),
    ("rot90_k3", [A], lambda t, a: a.rot90(3, (0, 1))),
    ("column_stack", [A[:, 0], B], lambda t, a, b: t.column_stack([a, b])),
    ("dstack", [A, B], lambda t, a, b: t.dstack([a, b])),
    ("block_diag", [A, B[:2, :2]], lambda t, a, b: t.block_diag(a, b)),
    ("cartesian_prod", [A[0], B[0, :2]], lambda t, a, b: t.cartesian_prod(a, b)),
    ("select", [A], lambda t, a: a.select(1, 2)),
    ("ravel", [A], lambda t, a: a.ravel()),
    ("index_fill", [A], lambda t, a: a.index_fill(1, t.tensor([0, 2]), -1.0)),
    ("index_copy", [A, B[:, :2]], lambda t, a, b: a.index_copy(1, t.tensor([3, 0]), b)),
    ("masked_scatter", [A, B], lambda t, a, b: a.masked_scatter(a > 0, b)),
    ("slice_scatter", [A, B[:, :2]], lambda t, a, b: t.slice_scatter(a, b, 1, 0, 4, 2)),
    ("select_scatter", [A, B[:, 0]], lambda t, a, b: t.select_scatter(a, b, 1, 1)),
    ("nan_to_num", [np.array([np.nan, np.inf, -np.inf, 1.5])],
     lambda t, a: t.nan_to_num(a, nan=0.5, posinf=9.0)),
]


@pytest.mark.parametrize("name,arrays,fn", CASES, ids=[c[0] for c in CASES])
def test_compositions_match_torch(name, arrays, fn, torch_or_skip):
    torch = torch_or_skip
    compare_with_torch(torch, lambda *xs: fn(ag, *xs), lambda *xs: fn(torch, *xs), arrays,
                       rtol=1e-9)


def test_integer_answers_match_torch(torch_or_skip):
    torch = torch_or_skip
    ints = np.array([3, 1, 1, 0, 5, 3])
    seq = np.array([0.0, 1.0, 2.5, 4.0])
    vals = np.array([[0.5, 2.5], [4.5, -1.0]])
    pairs = [
        (ag.bincount(ag.tensor(ints)), torch.bincount(torch.tensor(ints))),
        (ag.bincount(ag.tensor(ints), minlength=8), torch.bincount(torch.tensor(ints),
                                                                   minlength=8)),
        (ag.unique(ag.tensor(ints)), torch.unique(torch.tensor(ints))),
        (ag.searchsorted(ag.tensor(seq), ag.tensor(vals)),
         torch.searchsorted(torch.tensor(seq), torch.tensor(vals))),
        (ag.bucketize(ag.tensor(vals), ag.tensor(seq), right=True),
         torch.bucketize(torch.tensor(vals), torch.tensor(seq), right=True)),
        (ag.histc(ag.tensor(seq), bins=4), torch.histc(torch.tensor(seq), bins=4)),
        (ag.gcd(ag.tensor(ints), ag.tensor(4)), torch.gcd(torch.tensor(ints), torch.tensor(4))),
        (ag.heaviside(ag.tensor(vals), ag.tensor(0.5)),
         torch.heaviside(torch.tensor(vals), torch.tensor(0.5, dtype=torch.float64))),
    ]
    for ours, theirs in pairs:
        assert ours.tolist() == theirs.tolist()
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    values, inverse, counts = ag.unique(ag.tensor(ints), return_inverse=True,
                                        return_counts=True)
    t_values, t_inverse, t_counts = torch.unique(torch.tensor(ints), return_inverse=True,
                                                 return_counts=True)
    assert inverse.tolist() == t_inverse.tolist() and counts.tolist() == t_counts.tolist()
