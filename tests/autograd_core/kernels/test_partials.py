"""OrderedSum: lane partials added left to right whatever order the lanes finish in."""

import itertools
import threading

import numpy as np
import pytest

from autograd_core.kernels._partials import OrderedSum
from tests.peak_memory import traced_peak


def _parts(n, size=64, seed=0):
    # Values of very different magnitudes, so float32 addition order changes the bits.
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.integers(-6, 6, size=(n, 1))
    return (rng.standard_normal((n, size)) * scale).astype(np.float32)


def _left_to_right(parts):
    total = parts[0].copy()
    for p in parts[1:]:
        total += p
    return total


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_any_finishing_order_gives_the_left_to_right_sum(order):
    parts = _parts(4)
    acc = OrderedSum(parts.shape[1:], np.float32)
    arrays = [acc.start(i) for i in range(4)]
    for i in order:
        arrays[i][...] = parts[i]
        acc.done(i)
    assert acc.result(4).tobytes() == _left_to_right(parts).tobytes()


def test_the_order_matters_for_these_values():
    # Guards the test above: a different order would give different bits here.
    parts = _parts(4)
    reverse = _left_to_right(parts[::-1])
    assert reverse.tobytes() != _left_to_right(parts).tobytes()


def test_lanes_on_threads_finishing_out_of_order_give_the_same_bits():
    n = 12
    parts = _parts(n, size=4096, seed=3)
    acc = OrderedSum(parts.shape[1:], np.float32)
    # Each lane waits for the event of the lane after it, so lanes finish in reverse.
    events = [threading.Event() for _ in range(n + 1)]
    events[n].set()

    def lane(i):
        part = acc.start(i)
        part[...] = parts[i]
        events[i + 1].wait(10)
        acc.done(i)
        events[i].set()

    threads = [threading.Thread(target=lane, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert acc.result(n).tobytes() == _left_to_right(parts).tobytes()


def test_partials_are_freed_as_soon_as_they_are_added():
    # Lanes finishing in order: only the total and the partial being written are alive.
    n, size = 8, 1 << 18  # 1 MiB partials
    acc = OrderedSum((size,), np.float32)

    def run_lanes():
        for i in range(n):
            part = acc.start(i)
            part[...] = 1.0
            del part
            acc.done(i)

    peak = traced_peak(run_lanes)
    assert peak < 2.5 * size * 4
    assert np.all(acc.result(n) == n)


def test_a_missing_lane_is_an_error_not_a_partial_sum():
    acc = OrderedSum((3,), np.float64)
    for i in (0, 2):
        acc.start(i)[...] = 1.0
        acc.done(i)
    with pytest.raises(RuntimeError, match="1 of 3 lanes added"):
        acc.result(3)


def test_no_lanes_is_the_empty_sum():
    assert OrderedSum((2, 2), np.float32).result(0).tolist() == [[0.0, 0.0], [0.0, 0.0]]
