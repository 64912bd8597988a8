"""Sequential, ModuleList, ModuleDict, ParameterList/Dict, Identity, Flatten."""

from collections import OrderedDict

import numpy as np
import pytest

import nn
from autograd_core import Tensor, randn


def test_sequential_indexing_slicing_and_mutation():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    model = nn.Sequential(a, b, c)
    assert len(model) == 3 and list(model) == [a, b, c]
    assert model[0] is a and model[-1] is c
    head = model[1:]
    assert isinstance(head, nn.Sequential) and list(head) == [b, c]
    assert list(head._modules) == ["1", "2"]  # slicing keeps the keys, as PyTorch
    with pytest.raises(IndexError, match="out of range"):
        model[3]
    model.append(nn.Sigmoid())
    assert len(model) == 4 and list(model.state_dict())[-1] == "2.bias"
    del model[1]
    assert list(model._modules) == ["0", "1", "2"] and model[1] is c
    model.insert(1, nn.Tanh())
    assert isinstance(model[1], nn.Tanh) and len(model) == 4
    model[1] = nn.ReLU()
    assert isinstance(model[1], nn.ReLU)
    assert model(randn(5, 2)).shape == (5, 1)


def test_sequential_from_ordered_dict_keeps_names():
    model = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(model.state_dict()) == ["fc.weight", "fc.bias"]
    assert model.fc is model[0]


def test_module_list():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    layers.append(nn.ReLU())
    layers.extend([nn.Tanh()])
    layers += [nn.Sigmoid()]
    assert len(layers) == 6
    assert isinstance(layers[-1], nn.Sigmoid)
    sub = layers[:2]
    assert isinstance(sub, nn.ModuleList) and len(sub) == 2
    del layers[0]
    assert list(layers._modules) == [str(i) for i in range(5)]
    with pytest.raises(TypeError, match="iterable of modules"):
        layers.extend(nn.ReLU())
    with pytest.raises(NotImplementedError):
        layers(1)


def test_module_dict():
    d = nn.ModuleDict({"enc": nn.Linear(2, 3), "dec": nn.Linear(3, 2)})
    assert list(d) == ["enc", "dec"] and "enc" in d and len(d) == 2
    assert list(d.state_dict()) == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    d["act"] = nn.ReLU()
    assert list(d.keys()) == ["enc", "dec", "act"]
    assert isinstance(d.pop("act"), nn.ReLU) and len(d) == 2
    del d["dec"]
    assert list(d.keys()) == ["enc"]


def test_parameter_list_and_dict():
    pl = nn.ParameterList([Tensor([1.0]), nn.Parameter([2.0])])
    assert all(isinstance(p, nn.Parameter) for p in pl)
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    pd = nn.ParameterDict({"a": Tensor([1.0])})
    pd["b"] = nn.Parameter([3.0])
    assert list(pd.state_dict()) == ["a", "b"]


def test_identity_and_flatten():
    x = randn(2, 3, 4, 5)
    assert nn.Identity(54, unused="x")(x) is x
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Unflatten(1, (3, 20))(nn.Flatten()(x)).shape == (2, 3, 20)
    assert nn.Flatten()(np.zeros((2, 3, 4))).shape == (2, 12)
