"""Bad input gets a clear error that names the shapes, dims or values involved."""

import numpy as np
import pytest

import autograd_core as ag
from autograd_core.errors import ShapeError


def test_incompatible_broadcast_names_the_op_and_both_shapes():
    a, b = ag.ones(2, 3), ag.ones(4)
    for op, name in [(lambda: a + b, "Add"), (lambda: a * b, "Mul"),
                     (lambda: ag.maximum(a, b), "Maximum")]:
        with pytest.raises(ValueError, match=rf"{name}.*\(2, 3\) and \(4,\)"):
            op()
    with pytest.raises(RuntimeError):  # the PyTorch type works too
        a - b


def test_matmul_mismatch_names_both_shapes_and_the_inner_sizes():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\).*\(3\).*\(4\)"):
        ag.ones(2, 3) @ ag.ones(4, 5)
    with pytest.raises(RuntimeError, match="at least 1 dimension"):
        ag.tensor(1.0) @ ag.ones(2)
    with pytest.raises(ValueError, match="batch dims"):
        ag.ones(2, 2, 3) @ ag.ones(3, 3, 4)


def test_reshape_to_a_wrong_size():
    with pytest.raises(ValueError, match=r"\(2, 3\) \(6 elements\).*\(4, 2\)"):
        ag.ones(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, -1\)"):
        ag.ones(2, 3).reshape(4, -1)
    with pytest.raises(ValueError, match="only one dimension can be -1"):
        ag.ones(2, 3).reshape(-1, -1)


def test_out_of_range_dims_name_the_dim_and_the_rank():
    t = ag.ones(2, 3)
    for call in (lambda: t.sum(dim=2), lambda: t.mean(dim=-3), lambda: t.softmax(5),
                 lambda: t.transpose(0, 2), lambda: t.unsqueeze(4), lambda: ag.cat([t], dim=2)):
        with pytest.raises(IndexError, match=r"dim -?\d is out of range.*2 dimension"):
            call()
    with pytest.raises(ValueError, match="out of range"):  # also a ValueError
        t.max(dim=7)


def test_out_of_range_indices_name_the_index_and_the_shape():
    t = ag.ones(2, 3)
    with pytest.raises(IndexError, match=r"shape \(2, 3\).*index 5"):
        t[5]
    with pytest.raises(IndexError, match="integer or bool"):
        t[np.array([0.5])]


def test_cat_and_stack_shape_mismatches():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 4\)"):
        ag.cat([ag.ones(2, 3), ag.ones(2, 4)], dim=0)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        ag.stack([ag.ones(2, 3), ag.ones(3, 2)])
    with pytest.raises(ValueError, match="at least one"):
        ag.cat([])
    with pytest.raises(TypeError, match="list or tuple"):
        ag.cat(ag.ones(2))


def test_expand_and_permute_errors():
    with pytest.raises(ValueError, match=r"cannot expand shape \(2, 3\)"):
        ag.ones(2, 3).expand(4, 3)
    with pytest.raises(ValueError, match="not a permutation"):
        ag.ones(2, 3).permute(0, 0)


def test_where_needs_a_bool_condition():
    with pytest.raises(TypeError, match="bool.*float32"):
        ag.where(ag.ones(2), ag.ones(2), ag.zeros(2))


def test_failed_ops_record_nothing_and_change_nothing():
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError):
        x + ag.ones(3)
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_the_former_plain_value_errors_are_the_librarys_own():
    t = ag.ones(2, 3, 4, 5)
    with pytest.raises(ShapeError, match="permute"):
        t.permute(0, 2)
    with pytest.raises(ShapeError, match="only one dimension can be -1"):
        ag.ones(4).reshape(-1, -1, 2)
    with pytest.raises(ShapeError, match="clamp: give at least one of min and max"):
        ag.ones(3).clamp()
    with pytest.raises(RuntimeError, match="negative integer powers"):
        ag.tensor([1, 2]) ** -1  # as PyTorch: a RuntimeError (our DTypeError)
    with pytest.raises(ShapeError, match=r"Add: cannot broadcast shapes \(2, 3\) and \(4,\)"):
        ag.ones(2, 3) + ag.ones(4)
    with pytest.raises(ShapeError, match="where"):
        ag.where(ag.ones(5) > 0, ag.ones(2, 3), 0.0)


def test_unsupported_operands_raise_type_errors_instead_of_nan():
    with pytest.raises(TypeError, match="None"):
        ag.tensor([1.0, 2.0]) + None
    with pytest.raises(TypeError, match="str"):
        ag.tensor([1.0]) * "a"
    with pytest.raises(TypeError, match="object"):
        ag.tensor([1.0]) + np.array([object()])
