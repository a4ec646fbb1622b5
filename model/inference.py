"""Run a network over a batch of windows (evaluation mode, no gradients)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import torch

from ulde.model.networks import UNet1d
from ulde.runtime.normalization import Levels, normalize, trailing_levels
from ulde.runtime.signal_spec import (LOW_LATENCY_CONDITIONING_SPAN_SAMPLES, LOW_LATENCY_HOP_SAMPLES, LOW_LATENCY_KEPT_START,
                                     LOW_LATENCY_WINDOW_SAMPLES, TOTAL_STRIDE, WINDOW_SAMPLES)


@torch.no_grad()
def predict(model: UNet1d, windows: np.ndarray, batch_size: int = 64, levels: Levels | None = None) -> np.ndarray:
    """(n, T) float32 noisy windows in mV -> (n, T) float32 denoised windows in mV, one window per call,
    with the network's own input normalization applied around it (``levels`` (n, 1) each: where the
    conditioning span is not the window, runtime/normalization.py)."""
    model.eval()
    windows = np.ascontiguousarray(windows, dtype=np.float32)
    normalized, scale = normalize(windows, model.config.input_normalization, levels)
    out = [model(torch.from_numpy(normalized[i : i + batch_size])[:, None]).squeeze(1).numpy() for i in range(0, len(windows), batch_size)]
    return (np.concatenate(out) * scale).astype(np.float32) if out else np.empty_like(windows)


def predict_at_rate(model: UNet1d, windows: np.ndarray, windows_rate_hz: int, model_rate_hz: int) -> np.ndarray:
    """``predict`` for (n, T) windows at ``windows_rate_hz`` by a network trained at ``model_rate_hz``
    (a 360 Hz teacher distilling a student at a device's rate): each window polyphase-resampled to the
    network's rate (its end mirrored up to the total stride), run, resampled back and cut to T. Each
    window's mean is removed first, which the network's conditioning does anyway: scipy's resampler
    passes a constant with slightly different gains in its phases, so a 300 mV offset (training draws
    up to ±300 mV) would come out with a ±0.2 mV ripple. Beyond each window's ends it continues the
    line through the end samples (``padtype="line"``), not zeros that would ring. The first and last
    few samples are still less exact than the rest: good enough for a distillation target, not for
    scoring."""
    if windows_rate_hz == model_rate_hz:
        return predict(model, windows)
    from scipy.signal import resample_poly

    ratio = Fraction(model_rate_hz, windows_rate_hz)
    centred = np.asarray(windows, np.float64) - np.mean(windows, axis=-1, dtype=np.float64, keepdims=True)
    resampled = resample_poly(centred, ratio.numerator, ratio.denominator, axis=-1, padtype="line")
    padded = np.pad(resampled, ((0, 0), (0, -resampled.shape[-1] % TOTAL_STRIDE)), mode="symmetric")
    out = predict(model, padded.astype(np.float32))[:, : resampled.shape[-1]]
    back = resample_poly(out.astype(np.float64), ratio.denominator, ratio.numerator, axis=-1, padtype="line")
    return np.ascontiguousarray(back[:, : windows.shape[-1]], dtype=np.float32)


def predict_record(model: UNet1d, signal: np.ndarray) -> np.ndarray:
    """(n,) mV of a whole record -> (n,) float32 mV: consecutive windows, one model call each (the
    tables' protocol), the last window completed by mirroring the record's end."""
    signal = np.asarray(signal, dtype=np.float32)
    n, window = len(signal), WINDOW_SAMPLES
    padded = np.pad(signal, (0, -n % window), mode="symmetric")
    return predict(model, padded.reshape(-1, window)).reshape(-1)[:n]


def low_latency_frames(signals: np.ndarray, conditioning_span: int = LOW_LATENCY_CONDITIONING_SPAN_SAMPLES
                       ) -> tuple[np.ndarray, Levels]:
    """(n, L) signals -> overlap-save frames of the low-latency framing (runtime/signal_spec.py),
    (n, ceil(L / H), T), and their levels, (n, ceil(L / H), 1) each: each signal mirrored at both ends
    and its levels taken over its last ``conditioning_span`` padded samples (a model window's worth) up
    to each frame's end, as a stream of its own is (runtime/streaming.py). Frame k keeps samples
    kH .. kH + H - 1."""
    window, hop, kept = LOW_LATENCY_WINDOW_SAMPLES, LOW_LATENCY_HOP_SAMPLES, LOW_LATENCY_KEPT_START
    n = signals.shape[-1]
    count = -(-n // hop)
    padded = np.pad(signals, ((0, 0), (kept, (count - 1) * hop + window - kept - n)), mode="symmetric")
    frames = np.lib.stride_tricks.sliding_window_view(padded, window, axis=-1)[:, ::hop][:, :count]
    levels = trailing_levels(padded, [k * hop + window for k in range(count)], conditioning_span)
    return frames, Levels(*(part.transpose(1, 0, 2) for part in levels))


def kept_outputs(frames: np.ndarray) -> np.ndarray:
    """(..., T) frame outputs -> (..., H): the span the low-latency framing keeps."""
    return frames[..., LOW_LATENCY_KEPT_START : LOW_LATENCY_KEPT_START + LOW_LATENCY_HOP_SAMPLES]
