"""flip, roll, repeat, tile, repeat_interleave, unfold, movedim, narrow, split, chunk,
unbind, tensor_split, diagonal, diag, diag_embed, tril, triu: values and gradients
against PyTorch (float64), on hypothesis shapes where the op takes any shape."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import autograd_core as ag
from autograd_core.errors import ShapeError
from tests.autograd_core.op_table import compare_with_torch

X = np.random.default_rng(0).standard_normal((3, 4, 5))
M = np.random.default_rng(1).standard_normal((4, 5))
V = np.random.default_rng(2).standard_normal(4)

CASES = [
    ("flip", X, lambda t, x: x.flip(0, 2) if t is not ag else x.flip((0, 2))),
    ("flip_list", X, lambda t, x: t.flip(x, [1])),
    ("fliplr", M, lambda t, x: t.fliplr(x)),
    ("roll", X, lambda t, x: x.roll(2, 1)),
    ("roll_many", X, lambda t, x: t.roll(x, (1, -3), (0, 2))),
    ("roll_flat", M, lambda t, x: x.roll(3)),
    ("repeat", M, lambda t, x: x.repeat(2, 1, 3)),
    ("tile", X, lambda t, x: x.tile((2,))),
    ("repeat_interleave", M, lambda t, x: x.repeat_interleave(2, dim=0)),
    ("repeat_interleave_counts", M, lambda t, x: x.repeat_interleave(t.tensor([1, 0, 2, 3]),
                                                                     dim=0)),
    ("repeat_interleave_flat", M, lambda t, x: t.repeat_interleave(x, 2)),
    ("unfold", X, lambda t, x: x.unfold(2, 2, 2)),
    ("unfold_overlapping", M, lambda t, x: x.unfold(0, 3, 1)),
    ("movedim", X, lambda t, x: t.movedim(x, 0, -1)),
    ("moveaxis_many", X, lambda t, x: t.moveaxis(x, (0, 1), (2, 0))),
    ("narrow", X, lambda t, x: x.narrow(1, 1, 2)),
    ("split", X, lambda t, x: tuple(x.split(2, dim=2))),
    ("split_sizes", X, lambda t, x: tuple(t.split(x, [1, 3], 1))),
    ("chunk", X, lambda t, x: tuple(x.chunk(3, -1))),
    ("unbind", X, lambda t, x: tuple(x.unbind(1))),
    ("tensor_split", X, lambda t, x: tuple(x.tensor_split(3, dim=2))),
    ("diagonal", M, lambda t, x: x.diagonal()),
    ("diagonal_offset", X, lambda t, x: x.diagonal(1, 0, 2)),
    ("diagonal_negative", M, lambda t, x: t.diagonal(x, -2)),
    ("diag_vector", V, lambda t, x: t.diag(x, 1)),
    ("diag_matrix", M, lambda t, x: x.diag(-1)),
    ("diag_embed", M, lambda t, x: t.diag_embed(x)),
    ("tril", X, lambda t, x: x.tril()),
    ("triu", M, lambda t, x: t.triu(x, 1)),
    ("trace", M, lambda t, x: x.trace()),
    ("hstack", M, lambda t, x: t.hstack([x, x * 2])),
    ("vstack", V, lambda t, x: t.vstack([x, x])),
]


@pytest.mark.parametrize("name,data,fn", CASES, ids=[c[0] for c in CASES])
def test_movement_ops_match_torch(name, data, fn, torch_or_skip):
    compare_with_torch(torch_or_skip, lambda x: fn(ag, x), lambda x: fn(torch_or_skip, x),
                       [data])


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
       seed=st.integers(0, 2**16), data=st.data())
def test_any_shape_against_torch(shape, seed, data, torch_or_skip):
    torch = torch_or_skip
    a = np.random.default_rng(seed).standard_normal(shape)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    shift = data.draw(st.integers(-5, 5))
    reps = data.draw(st.lists(st.integers(0, 3), min_size=len(shape), max_size=len(shape) + 1))
    for fn in (lambda t, x: x.flip(dim), lambda t, x: x.roll(shift, dim),
               lambda t, x: x.repeat(*reps), lambda t, x: x.repeat_interleave(2, dim),
               lambda t, x: x.cumsum(dim), lambda t, x: tuple(x.chunk(2, dim))):
        compare_with_torch(torch, lambda x, f=fn: f(ag, x), lambda x, f=fn: f(torch, x), [a])


def test_errors_are_pytorchs():
    x = ag.zeros(3, 4)
    with pytest.raises(ShapeError, match="smaller than the number of dims"):
        x.repeat(2)
    with pytest.raises(ShapeError, match="size 5"):
        x.unfold(1, 5, 1)
    with pytest.raises(IndexError, match="exceeds"):
        x.narrow(0, 2, 2)
    with pytest.raises(ValueError, match="add up"):
        x.split([1, 1], 0)
    with pytest.raises(ShapeError, match="at least 2 dims"):
        ag.zeros(3).tril()
