"""Where models live (package data found with importlib.resources) and what their manifest says.

A model's folder may hold ``manifest.json`` (written by ``ulde-export``); the runtime reads only
``sample_rate_hz``, ``recommended_hop_samples`` and, as a cross-check, ``window_samples`` from it.
Everything else (window length, dtypes, quantization) is read from the model file itself.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ulde.runtime.errors import ModelFileError
from ulde.runtime.normalization import NORMALIZATION_MODES, PEAK_FLOOR_MV
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

SHIPPED_FOLDER = "models"
DEFAULT_MODEL = "ulde_int8.tflite"
"""The default model: fully-int8 TFLite, int8 input/output."""
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Manifest:
    """The manifest fields the runtime uses (None where absent)."""

    sample_rate_hz: float
    recommended_hop_samples: int | None
    window_samples: int | None
    input_normalization: str = "none"  # see runtime/normalization.py; ulde's exports always state it


def shipped_model(name: str = DEFAULT_MODEL) -> Path:
    """Path of a model shipped in ``ulde.runtime``'s package data (it may not exist)."""
    return Path(str(resources.files("ulde.runtime") / SHIPPED_FOLDER / name))


def resolve_model(model: str | os.PathLike | None) -> Path:
    """The model path for ``model`` (None = the shipped int8 TFLite); FileNotFoundError if absent."""
    path = shipped_model() if model is None else Path(model).expanduser()
    if not path.is_file():
        hint = ("the shipped model is missing from this install: pass model=PATH, or run `ulde-export` "
                "and copy its files into ulde/runtime/models/") if model is None else "check the path"
        raise FileNotFoundError(f"model file {path} does not exist; {hint}")
    return path


def read_manifest(model_path: Path) -> Manifest:
    """The manifest next to ``model_path``; defaults from signal_spec when there is none."""
    path = model_path.parent / MANIFEST
    if not path.is_file():
        return Manifest(float(SAMPLE_RATE_HZ), None, None)
    try:
        data = json.loads(path.read_text())
        rate = float(data["sample_rate_hz"])
        hop = data.get("recommended_hop_samples")
        window = data.get("window_samples")
        hop, window = (None if v is None else int(v) for v in (hop, window))
        normalization = data.get("input_normalization", {"mode": "none"})
        mode, floor = normalization["mode"], normalization.get("peak_floor_mv", PEAK_FLOOR_MV)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"manifest {path} is unreadable or lacks sample_rate_hz ({exc})") from exc
    if not rate > 0:
        raise ModelFileError(f"manifest {path}: sample_rate_hz must be positive, got {rate}")
    if mode not in NORMALIZATION_MODES or floor != PEAK_FLOOR_MV:
        raise ModelFileError(f"manifest {path}: input normalization {normalization} is not one this runtime implements "
                             f"(modes {NORMALIZATION_MODES}, peak floor {PEAK_FLOOR_MV} mV)")
    return Manifest(rate, hop, window, mode)
