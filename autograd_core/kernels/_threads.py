"""Run independent chunks of a conv on all cores, one chunk per core at a time.

Why not simply ``prange`` inside each step?  A chunk of a convolution is a pipeline
(im2col, GEMM, copy back).  Running each step multi-threaded (Numba for the copies,
OpenBLAS for the GEMM) puts a barrier after every step of every chunk, and makes the
two thread pools take turns: on this two-core machine OpenBLAS's idle workers keep
spinning while Numba's run, and on a shared machine any stalled thread stalls the whole
barrier.  Measured on a loaded machine, a LeNet layer's backward went from 396 ms
(steps parallel) to 4.6 ms (chunks parallel).

So each Python worker thread takes whole chunks from a shared counter and runs the
pipeline alone: Numba kernels with one thread (they release the GIL) and single-threaded
BLAS.  There is no barrier until the end, a stalled core only delays its own chunk, and
a chunk's data stays in one core's cache.

Numba's thread count is per thread.  Worker threads set theirs to 1 once, when they
start; the calling thread reads its own count and lowers it around the chunks it runs
itself, through the threading layer's own two C functions.  ``numba.get_num_threads``
and ``numba.set_num_threads`` would take a process-wide lock (a multiprocessing
semaphore) on every call, and worker threads taking it at the same time made each
kernel call wait on it (issue 17: about 0.7 ms per call in a profile).

The BLAS thread count is process-wide, so it is lowered to 1 while chunks run and
restored afterwards (reference-counted, so concurrent callers cannot leave it at 1).
Where the BLAS library cannot be controlled (it is not OpenBLAS, or not found), the
chunks run one after the other on the calling thread, with multi-threaded BLAS and
single-threaded kernels (never the two pools taking turns).  Either way every chunk
computes the same thing, so results do not depend on which thread ran it.
"""

from __future__ import annotations

import collections
import ctypes
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba

__all__ = ["run_chunks", "run_planes", "sample_lanes", "blas_threads_controllable", "gemm",
           "single_threaded_blas", "Alongside", "shorten_blas_spin"]

_lock = threading.Lock()
_blas = None  # (get, set) ctypes functions, False when unavailable, None before lookup
_blas_lib = None  # the ctypes library those come from
_blas_users = 0
_blas_saved = None
_pools: dict[int, ThreadPoolExecutor] = {}
_numba_count = None  # (get, set) of the calling thread's Numba thread count

_GETTERS = (
    "openblas_get_num_threads",
    "openblas_get_num_threads64_",
    "scipy_openblas_get_num_threads64_",
    "scipy_openblas_get_num_threads",
)
_SETTERS = (
    "openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
)


def _loaded_openblas_paths():
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return []
    return sorted(p for p in paths if os.path.isfile(p))


def _find_blas():
    """The (get, set) thread-count functions of the OpenBLAS NumPy uses, or False."""
    import numpy as np

    # NumPy loads its BLAS lazily on some platforms: make sure it is in.
    np.ones((2, 2)) @ np.ones((2, 2))
    numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
    paths = _loaded_openblas_paths()
    # Prefer the copy shipped with NumPy (SciPy may load a second OpenBLAS).
    paths.sort(key=lambda p: not p.startswith(numpy_dir))
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        get = next((getattr(lib, n) for n in _GETTERS if hasattr(lib, n)), None)
        set_ = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
        if get is None or set_ is None:
            continue
        get.restype, get.argtypes = ctypes.c_int, []
        set_.restype, set_.argtypes = None, [ctypes.c_int]
        try:
            if get() >= 1:
                global _blas_lib
                _blas_lib = lib
                return get, set_
        except Exception:  # pragma: no cover - a foreign library we cannot call
            continue
    return False


def blas_threads_controllable() -> bool:
    """Whether NumPy's BLAS thread count can be set (the parallel-chunk mode is possible)."""
    global _blas
    if _blas is None:
        with _lock:
            if _blas is None:
                _blas = _find_blas()
    return _blas is not False


#: OpenBLAS's idle workers spin for 2**BLAS_SPIN_EXPONENT TSC cycles before they sleep
#: (about 0.35 ms at 3 GHz) once :func:`shorten_blas_spin` has run; OpenBLAS's default
#: is 2**28 (about 0.1 s).
BLAS_SPIN_EXPONENT = 20


