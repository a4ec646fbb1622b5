"""Run a network over a batch of windows (evaluation mode, no gradients)."""

from __future__ import annotations

import numpy as np
import torch

from ulde.model.networks import UNet1d
from ulde.runtime.normalization import normalize
from ulde.runtime.signal_spec import WINDOW_SAMPLES


@torch.no_grad()
def predict(model: UNet1d, windows: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """(n, T) float32 noisy windows in mV -> (n, T) float32 denoised windows in mV, one window per call,
    with the network's own input normalization applied around it."""
    model.eval()
    windows = np.ascontiguousarray(windows, dtype=np.float32)
    normalized, scale = normalize(windows, model.config.input_normalization)
    out = [model(torch.from_numpy(normalized[i : i + batch_size])[:, None]).squeeze(1).numpy() for i in range(0, len(windows), batch_size)]
    return (np.concatenate(out) * scale).astype(np.float32) if out else np.empty_like(windows)


def predict_record(model: UNet1d, signal: np.ndarray) -> np.ndarray:
    """(n,) mV of a whole record -> (n,) float32 mV: consecutive windows, one model call each (the
    tables' protocol), the last window completed by mirroring the record's end."""
    signal = np.asarray(signal, dtype=np.float32)
    n, window = len(signal), WINDOW_SAMPLES
    padded = np.pad(signal, (0, -n % window), mode="symmetric")
    return predict(model, padded.reshape(-1, window)).reshape(-1)[:n]
