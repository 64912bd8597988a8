"""Run under ``mpirun -n 2``: exercises the collectives and DistributedDataParallel's
bookkeeping and prints one JSON line per rank. argv[1] picks the scenario."""

import json
import sys
import time
from datetime import timedelta

import numpy as np

import autograd_core as ag
import autograd_core.distributed as dist
import nn


def collectives():
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    out = {"rank": rank, "world": world, "initialized": dist.is_initialized()}
    for op in ("SUM", "AVG", "MAX", "MIN"):
        t = ag.tensor([rank + 1.0, -rank * 2.0])
        assert dist.all_reduce(t, op=getattr(dist.ReduceOp, op)) is None
        out[op] = t.tolist()
    ints = ag.tensor([rank + 1, 7])
    dist.all_reduce(ints)
    out["int_sum"] = ints.tolist()
    strided = ag.tensor(np.arange(6.0).reshape(2, 3) * (rank + 1)).transpose(0, 1)
    dist.all_reduce(strided)
    out["strided"] = strided.tolist()
    b = ag.tensor([float(rank)] * 3)
    dist.broadcast(b, src=1)
    out["broadcast"] = b.tolist()
    parts = [ag.zeros(2) for _ in range(world)]
    dist.all_gather(parts, ag.tensor([rank, rank * 10.0]))
    out["all_gather"] = [p.tolist() for p in parts]
    work = dist.all_reduce(ag.tensor([1.0]), async_op=True)
    out["async"] = bool(work.wait())
    dist.barrier()
    ag.manual_seed(rank)
    with_bn = nn.parallel.DistributedDataParallel(nn.Sequential(nn.Linear(3, 4),
                                                                nn.BatchNorm1d(4)))
    out["keys"] = list(with_bn.state_dict())
    out["weight"] = with_bn.module[0].weight.numpy().tolist()
    out["running_mean"] = with_bn.module[1].running_mean.numpy().tolist()
    out["bytes_per_step"] = with_bn.bytes_per_step
    # no_sync: accumulate a local micro-batch, then one synchronised backward.
    ag.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(nn.Sequential(nn.Linear(3, 4), nn.Tanh()))
    plain = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
    plain.load_state_dict(model.module.state_dict())
    x = ag.tensor(np.arange(12.0, dtype=np.float32).reshape(4, 3) * (rank + 1) / 10)
    with model.no_sync():
        model(x).sum().backward()
    out["local_grad"] = model.module[0].weight.grad.numpy().tolist()
    model(x * 0.5).pow(2).sum().backward()
    out["synced_grad"] = model.module[0].weight.grad.numpy().tolist()
    plain(x).sum().backward()
    out["plain_first"] = plain[0].weight.grad.numpy().tolist()
    plain(x * 0.5).pow(2).sum().backward()
    out["plain_total"] = plain[0].weight.grad.numpy().tolist()
    dist.destroy_process_group()
    out["after_destroy"] = dist.is_initialized()
    print(json.dumps(out), flush=True)


def unused():
    dist.init_process_group("mpi")
    rank = dist.get_rank()

    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 1, bias=False)
            self.b = nn.Linear(2, 1, bias=False)

        def forward(self, x, use_b):
            return self.b(x) if use_b else self.a(x)

    ag.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(Branchy(), bucket_cap_mb=1e-6)
    model(ag.ones(1, 2), use_b=rank == 1).sum().backward()
    grads = {name: (p.grad.tolist() if p.grad is not None else None)
             for name, p in model.named_parameters()}
    print(json.dumps({"rank": rank, "grads": grads, "buckets": model.bucket_count}), flush=True)
    dist.destroy_process_group()


def checkpoint():
    """fit on two workers with a ModelCheckpoint per rank's path: only rank 0 writes."""
    import optim
    from nn.data import DataLoader, DistributedSampler, TensorDataset
    from nn.training import ModelCheckpoint, fit

    dist.init_process_group("mpi")
    rank = dist.get_rank()
    ag.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(nn.Linear(3, 2))
    rng = np.random.default_rng(0)
    data = TensorDataset(rng.standard_normal((16, 3)).astype(np.float32),
                         rng.integers(0, 2, 16))
    sampler = DistributedSampler(data, seed=0)
    path = f"{sys.argv[2]}/ckpt_{rank}.npz"
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
        DataLoader(data, batch_size=4, sampler=sampler), epochs=2,
        callbacks=[ModelCheckpoint(path, monitor="loss", save_best_only=False)],
        progress=False, verbose=False)
    print(json.dumps({"rank": rank, "epoch": sampler.epoch}), flush=True)
    dist.destroy_process_group()


def timeout():
    dist.init_process_group("mpi", timeout=timedelta(seconds=2))
    if dist.get_rank() == 1:
        time.sleep(60)  # a stuck worker: never joins the collective
    else:
        dist.all_reduce(ag.tensor([1.0]))


if __name__ == "__main__":
    {"collectives": collectives, "unused": unused, "timeout": timeout,
     "checkpoint": checkpoint}[sys.argv[1]]()