def shorten_blas_spin() -> bool:
    """Make OpenBLAS's idle worker threads sleep after ~0.35 ms instead of ~0.1 s.

    After a multi-threaded GEMM, OpenBLAS's workers busy-wait for the next one for
    ``2**OPENBLAS_THREAD_TIMEOUT`` cycles (default 2**28, about 0.1 s).  On two cores
    that spinning worker takes the core our other thread needs: the recurrent layers'
    second-core pipeline, the conv lanes, the attention kernels, and PyTorch's threads
    in the same process.  Measured on the 2-core Zen 3 (2026-12-03, medians of 12
    steps): LSTM LM step 44 -> 31 ms, Transformer LM 52 -> 30 ms, ResNet-18 w16
    unchanged (its GEMMs run single-threaded in the lanes); PyTorch's step right after
    one of ours 105 -> 25 ms (LSTM) and 121 -> 25 ms (Transformer).

    OpenBLAS reads ``OPENBLAS_THREAD_TIMEOUT`` when NumPy loads it, before this package
    is imported, and its workers take the value when they start.  So the variable is
    set for a moment, OpenBLAS re-reads its environment (``openblas_read_env``) and its
    idle workers are stopped (``blas_thread_shutdown_``, what OpenBLAS runs itself
    around a ``fork``); the next multi-threaded call starts them again with the new
    timeout.  Nothing changes where the user set ``OPENBLAS_THREAD_TIMEOUT`` or where
    the BLAS is not an OpenBLAS exporting those two functions.  True if it changed it.
    """
    if "OPENBLAS_THREAD_TIMEOUT" in os.environ or not blas_threads_controllable():
        return False
    read_env = getattr(_blas_lib, "openblas_read_env", None)
    shutdown = getattr(_blas_lib, "blas_thread_shutdown_", None)
    if read_env is None or shutdown is None:
        return False
    read_env.argtypes, read_env.restype = [], None
    shutdown.argtypes, shutdown.restype = [], ctypes.c_int
    with _lock:
        os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(BLAS_SPIN_EXPONENT)
        try:
            read_env()
        finally:
            del os.environ["OPENBLAS_THREAD_TIMEOUT"]  # child processes get the default
        shutdown()
    return True


def _blas_single_threaded_enter():
    global _blas_users, _blas_saved
    with _lock:
        if _blas_users == 0:
            get, set_ = _blas
            _blas_saved = get()
            if _blas_saved != 1:
                set_(1)
        _blas_users += 1


def _blas_single_threaded_exit():
    global _blas_users
    with _lock:
        _blas_users -= 1
        if _blas_users == 0 and _blas_saved != 1:
            _blas[1](_blas_saved)


def _numba_thread_count():
    """(get, set) for the calling thread's Numba thread count, without Numba's locks.

    The threading layer's C functions, once ``numba.get_num_threads`` has launched it;
    Numba's public functions where those cannot be found.
    """
    global _numba_count
    if _numba_count is None:
        numba.get_num_threads()  # launches the threading layer (once)
        try:
            from numba.np.ufunc import parallel

            get, set_ = parallel._get_num_threads, parallel._set_num_threads
            if get() != numba.get_num_threads():  # pragma: no cover - another Numba
                raise RuntimeError("unexpected threading layer")
            _numba_count = get, set_
        except Exception:  # pragma: no cover - a Numba without these internals
            _numba_count = numba.get_num_threads, numba.set_num_threads
    return _numba_count


_workers_safe = None
_inline = threading.local()  # .threads: the count an enclosing inline run_chunks lowered


def _workers_allowed():
    """Whether parallel kernels may be called from several Python threads at once.

    Numba's ``workqueue`` layer (the fallback where neither OpenMP nor TBB loads, e.g.
    macOS without libomp) is not thread-safe: concurrent calls terminate the process
    ("Concurrent access has been detected").  There the chunks run on the caller.
    """
    global _workers_safe
    if _workers_safe is None:
        _numba_thread_count()  # launches the threading layer
        try:
            _workers_safe = numba.threading_layer() != "workqueue"
        except ValueError:  # pragma: no cover - not launched after all: be safe
            _workers_safe = False
    return _workers_safe


