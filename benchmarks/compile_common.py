"""What the compile benchmarks share: the pipeline they compile (a chain of N container steps), one
call timed after a collection, and interleaved repeats (this machine is shared and noisy, so ours
and the baseline alternate)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from flowyard.spec import Container, Parameter, Pipeline, Step


def chain(n: int) -> Pipeline:
    """``n`` container steps, each after the one before, each echoing a parameter and its number."""
    steps = {}
    for i in range(n):
        steps[f"step-{i}"] = Step(
            container=Container(image="alpine:3", command=["echo", "${{ params.message }}", str(i)]),
            after=[f"step-{i - 1}"] if i else [],
        )
    return Pipeline(name="wide", parameters={"message": Parameter(default="hello")}, steps=steps)


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
