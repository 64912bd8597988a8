"""Shared test configuration.

`torch` is an optional reference: tests that compare against PyTorch use the
`torch_or_skip` fixture (or the `requires_torch` marker) and are skipped when it is
not installed.
"""

import importlib.util

import numpy as np
import pytest

HAS_TORCH = importlib.util.find_spec("torch") is not None

requires_torch = pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")


@pytest.fixture
def torch_or_skip():
    """The `torch` module, or skip the test when PyTorch is not installed."""
    if not HAS_TORCH:
        pytest.skip("PyTorch is not installed")
    import torch

    torch.set_num_threads(1)
    return torch


@pytest.fixture
def rng():
    """A NumPy generator with a fixed seed, so every failure reproduces."""
    return np.random.default_rng(1234)