def _single_numba_thread():
    # A worker thread runs whole chunks alone: its kernels' prange loops run inline.
    _numba_thread_count()[1](1)


def _pool(workers):
    with _lock:
        pool = _pools.get(workers)
        if pool is None:
            pool = _pools[workers] = ThreadPoolExecutor(
                max_workers=workers,
                thread_name_prefix="autograd-core-conv",
                initializer=_single_numba_thread,
            )
        return pool


def run_chunks(fn, n_tasks, uses_blas=True):
    """Call ``fn(i)`` for ``i in range(n_tasks)``, on all Numba threads when possible.

    Tasks must be independent (they write disjoint memory).  Exceptions propagate.
    ``uses_blas=False`` says the tasks call no BLAS, so it need not be controllable.
    """
    get_threads, set_threads = _numba_thread_count()
    current = get_threads()
    # Inside an inline run (below) the caller's count is lowered to 1 for its kernels;
    # tasks nested in it (a one-lane conv's GEMM blocks) may still use all threads.
    threads = max(current, getattr(_inline, "threads", 1))
    if threads <= 1 or n_tasks <= 1 or not _workers_allowed():
        # Inline, still with single-threaded BLAS: the chunks are sized for one thread,
        # and OpenBLAS's own threads are what stalls on a loaded machine (issue 17: a
        # conv step with numba.set_num_threads(1) took 1.3 s instead of 77 ms).
        # Numba's kernels run on this thread alone too: an OpenMP team woken here keeps
        # spinning after the kernel (for GOMP_SPINCOUNT polls: 300,000, milliseconds,
        # when PyTorch's runtime was loaded first, since both share one libgomp) and
        # takes the core from the GEMM that follows (measured: a one-lane 512->512
        # conv on 7x7, forward 12.6 ms -> 24.9 ms with the team spinning).
        single = uses_blas and blas_threads_controllable()
        if single:
            _blas_single_threaded_enter()
        outer = getattr(_inline, "threads", 1)
        _inline.threads = threads
        if current > 1:
            set_threads(1)
        try:
            for i in range(n_tasks):
                fn(i)
        finally:
            if current > 1:
                set_threads(current)
            _inline.threads = outer
            if single:
                _blas_single_threaded_exit()
        return
    if uses_blas and not blas_threads_controllable():
        # Multi-threaded BLAS, single-threaded kernels: the two pools never alternate.
        set_threads(1)
        try:
            for i in range(n_tasks):
                fn(i)
        finally:
            set_threads(current)
        return
    workers = min(threads, n_tasks) - 1
    counter = itertools.count()
    failed = []

    def drain():  # on the workers, whose Numba thread count is 1 already
        try:
            while not failed:
                i = next(counter)
                if i >= n_tasks:
                    return
                fn(i)
        except BaseException as error:
            failed.append(error)
            raise

    if uses_blas:
        _blas_single_threaded_enter()
    try:
        pool = _pool(workers)
        futures = [pool.submit(drain) for _ in range(workers)]
        set_threads(1)  # the calling thread drains too, its kernels single-threaded
        try:
            drain()
        finally:
            set_threads(current)
            for future in futures:
                # A worker that has not started yet (on a loaded machine it may wait a
                # whole time slice to be scheduled) has nothing left to do: cancel it
                # instead of waiting for it.  One that started may hold a chunk: wait.
                if not future.cancel():
                    future.exception()
        if failed:
            raise failed[0]
    finally:
        if uses_blas:
            _blas_single_threaded_exit()



class _Task:
    __slots__ = ("fn", "args", "done", "error")

    def __init__(self, fn, args):
        self.fn, self.args = fn, args
        self.done = threading.Event()
        self.error = None

    def run(self):
        try:
            self.fn(*self.args)
        except BaseException as error:
            self.error = error
        finally:
            self.done.set()


