"""Numba kernels for convolution and pooling: NumPy arrays in and out, never a Tensor.

This package is the only place in the project that imports numba.  Each public
function validates its arguments (dtype float32/float64, shapes, geometry) and raises
a clear ``ValueError``/``TypeError`` before an ``@njit`` kernel (leading underscore)
runs, so a bad call never surfaces as a Numba typing error or a crash; the ops, which
validate once when they compute a geometry, call the private entry points of the same
names (``_conv2d_forward(x, weight, bias, geometry)``, ...).  :func:`pair` is the
project's one int-or-pair parser (layers, transforms and benchmarks use it too).

Threads.  Convolution chunks and ranges of pooling planes are spread over Python
worker threads (``_threads``), each running a single-threaded pipeline with
single-threaded BLAS: no barrier between steps, and no two thread pools taking turns.
Numba's own OpenMP pool is used only where a kernel runs on a whole batch at once (the
public ``im2col``/``col2im``) or where NumPy's BLAS cannot be
controlled.  With the OpenMP layer, libgomp's idle workers busy-wait for
``GOMP_SPINCOUNT`` polls (300,000 by default, several milliseconds) before they sleep,
and on a two-core machine that starves the BLAS threads of the next GEMM (measured: a
64->64 3x3 conv became 4-8x slower).  Sleeping at once (``OMP_WAIT_POLICY=PASSIVE``,
what this package used to set) is no answer either: PyTorch's bundled libgomp has the
same soname and shares whichever runtime is loaded first, and PyTorch's many small
parallel regions then pay a futex wake each (measured 2026-12-02 on a Zen 4: a
Transformer LM step took 386 ms instead of 32 ms).  So the pool is started here with
``GOMP_SPINCOUNT=`` :data:`SPIN_COUNT`: a worker spins for tens of microseconds, which
covers the gap between PyTorch's back-to-back regions but not a GEMM's milliseconds.
Measured on a 2-core Zen 3 (benchmarks/RESULTS.md), median step times with this package
imported before PyTorch: PyTorch's Transformer LM 34-40 ms (38-50 ms with PyTorch
imported first, 46-54 ms under the passive policy), ours no slower (64-69 ms against
70-72 ms passive).  On 2026-12-03 PyTorch imported after this package took 20x longer
again: Numba's OpenMP layer turns on nested teams when it starts, and
``_no_nested_teams`` now switches them off.  A user who sets
``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` keeps their choice; the variable is removed
again right after the OpenMP runtime has read it.  Our kernels wake Numba's team only
for whole-batch calls (``run_chunks`` keeps its kernels on one thread, see ``_threads``).

GEMMs (``_threads.gemm``, used by the matmul, linear and recurrent ops) below 4M
multiply-adds run on one BLAS thread, and so do batches of such products; larger ones
keep OpenBLAS's threads.  On a loaded machine those threads were the problem for small
products (issue 17): a 35 us GEMM on two OpenBLAS threads often took 4-32 ms (a worker
waited for, or woken from its sleep after the 0.1 s spin timeout), and an LSTM step
went from 20 ms to seconds.  OpenBLAS's idle workers also busy-wait about 0.1 s for
the next GEMM by default (``OPENBLAS_THREAD_TIMEOUT=28``), taking the second core from
whatever runs next; on import the package shortens that to about 0.35 ms
(``_threads.shorten_blas_spin``: LSTM LM step 44 -> 31 ms), unless the user set
``OPENBLAS_THREAD_TIMEOUT``.

Memory.  On import, glibc's malloc is asked to keep freed blocks below 32 MiB and up to
128 MiB of free heap (``_memory``): a training step's arrays then reuse the previous
step's pages instead of faulting in fresh ones (measured: 2,000 page faults a step of
an LSTM LM down to 0-7).  ``release_free_memory()`` hands the kept pages back;
``AUTOGRAD_CORE_KEEP_FREED_MEMORY=0`` or glibc's own ``MALLOC_*_THRESHOLD_`` settings
leave the allocator alone.

Compilation is cached on disk (``cache=True``): next to the kernels, or in
``NUMBA_CACHE_DIR`` when set, or, when the package directory is read-only, in Numba's
per-user cache directory.  Where none of these is writable Numba would refuse to define
the kernels at all; the package then caches into a private temporary directory for the
life of the process (compiling once per process) instead of failing to import.  A
damaged cache file is a cache miss: the kernel is recompiled (``_cache.kernel``).
"""

