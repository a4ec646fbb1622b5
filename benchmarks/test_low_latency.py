"""The low-latency mode's cost next to the 10 s mode's: interpreter calls, MACs and CPU time per second.

Gates (issue 15): its algorithmic latency is at most LOW_LATENCY_MAX_SECONDS, its multiply-accumulates
per second of signal at most LOW_LATENCY_COMPUTE_RATIO_MAX times the 10 s mode's (MACs of one model
call at each window, counted by ptflops on the network, times the calls a steady stream makes per
second), and its TFLite Micro arena (the exporter's measurement, manifest.json) at most
LOW_LATENCY_ARENA_MAX_BYTES. The CPU time of a streamed minute in both modes, interleaved in one run,
and the real-time factor it gives are recorded beside them.
"""

from __future__ import annotations

import numpy as np

from benchmarks.bounds import (LOW_LATENCY_ARENA_MAX_BYTES, LOW_LATENCY_COMPUTE_RATIO_MAX, LOW_LATENCY_MAX_SECONDS,
                               MIN_RUNS_NOTE)
from benchmarks.collector import require
from benchmarks.timing import MIN_RUNS, interleaved
from ulde.model.complexity import complexity
from ulde.runtime import StreamingDenoiser
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

MINUTE = 60 * SAMPLE_RATE_HZ
WARMUP = 10


def test_low_latency_compute_per_second_of_signal(artefacts, network, signal, results):
    modes = {"10 s": StreamingDenoiser(artefacts.int8_tflite),
             "low-latency": StreamingDenoiser(artefacts.int8_low_latency_tflite)}
    chunk = np.ascontiguousarray(signal[:MINUTE], dtype=np.float32)
    for stream in modes.values():
        stream.process(chunk)  # steady state from the first timed call on
    timings = interleaved({name: (lambda d=d: d.process(chunk)) for name, d in modes.items()}, MIN_RUNS, WARMUP)
    timings.check_single_threaded()
    stats = timings.summary()
    figures = {}
    for name, d in modes.items():
        macs = complexity(network, d.window_samples)["macs"]
        figures[name] = {"window_samples": d.window_samples, "hop_samples": d.hop_samples,
                         "latency_seconds": d.latency_seconds, "calls_per_second": d.calls_per_second,
                         "macs_per_call": macs, "macs_per_second": macs * d.calls_per_second,
                         "cpu_ms_per_minute": stats[name]["cpu_median_ms"], "wall_ms_per_minute": stats[name]["median_ms"],
                         "realtime_factor_cpu": 60e3 / stats[name]["cpu_median_ms"]}
    figures["10 s"]["tflm_arena_bytes"] = artefacts.manifest["micro"]["arena_bytes"]
    figures["low-latency"]["tflm_arena_bytes"] = artefacts.manifest["low_latency"]["micro"]["arena_bytes"]
    low, ten = figures["low-latency"], figures["10 s"]
    ratios = {key: low[key] / ten[key] for key in ("calls_per_second", "macs_per_second", "cpu_ms_per_minute")}
    results.record("low_latency", {
        "method": f"One minute of real noisy ECG per call into a running StreamingDenoiser of each int8 TFLite "
                  f"model (10 s overlap-add, low-latency overlap-save); {MIN_RUNS_NOTE}; {WARMUP} warm-up rounds. "
                  "MACs per call: ptflops on the network at each window.",
        "modes": figures, "low_latency_over_10_s": ratios, "other_threads_cpu_fraction": timings.other_threads_cpu_fraction,
    })
    require(results.gate("low-latency mode, algorithmic latency", low["latency_seconds"], "<=", LOW_LATENCY_MAX_SECONDS, "s"),
            results.gate("low-latency mode, MACs per second of signal / 10 s mode's", ratios["macs_per_second"], "<=",
                         LOW_LATENCY_COMPUTE_RATIO_MAX, "x"),
            results.gate("low-latency mode, TFLite Micro arena", low["tflm_arena_bytes"], "<=", LOW_LATENCY_ARENA_MAX_BYTES, "B"))
