"""Time one optimizer step on a ~1M-parameter model, ours against PyTorch.

Not a test (pytest does not collect it): run ``python -m tests.optim.bench_step``.
PyTorch runs its single-tensor path (``foreach=False``), once with one thread (NumPy's
ufuncs are single-threaded) and once with its default thread count. Runs are
interleaved so that noise on a shared machine hits both sides alike; the medians and
their ratio are printed.
"""

import argparse
import time

import numpy as np

import optim
from autograd_core import Tensor

# An MLP 784-1024-256-10 and its biases: 1,068,810 parameters.
SHAPES = [(1024, 784), (1024,), (256, 1024), (256,), (10, 256), (10,)]

CASES = {
    "SGD-momentum": ("SGD", dict(lr=0.01, momentum=0.9)),
    "Adam": ("Adam", dict(lr=1e-3)),
    "AdamW": ("AdamW", dict(lr=1e-3)),
    "RMSprop": ("RMSprop", dict(lr=1e-3)),
    "Adagrad": ("Adagrad", dict(lr=1e-2)),
}


def _time_call(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench(case: str, repeats: int, dtype=np.float32):
    import torch

    name, kwargs = CASES[case]
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [rng.standard_normal(s).astype(dtype) * 1e-2 for s in SHAPES]

    ours = [Tensor(v.copy(), requires_grad=True) for v in values]
    for p, g in zip(ours, grads):
        p.grad = Tensor(g.copy())
    our_opt = getattr(optim, name)(ours, **kwargs)

    theirs = [torch.tensor(v, requires_grad=True) for v in values]
    for p, g in zip(theirs, grads):
        p.grad = torch.tensor(g)
    their_opt = getattr(torch.optim, name)(theirs, foreach=False, **kwargs)

    default_threads = torch.get_num_threads()
    medians = {}
    # Switching torch's thread count is not free: each comparison keeps one setting.
    for threads in (1, default_threads):
        torch.set_num_threads(threads)
        for _ in range(3):  # warm up: state creation, scratch buffers, thread pools
            our_opt.step()
            their_opt.step()
        ours_times, their_times = [], []
        for _ in range(repeats):
            ours_times.append(_time_call(our_opt.step))
            their_times.append(_time_call(their_opt.step))
        medians[threads] = (float(np.median(ours_times)), float(np.median(their_times)))
    torch.set_num_threads(default_threads)
    return medians


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--cases", nargs="*", default=["SGD-momentum", "Adam"],
                        choices=sorted(CASES))
    args = parser.parse_args()
    n = sum(int(np.prod(s)) for s in SHAPES)
    print(f"one step, {n:,} float32 parameters in {len(SHAPES)} tensors, "
          f"median of {args.repeats} interleaved runs")
    for case in args.cases:
        line = f"{case:13s}"
        for threads, (ours, theirs) in bench(case, args.repeats).items():
            line += (f" | torch {threads} thread(s): ours {ours * 1e3:6.2f} ms, torch "
                     f"{theirs * 1e3:6.2f} ms, ratio {ours / theirs:4.2f}")
        print(line)


if __name__ == "__main__":
    main()