import atexit
import os
import shutil
import tempfile

#: Polls an idle OpenMP worker makes before it sleeps (libgomp's ``GOMP_SPINCOUNT``),
#: unless the user chose a policy: about 20-50 us (a ``pause`` is 65-140 cycles).
SPIN_COUNT = 10_000


def _start_thread_pool():
    import numba

    user_choice = any(k in os.environ for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"))
    if not user_choice:
        os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
    try:
        # Loads the threading layer (and with it the OpenMP runtime, which reads the
        # environment once, when it is loaded) and starts the workers.
        numba.get_num_threads()
    except Exception:  # pragma: no cover - a broken threading layer fails later, clearly
        return
    finally:
        if not user_choice:
            del os.environ["GOMP_SPINCOUNT"]
    _no_nested_teams()


def _openmp_of_numba():
    """The OpenMP runtime Numba's ``omp`` threading layer calls, as a ctypes library
    (resolved through Numba's own extension module), or None for another layer."""
    import ctypes

    import numba

    try:
        if numba.threading_layer() != "omp":
            return None
        from numba.np.ufunc import omppool

        return ctypes.CDLL(omppool.__file__)
    except (ValueError, ImportError, OSError, AttributeError):  # pragma: no cover
        return None


def _no_nested_teams():
    """Switch off the nested parallelism Numba's OpenMP layer turns on when it starts.

    Numba enables nested teams (``omp_set_nested(1)``) on the calling thread.  PyTorch
    shares that runtime when it is imported after this package (its bundled libgomp has
    the same soname), and its parallel regions that run inside other parallel regions
    (oneDNN's, MKL's) then start teams of their own: more threads than cores, spinning
    against each other.  Measured on the 2-core Zen 3 (2026-12-03): PyTorch's Transformer
    LM step took 540-660 ms with this package imported first, 25-29 ms with nesting off
    (and 22-34 ms with PyTorch imported first).  None of our kernels nests a parallel
    region (a ``prange`` inside another runs serially anyway), so at most one active
    level changes nothing for them.  A user's ``OMP_MAX_ACTIVE_LEVELS`` is put back (Numba's
    call had overridden it too); with ``OMP_NESTED`` set, nesting is left as it is.
    """
    levels = 1
    user_levels = os.environ.get("OMP_MAX_ACTIVE_LEVELS", "").strip()
    if user_levels:
        if not user_levels.isdigit():
            return  # the runtime's own reading of it stands
        levels = int(user_levels)
    elif "OMP_NESTED" in os.environ:
        return
    runtime = _openmp_of_numba()
    setter = getattr(runtime, "omp_set_max_active_levels", None)
    if setter is not None:
        import ctypes

        setter.argtypes, setter.restype = [ctypes.c_int], None
        setter(levels)


def _cache_probe():  # pragma: no cover - never called, only located
    return 0


def _ensure_cache_location():
    from numba import config, njit

    try:
        # Decorating locates the cache directory (nothing is compiled); it is the same
        # directory as for the kernel modules beside this file.
        njit(cache=True)(_cache_probe)
    except RuntimeError:
        fallback = tempfile.mkdtemp(prefix="autograd-core-numba-")
        atexit.register(shutil.rmtree, fallback, ignore_errors=True)
        config.CACHE_DIR = fallback


_start_thread_pool()
_ensure_cache_location()

from . import _threads  # noqa: E402
from ._indexing import MAX_ARGUMENT, pair, shape4  # noqa: E402
from ._memory import keep_freed_memory, release_free_memory  # noqa: E402
from .conv import (  # noqa: E402
    CHUNK_BYTES,
    MAX_WORKSPACE_BYTES,
    ConvGeometry,
    col2im,
    conv2d_backward,
    conv2d_forward,
    conv_geometry,
    conv_output_size,
    im2col,
)

keep_freed_memory()  # once per process, on the first import (see "Memory" above)
_threads.shorten_blas_spin()  # see "GEMMs" above
