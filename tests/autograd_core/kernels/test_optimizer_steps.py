"""The fused SGD-momentum pass gives the same bits as the NumPy form it replaces, and
declines arrays it cannot take (the optimizer then runs the NumPy form)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_core.kernels.optimizer_steps import sgd_momentum_step


def _numpy_form(theta, d, b, lr, momentum, dampening, nesterov):
    b *= momentum
    if dampening == 0:
        b += d
    else:
        b += np.multiply(d, 1 - dampening)
    direction = d + np.multiply(b, momentum) if nesterov else b
    theta -= np.multiply(direction, lr)


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 3000), dtype=st.sampled_from([np.float32, np.float64]),
       lr=st.floats(1e-4, 1.0), momentum=st.floats(0.01, 0.99),
       dampening=st.sampled_from([0.0, 0.1, 0.5]), nesterov=st.booleans(),
       seed=st.integers(0, 2**31 - 1))
def test_same_bits_as_the_numpy_form(size, dtype, lr, momentum, dampening, nesterov, seed):
    if nesterov:
        dampening = 0.0
    rng = np.random.default_rng(seed)
    theta, d, b = (rng.standard_normal(size).astype(dtype) for _ in range(3))
    expected_theta, expected_b = theta.copy(), b.copy()
    _numpy_form(expected_theta, d, expected_b, lr, momentum, dampening, nesterov)
    assert sgd_momentum_step(theta, d, b, lr=lr, momentum=momentum, dampening=dampening,
                             nesterov=nesterov)
    assert theta.tobytes() == expected_theta.tobytes()
    assert b.tobytes() == expected_b.tobytes()


def test_arrays_it_cannot_take_are_left_alone():
    theta = np.ones((4, 4), np.float32)
    d, b = np.ones_like(theta), np.ones_like(theta)
    kwargs = dict(lr=0.1, momentum=0.9, dampening=0.0, nesterov=False)
    assert not sgd_momentum_step(theta.T, d, b, **kwargs)           # not C-contiguous
    assert not sgd_momentum_step(theta, d.astype(np.float64), b, **kwargs)
    assert not sgd_momentum_step(theta.astype(np.float16), d, b, **kwargs)
    assert not sgd_momentum_step(theta, d[:2], b, **kwargs)
    assert (theta == 1).all() and (b == 1).all()
    assert sgd_momentum_step(theta, d, b, **kwargs) and np.allclose(theta, 1 - 0.1 * 1.9)


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 2000), dtype=st.sampled_from([np.float32, np.float64]),
       beta1=st.sampled_from([0.0, 0.3, 0.9]), beta2=st.sampled_from([0.5, 0.999]),
       amsgrad=st.booleans(), weight_decay=st.sampled_from([0.0, 0.01]),
       decoupled=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_adam_same_bits_as_the_numpy_form(size, dtype, beta1, beta2, amsgrad, weight_decay,
                                          decoupled, seed):
    """Three Adam steps with the fused pass and with it declined (the NumPy form)."""
    import optim
    from autograd_core import Tensor
    from optim import adam as adam_module

    rng = np.random.default_rng(seed)
    start = rng.standard_normal(size).astype(dtype)
    grads = [rng.standard_normal(size).astype(dtype) for _ in range(3)]
    grads[1][0] = 0.0

    def run(fused):
        w = Tensor(start.copy(), requires_grad=True)
        cls = optim.AdamW if decoupled else optim.Adam
        opt = cls([w], lr=0.01, betas=(beta1, beta2), eps=1e-8, weight_decay=weight_decay,
                  amsgrad=amsgrad)
        with pytest.MonkeyPatch.context() as patch:
            if not fused:
                patch.setattr(adam_module, "adam_step", lambda *a, **k: False)
            for g in grads:
                w.grad = Tensor(g.copy())
                opt.step()
        state = opt.state[w]
        return [w.numpy(), state["exp_avg"], state["exp_avg_sq"]] + (
            [state["max_exp_avg_sq"]] if amsgrad else [])

    for a, b in zip(run(True), run(False)):
        assert a.tobytes() == b.tobytes()
