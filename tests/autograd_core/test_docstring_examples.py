"""Every example in the engine's docstrings runs and prints what it says."""

import doctest
import importlib
import pkgutil

import pytest

import autograd_core

MODULES = ["autograd_core"] + sorted(
    info.name for info in pkgutil.walk_packages(autograd_core.__path__, "autograd_core."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
