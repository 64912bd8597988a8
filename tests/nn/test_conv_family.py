"""The conv family beyond Conv2d: F.pad's index modes, Conv1d, interpolation,
PixelShuffle. Forward and gradients against PyTorch in float64 (1e-10), bad arguments."""

import numpy as np
import pytest

import nn.functional as F
from autograd_core import Tensor, gradcheck
from tests.reference.nn_torch import assert_close, to_torch


def _both(torch, ours_fn, theirs_fn, arrays, rng, atol=1e-10):
    """Run ours and PyTorch's on the same float64 arrays; compare outputs and the
    gradients of sum(out * r) for a random r."""
    ours_in = [Tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [to_torch(torch, a, requires_grad=True) for a in arrays]
    out = ours_fn(*ours_in)
    ref = theirs_fn(*theirs_in)
    assert tuple(out.shape) == tuple(ref.shape)
    assert_close(out.numpy(), ref.detach().numpy(), atol=atol, what="forward")
    r = rng.standard_normal(tuple(ref.shape))
    (out * Tensor(r)).sum().backward()
    (ref * to_torch(torch, r)).sum().backward()
    for a, b in zip(ours_in, theirs_in):
        assert_close(a.grad.numpy(), b.grad.numpy(), atol=atol, what="grad")
    return out


# ----------------------------------------------------------------- F.pad
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "constant"])
@pytest.mark.parametrize("shape,pad", [
    ((2, 3, 5), (2, 1)), ((3, 5), (0, 4)), ((2, 3, 4, 5), (1, 2, 3, 0)),
    ((3, 4, 5), (2, 2, 1, 3)), ((1, 2, 3, 4, 5), (1, 1, 2, 0, 1, 2)),
])
def test_pad_modes_match_torch(torch_or_skip, mode, shape, pad):
    torch = torch_or_skip
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    _both(torch, lambda t: F.pad(t, pad, mode=mode),
          lambda t: torch.nn.functional.pad(t, pad, mode=mode), [x], rng)


def test_pad_modes_gradcheck():
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    for mode in ("reflect", "replicate", "circular"):
        assert gradcheck(lambda t, m=mode: F.pad(t, (3, 2, 2, 1), mode=m), (x,))


def test_pad_mode_errors():
    x = Tensor(np.zeros((1, 2, 3, 4)))
    with pytest.raises(ValueError, match="smaller than the size 4"):
        F.pad(x, (4, 0, 0, 0), mode="reflect")
    with pytest.raises(ValueError, match="at most the size 3"):
        F.pad(x, (0, 0, 4, 0), mode="circular")
    with pytest.raises(NotImplementedError, match="expects a 2-D or 3-D input"):
        F.pad(x, (1, 1), mode="replicate")
    with pytest.raises(ValueError, match="non-negative"):
        F.pad(x, (-1, 1, 0, 0), mode="replicate")
    with pytest.raises(ValueError, match="2, 4 or 6"):
        F.pad(x, (1, 1, 1), mode="reflect")
    with pytest.raises(ValueError, match="mode must be"):
        F.pad(x, (1, 1), mode="mirror")