class Alongside:
    """Tasks for one worker thread while the caller keeps working: a two-stage pipeline.

    ``submit(fn, *args)`` queues ``fn(*args)`` and returns its task; a worker thread
    takes queued tasks one at a time, in order.  ``finish(task)`` returns once that task
    has run (the caller runs it itself if no worker has taken it yet); ``wait()`` has
    the caller take whatever is still queued (so the tail runs on both cores) and waits
    for the rest.  Both re-raise a task's failure.  With one Numba thread, where workers
    are unsafe or the BLAS cannot be kept single-threaded, or when built with
    ``enabled=False``, ``submit`` runs the task at once on the caller.  Either way each
    task runs whole and alone, so results do not depend on which thread ran it.

    Meant for a caller inside :class:`single_threaded_blas` (two threads' GEMMs must not
    each start a BLAS pool): a recurrent layer's per-step loop keeps one core busy, and
    the other computes the input projections ahead of it (forward) or the weight
    gradients of the blocks of steps it has finished (backward).
    """

    __slots__ = ("_pool", "_tasks", "_submitted", "_worker")

    def __init__(self, enabled=True):
        usable = enabled and _numba_thread_count()[0]() > 1 and _workers_allowed() \
            and blas_threads_controllable()
        self._pool = _pool(1) if usable else None
        self._tasks = collections.deque()
        self._submitted = []
        self._worker = None

    def submit(self, fn, *args):
        task = _Task(fn, args)
        self._submitted.append(task)
        if self._pool is None:
            task.run()
            return task
        self._tasks.append(task)
        if self._worker is None or self._worker.done():
            # (a worker that is just returning may miss this task: finish/wait run it)
            self._worker = self._pool.submit(self._drain)
        return task

    def _drain(self):
        while True:
            try:
                task = self._tasks.popleft()  # atomic: each task is taken once
            except IndexError:
                return
            task.run()

    def finish(self, task):
        try:
            self._tasks.remove(task)  # not taken yet: run it here
        except ValueError:
            pass
        else:
            task.run()
        task.done.wait()
        if task.error is not None:
            raise task.error

    def wait(self):
        self._drain()
        for task in self._submitted:
            task.done.wait()
        for task in self._submitted:
            if task.error is not None:
                raise task.error


#: Below this many elements touched, a plane kernel runs on the calling thread alone.
#: Waking a worker costs more than small work, and on a loaded machine a worker that
#: is descheduled while it holds a range stalls the call for a time slice (issue 17:
#: batch norm of (32, 16, 16, 16), 393K elements touched, took 5.6 ms on two threads
#: and 0.77 ms on one; even a (128, 256, 8, 8) batch norm, 6M elements, was 10-40%
#: slower threaded on this shared two-core machine).  Max-pooling 16M elements was
#: 1.3-1.7x faster threaded, so threading starts there.
SMALL_WORK = 1 << 23
#: Plane ranges per call: more than the threads, so a stalled core delays little.
_PLANE_TASKS = 16


