"""Timing helpers the compile benchmarks share: one call timed after a collection, and interleaved
repeats (this machine is shared and noisy, so ours and the baseline alternate)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(ours: Callable[[], Any], base: Callable[[], Any], repeats: int) -> tuple[list[float], list[float]]:
    """Both once to warm up, then ``repeats`` alternating timings of each."""
    ours()
    base()
    a, b = [], []
    for _ in range(repeats):
        a.append(timed(ours))
        b.append(timed(base))
    return a, b
