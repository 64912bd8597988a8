"""The traced peak of one call, for tests that bound a kernel's workspace."""

import tracemalloc


def traced_peak(call):
    """Peak bytes tracemalloc saw during ``call()`` above what was traced before it.

    Arrays NumPy allocates are traced; memory Numba kernels allocate internally is not.

    >>> traced_peak(lambda: bytearray(1 << 20)) >= 1 << 20
    True
    """
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
