"""The model zoo: documented parameter counts, output shapes, PyTorch key parity."""

import numpy as np
import pytest

import autograd_core as ag
import nn
from nn.models import (
    MLP,
    BasicBlock,
    InceptionBlock,
    LeNet5,
    ResNet,
    SmallVGG,
    conv_parameters,
    count_parameters,
)


def test_the_slides_inception_parameter_counts():
    assert conv_parameters(192, 32, 5) == 153_632
    assert conv_parameters(192, 32, 1) + conv_parameters(32, 32, 5) == 31_808
    assert count_parameters(InceptionBlock(192, 64, 96, 128, 16, 32, 32)) == 163_696


@pytest.mark.parametrize("model, count", [
    (lambda: MLP([64, 128, 10]), 9_610),
    (lambda: LeNet5(input_size=32), 61_706),
    (lambda: LeNet5(input_size=28), 61_706),
    (lambda: LeNet5(input_size=8), 21_386),
    (lambda: SmallVGG(), 67_562),
    (lambda: ResNet(), 77_754),
])
def test_documented_parameter_counts(model, count):
    assert count_parameters(model()) == count


@pytest.mark.parametrize("model, shape", [
    (lambda: MLP([64, 32, 10]), (3, 1, 8, 8)),
    (lambda: LeNet5(input_size=8), (3, 1, 8, 8)),
    (lambda: LeNet5(input_size=28), (2, 1, 28, 28)),
    (lambda: LeNet5(in_channels=3, input_size=32), (2, 3, 32, 32)),
    (lambda: SmallVGG(), (2, 1, 8, 8)),
    (lambda: ResNet(), (2, 1, 8, 8)),
    (lambda: ResNet(in_channels=3, blocks=(1, 1), widths=(8, 16)), (2, 3, 32, 32)),
])
def test_models_map_batches_to_logits_and_backprop(model, shape):
    ag.manual_seed(0)
    net = model()
    x = ag.randn(*shape)
    out = net(x)
    assert out.shape == (shape[0], 10)
    nn.functional.cross_entropy(out, [i % 10 for i in range(shape[0])]).backward()
    assert all(p.grad is not None for p in net.parameters())


def test_inception_block_concatenates_branches_at_the_input_size():
    block = InceptionBlock(8, 4, 4, 6, 2, 3, 5)
    out = block(ag.randn(2, 8, 7, 7))
    assert out.shape == (2, 4 + 6 + 3 + 5, 7, 7) and block.out_channels == 18


def test_basic_block_shortcut_and_plain_twin():
    assert BasicBlock(8, 8).shortcut is None
    assert BasicBlock(8, 16, stride=2).shortcut is not None
    plain = BasicBlock(8, 16, stride=2, residual=False)
    assert plain.shortcut is None and plain(ag.randn(1, 8, 8, 8)).shape == (1, 16, 4, 4)


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="at least an input and an output"):
        MLP([10])
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        MLP([4, 4, 2], activation="swish")
    with pytest.raises(ValueError, match="at least 4"):
        LeNet5(input_size=2)


def test_lenet_state_dict_keys_match_torch(torch_or_skip):
    torch = torch_or_skip
    tnn = torch.nn
    reference = tnn.Sequential(
        tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2))
    ours = LeNet5(input_size=28)
    assert list(ours.features.state_dict()) == list(reference.state_dict())
    assert [k for k in ours.state_dict()] == [
        "features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias",
        "classifier.1.weight", "classifier.1.bias", "classifier.3.weight",
        "classifier.3.bias", "classifier.5.weight", "classifier.5.bias"]
    net = ResNet()
    assert "stages.1.shortcut.1.running_var" in net.state_dict()
    np.testing.assert_array_equal(net.state_dict()["stem.1.num_batches_tracked"].numpy(), 0)
