"""Signal quality of each released block: the input SNR it had, estimated from what the model removed.

For a block of released samples (H samples at the model's rate, or its real part at a stream's ends),
with x the input and y the denoised output over it:

    estimated input SNR = 10 log10( sum (y - mean y)^2 / sum (e - mean e)^2 ),   e = x - y

in dB: the power of what the model kept over the power of what it removed, each about its block mean
(a constant offset is neither ECG nor noise). It is clipped to [-QUALITY_LIMIT_DB, +QUALITY_LIMIT_DB];
a flat block (leads off) reads about 0 dB. Each block's figure depends on that block's samples alone, so
streaming gives it exactly as offline does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

QUALITY_LIMIT_DB = 60.0
POWER_FLOOR_MV2 = 1e-12
"""Added to both powers: a block with neither signal nor removed noise reads 0 dB, not NaN."""


def block_snr_db(inputs: np.ndarray, outputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per-sample estimated input SNR (leads, m) float32 for consecutive blocks of ``lengths`` samples of
    (leads, m) ``inputs`` and ``outputs`` (each sample gets its block's figure)."""
    if not inputs.shape[1]:
        return np.zeros(inputs.shape, dtype=np.float32)
    kept = outputs.astype(np.float64)
    removed = inputs - kept
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    powers = [_centred_energy(part, starts, lengths) for part in (kept, removed)]
    ratio = (powers[0] + POWER_FLOOR_MV2) / (powers[1] + POWER_FLOOR_MV2)
    snr = np.clip(10.0 * np.log10(ratio), -QUALITY_LIMIT_DB, QUALITY_LIMIT_DB).astype(np.float32)
    return np.repeat(snr, lengths, axis=1)


def _centred_energy(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """sum (v - mean v)^2 over each block, (leads, blocks) float64."""
    total = np.add.reduceat(values, starts, axis=1)
    squares = np.add.reduceat(values * values, starts, axis=1)
    return np.maximum(squares - total * total / lengths, 0.0)


@dataclass
class QualityTrack:
    """Model-rate quality values not yet matched to a device-rate output (a resampled stream's state)."""

    values: np.ndarray  # (leads, v) float32, model-rate samples from ``first`` on
    first: int = 0  # model-rate index of values[:, 0]

    def copy(self) -> QualityTrack:
        return replace(self, values=self.values.copy())


def at_device_rate(track: QualityTrack, released: np.ndarray, outputs: range, up: int, down: int,
                   model_samples: int) -> np.ndarray:
    """Append the model-rate ``released`` quality to ``track``; return the quality of device-rate
    ``outputs`` (the indices just emitted by the model -> device resampler of factors up/down): each
    output takes the model-rate sample nearest its time, the last of the ``model_samples`` at the end."""
    track.values = np.concatenate((track.values, released), axis=1)
    if not len(outputs):
        return np.zeros((track.values.shape[0], 0), dtype=np.float32)
    nearest = np.minimum((2 * np.arange(outputs.start, outputs.stop) * down + up) // (2 * up), model_samples - 1)
    picked = track.values[:, nearest - track.first]
    drop = int(nearest[-1]) - track.first
    track.values, track.first = track.values[:, drop:], track.first + drop
    return picked
