"""Lane partials added in lane order as lanes finish, so few are alive at a time.

A conv's weight gradient is a sum over its lanes (batch slices) of one partial each,
``total = p_0 + p_1 + ... + p_{L-1}``, added left to right so the bits are the same
with any thread count.  Allocating every partial up front and summing at the end keeps
all ``L`` of them alive at once: ResNet-18 w64's 256->256 conv on 8x8 (batch 32, 8
lanes) held 8 partials of 2.25 MiB each, the largest part of its backward's 25 MiB
workspace, at the point of the step where the saved activations are still alive.

:class:`OrderedSum` adds each partial as soon as it and every earlier one are done,
still left to right.  Workers take lanes in order (``run_chunks``), so with ``T``
threads about ``T + 1`` partials are alive instead of ``L``.  Lane 0's partial becomes
the total, which saves one more.  When the additions happen depends on timing; their
order never does.

Example::

    >>> import numpy as np
    >>> acc = OrderedSum((2,), np.float64)
    >>> parts = [acc.start(i) for i in range(3)]
    >>> for i in (2, 0, 1):
    ...     parts[i][...] = i + 1
    ...     acc.done(i)
    >>> acc.result(3).tolist()
    [6.0, 6.0]
"""

from __future__ import annotations

import threading

import numpy as np


class OrderedSum:
    """``p_0 + p_1 + ...`` of per-lane arrays, summed left to right as lanes finish.

    A lane calls :meth:`start` for the array it writes its partial into (fresh,
    uninitialised), then :meth:`done` when it is complete.  :meth:`result` returns the
    total once every lane has called :meth:`done`.  Thread-safe; one thread adds at a
    time (outside the lock, so lanes finishing meanwhile do not wait for the addition).
    """

    def __init__(self, shape, dtype):
        self._shape, self._dtype = tuple(shape), np.dtype(dtype)
        self._lock = threading.Lock()
        self._pending = {}  # lane -> partial, complete but not yet added
        self._writing = {}  # lane -> partial handed out by start()
        self._next = 0  # the next lane to add
        self._adding = False  # one thread adds at a time
        self._total = None

    def start(self, lane):
        """The fresh array lane ``lane`` writes its whole partial into."""
        part = np.empty(self._shape, dtype=self._dtype)
        with self._lock:
            self._writing[lane] = part
        return part

    def done(self, lane):
        """Lane ``lane``'s partial is complete: add it (and any that waited on it)."""
        with self._lock:
            self._pending[lane] = self._writing.pop(lane)
            if self._adding:  # the adding thread will pick it up in turn
                return
            self._adding = True
        while True:
            with self._lock:
                part = self._pending.pop(self._next, None)
                if part is None:
                    self._adding = False
                    return
                self._next += 1
            if self._total is None:  # lane 0's partial is the total: no extra array
                self._total = part
            else:
                self._total += part

    def result(self, n_lanes):
        """The total over lanes ``0 .. n_lanes - 1``, all of which must be done."""
        if self._next != n_lanes or self._pending or self._writing:
            raise RuntimeError(
                f"OrderedSum: {self._next} of {n_lanes} lanes added, "
                f"{len(self._pending) + len(self._writing)} still outstanding"
            )
        if self._total is None:  # no lanes: the empty sum
            return np.zeros(self._shape, dtype=self._dtype)
        return self._total


def sum_in_lane_order(parts, dtype):
    """``parts[0] + parts[1] + ...`` added left to right (into ``parts[0]``), as
    ``dtype``: the lanes' float64 bias-gradient partials of a conv backward.

    >>> sum_in_lane_order([np.ones(2), np.ones(2)], np.float32).tolist()
    [2.0, 2.0]
    """
    total = parts[0]
    for part in parts[1:]:
        total += part
    return total.astype(dtype)
