"""Helpers for comparing nn against PyTorch: converting tensors and modules both ways.

Only imported by tests that already obtained ``torch`` through the ``torch_or_skip``
fixture, so importing torch here is deferred to the call.
"""

import numpy as np

from autograd_core import Tensor


def to_torch(torch, value, requires_grad=False):
    """A torch tensor with the same data (float arrays keep their dtype)."""
    array = value._data if isinstance(value, Tensor) else np.asarray(value)
    t = torch.from_numpy(np.array(array))
    if requires_grad:
        t.requires_grad_(True)
    return t


def torch_state_dict_as_numpy(torch_module) -> dict:
    """A PyTorch state dict converted to NumPy arrays, keys and order unchanged."""
    return {k: v.detach().cpu().numpy() for k, v in torch_module.state_dict().items()}


def max_abs_diff(a, b) -> float:
    """max |a - b| of two array-likes (Tensors, torch tensors, arrays)."""
    a = a._data if isinstance(a, Tensor) else np.asarray(a.detach() if hasattr(a, "detach")
                                                        else a)
    b = b._data if isinstance(b, Tensor) else np.asarray(b.detach() if hasattr(b, "detach")
                                                        else b)
    assert a.shape == b.shape, f"shapes differ: {a.shape} vs {b.shape}"
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def assert_close(ours, theirs, atol, rtol=0.0, what=""):
    """Assert elementwise closeness and return the max abs difference."""
    diff = max_abs_diff(ours, theirs)
    a = ours._data if isinstance(ours, Tensor) else np.asarray(ours)
    b = np.asarray(theirs.detach() if hasattr(theirs, "detach") else theirs)
    np.testing.assert_allclose(a, b, atol=atol, rtol=rtol, err_msg=what)
    return diff
