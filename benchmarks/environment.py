"""Where and how the figures were measured: machine, load, library versions, threads, date and commit."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ulde import __version__
from ulde.export.manifest import library_versions
from ulde.model.provenance import git_commit

RUNTIME_LIBRARIES = ("python", "numpy", "ai-edge-litert", "onnxruntime", "torch", "tflite-micro")
EXTRA_LIBRARIES = ("scipy",)  # the band-pass baseline
THREADS = 1
"""Every contender runs on one thread: LiteRT num_threads, onnxruntime intra-op threads, torch threads."""


def pin_threads() -> None:
    """One thread for the libraries that read it from the environment (set before they start pools)."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(THREADS)


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


SIMD_FLAGS = ("sse4_2", "avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")
"""The CPU flags that decide which int8 and float kernels XNNPACK can use."""


def cpu_flags() -> list[str]:
    """Which of SIMD_FLAGS this CPU has (Linux /proc/cpuinfo; empty where it cannot be read)."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return []
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            present = set(line.split(":", 1)[1].split())
            return [f for f in SIMD_FLAGS if f in present]
    return []


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def libraries() -> dict[str, str]:
    found = {k: v for k, v in library_versions().items() if k in RUNTIME_LIBRARIES}
    for name in EXTRA_LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return {"ulde": __version__, **found}


def describe(started: datetime, load_at_start: list[float] | None, models: dict) -> dict:
    """The environment block of the results (``models``: where the measured artefacts came from)."""
    import torch

    return {
        "date_utc": started.astimezone(timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": {"cpu": cpu_model(), "cpu_flags": cpu_flags(), "logical_cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_average_start": load_at_start, "load_average_end": load_average()},
        "threads": {"litert": THREADS, "onnxruntime_intra_op": THREADS, "torch": torch.get_num_threads(),
                    "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")},
        "libraries": libraries(),
        "models": models,
    }
