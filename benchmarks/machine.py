"""What machine and software a report was measured on, and the thread controls.

Every report carries this block: a ratio means little without the CPU, the core count,
the BLAS and the threading layers behind it.  Thread counts are matched across
contenders (Numba's pool, OpenBLAS, PyTorch's intra-op pool) so a comparison never
pits two threads against one.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

__all__ = ["machine_info", "thread_limits", "default_threads", "optional_module", "git_commit",
           "CpuMeter"]

_REPO = Path(__file__).resolve().parent.parent


def optional_module(name: str):
    """The module, or None when it is not installed (or fails to import)."""
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_flags() -> list[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return sorted(f for f in ("avx", "avx2", "fma", "avx512f") if f in flags)
    except OSError:
        pass
    return []


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """The short commit of the measured tree (with ``-dirty`` for local changes)."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=10"], cwd=_REPO,
            capture_output=True, text=True, timeout=10, check=False,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _blas_info() -> dict:
    import numpy as np

    info = {}
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        info["numpy_blas"] = f"{blas.get('name')} {blas.get('version')}".strip()
    except Exception:
        pass
    tpc = optional_module("threadpoolctl")
    if tpc is not None:
        pools = []
        for pool in tpc.threadpool_info():
            pools.append({
                "api": pool.get("user_api"),
                "library": pool.get("internal_api"),
                "version": pool.get("version"),
                "threads": pool.get("num_threads"),
                "arch": pool.get("architecture"),
                "file": Path(pool.get("filepath", "")).name,
            })
        info["runtime_pools"] = pools
    # Some machines set these to make old OpenBLAS builds safe; a current one then runs
    # older kernels (AVX2's Haswell on an AVX-512 CPU: half the GEMM rate), which the
    # report must say, since PyTorch's own kernels are not held back by them.
    info["env"] = {name: os.environ[name] for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
                   if name in os.environ}
    return info


def _numba_info() -> dict:
    numba = optional_module("numba")
    if numba is None:
        return {}
    info = {"version": numba.__version__, "threads": numba.get_num_threads(),
            "configured_layer": numba.config.THREADING_LAYER}
    try:
        info["threading_layer"] = numba.threading_layer()
    except ValueError:
        # Not known until a parallel kernel has run; the caller runs one first.
        info["threading_layer"] = None
    return info


def _torch_info() -> dict | None:
    torch = optional_module("torch")
    if torch is None:
        return None
    info = {"version": torch.__version__, "threads": torch.get_num_threads(),
            "mkldnn": bool(torch.backends.mkldnn.is_available())}
    try:
        for line in torch.__config__.parallel_info().splitlines():
            if "parallel backend" in line:
                info["parallel_backend"] = line.split(":", 1)[1].strip()
    except Exception:
        pass
    return info


def machine_info() -> dict:
    """The machine block of a report (see ``benchmarks/README.md`` for the fields)."""
    import numpy as np

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count()
    micrograd = _version("micrograd")
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cpu_flags": _cpu_flags(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "mem_total_gib": _mem_total_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": _numba_info(),
        "torch": _torch_info(),
        "micrograd": micrograd,
        "blas": _blas_info(),
        "env": {k: os.environ[k] for k in (
            "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
            "NUMBA_NUM_THREADS", "NUMBA_THREADING_LAYER", "OMP_WAIT_POLICY",
            "OPENBLAS_THREAD_TIMEOUT",
        ) if k in os.environ},
        "git_commit": git_commit(),
        "executable": sys.executable,
    }


def default_threads() -> int:
    """Numba's thread count: the one every contender is matched to."""
    numba = optional_module("numba")
    return numba.get_num_threads() if numba is not None else 1


@contextlib.contextmanager
def thread_limits(n: int, torch=None):
    """Run every pool with ``n`` threads: Numba, the BLAS (threadpoolctl), PyTorch.

    Restores the previous counts on exit.  Without threadpoolctl the BLAS keeps its own
    count (reported in the machine block).
    """
    numba = optional_module("numba")
    tpc = optional_module("threadpoolctl")
    old_numba = numba.get_num_threads() if numba is not None else None
    old_torch = torch.get_num_threads() if torch is not None else None
    with contextlib.ExitStack() as stack:
        if tpc is not None:
            stack.enter_context(tpc.threadpool_limits(limits=n, user_api="blas"))
        if numba is not None:
            numba.set_num_threads(n)
        if torch is not None:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if numba is not None:
                numba.set_num_threads(old_numba)
            if torch is not None:
                torch.set_num_threads(old_torch)


class CpuMeter:
    """How much CPU *other* processes used while the suite ran, in cores.

    The machine-wide busy time (``/proc/stat``: user, nice, system, irq, softirq,
    steal) minus this process's own CPU time (and its waited-for children, the
    compile-cost subprocesses) over the wall time.  0 means the suite had the machine
    to itself; 1 on a two-core machine means another process kept one core busy, and
    every multi-threaded number of the run is then distorted.  None where
    ``/proc/stat`` is missing.
    """

    def __init__(self):
        self.start = self._snapshot()

    @staticmethod
    def _snapshot():
        import time

        try:
            with open("/proc/stat") as f:
                fields = f.readline().split()[1:]
        except OSError:
            return None
        ticks = [int(v) for v in fields]
        # user nice system idle iowait irq softirq steal ...
        busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + \
            (ticks[7] if len(ticks) > 7 else 0)
        own = os.times()
        return (busy / os.sysconf("SC_CLK_TCK"),
                own.user + own.system + own.children_user + own.children_system,
                time.perf_counter())

    def others_cores(self):
        """Average number of cores kept busy by other processes since construction."""
        end = self._snapshot()
        if self.start is None or end is None:
            return None
        busy = end[0] - self.start[0]
        own = end[1] - self.start[1]
        wall = end[2] - self.start[2]
        if wall <= 0:
            return None
        return round(max(0.0, busy - own) / wall, 2)
