"""``@kernel``: ``numba.njit(cache=True)`` whose on-disk cache recompiles when damaged.

Numba's own cache raises when an index (``.nbi``) or data (``.nbc``) file is truncated
or garbage (``UnpicklingError``, ``EOFError``, ...), on every first call, until someone
deletes ``__pycache__``.  Here a failed load discards the function's index (its data
files are then renumbered and overwritten) and the kernel is compiled as if no cache
existed; a failed save leaves the kernel uncached for this process instead of failing
the call.  Only the functions defined with ``@kernel`` are affected: nothing in Numba
is patched.
"""

from __future__ import annotations

import os

from numba import njit
from numba.core.caching import FunctionCache

__all__ = ["kernel"]


class _RecompilingCache(FunctionCache):
    """A :class:`FunctionCache` for which a damaged file is a cache miss, not an error."""

    def _discard_index(self):
        try:
            os.remove(self._cache_file._index_path)
        except OSError:
            pass

    def load_overload(self, sig, target_context):
        try:
            return super().load_overload(sig, target_context)
        except Exception:
            self._discard_index()
            return None  # a miss: the dispatcher compiles, then saves afresh

    def save_overload(self, sig, data):
        try:
            super().save_overload(sig, data)
        except Exception:
            self._discard_index()  # a damaged index makes every save fail too
            try:
                super().save_overload(sig, data)
            except Exception:
                pass  # not cached this time; the compiled kernel still runs


def kernel(**options):
    """``numba.njit(cache=True, **options)`` with a cache that recompiles when damaged.

    Used like ``njit`` on module-level functions (a cache needs a source file), e.g.
    ``@kernel(nogil=True, parallel=True)`` above ``def _im2col_rows(...)``.
    """

    def decorate(fn):
        dispatcher = njit(cache=True, **options)(fn)
        if isinstance(getattr(dispatcher, "_cache", None), FunctionCache):
            dispatcher._cache = _RecompilingCache(fn)
        return dispatcher

    return decorate
