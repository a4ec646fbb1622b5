"""Child process of the memory benchmark: import the runtime, stream N minutes, report resident memory.

    python -m benchmarks.stream_rss MODEL SIGNAL.npy --minutes 60 --sample-at 10

Imports only numpy and ``ulde.runtime`` (plus the model's interpreter), as a firmware host app would.
The stream is fed one second at a time, cycling through SIGNAL (a short real ECG excerpt in mV), so
the input held in memory is constant. Prints one JSON line: resident set size (VmRSS) and its peak
(VmHWM) in MiB after the imports, after the model is loaded, and after each sampled minute.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

MIB = 2**20
CHILD_TIMEOUT_S = 300


def run_child(model: Path, signal: Path, minutes: int, sample_at=(), cwd: Path | None = None) -> dict:
    """Run this module as a fresh ``python -m benchmarks.stream_rss`` process (the benchmarks' parent side;
    ``cwd`` must hold ``benchmarks/``) and return its report; RuntimeError with its stderr if it fails."""
    import subprocess  # the parent's import: the child itself keeps its resident memory free of it

    command = [sys.executable, "-m", "benchmarks.stream_rss", str(model), str(signal), "--minutes", str(minutes)]
    for minute in sample_at:
        command += ["--sample-at", str(minute)]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def memory_mib() -> dict:
    """Current and peak resident set size of this process in MiB (current is None off Linux)."""
    status = Path("/proc/self/status")
    if status.is_file():
        fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        kib = {key: int(fields[key].split()[0]) for key in ("VmRSS", "VmHWM")}
        return {"rss_mib": kib["VmRSS"] * 1024 / MIB, "peak_mib": kib["VmHWM"] * 1024 / MIB}
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS, KiB elsewhere
    return {"rss_mib": None, "peak_mib": peak / MIB if sys.platform == "darwin" else peak * 1024 / MIB}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("signal", type=Path, help=".npy of float32 mV samples, cycled through")
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--sample-at", type=int, action="append", default=[], help="minute to sample memory at (repeatable)")
    args = parser.parse_args(argv)

    import numpy as np

    from ulde.runtime import StreamingDenoiser

    report = {"after_import": memory_mib()}
    started = time.perf_counter()
    stream = StreamingDenoiser(args.model, num_threads=1)
    report["after_load"] = memory_mib()
    signal = np.load(args.signal).astype(np.float32)
    second = int(stream.sample_rate_hz)
    if signal.size % second:
        raise SystemExit(f"signal of {signal.size} samples is not a whole number of seconds at {second} Hz")
    seconds = signal.reshape(-1, second)
    fed = returned = 0
    samples = {}
    for s in range(args.minutes * 60):
        returned += len(stream.process(seconds[s % len(seconds)]))
        fed += second
        if (s + 1) % 60 == 0 and (s + 1) // 60 in args.sample_at:
            samples[str((s + 1) // 60)] = memory_mib()
    returned += len(stream.flush())
    report.update(minutes=samples, end=memory_mib(), samples_fed=fed, samples_returned=returned,
                  chunk_samples=second, backend=stream.backend, wall_seconds=time.perf_counter() - started)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
