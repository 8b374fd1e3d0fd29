"""Measure wall time and peak resident memory of a block of code.

Shared by the benchmarks: `with measure() as m: ...` then `m.seconds`,
`m.cpu_seconds`, `m.peak_rss_mb`. Peak RSS comes from `resource.getrusage` (the process high-water
mark, Linux reports KiB), so it includes everything the process ever held, which
is what a memory limit sees.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Measurement:
    """Result of `measure()`: wall seconds, CPU seconds (user + system of this
    process and of child processes that finished inside the block), this process's
    peak RSS and the largest finished child's peak RSS (MB).

    CPU seconds are reported next to wall time because benchmark machines are often
    shared: wall time then includes waiting for a core, CPU time does not.
    """

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    child_peak_rss_mb: float = 0.0


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size so far, in MB (of this process, or with
    `resource.RUSAGE_CHILDREN` of the largest finished child)."""
    peak = resource.getrusage(who).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def measure() -> Iterator[Measurement]:
    """Time the block and record the process peak RSS when it ends."""
    m = Measurement()
    t0 = time.perf_counter()
    c0 = time.process_time() + _children_cpu()
    try:
        yield m
    finally:
        m.seconds = time.perf_counter() - t0
        m.cpu_seconds = time.process_time() + _children_cpu() - c0
        m.peak_rss_mb = peak_rss_mb()
        m.child_peak_rss_mb = peak_rss_mb(resource.RUSAGE_CHILDREN)
