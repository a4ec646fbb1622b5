"""Which model files and checkpoint the benchmarks measure: the shipped ones, or those named by env vars.

    ULDE_BENCH_MODELS=/tmp/bench-models   folder of an ``ulde-export`` (ulde_int8_host.tflite, ulde_int8.tflite,
                                          ulde_float.tflite, ulde.onnx, ulde_int8_host_low_latency.tflite,
                                          manifest.json; ulde_int8.onnx if exported)
    ULDE_BENCH_CKPT=/tmp/s.pt             checkpoint for the torch eager reference and the parameter count

A missing file is an error, never a skip: these benchmarks gate a release.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ulde.export.manifest import MANIFEST_FILE as MANIFEST
from ulde.runtime.model_file import shipped_model

MODELS_ENV_VAR = "ULDE_BENCH_MODELS"
CHECKPOINT_ENV_VAR = "ULDE_BENCH_CKPT"
INT8_TFLITE, FLOAT_TFLITE, FLOAT_ONNX, INT8_ONNX = "ulde_int8_host.tflite", "ulde_float.tflite", "ulde.onnx", "ulde_int8.onnx"
"""INT8_TFLITE is the host graph, the one the runtime runs by default; MCU_INT8_TFLITE is the MCU graph."""
MCU_INT8_TFLITE = "ulde_int8.tflite"
INT8_LOW_LATENCY_TFLITE = "ulde_int8_host_low_latency.tflite"
REQUIRED = (INT8_TFLITE, MCU_INT8_TFLITE, FLOAT_TFLITE, FLOAT_ONNX, INT8_LOW_LATENCY_TFLITE, MANIFEST)


class MissingArtefactError(FileNotFoundError):
    """A model file, manifest or checkpoint the release benchmarks need is absent."""


@dataclass(frozen=True)
class Artefacts:
    """Paths of the exported models (int8_onnx None when not exported) and the export manifest."""

    folder: Path
    int8_tflite: Path  # the host graph (export/host_graph.py)
    mcu_int8_tflite: Path  # the MCU graph: TFLite Micro and the C array
    float_tflite: Path
    float_onnx: Path
    int8_onnx: Path | None
    int8_low_latency_tflite: Path
    manifest: dict
    origin: str  # "shipped" or "$ULDE_BENCH_MODELS"


def find_artefacts() -> Artefacts:
    """The exported models from $ULDE_BENCH_MODELS, else the shipped runtime/models/; MissingArtefactError if incomplete."""
    chosen = os.environ.get(MODELS_ENV_VAR)
    folder = Path(chosen).expanduser() if chosen else shipped_model().parent
    origin = f"${MODELS_ENV_VAR}" if chosen else "shipped"
    missing = [name for name in REQUIRED if not (folder / name).is_file()]
    if missing:
        raise MissingArtefactError(
            f"release benchmarks need {', '.join(missing)} in {folder} ({origin} models): run "
            "`ulde-export --int8 --data-dir DIR --out runtime/models` (exports the shipped student), "
            f"or point {MODELS_ENV_VAR} at an export folder"
        )
    int8_onnx = folder / INT8_ONNX
    return Artefacts(folder, folder / INT8_TFLITE, folder / MCU_INT8_TFLITE, folder / FLOAT_TFLITE, folder / FLOAT_ONNX,
                     int8_onnx if int8_onnx.is_file() else None, folder / INT8_LOW_LATENCY_TFLITE, json.loads((folder / MANIFEST).read_text()), origin)


def find_checkpoint() -> Path:
    """The checkpoint from $ULDE_BENCH_CKPT, else the shipped student; MissingArtefactError if absent."""
    from ulde.model.checkpoint import shipped_checkpoint

    chosen = os.environ.get(CHECKPOINT_ENV_VAR)
    path = Path(chosen).expanduser() if chosen else shipped_checkpoint()
    if not path.is_file():
        where = f"${CHECKPOINT_ENV_VAR}" if chosen else "the shipped student (model/checkpoints/student.pt)"
        raise MissingArtefactError(f"release benchmarks need the checkpoint {path} ({where}) for the torch eager "
                                   f"reference and the parameter count; set {CHECKPOINT_ENV_VAR} to another one")
    return path
