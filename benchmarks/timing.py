"""Interleaved timing: warm-up, then N rounds of every contender in a rotating order.

Rotating the order each round (round r starts with contender r mod k) means no contender always runs
first (cold caches) or right after the same neighbour, and slow drifts of a busy machine (other jobs,
frequency changes) hit every contender alike. Each call is timed twice: wall clock
(``time.perf_counter_ns``) and the calling thread's CPU time (``time.thread_time_ns``). Every contender
runs on the calling thread (one interpreter thread, no pools), so CPU time is its compute cost, which
other processes on a busy machine cannot inflate by descheduling it; wall clock includes that waiting.
``Timings.check_single_threaded`` refuses a run where other threads of the process used real CPU time
(thread CPU time would then undercount the work).
The garbage collector is paused inside a round so its pauses land between timings, not inside them.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

MIN_RUNS = 100
"""The release gates need at least this many timed runs per contender (after the warm-up)."""
OTHER_THREADS_CPU_MAX = 0.05
"""Share of process CPU time allowed off the calling thread while timing (measured: < 0.1 %)."""


@dataclass(frozen=True)
class Timings:
    """Seconds per call, name -> (runs,) float64, wall clock and calling-thread CPU time."""

    wall: dict[str, np.ndarray]
    cpu: dict[str, np.ndarray]
    other_threads_cpu_fraction: float  # process CPU time spent off the calling thread while timing

    def check_single_threaded(self, limit: float = OTHER_THREADS_CPU_MAX) -> None:
        """ValueError when other threads did real work: the thread CPU times would then undercount."""
        if self.other_threads_cpu_fraction > limit:
            raise ValueError(f"{100 * self.other_threads_cpu_fraction:.1f} % of the CPU time went to other threads of this "
                             f"process (limit {100 * limit:g} %): a contender is not running on one thread")

    def summary(self) -> dict[str, dict]:
        return {name: summary(self.wall[name], self.cpu[name]) for name in self.wall}


def interleaved(contenders: dict[str, Callable[[], object]], runs: int, warmup: int = 10) -> Timings:
    """Time every contender ``runs`` times, round-robin with a rotating start, after ``warmup`` rounds."""
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            contenders[name]()
    wall = {name: np.empty(runs) for name in names}
    cpu = {name: np.empty(runs) for name in names}
    enabled = gc.isenabled()
    gc.collect()
    process_start, thread_start = time.process_time_ns(), time.thread_time_ns()
    try:
        for r in range(runs):
            gc.disable()
            k = r % len(names)
            for name in names[k:] + names[:k]:
                call = contenders[name]
                start_cpu, start = time.thread_time_ns(), time.perf_counter_ns()
                call()
                wall[name][r] = (time.perf_counter_ns() - start) * 1e-9
                cpu[name][r] = (time.thread_time_ns() - start_cpu) * 1e-9
            gc.enable()
    finally:
        if enabled:
            gc.enable()
        else:
            gc.disable()
    process_cpu, thread_cpu = time.process_time_ns() - process_start, time.thread_time_ns() - thread_start
    return Timings(wall, cpu, max(0.0, (process_cpu - thread_cpu) / process_cpu) if process_cpu > 0 else 0.0)


def summary(wall: np.ndarray, cpu: np.ndarray) -> dict:
    """Wall-clock median, 95th percentile and minimum, CPU-time median and p95, in ms; the run count."""
    wall_ms, cpu_ms = np.asarray(wall) * 1e3, np.asarray(cpu) * 1e3
    return {"median_ms": float(np.median(wall_ms)), "p95_ms": float(np.percentile(wall_ms, 95)),
            "min_ms": float(np.min(wall_ms)), "cpu_median_ms": float(np.median(cpu_ms)),
            "cpu_p95_ms": float(np.percentile(cpu_ms, 95)), "runs": int(wall_ms.size)}
