"""DESIGN.md's public API, called with the argument names it spells (tests outside this
repository use them); PyTorch's names work too."""

import numpy as np
import pytest

import autograd_core as ag
import nn
import nn.functional as F


def test_tensor_methods_with_design_keywords():
    t = ag.randn(2, 3)
    assert t.transpose(d0=0, d1=1).shape == (3, 2)
    assert t.unsqueeze(d=0).shape == (1, 2, 3) == t.unsqueeze(dim=0).shape
    assert t.unsqueeze(0).squeeze(d=0).shape == (2, 3)
    assert t.sum(dim=1, keepdim=True).shape == (2, 1) and t.argmax(dim=1).shape == (2,)
    assert t.clamp(min=-0.5, max=0.5).data.max() <= 0.5
    assert t.flatten(start_dim=0, end_dim=-1).shape == (6,)


def test_functions_with_design_keywords():
    t = ag.randn(2, 3)
    assert ag.cat(ts=[t, t], dim=0).shape == (4, 3)
    assert ag.stack(ts=[t, t], dim=0).shape == (2, 2, 3)
    assert ag.where(cond=t > 0, a=t, b=0.0).shape == (2, 3)
    x, w, b = ag.randn(1, 1, 4, 4), ag.randn(2, 1, 3, 3), ag.zeros(2)
    np.testing.assert_array_equal(F.conv2d(x, w=w, b=b).data, F.conv2d(x, weight=w, bias=b).data)
    assert F.softmax(x=t, dim=1).shape == (2, 3) and F.log_softmax(x=t, dim=1).shape == (2, 3)
    assert F.dropout(x=t, p=0.5, training=False) is not None
    loss = F.cross_entropy(logits=t, target=ag.tensor([0, 2]), reduction="mean",
                           label_smoothing=0.0)
    assert loss.shape == ()
    model = nn.Linear(3, 2)
    model(t).sum().backward()
    assert float(nn.utils.clip_grad_norm_(params=model.parameters(), max_norm=1.0,
                                          norm_type=2.0)) > 0


def test_an_argument_given_under_both_names_is_an_error():
    t = ag.randn(2)
    with pytest.raises(TypeError, match="'ts' and 'tensors'"):
        ag.cat(ts=[t], tensors=[t])