def sample_lanes(N, n_lanes, fit):
    """``n_lanes`` lanes of consecutive samples of ``[0, N)`` (``1 <= n_lanes <= N``),
    each a list of chunks ``(n0, n1)`` of whole samples, balanced, at most ``fit``
    samples each.  Depends on its arguments alone, so on the shapes alone.

    >>> sample_lanes(5, 2, 2)
    [[(0, 2)], [(2, 4), (4, 5)]]
    """
    cuts = [N * i // n_lanes for i in range(n_lanes + 1)]
    lanes = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        count = -(-(b - a) // -(-(b - a) // fit))  # balanced chunks of at most `fit`
        lanes.append([(n, min(n + count, b)) for n in range(a, b, count)])
    return lanes


def run_planes(kernel, n_planes, args, work):
    """Run ``kernel(*args, p0, p1)`` over the planes ``[0, n_planes)`` on all threads.

    The kernel's ``prange(p0, p1)`` runs on one thread (Numba's count is set to 1
    there; ``parallel=True`` is kept because its outlined loop body vectorises, measured
    9x faster than the same loop compiled serially); the planes are split into
    contiguous ranges taken by the worker threads like conv lanes.  ``work``, the
    number of elements the call touches, keeps tiny calls on the calling thread.
    """
    get_threads, set_threads = _numba_thread_count()
    threads = get_threads()
    if threads <= 1 or n_planes <= 1 or work < SMALL_WORK:
        if threads > 1:
            set_threads(1)
        try:
            kernel(*args, 0, n_planes)
        finally:
            if threads > 1:
                set_threads(threads)
        return
    n_tasks = min(n_planes, _PLANE_TASKS)
    cuts = [n_planes * i // n_tasks for i in range(n_tasks + 1)]
    run_chunks(lambda i: kernel(*args, cuts[i], cuts[i + 1]), n_tasks, uses_blas=False)


class single_threaded_blas:
    """``with single_threaded_blas():`` runs NumPy's GEMMs on the calling thread only.

    For a sequence of small GEMMs (a recurrent layer's per-step ``h W_hh^T``): each is
    too small for a second thread to pay off, and on a loaded machine OpenBLAS's
    threads are what makes them slow (issue 17: a 32x128x512 GEMM's median is 35 us
    either way, but with two threads one in a few hundred waits for a descheduled
    worker, up to 48 ms).  Reference-counted like the chunk runners; a no-op where the
    BLAS cannot be controlled.  Results are unchanged (OpenBLAS splits a GEMM over the
    rows and columns of the output, never over the summed index).
    """

    __slots__ = ("_on",)

    def __enter__(self):
        self._on = blas_threads_controllable()
        if self._on:
            _blas_single_threaded_enter()
        return self

    def __exit__(self, *exc):
        if self._on:
            _blas_single_threaded_exit()
        return False


#: A GEMM of fewer multiply-adds than this runs on one thread (about 60 us here): a
#: second thread would save less than waking it costs on a quiet machine, and on a
#: loaded one it is a stall waiting to happen.
SMALL_GEMM = 1 << 22
#: Up to this many multiply-adds OpenBLAS itself uses one thread (measured: no worker
#: wake-up after idling up to 270K); such GEMMs skip the thread-count calls (3 us).
TINY_GEMM = 1 << 18
#: A recurrent layer's per-step GEMM (``h W_hh^T``, one after the other) below this
#: many multiply-adds runs on one thread for the whole sequence (about 250 us each).
SMALL_STEP_GEMM = 1 << 24


def gemm(a, b):
    """``a @ b``, with OpenBLAS's own threads only where they pay for their stalls.

    OpenBLAS's worker threads sleep after a spin timeout, and waking them costs far more
    than a small GEMM: after a pause, a 35 us (32, 128) @ (128, 512) product took 4-32 ms
    on two threads, and on a loaded machine each wait can last a time slice of a
    descheduled thread (issue 17: an LSTM step went from 20 ms to seconds). So a GEMM of
    fewer than ``SMALL_GEMM`` multiply-adds runs on one BLAS thread (a quiet machine pays
    up to 25% on such products: 31 -> 39 us), and so does a batch of small products
    (attention, bmm), which NumPy hands to the BLAS one matrix at a time. Larger GEMMs
    keep OpenBLAS's threads: cutting them into single-threaded slices on our own
    workers was robust under load but cost 65% of an MLP step on a quiet machine
    (measured 2026-12-02: 30.5 against 18.6 ms for 3072-1024-1024-10 at batch 128).
    OpenBLAS splits a product over the rows and columns of the result, never over the
    summed index, so the result is the same whichever thread count computes it.
    Anything else (a vector operand, a BLAS that cannot be controlled, Tensors) is plain
    ``np.matmul``; integer products are NumPy's own loops, unaffected either way.

    >>> import numpy as np
    >>> gemm(np.ones((2, 3)), np.ones((3, 4))).tolist()[0]
    [3.0, 3.0, 3.0, 3.0]
    """
    import numpy as np

    # Tensors (a twice-differentiable backward) and other array-likes: NumPy's protocol
    if type(a) is not np.ndarray or type(b) is not np.ndarray or a.ndim < 2 or b.ndim < 2 \
            or not blas_threads_controllable():
        return np.matmul(a, b)
    work = a.shape[-2] * a.shape[-1] * b.shape[-1]  # per product, for a batch too
    if a.ndim == 2 and b.ndim == 2 and work <= TINY_GEMM:
        return np.matmul(a, b)  # OpenBLAS runs it on one thread itself; no overhead
    if work < SMALL_GEMM:
        # a batch of small products (attention, bmm) too: NumPy calls the BLAS once per
        # matrix, and each call would wake OpenBLAS's threads
        with single_threaded_blas():
            return np.matmul(a, b)
    return np.matmul(a, b)
