"""Memory of a fresh process that imports the runtime and streams one hour through the int8 model.

The child (benchmarks/stream_rss.py) imports only numpy and ulde.runtime, streams 60 min of real ECG
one second at a time and reports its resident set size (VmRSS) and peak (VmHWM) at minutes 10 and 60.
Gates: peak <= PEAK_RSS_MAX_MIB (bounds.py), and neither RSS nor its peak grows more than 2 % from minute 10 to minute 60 (a leak of even a few
bytes per call would show: the stream makes 600 more interpreter calls in between).
"""

from __future__ import annotations

import numpy as np

from benchmarks.bounds import PEAK_RSS_MAX_MIB, RSS_GROWTH_MAX
from benchmarks.collector import require
from benchmarks.stream_rss import run_child
from tests.support import REPO_ROOT
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

FROM_MINUTE, TO_MINUTE = 10, 60


def test_fresh_process_streams_an_hour_in_bounded_memory(artefacts, signal, results, tmp_path):
    minute = tmp_path / "minute.npy"
    np.save(minute, signal[: 60 * SAMPLE_RATE_HZ])
    report = run_child(artefacts.int8_tflite, minute, TO_MINUTE, sample_at=(FROM_MINUTE, TO_MINUTE), cwd=REPO_ROOT)
    assert report["samples_fed"] == report["samples_returned"] == TO_MINUTE * 60 * SAMPLE_RATE_HZ
    start, end = report["minutes"][str(FROM_MINUTE)], report["minutes"][str(TO_MINUTE)]
    peak = report["end"]["peak_mib"]
    growth = {key: (end[key] - start[key]) / start[key] for key in ("rss_mib", "peak_mib") if start[key] is not None}
    results.record("memory", {
        "method": f"A fresh `python -m benchmarks.stream_rss` imports numpy and ulde.runtime, loads "
                  f"{artefacts.int8_tflite.name} (LiteRT, 1 thread) and streams {TO_MINUTE} min of real ECG in "
                  f"{report['chunk_samples']}-sample chunks; RSS = VmRSS, peak = VmHWM (MiB = 2**20 bytes).",
        **report, "model": artefacts.int8_tflite.name, "from_minute": FROM_MINUTE, "to_minute": TO_MINUTE,
        "peak_mib": peak, "growth": growth, "max_growth": max(growth.values()),
    })
    require(results.gate(f"peak RSS, fresh process streaming {TO_MINUTE} min (int8)", peak, "<=", PEAK_RSS_MAX_MIB, "MiB"),
            results.gate(f"RSS and peak RSS growth, minute {FROM_MINUTE} to {TO_MINUTE}", 100 * max(growth.values()),
                         "<=", 100 * RSS_GROWTH_MAX, "%"))
