"""gradcheck itself: passes correct gradients, catches wrong ones and says where."""

import numpy as np
import pytest

import autograd_core as ag


class WrongSquare(ag.Function):
    """x^2 with a deliberately wrong derivative (x instead of 2x), as a student might."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x


def test_gradcheck_accepts_correct_gradients_of_several_inputs():
    rng = np.random.default_rng(0)
    a = ag.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = ag.Tensor(rng.standard_normal(3), requires_grad=True)
    assert ag.gradcheck(lambda p, q: (p * q).tanh() @ q, (a, b))


def test_gradcheck_reports_input_index_and_both_values():
    x = ag.Tensor([0.5, 2.0], dtype=np.float64, requires_grad=True)
    expected = r"input 0 at index \(0,\).*numerical 1.*analytic 0.5"
    with pytest.raises(ag.GradcheckError, match=expected):
        ag.gradcheck(lambda t: WrongSquare.apply(t).sum(), (x,))
    with pytest.raises(ag.GradcheckError, match="random v"):
        ag.gradcheck(WrongSquare.apply, (x,))
    assert ag.gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False


def test_gradcheck_changes_no_grad_and_restores_the_data():
    x = ag.Tensor([0.5, 2.0], dtype=np.float64, requires_grad=True)
    x.grad = np.array([7.0, 7.0])
    before = x.numpy().copy()
    ag.gradcheck(lambda t: t.exp(), (x,))
    assert x.grad.tolist() == [7.0, 7.0]
    np.testing.assert_array_equal(x.numpy(), before)


def test_gradcheck_needs_float64_inputs():
    with pytest.raises(TypeError, match="float64"):
        ag.gradcheck(lambda t: t * 2, (ag.Tensor([1.0], requires_grad=True),))
    with pytest.raises(ValueError, match="nothing to check"):
        ag.gradcheck(lambda t: t * 2, (ag.Tensor([1.0]),))


def test_gradcheck_handles_tuple_outputs_and_constant_inputs():
    x = ag.Tensor([0.3, -0.4], dtype=np.float64, requires_grad=True)
    assert ag.gradcheck(lambda t, k: (t * k, t.sin()), (x, 3.0))
