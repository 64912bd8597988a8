"""The docstring examples of the optim package run and show what they claim."""

import doctest
import importlib

import pytest

MODULES = ["optim", "optim.optimizer", "optim.sgd", "optim.adam", "optim.rmsprop",
           "optim.adagrad", "optim.adadelta", "optim.adamax", "optim.nadam", "optim.radam",
           "optim.lbfgs", "optim.lr_scheduler"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
