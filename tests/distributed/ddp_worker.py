"""Run under ``mpirun -n N`` (or alone): trains a small CNN data-parallel and writes the
final parameters of rank 0 to the path given as argv[1].

With one process it is the single-process reference: the same global batches, the same
seed, no wrapper. Shared by tests/distributed/test_ddp.py and the benchmarks.
"""

import sys

import numpy as np

import autograd_core as ag
import autograd_core.distributed as dist
import nn
import nn.functional as F
import optim
from nn.data import DataLoader, DistributedSampler, TensorDataset
from nn.parallel import DistributedDataParallel

GLOBAL_BATCH = 16
STEPS = 6


def build(seed):
    ag.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 16), nn.Tanh(), nn.Linear(16, 3))


def data():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((GLOBAL_BATCH * STEPS, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, len(x))
    return TensorDataset(x, y)


def main(out, mode):
    distributed = mode == "ddp"
    if distributed:
        dist.init_process_group("mpi")
        world, rank = dist.get_world_size(), dist.get_rank()
        # Different seeds per rank: the initial broadcast must make the replicas equal.
        model = DistributedDataParallel(build(seed=rank))
    else:
        world, rank = 1, 0
        model = build(seed=0)
    dataset = data()
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=3)
    loader = DataLoader(dataset, batch_size=GLOBAL_BATCH // world, sampler=sampler)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for epoch in range(2):
        sampler.set_epoch(epoch)
        for x, y in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    if rank == 0:
        np.savez(out, **{k.removeprefix("module."): v for k, v in state.items()})
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "ddp")
