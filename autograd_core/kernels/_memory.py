"""Keep freed memory for the next step: glibc malloc's two thresholds.

A training step allocates the same large arrays every step (activations, saved
buffers, im2col chunks, a recurrent layer's per-step rows) and frees them by the end.
glibc hands blocks above its mmap threshold straight back to the kernel and trims the
heap's free top once it exceeds its trim threshold, so the next step's arrays are
fresh pages, and each first touch of a 4 KiB page is a page fault.  Measured on the
2-core Zen 3 VM (issue 17): 2,000 faults a step of the LSTM LM, 2,800 of ResNet-18 w16,
1,100 of LeNet-5; with the thresholds below, 0-7.  A fault costs microseconds on a VM
(nested paging), and LeNet-5's step went from 17.8 to 13.5 ms, the LSTM LM's from
31-39 to 25-33 ms (medians of 20 steps, separate processes).

So on import (:func:`keep_freed_memory`) the package sets glibc's ``M_MMAP_THRESHOLD``
to :data:`MMAP_THRESHOLD` (32 MiB, the ceiling glibc's own adaptive threshold climbs
to) and ``M_TRIM_THRESHOLD`` to :data:`TRIM_THRESHOLD` (128 MiB): blocks below 32 MiB
come from the heap and go back to it, and up to 128 MiB of free heap stay mapped.  The
price is resident memory that a quiet process keeps; :func:`release_free_memory`
(``malloc_trim(0)``) hands it back on request.  Larger arrays are still mapped and
unmapped one by one.  This is process-wide, as PyTorch's CPU tuning guide's advice to
preload jemalloc or tcmalloc is, and PyTorch's own allocations in the same process
benefit too.

The settings are left alone where the user chose them (glibc's
``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_`` or ``GLIBC_TUNABLES``), where
``AUTOGRAD_CORE_KEEP_FREED_MEMORY=0``, and where the C library is not glibc (musl,
macOS, Windows: nothing is called).

Example::

    >>> from autograd_core.kernels import _memory
    >>> isinstance(_memory.release_free_memory(), bool)
    True
"""

from __future__ import annotations

import ctypes
import os
import platform

__all__ = ["keep_freed_memory", "release_free_memory", "MMAP_THRESHOLD", "TRIM_THRESHOLD"]

#: Blocks below this many bytes come from the heap (glibc's adaptive maximum).
MMAP_THRESHOLD = 32 << 20
#: Free memory at the heap's top kept mapped, in bytes.
TRIM_THRESHOLD = 128 << 20
#: Set to "0" to keep glibc's own (adaptive) thresholds.
OPT_OUT = "AUTOGRAD_CORE_KEEP_FREED_MEMORY"
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # <malloc.h>

#: Whether :func:`keep_freed_memory` changed the thresholds in this process.
configured = False


def _glibc():
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:  # pragma: no cover - a static or unusual interpreter
        return None


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds (module docstring); True if it did."""
    global configured
    if os.environ.get(OPT_OUT, "1") == "0" or any(k in os.environ for k in _USER_SETTINGS):
        return False
    libc = _glibc()
    if libc is None:
        return False
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    # mallopt returns 1 on success; both or neither (a half-set pair is worse than none)
    if libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and \
            libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1:
        configured = True
    return configured


def release_free_memory() -> bool:
    """Return the heap's free pages to the kernel (glibc's ``malloc_trim(0)``); True if
    any were released, False where there were none or the C library is not glibc."""
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    return bool(libc.malloc_trim(0))
