"""state_dict and load_state_dict: PyTorch's keys, strictness, dtypes, clear errors."""

import numpy as np
import pytest

import nn
from autograd_core import Tensor
from tests.reference.nn_torch import torch_state_dict_as_numpy


def _build(lib):
    """The same architecture in nn or torch.nn (a bit of everything that has state)."""

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.features = lib.Sequential(
                lib.Conv2d(1, 4, 3), lib.BatchNorm2d(4), lib.ReLU(), lib.MaxPool2d(2),
            )
            self.blocks = lib.ModuleList([lib.Linear(4, 4), lib.LayerNorm(4)])
            self.heads = lib.ModuleDict({"cls": lib.Linear(4, 3), "act": lib.PReLU(3)})
            self.norm1d = lib.BatchNorm1d(4, affine=False)
            self.inorm = lib.InstanceNorm2d(4, affine=True, track_running_stats=True)
            self.register_buffer("scale", None)
            self.loss = lib.CrossEntropyLoss(weight=None)

        def forward(self, x):
            return x

    return Net()


def test_state_dict_keys_equal_pytorch(torch_or_skip):
    ours = _build(nn)
    theirs = _build(torch_or_skip.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    for key, value in theirs.state_dict().items():
        assert ours.state_dict()[key].shape == tuple(value.shape), key


def test_loss_weight_buffers_are_in_the_state_dict(torch_or_skip):
    tnn = torch_or_skip.nn
    w = np.ones(3, dtype=np.float32)
    assert list(nn.CrossEntropyLoss(weight=w).state_dict()) == \
        list(tnn.CrossEntropyLoss(weight=torch_or_skip.ones(3)).state_dict())
    assert list(nn.BCEWithLogitsLoss(pos_weight=w).state_dict()) == ["pos_weight"]


def test_pytorch_state_dict_loads_as_numpy_and_as_tensors(torch_or_skip):
    ours = _build(nn)
    theirs = _build(torch_or_skip.nn)
    state = torch_state_dict_as_numpy(theirs)
    result = ours.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[key])
        assert value.dtype == state[key].dtype
    # a torch state dict as it is (torch tensors) loads too
    ours2 = _build(nn)
    ours2.load_state_dict(theirs.state_dict())
    np.testing.assert_array_equal(ours2.heads["cls"].weight.numpy(), state["heads.cls.weight"])


def test_state_dict_values_share_memory_and_keep_vars():
    model = nn.Linear(2, 2)
    state = model.state_dict()
    assert type(state["weight"]) is Tensor and not state["weight"].requires_grad
    assert state["weight"].numpy() is model.weight.numpy()
    assert model.state_dict(keep_vars=True)["weight"] is model.weight


def test_non_persistent_buffers_are_not_saved():
    m = nn.Module()
    m.register_buffer("kept", Tensor([1.0]))
    m.register_buffer("scratch", Tensor([2.0]), persistent=False)
    assert list(m.state_dict()) == ["kept"]
    assert [n for n, _ in m.named_buffers()] == ["kept", "scratch"]


def test_load_keeps_dtype_and_copies_in_place():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    weight = model[0].weight
    array = weight.numpy()
    state = {k: v.numpy().astype(np.float64) + 1 for k, v in model.state_dict().items()}
    state["1.num_batches_tracked"] = np.array(7.0)  # float into an int64 buffer
    model.load_state_dict(state)
    assert model[0].weight is weight and weight.numpy() is array  # optimizers keep working
    assert weight.dtype == np.float32
    assert model[1].num_batches_tracked.dtype == np.int64
    assert int(model[1].num_batches_tracked.item()) == 7
    np.testing.assert_allclose(weight.numpy(), state["0.weight"])


def test_missing_unexpected_and_shape_errors_are_named_and_change_nothing():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    state = {k: v.numpy() + 1 for k, v in model.state_dict().items()}
    del state["1.bias"]
    state["2.weight"] = np.zeros(1)
    state["0.weight"] = np.zeros((4, 2))
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "Error(s) in loading state_dict for Sequential" in message
    assert 'Missing key(s) in state_dict: "1.bias"' in message
    assert 'Unexpected key(s) in state_dict: "2.weight"' in message
    assert "size mismatch for 0.weight" in message and "(4, 2)" in message and "(3, 2)" in message
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key])  # nothing was copied

    # not strict: missing and unexpected keys are reported, shape mismatches still fail
    del state["0.weight"]
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.weight", "1.bias"]
    assert result.unexpected_keys == ["2.weight"]
    np.testing.assert_array_equal(model[1].weight.numpy(), before["1.weight"] + 1)


def test_load_rejects_non_numeric_values():
    model = nn.Linear(1, 1)
    with pytest.raises(RuntimeError, match="not numeric"):
        model.load_state_dict({"weight": np.array([["a"]]), "bias": np.zeros(1)})
    with pytest.raises(TypeError, match="mapping"):
        model.load_state_dict([1, 2])


def test_zero_dim_from_one_element_array():
    bn = nn.BatchNorm1d(2)
    state = {k: v.numpy() for k, v in bn.state_dict().items()}
    state["num_batches_tracked"] = np.array([5])
    bn.load_state_dict(state)
    assert bn.num_batches_tracked.shape == () and bn.num_batches_tracked.item() == 5
