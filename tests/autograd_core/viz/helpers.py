"""Shared pieces of the viz tests: the slides' neuron, running flat code, comparing."""

import numpy as np

import autograd_core as ag
from autograd_core.viz import flat_code

NEURON = dict(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)


def neuron(dtype="float64"):
    """L = sigmoid(w0*x0 + w1*x1 + w2) with the slides' numbers; returns (L, leaves)."""
    t = {k: ag.Tensor(v, requires_grad=True, name=k, dtype=dtype) for k, v in NEURON.items()}
    L = (t["w0"] * t["x0"] + t["w1"] * t["x1"] + t["w2"]).sigmoid()
    L.name = "L"
    return L, t


def run_flat_code(root, **options):
    """exec flat_code(root) and call it on the leaves' arrays: (value, grads, source)."""
    source = flat_code(root, **options)
    namespace = {}
    exec(compile(source, "<flat_code>", "exec"), namespace)
    from autograd_core.viz._graph import GraphInfo

    graph = GraphInfo(root, options.get("params"))
    args = {graph.ident[id(t)]: t.numpy() for t in graph.leaves}
    with np.errstate(all="ignore"):
        value, grads = namespace["forward_backward"](**args)
    return value, grads, source, graph


def assert_identical(actual, expected, what=""):
    """Same shape, same dtype, same bits (NaNs equal)."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    assert np.array_equal(actual, expected, equal_nan=expected.dtype.kind == "f"), (
        f"{what}: values differ by up to {np.nanmax(np.abs(actual - expected))}"
    )


def assert_close(actual, expected, what="", rtol=1e-12):
    """Same shape and dtype, equal to float rounding (a different summation order)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    # relative to the largest magnitude, or to 1 for a gradient that is 0 up to noise
    # (a conv bias before batch norm)
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1.0)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def assert_flat_code_matches_engine(root, rtol=None, **options):
    """Flat code reproduces root's value and every leaf's gradient bit for bit.

    ``rtol``: equal to that relative tolerance instead (of the largest magnitude), for
    code whose sums run in another order than the Numba kernels' (written-out conv).
    """
    same = assert_identical if rtol is None else (
        lambda a, e, what: assert_close(a, e, what, rtol))
    value, grads, source, graph = run_flat_code(root, **options)
    with np.errstate(all="ignore"):
        root.backward(retain_graph=True) if root.numpy().size == 1 else root.backward(
            ag.ones_like(root), retain_graph=True)
    same(value, root.numpy(), "value")
    expected = {graph.name[id(t)]: t for t in graph.leaves
                if t.requires_grad and t.grad is not None}
    assert set(grads) == set(expected), source
    for name, leaf in expected.items():
        same(grads[name], leaf.grad.numpy(), f"grad of {name}\n{source}")
    return source
