"""DESIGN.md's public API: PyTorch's own keyword names, plus the aliases PyTorch itself
accepts (``axis`` for ``dim``, ``keepdims``); no house spellings."""

import numpy as np
import pytest

import autograd_core as ag
import nn
import nn.functional as F


def test_tensor_methods_with_pytorch_keywords():
    t = ag.randn(2, 3)
    assert t.transpose(dim0=0, dim1=1).shape == (3, 2)
    assert t.unsqueeze(dim=0).shape == (1, 2, 3)
    assert t.unsqueeze(0).squeeze(dim=0).shape == (2, 3)
    assert t.sum(dim=1, keepdim=True).shape == (2, 1) and t.argmax(dim=1).shape == (2,)
    assert t.clamp(min=-0.5, max=0.5).numpy().max() <= 0.5
    assert t.flatten(start_dim=0, end_dim=-1).shape == (6,)


@pytest.mark.parametrize("method", ["sum", "mean", "amax", "amin", "std", "var", "all", "any"])
def test_numpys_axis_and_keepdims_are_accepted_as_pytorch_does(method):
    t = ag.randn(2, 3) > 0 if method in ("all", "any") else ag.randn(2, 3)
    by_axis = getattr(t, method)(axis=1, keepdims=True)
    by_dim = getattr(t, method)(dim=1, keepdim=True)
    assert by_axis.shape == (2, 1)
    np.testing.assert_array_equal(by_axis.numpy(), by_dim.numpy())


def test_max_and_min_over_a_dim_return_named_tuples():
    t = ag.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    result = t.max(1)
    assert result[0].tolist() == [5.0, 7.0] and result[1].tolist() == [1, 0]
    assert result.values.tolist() == [5.0, 7.0] and result.indices.tolist() == [1, 0]
    values, indices = ag.min(t, dim=0)
    assert values.tolist() == [1.0, 0.0, 2.0] and indices.tolist() == [0, 1, 0]
    assert type(result).__name__ == "max" and t.max().item() == 7.0
    assert ag.max(t, axis=1).values.tolist() == [5.0, 7.0]


def test_functions_with_pytorch_keywords():
    t = ag.randn(2, 3)
    assert ag.cat(tensors=[t, t], dim=0).shape == (4, 3)
    assert ag.stack(tensors=[t, t], dim=0).shape == (2, 2, 3)
    assert ag.where(condition=t > 0, input=t, other=0.0).shape == (2, 3)
    x, w, b = ag.randn(1, 1, 4, 4), ag.randn(2, 1, 3, 3), ag.zeros(2)
    np.testing.assert_array_equal(F.conv2d(input=x, weight=w, bias=b).numpy(),
                                  F.conv2d(x, w, b).numpy())
    assert F.softmax(input=t, dim=1).shape == (2, 3)
    assert F.dropout(input=t, p=0.5, training=False) is not None
    loss = F.cross_entropy(input=t, target=ag.tensor([0, 2]), reduction="mean",
                           label_smoothing=0.0)
    assert loss.shape == ()
    model = nn.Linear(3, 2)
    model(t).sum().backward()
    assert float(nn.utils.clip_grad_norm_(parameters=model.parameters(), max_norm=1.0,
                                          norm_type=2.0)) > 0


def test_house_spellings_are_gone():
    t = ag.randn(2)
    with pytest.raises(TypeError):
        ag.cat(ts=[t])
    with pytest.raises(TypeError):
        t.unsqueeze(d=0)


def test_data_is_a_detached_tensor_sharing_memory():
    p = ag.randn(3, requires_grad=True)
    d = p.data
    assert isinstance(d, ag.Tensor) and not d.requires_grad and d.grad_fn is None
    d.normal_() if hasattr(d, "normal_") else d.fill_(2.0)
    np.testing.assert_array_equal(p.numpy(), d.numpy())
    assert isinstance(np.asarray(p), np.ndarray)
