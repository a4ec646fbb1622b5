"""The small real-ECG sets shipped in ``export/calibration/`` for exports without a data directory.

Windows are stored as int16 first differences in microvolts (``np.savez_compressed``): 1 uV is far
below the int8 model's step (~35 uV) and the differencing lets zlib compress the smooth ECG, so both
sets fit the 1 MB package-data budget. Regenerate them from the data directory with

    python -m ulde.export.make_shipped_data --data-dir "$ULDE_DATA"

which is deterministic (fixed seeds) and rewrites ``calibration.npz`` and ``parity.npz``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np


RESOLUTION_MV = 1e-3  # 1 uV per int16 step
CALIBRATION_FILE = "calibration.npz"
PARITY_FILE = "parity.npz"


def shipped_dir() -> Path:
    return Path(str(resources.files("ulde.export") / "calibration"))


def encode(windows: np.ndarray) -> np.ndarray:
    """(n, T) float mV -> (n, T) int16 first differences in RESOLUTION_MV steps (first column absolute)."""
    steps = np.round(np.asarray(windows, dtype=np.float64) / RESOLUTION_MV).astype(np.int64)
    deltas = np.diff(steps, axis=-1, prepend=0)
    if np.abs(deltas).max() > np.iinfo(np.int16).max:
        raise ValueError("window too steep to store as int16 differences at 1 uV")
    return deltas.astype(np.int16)


def decode(deltas: np.ndarray) -> np.ndarray:
    return (np.cumsum(deltas.astype(np.int64), axis=-1) * RESOLUTION_MV).astype(np.float32)


def load(name: str) -> dict[str, np.ndarray]:
    """Every array of one shipped file, decoded to float32 mV (string arrays as they are)."""
    path = shipped_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"shipped set {path} is missing; regenerate it: python -m ulde.export.make_shipped_data --data-dir DIR")
    with np.load(path) as stored:
        return {k: decode(v) if v.dtype == np.int16 else v for k, v in stored.items()}
