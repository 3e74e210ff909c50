"""The one timing rule the benchmarks share: the median of a few repeats (the first run of a cache is timed on
its own, by the caller)."""

from __future__ import annotations

import statistics
import time


def timed(action, repeats: int = 5) -> float:
    """Median seconds of `repeats` calls of `action()`."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
