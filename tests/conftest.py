"""Shared test configuration.

`torch` is an optional reference: tests that compare against PyTorch use the
`torch_or_skip` fixture (or the `requires_torch` marker) and are skipped when it is
not installed.

The property-based tests run derandomised by default (the Hypothesis profile
"repeatable"): every run, on every machine, tries the same examples, so a run that
passed here passes in CI and a failure reproduces.  To search new examples, run with
``HYPOTHESIS_PROFILE=explore`` (random draws, the example database kept in
``.hypothesis/``), and add what it finds as an ``@example`` or a fixed case.
"""

import importlib.util
import os

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

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
