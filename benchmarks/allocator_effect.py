"""Per-file time and kernel time of ``ulde.batch.denoise_file`` with glibc's default allocator and with
ulde's setting (ulde/allocator.py), each in a fresh process on the same 50 min file (docs/archives.md).

    python -m benchmarks.allocator_effect [--files 20] [--rounds 2]

Prints, per process and round: seconds per file (wall), user and kernel CPU seconds per file, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

FILE_MINUTES = 50


def child(folder: Path, files: int, rounds: int, tuned: bool) -> list[dict]:
    from ulde.allocator import keep_freed_memory
    from ulde.batch import Job, Settings, denoise_file

    if tuned and not keep_freed_memory():
        raise SystemExit("this C library takes no mallopt thresholds: nothing to compare")
    settings = Settings(fs=float(SAMPLE_RATE_HZ), overwrite=True)
    job = Job(folder / "in.npy", folder / f"out_{tuned}.npy")
    denoise_file(job, settings)  # imports and caches warmed
    figures = []
    for _ in range(rounds):
        before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        for _ in range(files):
            assert denoise_file(job, settings).status == "done"
        after = resource.getrusage(resource.RUSAGE_SELF)
        figures.append({"seconds_per_file": (time.perf_counter() - started) / files,
                        "user_per_file": (after.ru_utime - before.ru_utime) / files,
                        "kernel_per_file": (after.ru_stime - before.ru_stime) / files,
                        "peak_rss_mib": after.ru_maxrss / 1024})
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", choices=("default", "tuned"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.folder, args.files, args.rounds, args.child == "tuned")))
        return
    from benchmarks.datasource import load_eval_data, real_signal

    ecg = real_signal(load_eval_data(), 2 * 60 * SAMPLE_RATE_HZ)  # the benchmarks' real noisy ECG
    with tempfile.TemporaryDirectory() as folder:
        np.save(Path(folder) / "in.npy", np.resize(ecg.astype(np.float32), FILE_MINUTES * 60 * SAMPLE_RATE_HZ))
        for mode in ("default", "tuned"):
            done = subprocess.run([sys.executable, "-m", "benchmarks.allocator_effect", "--child", mode, "--folder", folder,
                                   "--files", str(args.files), "--rounds", str(args.rounds)],
                                  capture_output=True, text=True, check=True)
            for k, figures in enumerate(json.loads(done.stdout)):
                print(f"{mode:8s} round {k + 1}: " + ", ".join(f"{name} {value:.4g}" for name, value in figures.items()))


if __name__ == "__main__":
    main()
