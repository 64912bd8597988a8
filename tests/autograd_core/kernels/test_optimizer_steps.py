"""The fused SGD-momentum pass gives the same bits as the NumPy form it replaces, and
declines arrays it cannot take (the optimizer then runs the NumPy form)."""

import numpy as np
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
