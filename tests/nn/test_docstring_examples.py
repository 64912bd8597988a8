"""The examples in nn's docstrings (and in the fused ops nn adds) run and are right."""

import doctest
import importlib

import pytest

MODULES = [
    "nn", "nn.activation", "nn.containers", "nn.conv", "nn.dropout", "nn.functional",
    "nn.init", "nn.linear", "nn.loss", "nn.module", "nn.normalization", "nn.parameter",
    "nn.pooling", "nn.serialization", "nn.utils", "autograd_core.ops.activation",
    "autograd_core.ops.dropout", "autograd_core.ops.loss", "autograd_core.ops.normalization",
    "nn.rnn", "nn.utils.rnn", "nn.embedding", "nn.attention", "nn.transformer", "nn.stochastic",
    "autograd_core.ops.recurrent", "autograd_core.ops.embedding", "autograd_core.ops.attention",
    "autograd_core.ops.fractional_pool", "autograd_core.kernels.recurrent",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
    assert result.attempted > 0, f"{name} has no docstring example"
