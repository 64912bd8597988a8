"""A small deterministic problem shared by the optimizer tests.

The gradient is a fixed NumPy function of the parameters' values (a least-squares term
plus a bounded non-linear one), so ours and PyTorch's optimizers see the same gradient
for the same values and any difference in the trajectories is the update rule's.
"""

import contextlib

import numpy as np

from autograd_core import Tensor

_rng = np.random.default_rng(7)
X = _rng.standard_normal((8, 4))
Y = _rng.standard_normal((8, 3))
W0 = _rng.standard_normal((4, 3))
B0 = _rng.standard_normal(3)


def gradients(w: np.ndarray, b: np.ndarray):
    """d/d(w, b) of mean((X w + b - Y)^2) / 2 + 0.3 * sum(sin(w)) + 0.15 * sum(-cos(2 b))."""
    residual = X @ w + b - Y
    gw = X.T @ residual / len(X) + 0.3 * np.cos(w)
    gb = residual.mean(axis=0) + 0.3 * np.sin(2 * b)
    return gw, gb


def make_params(dtype=np.float64):
    return [Tensor(W0.astype(dtype), requires_grad=True),
            Tensor(B0.astype(dtype), requires_grad=True)]


def run_ours(make_optimizer, steps: int, dtype=np.float64, skip_bias_at=(), on_step=None):
    """Trajectory of our optimizer: a list of (w, b) copies after each step."""
    params = make_params(dtype)
    opt = make_optimizer(params)
    path = []
    for t in range(steps):
        gw, gb = gradients(params[0].numpy().astype(np.float64),
                           params[1].numpy().astype(np.float64))
        params[0].grad = Tensor(gw.astype(dtype))
        params[1].grad = None if t in skip_bias_at else Tensor(gb.astype(dtype))
        opt.step()
        if on_step is not None:
            on_step(opt, t)
        path.append((params[0].numpy().copy(), params[1].numpy().copy()))
    return path


def run_torch(torch, make_optimizer, steps: int, dtype=np.float64, skip_bias_at=(),
              on_step=None):
    """The same trajectory with a ``torch.optim`` optimizer (single-tensor path)."""
    torch_dtype = {np.float64: torch.float64, np.float32: torch.float32}[dtype]
    params = [torch.tensor(W0, dtype=torch_dtype, requires_grad=True),
              torch.tensor(B0, dtype=torch_dtype, requires_grad=True)]
    opt = make_optimizer(params)
    path = []
    for t in range(steps):
        gw, gb = gradients(params[0].detach().numpy().astype(np.float64),
                           params[1].detach().numpy().astype(np.float64))
        params[0].grad = torch.tensor(gw, dtype=torch_dtype)
        params[1].grad = None if t in skip_bias_at else torch.tensor(gb, dtype=torch_dtype)
        opt.step()
        if on_step is not None:
            on_step(opt, t)
        path.append((params[0].detach().numpy().copy(), params[1].detach().numpy().copy()))
    return path


def max_difference(path_a, path_b) -> float:
    return max(
        float(np.max(np.abs(a - b)))
        for step_a, step_b in zip(path_a, path_b, strict=True)
        for a, b in zip(step_a, step_b)
    )


@contextlib.contextmanager
def torch_float64_scalars(torch):
    """PyTorch keeps some optimizer scalars (NAdam's ``mu_product``) as 0-d tensors of the
    default dtype, float32 unless changed; ours are float64. With float64 as PyTorch's
    default the float64 trajectories agree to rounding; without it to about 1e-9."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)
