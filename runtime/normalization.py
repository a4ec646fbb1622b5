"""Per-window input normalization, part of the model contract (numpy only).

A network trained with ``"peak"`` normalization sees every window divided by its own peak amplitude,
``scale = max(max|x|, PEAK_FLOOR_MV)``, and its output is multiplied back by the same scale. Every
window then fills the int8 input range whatever the lead's amplitude, so the int8 model rounds a
0.5 mV lead as finely as a 4 mV one. Training, evaluation, export and the runtime all call
``normalize``; the mode travels in the checkpoint's config and the export manifest.
"""

from __future__ import annotations

import numpy as np

NORMALIZATION_MODES = ("none", "peak")
PEAK_FLOOR_MV = 0.1
"""Smallest divisor in mV: a flat or leads-off window is not blown up into noise."""


def window_scale(windows: np.ndarray, mode: str) -> np.ndarray:
    """Per-window divisor, shape (..., 1), float32: the peak |x| over the last axis, or ones for "none"."""
    if mode not in NORMALIZATION_MODES:
        raise ValueError(f"unknown input normalization {mode!r}; expected one of {NORMALIZATION_MODES}")
    windows = np.asarray(windows, dtype=np.float32)
    if mode == "none":
        return np.ones(windows.shape[:-1] + (1,), dtype=np.float32)
    if not windows.shape[-1]:
        return np.full(windows.shape[:-1] + (1,), PEAK_FLOOR_MV, dtype=np.float32)
    peak = np.abs(windows).max(axis=-1, keepdims=True)
    return np.maximum(peak, np.float32(PEAK_FLOOR_MV), out=peak)


def normalize(windows: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(network input (..., T) float32, scale (..., 1) float32 to multiply the network's output by)."""
    scale = window_scale(windows, mode)
    return np.asarray(windows, dtype=np.float32) / scale, scale
