"""ulde keeps freed memory for reuse in the processes it owns (ulde/allocator.py): the ulde-denoise command
and the pool's worker processes, never the process that imports the library."""

from __future__ import annotations

import platform
import subprocess
import sys

import numpy as np
import pytest

import ulde.batch
import ulde.denoise_cli
from tests.runtime_fixtures import ecg_like
from ulde.allocator import keep_freed_memory
from ulde.batch import Job, Settings, denoise_files

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="mallopt's thresholds are glibc's; elsewhere nothing is set")
def test_glibc_takes_the_thresholds_in_a_fresh_process():
    code = "from ulde.allocator import keep_freed_memory; print(keep_freed_memory(), keep_freed_memory())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "True"]


def test_the_command_sets_it_in_its_own_process(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(ulde.denoise_cli, "keep_freed_memory", lambda: calls.append("cli"))
    np.save(tmp_path / "a.npy", ecg_like(3600))
    assert ulde.denoise_cli.main([str(tmp_path / "a.npy"), "-o", str(tmp_path / "b.npy"), "-q", "--no-progress"]) == 0
    assert calls == ["cli"]


def test_pool_workers_set_it_and_a_single_worker_leaves_the_caller_alone(monkeypatch, tmp_path):
    started, opened = [], []
    monkeypatch.setattr("ulde.allocator.ctypes.CDLL", lambda *args: opened.append(args))  # in this process

    class RecordingPool(ulde.batch.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            started.append(kwargs.get("initializer"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(ulde.batch, "ProcessPoolExecutor", RecordingPool)
    for i in range(2):
        np.save(tmp_path / f"r{i}.npy", ecg_like(3600, seed=i))
    jobs = [Job(tmp_path / f"r{i}.npy", tmp_path / "out" / f"r{i}.npy") for i in range(2)]
    single = denoise_files(jobs[:1], Settings(fs=360.0))
    assert [r.status for r in single] == ["done"] and started == [] and opened == []
    pooled = denoise_files(jobs, Settings(fs=360.0, overwrite=True), workers=2)
    assert [r.status for r in pooled] == ["done", "done"]
    assert started == [keep_freed_memory] and opened == []
