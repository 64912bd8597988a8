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

import ctypes
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba

__all__ = ["run_chunks", "run_planes", "blas_threads_controllable"]

_lock = threading.Lock()
_blas = None  # (get, set) ctypes functions, False when unavailable, None before lookup
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
    threads = get_threads()
    if threads <= 1 or n_tasks <= 1:
        for i in range(n_tasks):
            fn(i)
        return
    if uses_blas and not blas_threads_controllable():
        # Multi-threaded BLAS, single-threaded kernels: the two pools never alternate.
        set_threads(1)
        try:
            for i in range(n_tasks):
                fn(i)
        finally:
            set_threads(threads)
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
            set_threads(threads)
            for future in futures:
                future.exception()  # wait for every worker before returning
        if failed:
            raise failed[0]
    finally:
        if uses_blas:
            _blas_single_threaded_exit()


#: Below this many elements touched, a plane kernel runs on the calling thread alone:
#: waking a worker costs more than the work.
SMALL_WORK = 1 << 16
#: Plane ranges per call: more than the threads, so a stalled core delays little.
_PLANE_TASKS = 16


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
