"""A LeNet-style CNN built in nn and in torch.nn with one state dict: equal outputs,
gradients, running statistics and SGD trajectories, in train and eval mode."""

import numpy as np
import pytest

import nn
import nn.functional as F
from autograd_core import Tensor, no_grad
from tests.reference.nn_torch import assert_close, torch_state_dict_as_numpy

# Tolerances: float64 agrees to rounding; float32 to a few ulps of the activations.
TOLERANCES = {np.float64: 1e-10, np.float32: 3e-5}


def lenet(lib, dropout=0.0):
    """The same model in either library (``lib`` is ``nn`` or ``torch.nn``)."""
    return lib.Sequential(
        lib.Conv2d(1, 6, 5, padding=2), lib.BatchNorm2d(6), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(6, 16, 5), lib.LeakyReLU(0.1), lib.AvgPool2d(2),
        lib.Flatten(),
        lib.Linear(16 * 5 * 5, 120), lib.BatchNorm1d(120), lib.ELU(), lib.Dropout(dropout),
        lib.Linear(120, 84), lib.Tanh(),
        lib.Linear(84, 10),
    )


def _twins(torch, dtype, dropout=0.0):
    theirs = lenet(torch.nn, dropout).to(getattr(torch, np.dtype(dtype).name))
    ours = lenet(nn, dropout).to(dtype)
    result = ours.load_state_dict(torch_state_dict_as_numpy(theirs))
    assert not result.missing_keys and not result.unexpected_keys
    return ours, theirs


def _step(torch, ours, theirs, x, y, atol):
    """One forward/backward in both; returns the max abs difference seen."""
    ours.zero_grad()
    theirs.zero_grad()
    logits = ours(Tensor(x))
    logits_t = theirs(torch.from_numpy(x))
    diff = assert_close(logits, logits_t, atol=atol, rtol=atol, what="logits")
    loss = F.cross_entropy(logits, y, label_smoothing=0.1)
    loss_t = torch.nn.functional.cross_entropy(logits_t, torch.from_numpy(y),
                                               label_smoothing=0.1)
    diff = max(diff, assert_close(loss, loss_t, atol=atol, rtol=atol, what="loss"))
    loss.backward()
    loss_t.backward()
    for (name, p), pt in zip(ours.named_parameters(), theirs.parameters()):
        scale = max(1.0, float(np.abs(pt.grad.numpy()).max()))
        diff = max(diff, assert_close(p.grad, pt.grad, atol=atol * scale, rtol=atol,
                                      what=f"grad {name}"))
    return diff


def _sgd(ours, theirs, torch, lr=0.05):
    with no_grad():
        for p in ours.parameters():
            p.numpy()[...] -= lr * p.grad.numpy()
    with torch.no_grad():
        for p in theirs.parameters():
            p -= lr * p.grad


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lenet_train_and_eval_match_pytorch(dtype, rng, torch_or_skip):
    torch = torch_or_skip
    atol = TOLERANCES[dtype]
    ours, theirs = _twins(torch, dtype)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for _ in range(3):  # train mode: batch statistics, running stats updated, SGD steps
        x = rng.standard_normal((8, 1, 28, 28)).astype(dtype)
        y = rng.integers(0, 10, 8)
        _step(torch, ours, theirs, x, y, atol)
        _sgd(ours, theirs, torch)
    for key, value in theirs.state_dict().items():  # parameters and running statistics
        assert_close(ours.state_dict()[key], value, atol=atol * 10, rtol=atol, what=key)
    assert ours[1].num_batches_tracked.item() == 3

    ours.eval()
    theirs.eval()
    x = rng.standard_normal((4, 1, 28, 28)).astype(dtype)
    _step(torch, ours, theirs, x, rng.integers(0, 10, 4), atol)
    assert ours[1].num_batches_tracked.item() == 3  # eval leaves the statistics alone


def test_lenet_dropout_is_identity_in_eval(rng, torch_or_skip):
    torch = torch_or_skip
    ours, theirs = _twins(torch, np.float64, dropout=0.5)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((4, 1, 28, 28))
    _step(torch, ours, theirs, x, rng.integers(0, 10, 4), 1e-10)
    ours.train()
    with no_grad():
        a = ours(Tensor(x)).numpy()
        b = ours(Tensor(x)).numpy()
    assert not np.allclose(a, b)  # dropout active again in training
