"""manifest.json: what was exported, from what, with which tools, and how to feed each artefact.

The runtime reads ``sample_rate_hz``, ``window_samples`` and ``recommended_hop_samples`` at the top
level and the I/O tensor details (name, shape, dtype, scale, zero point) under ``artefacts``.
"""

from __future__ import annotations

import json
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ulde.model.checkpoint import file_sha256
from ulde.model.provenance import provenance
from ulde.export.variants import Variant

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = "ulde-export-manifest/1"
DISTRIBUTIONS = ("torch", "onnx", "onnxscript", "onnxruntime", "onnxsim", "onnx2tf", ("tensorflow", "tensorflow-cpu"),
                 "tf_keras", "ai-edge-litert", "tflite-micro", "numpy", "flatbuffers")


def library_versions() -> dict[str, str]:
    """Installed versions of every library the export touches (from package metadata, nothing imported)."""
    found = {"python": platform.python_version()}
    for names in DISTRIBUTIONS:
        for name in (names,) if isinstance(names, str) else names:
            try:
                found[name] = version(name)
                break
            except PackageNotFoundError:
                continue
    return found


def describe_file(path: Path, **details) -> dict:
    return {"bytes": path.stat().st_size, "sha256": file_sha256(path), **details}


def build_manifest(checkpoint: dict, artefacts: dict[str, dict], rate_hz: int, ten_second: Variant, sections: dict) -> dict:
    """``checkpoint``: path, sha256, config, meta; ``artefacts``: file name -> describe_file(...) entry;
    ``rate_hz`` and ``ten_second``: the models' rate and 10 s form; ``sections``: further top-level
    entries (calibration, parity, micro, onnx, converters)."""
    return {
        "format": MANIFEST_FORMAT,
        **provenance(),
        "sample_rate_hz": rate_hz,
        "window_samples": ten_second.window,
        "recommended_hop_samples": ten_second.hop,
        "checkpoint": checkpoint,
        "artefacts": dict(sorted(artefacts.items())),
        **sections,
        "library_versions": library_versions(),
    }


def write_manifest(manifest: dict, folder: Path) -> Path:
    path = folder / MANIFEST_FILE
    path.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    return path
