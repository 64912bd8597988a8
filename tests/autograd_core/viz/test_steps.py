"""backward_steps and the replay: the engine's order and numbers, no .grad touched."""

import numpy as np
import pytest

import autograd_core as ag
from autograd_core import Tensor
from autograd_core.autograd import topological_order
from autograd_core.viz import Step, backward_steps

from .helpers import neuron


def _grads(leaves):
    return {k: (None if t.grad is None else t.grad.numpy().copy()) for k, t in leaves.items()}


def test_steps_follow_backward_order_and_are_a_reverse_topological_order():
    L, _ = neuron()
    steps = backward_steps(L)
    order = topological_order(L)
    assert [s.output.grad_fn for s in steps] == list(reversed(order))  # the nodes
    assert [s.index for s in steps] == [1, 2, 3, 4, 5]
    assert [s.op for s in steps] == ["Sigmoid", "Add", "Add", "Mul", "Mul"]
    # Every step comes before the steps of the tensors it feeds on.
    position = {id(s.output): k for k, s in enumerate(steps)}
    for k, step in enumerate(steps):
        for x in step.inputs:
            if x.grad_fn is not None:
                assert position[id(x)] > k


def test_step_fields_for_the_neuron():
    L, t = neuron()
    first, *_, last = backward_steps(L)
    assert isinstance(first, Step)
    assert first.output is L and first.inputs[0].grad_fn is not None
    assert first.grad_output == 1.0
    assert first.grad_inputs[0] == pytest.approx(0.19661193)
    assert first.formula == "L = sigmoid(s3);  grad_s3 += grad_L * L * (1 - L)"
    assert last.inputs == (t["w0"], t["x0"])
    assert last.formula == "s0 = w0 * x0;  grad_w0 += grad_s0 * x0;  grad_x0 += grad_s0 * w0"
    assert isinstance(last.grad_output, np.ndarray)
    assert all(isinstance(g, np.ndarray) for g in last.grad_inputs)
    assert "Step(5: s0 = w0 * x0" in repr(last)


def test_contributions_sum_to_the_engines_gradients_bit_for_bit(rng):
    x = Tensor(rng.normal(size=(3, 4)), requires_grad=True, name="x")
    b = Tensor(rng.normal(size=(4,)), requires_grad=True, name="b")
    h = (x * b + b).tanh()
    loss = (h * h + h.exp()).mean()
    steps = backward_steps(loss)
    loss.backward()
    for leaf in (x, b):
        total = None
        for step in steps:
            for inp, g in zip(step.inputs, step.grad_inputs):
                if inp is leaf and g is not None:
                    total = g if total is None else total + g
        assert np.array_equal(total, leaf.grad.numpy())


def test_no_grad_is_changed_before_or_after_backward():
    L, t = neuron()
    backward_steps(L)
    assert all(v.grad is None for v in t.values())
    L.backward(retain_graph=True)
    before = _grads(t)
    steps = backward_steps(L)
    after = _grads(t)
    assert all(np.array_equal(before[k], after[k]) for k in t)
    assert steps[-1].grad_inputs[0] == t["w0"].grad.item()


def test_works_after_a_backward_that_freed_the_graph():
    L, t = neuron()
    L.backward()
    assert L.grad_fn.freed
    with pytest.raises(RuntimeError, match="second time"):
        L.backward()
    steps = backward_steps(L)
    assert steps[-1].grad_inputs[0] == t["w0"].grad.item()
    assert L.grad_fn.freed  # the replay used fresh contexts; the graph stays freed


def test_interior_gradients_without_retain_grad():
    a = Tensor(2.0, requires_grad=True, name="a", dtype="float64")
    b = a * 3
    c = b * b
    steps = backward_steps(c)
    assert steps[0].grad_output == 1.0 and steps[1].grad_output == 12.0  # dc/db = 2b
    assert b.grad is None


def test_constants_are_not_inputs_and_data_leaves_get_none():
    w = Tensor(2.0, requires_grad=True, name="w")
    x = Tensor(5.0, name="x")
    (step,) = backward_steps(w * x * 1.0)[1:]
    assert step.inputs == (w, x) and step.grad_inputs[1] is None
    (scale,) = backward_steps(w * 3)
    assert scale.inputs == (w,)


def test_an_input_changed_in_place_after_forward_is_reported():
    w = Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with ag.no_grad():
        w.numpy()[...] = 5.0  # what an optimizer step does
    with pytest.warns(RuntimeWarning, match="changed in place"):
        backward_steps(loss)


def test_a_given_seed_and_a_leaf_root():
    x = Tensor([1.0, 2.0], requires_grad=True)
    steps = backward_steps(x * 2, grad=np.array([1.0, -1.0]))
    assert steps[0].grad_inputs[0].tolist() == [2.0, -2.0]
    assert backward_steps(x) == []
    with pytest.raises(ValueError, match="shape"):
        backward_steps(x * 2, grad=np.ones(3))


def test_a_long_chain_needs_no_recursion():
    x = Tensor(0.5, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0001
    steps = backward_steps(y)
    assert len(steps) == 3000 and steps[-1].inputs[0] is x
