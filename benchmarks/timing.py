"""The measurement core: interleaved repetitions, medians, per-repetition ratios.

The machine this suite runs on is shared and noisy: its speed drifts by tens of percent
over seconds (other tenants, frequency scaling).  Absolute times from two separate runs
cannot be compared, and even two back-to-back blocks of repetitions ("all of A, then all
of B") see different machines.  So every comparison is built like this:

1. **Warm-up.**  Each contender runs ``warmup`` times first (JIT compilation, BLAS
   thread start-up, allocator and cache warm-up are not what we measure).
2. **Calibration.**  One more timed call per contender fixes ``number``, the calls per
   sample, so that one sample lasts at least ``min_sample_time`` (timer resolution and
   per-sample overhead become negligible).  Each contender has its own ``number``; a
   sample's time is divided by it.
3. **Interleaving.**  Repetition ``r`` runs one sample of *every* contender, in the order
   A B C on even ``r`` and C B A on odd ``r`` (so no contender always runs right after
   the same neighbour, whose cache or thread state it might inherit).  Drift hits all
   contenders of a repetition alike.
4. **Statistics.**  Per contender the median of the sample times, with min and max.  A
   ratio A/B is computed *per repetition* (A's and B's samples of the same repetition,
   measured within milliseconds of each other) and then summarised by its median, min
   and max: the median of paired ratios is far more stable than the ratio of medians
   when the machine drifts.

The garbage collector runs once before a comparison and is disabled during each sample
(as ``timeit`` does), so one contender's garbage is never collected on another's clock.
Sections whose contenders build large cyclic graphs (scalar engines) ask for a
collection before every sample instead, and may leave the collector enabled during
samples (``gc_in_samples``): for them the collector's work is part of the real cost.

Example::

    >>> res = compare({"a": lambda: sum(range(100)), "b": lambda: sum(range(200))},
    ...               reps=3, warmup=1, min_sample_time=0.001)
    >>> sorted(res.stats)
    ['a', 'b']
    >>> res.ratio("a", "b").median < 1.5
    True
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from dataclasses import dataclass, field

__all__ = ["Settings", "Stats", "RatioStats", "Comparison", "Contender", "compare", "time_once",
           "geomean"]


@dataclass
class Contender:
    """A callable with untimed hooks run around each of its samples.

    ``before``/``after`` switch state that must not be on the clock, e.g. the thread
    count of a "1 thread" contender interleaved with a "2 threads" one.
    """

    fn: object
    before: object = None
    after: object = None


@dataclass(frozen=True)
class Settings:
    """How hard to measure: the quick mode (CI) and the full mode differ only here."""

    reps: int = 9
    warmup: int = 1
    min_sample_time: float = 0.03
    #: Upper bound on calls per sample (tiny ops would otherwise run 10^5 times).
    max_number: int = 100_000

    @classmethod
    def quick(cls) -> Settings:
        return cls(reps=3, warmup=1, min_sample_time=0.002, max_number=2_000)

    @classmethod
    def full(cls) -> Settings:
        # 9 repetitions keep the full run near 15 minutes on 2 cores; the calibration
        # call after the warm-up is a second untimed call.
        return cls(reps=9, warmup=1, min_sample_time=0.03)


@dataclass
class Stats:
    """Seconds per call of one contender: median, min and max over repetitions."""

    median: float
    min: float
    max: float
    number: int  # calls per sample
    samples: list[float] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "median_s": self.median,
            "min_s": self.min,
            "max_s": self.max,
            "calls_per_sample": self.number,
            "samples_s": list(self.samples),
        }


@dataclass
class RatioStats:
    """Time ratio A/B over repetition pairs (below 1: A is faster)."""

    median: float
    min: float
    max: float
    #: min(a) / min(b): the ratio of the best samples.  Load from other processes only
    #: ever adds time, so on a busy machine this is a second, optimistic estimate.
    of_best: float | None = None

    def as_dict(self) -> dict:
        return {"median": self.median, "min": self.min, "max": self.max,
                "of_best": self.of_best}


@dataclass
class Comparison:
    """The result of :func:`compare`: per-contender stats and paired samples."""

    stats: dict[str, Stats]
    order: list[str]
    elapsed_s: float = 0.0  # wall time of the whole comparison (warm-up included)

    def ratio(self, a: str, b: str) -> RatioStats:
        """Median/min/max of ``time(a) / time(b)``, taken repetition by repetition."""
        sa, sb = self.stats[a], self.stats[b]
        pairs = [x / y for x, y in zip(sa.samples, sb.samples)]
        return RatioStats(statistics.median(pairs), min(pairs), max(pairs), sa.min / sb.min)

    def subset(self, names, rename: dict | None = None) -> Comparison:
        """The same measurements restricted to ``names`` (optionally renamed)."""
        rename = rename or {}
        stats = {rename.get(n, n): self.stats[n] for n in names if n in self.stats}
        return Comparison(stats, list(stats), self.elapsed_s)


def _sample(fn, number: int, gc_in_samples: bool = False) -> float:
    if isinstance(fn, Contender):
        if fn.before is not None:
            fn.before()
        try:
            return _sample(fn.fn, number, gc_in_samples)
        finally:
            if fn.after is not None:
                fn.after()
    if gc_in_samples:
        gc.collect()
        start = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - start) / number
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - start) / number
    finally:
        if gc_was_enabled:
            gc.enable()


def time_once(fn) -> float:
    """Seconds of one call (no warm-up): first-call costs, long runs."""
    return _sample(fn, 1)


def compare(contenders: dict, *, reps: int, warmup: int, min_sample_time: float,
            max_number: int = 100_000, settings: Settings | None = None,
            gc_in_samples: bool = False) -> Comparison:
    """Time every contender (name -> zero-argument callable or Contender), interleaved.

    See the module docstring for the protocol.  ``settings`` overrides the keyword
    arguments when given.
    """
    if settings is not None:
        reps, warmup = settings.reps, settings.warmup
        min_sample_time, max_number = settings.min_sample_time, settings.max_number
    names = list(contenders)
    if not names:
        raise ValueError("compare() needs at least one contender")
    began = time.perf_counter()
    for name in names:
        for _ in range(warmup):
            _sample(contenders[name], 1, gc_in_samples)
    numbers = {}
    for name in names:
        once = max(_sample(contenders[name], 1, gc_in_samples), 1e-7)
        numbers[name] = int(min(max_number, max(1, math.ceil(min_sample_time / once))))
    samples = {name: [] for name in names}
    gc.collect()
    for r in range(reps):
        for name in names if r % 2 == 0 else reversed(names):
            samples[name].append(_sample(contenders[name], numbers[name], gc_in_samples))
    stats = {
        name: Stats(statistics.median(s), min(s), max(s), numbers[name], s)
        for name, s in samples.items()
    }
    return Comparison(stats, names, time.perf_counter() - began)


def geomean(values) -> float | None:
    """Geometric mean of positive numbers (None for an empty list): the mean of ratios."""
    values = [v for v in values if v is not None and v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))
