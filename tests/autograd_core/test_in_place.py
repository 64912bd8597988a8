"""In-place changes: operators, version counters, differentiable item assignment, and
the PyTorch idioms they support (a hand-written SGD step)."""

import numpy as np
import pytest

import autograd_core as ag
import nn
import optim


def test_a_hand_written_sgd_step_updates_the_parameters():
    ag.manual_seed(0)
    model = nn.Linear(3, 1)
    x, y = ag.randn(8, 3), ag.randn(8, 1)
    before = model.weight.numpy().copy()
    losses = []
    for _ in range(20):
        loss = ((model(x) - y) ** 2).mean()
        model.zero_grad()
        loss.backward()
        with ag.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
        losses.append(loss.item())
    assert not np.array_equal(before, model.weight.numpy())
    assert losses[-1] < 0.5 * losses[0]
    assert isinstance(model.weight, nn.Parameter)  # still the same object


def test_in_place_operators_modify_the_array_and_bump_the_version():
    t = ag.Tensor([1.0, 2.0])
    data, version = t.numpy(), t._version
    t += 1
    t *= ag.Tensor([2.0, 3.0])
    t -= 1
    t /= 2
    assert t.numpy() is data and t.tolist() == [1.5, 4.0] and t._version > version


def test_in_place_on_a_leaf_that_requires_grad_needs_no_grad():
    w = ag.Tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w += 1
    assert w.tolist() == [1.0]


def test_in_place_on_an_interior_node_rebinds_to_a_new_node():
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h += x  # h = 3x, recorded
    h.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_in_place_errors_name_dtypes_and_shapes():
    ints = ag.Tensor([1, 2])
    with pytest.raises(TypeError, match="int64"):
        ints += 0.5
    with pytest.raises(ValueError, match=r"\(2,\).*\(3, 2\)"):
        ints += np.ones((3, 2), dtype=np.int64)
    with pytest.raises(ValueError, match="read-only"):
        view = ag.Tensor([1.0]).expand(3)
        view += 1


def test_backward_refuses_arrays_changed_after_the_forward():
    w = ag.Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    w.grad = ag.Tensor([10.0, 10.0])
    optim.SGD([w], lr=1.0).step()  # changes w in place after the forward
    w.grad = None
    with pytest.raises(RuntimeError, match=r"input 0 of Mul .*modified in place"):
        loss.backward()
    assert w.grad is None  # nothing half-updated


def test_changing_an_input_that_was_not_saved_is_harmless():
    a = ag.Tensor([1.0, 2.0], requires_grad=True)
    b = ag.Tensor([5.0, 5.0])
    total = (a + b).sum()  # Add saves nothing
    b += 1
    total.backward()
    assert a.grad.tolist() == [1.0, 1.0]


def test_item_assignment_of_a_value_that_requires_grad_is_recorded():
    w = ag.Tensor(1.0, requires_grad=True)
    out = ag.zeros(3)
    out[0] = w * 2
    out[1:] = w * 3
    assert out.requires_grad and not out.is_leaf and out.grad_fn.op_name == "SetItem"
    (out.sum() + w).backward()
    assert w.grad.item() == pytest.approx(2 + 3 + 3 + 1)


def test_item_assignment_overwrites_the_gradient_of_the_old_values():
    x = ag.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 1.0
    h[1] = ag.Tensor(7.0)
    assert h.tolist() == [1.0, 7.0, 3.0]
    h.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0]
    y = ag.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    v = ag.Tensor([1.0, 2.0, 3.0], requires_grad=True)

    def assign(a, b):
        c = a * 1.0
        c[1] = b
        return c * c

    assert ag.gradcheck(assign, (y.double(), v.double()))


def test_casting_to_integers_ends_the_graph():
    x = ag.Tensor([1.7, -2.3], requires_grad=True)
    ints = x.long()
    assert not ints.requires_grad and ints.grad_fn is None
    assert not (x > 0).requires_grad


def test_nan_and_infinite_corner_cases_match_torch():
    t = ag.Tensor([1.0, np.nan, 3.0], requires_grad=True)
    t.max().backward()
    assert t.grad.tolist() == [0.0, 1.0, 0.0]
    s = ag.Tensor([[-np.inf, -np.inf], [1.0, 2.0]], requires_grad=True)
    s.logsumexp(dim=1).sum().backward()
    assert s.grad.numpy()[0].tolist() == [0.0, 0.0]
    one = ag.Tensor([1.0], requires_grad=True)
    one.var().backward()
    assert np.isnan(one.grad.item())
