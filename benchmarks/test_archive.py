"""Archive throughput of ``ulde.batch.denoise_files`` and the memory of ``ulde-denoise`` on a 24 h record.

Throughput: ARCHIVE_FILES .npy files of ARCHIVE_MINUTES each (real ECG, tiled) through the int8 model,
on 1 and on 2 worker processes, alternated ROUNDS times in one run; throughput from the best round
(wall clock, worker start-up included), the speed-up the median of the rounds' ratios (a noisy round on
a shared host moves it least). Gate: 2 workers at least ARCHIVE_SPEEDUP_MIN times 1 worker,
on a host with at least 2 usable cores. Memory: a fresh ``ulde-denoise`` on a 24 h .npy and a 24 h
EDF+ record, peak RSS of that process (its ru_maxrss, read by a parent that runs nothing else).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from benchmarks.bounds import ARCHIVE_PEAK_RSS_MAX_MIB, ARCHIVE_SPEEDUP_MIN
from benchmarks.collector import require
from tests.support import REPO_ROOT
from ulde.batch import Job, Settings, default_workers, denoise_files
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

ARCHIVE_FILES, ARCHIVE_MINUTES, ROUNDS = 32, 50, 3
DAY_SAMPLES = 24 * 3600 * SAMPLE_RATE_HZ
CHILD_TIMEOUT_S = 300
PEAK_RSS_OF_CHILD = ("import json, resource, subprocess, sys; done = subprocess.run(sys.argv[1:], capture_output=True, "
                     "text=True); print(json.dumps({'rc': done.returncode, 'stderr': done.stderr[-2000:], "
                     "'peak_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))")


def tiled(signal: np.ndarray, samples: int) -> np.ndarray:
    return np.resize(np.asarray(signal, dtype=np.float32), samples)


def test_archive_throughput_scales_with_workers(artefacts, signal, results, tmp_path):
    bank = tmp_path / "bank"
    bank.mkdir()
    per_file = ARCHIVE_MINUTES * 60 * SAMPLE_RATE_HZ
    for i in range(ARCHIVE_FILES):
        np.save(bank / f"r{i:02d}.npy", np.roll(tiled(signal, per_file), i * 997))
    settings = Settings(model=str(artefacts.int8_tflite), fs=float(SAMPLE_RATE_HZ), overwrite=True)
    rounds = {1: [], 2: []}
    for _ in range(ROUNDS):
        for workers, walls in rounds.items():
            jobs = [Job(bank / f"r{i:02d}.npy", tmp_path / f"out{workers}" / f"r{i:02d}.npy") for i in range(ARCHIVE_FILES)]
            started = time.perf_counter()
            done = denoise_files(jobs, settings, workers=workers)
            walls.append(time.perf_counter() - started)
            assert [r.status for r in done] == ["done"] * ARCHIVE_FILES, [r.reason for r in done if r.reason]
    best = {workers: min(walls) for workers, walls in rounds.items()}
    for i in range(ARCHIVE_FILES):
        assert np.array_equal(np.load(tmp_path / "out1" / f"r{i:02d}.npy"), np.load(tmp_path / "out2" / f"r{i:02d}.npy"))
    samples = ARCHIVE_FILES * per_file
    speedup = float(np.median([one / two for one, two in zip(rounds[1], rounds[2])]))
    cores = default_workers()
    results.record("archive", {
        "method": f"ulde.batch.denoise_files over {ARCHIVE_FILES} .npy files of {ARCHIVE_MINUTES} min (real ECG tiled, "
                  f"360 Hz) with {artefacts.int8_tflite.name}, 1 and 2 worker processes (spawned, 1 interpreter "
                  f"thread each; 1 worker runs in the calling process, as --jobs 1 does) alternated {ROUNDS} times; "
                  f"throughput from the best round's wall clock, worker start-up included; speed-up = median of the "
                  f"rounds' ratios.",
        "files": ARCHIVE_FILES, "samples": samples, "usable_cores": cores,
        "wall_seconds": {str(k): v for k, v in best.items()},
        "wall_seconds_per_round": {str(k): v for k, v in rounds.items()},
        "samples_per_second": {str(k): samples / v for k, v in best.items()},
        "samples_per_second_per_core": samples / best[1], "speedup_2_over_1": speedup,
    })
    if cores < 2:
        pytest.skip(f"this host has {cores} usable core(s): the 2-worker speed-up gate needs 2")
    require(results.gate("archive throughput, 2 workers over 1", speedup, ">=", ARCHIVE_SPEEDUP_MIN, "x"))


def write_day_edf(path, signal: np.ndarray) -> None:
    import pyedflib

    writer = pyedflib.EdfWriter(str(path), 1, file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        writer.setSignalHeaders([dict(label="ECG II", dimension="mV", sample_frequency=SAMPLE_RATE_HZ, physical_min=-10.0,
                                      physical_max=10.0, digital_min=-32768, digital_max=32767, transducer="", prefilter="")])
        hour = 3600 * SAMPLE_RATE_HZ
        for start in range(0, len(signal), hour):
            writer.writeSamples([np.ascontiguousarray(signal[start : start + hour], dtype=np.float64)])
    finally:
        writer.close()


def test_a_24_hour_record_is_denoised_in_bounded_memory(artefacts, signal, results, tmp_path):
    day = np.roll(tiled(signal, DAY_SAMPLES), 12345)
    np.save(tmp_path / "day.npy", day)
    write_day_edf(tmp_path / "day.edf", day)
    figures = {}
    for name in ("day.npy", "day.edf"):
        out = tmp_path / f"out_{name}"
        command = [sys.executable, "-c", PEAK_RSS_OF_CHILD, sys.executable, "-m", "ulde.denoise_cli", str(tmp_path / name),
                   "-o", str(out), "--model", str(artefacts.int8_tflite), "--no-progress", "-q"]
        command += ["--fs", str(SAMPLE_RATE_HZ)] if name.endswith(".npy") else []
        started = time.perf_counter()
        child = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
        seconds = time.perf_counter() - started
        report = json.loads(child.stdout.strip().splitlines()[-1])
        assert report["rc"] == 0, report["stderr"]
        assert out.is_file() and out.stat().st_size > 0
        figures[name] = {"peak_rss_mib": report["peak_kib"] / 1024, "wall_seconds": seconds}
    results.record("archive", {"day_record": {
        "method": "a fresh `python -m ulde.denoise_cli DAY -o OUT` on 24 h of one lead at 360 Hz (real ECG tiled); "
                  "peak RSS = the child's ru_maxrss (MiB = 2**20 bytes), wall clock including start-up.",
        "samples": DAY_SAMPLES, **figures}})
    require(*(results.gate(f"peak RSS, ulde-denoise on a 24 h {name.split('.')[1]} record", f["peak_rss_mib"], "<=",
                           ARCHIVE_PEAK_RSS_MAX_MIB, "MiB") for name, f in figures.items()))
