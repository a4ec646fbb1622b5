"""Per-window input conditioning, part of the model contract (numpy only).

Modes (the mode travels in the checkpoint's config and the export manifest):

- ``"none"``: the window as it is.
- ``"peak"``: the window divided by its own peak amplitude, ``s = max(max|x|, PEAK_FLOOR_MV)``; the
  network's output is multiplied back by ``s``. Every window then fills the int8 input range whatever
  the lead's amplitude, so the int8 model rounds a 0.5 mV lead as finely as a 4 mV one.
- ``"mean-peak"``: the window's mean is removed first (the offset of a DC-coupled front-end, or of a
  storage format), then the peak normalization is applied to what is left:
  ``m = mean(x)``, ``s = max(max|x - m|, PEAK_FLOOR_MV)``, network input ``(x - m) / s``. The output
  multiplied back by ``s`` is the denoised ECG around a zero-mean baseline: ``m`` is not added back, so
  a constant offset, however large, changes nothing downstream. The mean, not the median: clean ECG
  baseline-corrected by a high-pass (the training reference, model/records.py) has a zero mean, while
  its median sits on the isoelectric line, which tall R and T waves push below zero; removing the
  median would shift clean ECG by that much (docs/fidelity.md measures both).

The conditioning span. A 10 s model's frame is its own span (``m`` and ``s`` are the frame's). A
low-latency model's frames are 1.4 s long: the mean of so short a frame moves with where it cuts the
beats (removed and not added back, it changes clean ECG from frame to frame), and its peak with whether
it holds a noise burst or a tall beat, so the network would see each frame at another scale than the
10 s windows it learnt on. Its contract therefore states a span W longer than the frame: ``m`` is the
mean and ``s`` the peak |x - m| (floored) of the stream's last W samples up to the frame's end
(``trailing_levels``; fewer at the stream's start), which adds no delay. With W = 10 s a frame is
conditioned as the 10 s window ending with it would be.

Training, evaluation, export and the runtime all call ``normalize``: the network input and the scale
come from one function everywhere.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

NORMALIZATION_MODES = ("none", "peak", "mean-peak")
PEAK_FLOOR_MV = 0.1
"""Smallest divisor in mV: a flat or leads-off window is not blown up into noise."""

NORMALIZATION_RULES = {
    "none": "network input = x; denoised = network output",
    "peak": "network input = x / s, denoised = network output * s, s = max(max|x| over the window, floor)",
    "mean-peak": ("over the span (the stream's last conditioning_span_samples samples up to the window's end: the "
                  "window itself when the span equals it; fewer at the stream's start), m = mean, "
                  "s = max(max|x - m|, floor); network input = (x - m) / s, denoised = network output * s "
                  "(around a zero baseline: m is not added back)"),
}
"""The rule of each mode in words, as ``manifest.json`` states it for firmware."""


def _samples(windows: np.ndarray) -> np.ndarray:
    """float64 windows as they are, anything else as float32 (float32 streams, training batches)."""
    windows = np.asarray(windows)
    return windows if windows.dtype == np.float64 else windows.astype(np.float32, copy=False)


def check_mode(mode: str) -> None:
    if mode not in NORMALIZATION_MODES:
        raise ValueError(f"unknown input normalization {mode!r}; expected one of {NORMALIZATION_MODES}")


def window_offset(windows: np.ndarray, mode: str) -> np.ndarray:
    """Per-window level removed before scaling, shape (..., 1), float64: the mean (accumulated in
    float64), or zeros."""
    check_mode(mode)
    windows = _samples(windows)
    if mode != "mean-peak" or not windows.shape[-1]:
        return np.zeros(windows.shape[:-1] + (1,), dtype=np.float64)
    return np.mean(windows, axis=-1, keepdims=True, dtype=np.float64)


def window_scale(windows: np.ndarray, mode: str) -> np.ndarray:
    """Per-window divisor, shape (..., 1), float32: the peak |x| (after the offset) over the last axis,
    or ones for "none". ``windows`` are taken as given: pass them with the offset already removed."""
    check_mode(mode)
    windows = np.asarray(windows)
    if mode == "none":
        return np.ones(windows.shape[:-1] + (1,), dtype=np.float32)
    if not windows.shape[-1]:
        return np.full(windows.shape[:-1] + (1,), PEAK_FLOOR_MV, dtype=np.float32)
    peak = np.abs(windows).max(axis=-1, keepdims=True).astype(np.float32, copy=False)
    return np.maximum(peak, np.float32(PEAK_FLOOR_MV), out=peak)


class Levels(NamedTuple):
    """The "mean-peak" levels of windows taken over a span longer than each window: ``offsets`` m and
    ``peaks`` max|x - m| (before the floor), each (..., 1) float64."""

    offsets: np.ndarray
    peaks: np.ndarray

    def select(self, index) -> Levels:
        """The levels of ``windows[index]``."""
        return Levels(self.offsets[index], self.peaks[index])


def span_levels(spans: np.ndarray) -> Levels:
    """Levels of (..., W) spans: the mean (float64) and the peak |x - mean|, each (..., 1)."""
    spans = np.asarray(spans, dtype=np.float64)
    offsets = np.mean(spans, axis=-1, keepdims=True)
    peaks = np.maximum(spans.max(axis=-1, keepdims=True) - offsets, offsets - spans.min(axis=-1, keepdims=True))
    return Levels(offsets, peaks)


def trailing_levels(padded: np.ndarray, ends, span: int) -> Levels:
    """Levels of ``padded[..., max(0, e - span) : e]`` for each frame end e, (len(ends), ..., 1) each.

    ``padded`` is a stream on its (mirror-)padded axis, ``(..., n)``; each level is taken over a
    contiguous float64 copy of exactly those samples, so it depends only on their values, never on how
    the stream was cut into chunks."""
    samples = np.asarray(padded)
    if not len(ends):
        empty = np.zeros((0,) + samples.shape[:-1] + (1,), dtype=np.float64)
        return Levels(empty, empty.copy())
    levels = [span_levels(samples[..., max(0, end - span) : end]) for end in ends]
    return Levels(np.stack([level.offsets for level in levels]), np.stack([level.peaks for level in levels]))


def normalize(windows: np.ndarray, mode: str, levels: Levels | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(network input (..., T) float32, scale (..., 1) float32 to multiply the network's output by).

    ``levels``: the offset and peak to use, for a contract whose conditioning span is longer than the
    window (``trailing_levels``); None = the mode's own, over each window. The offset is subtracted in float64 and the difference rounded to float32 once, whatever the
    windows' dtype: a constant offset then leaves the network input unchanged (up to float64
    rounding), bit for bit in practice, and the same samples give the same network input whether they
    arrive as float32 or float64. The scaling runs in float32."""
    windows = _samples(windows)
    if levels is not None and mode != "mean-peak":
        raise ValueError(f"span levels apply to the 'mean-peak' conditioning only, not {mode!r}")
    level = window_offset(windows, mode) if levels is None else np.asarray(levels.offsets, dtype=np.float64)
    centred = np.subtract(windows, level, out=np.empty(windows.shape, dtype=np.float32),
                          casting="same_kind")
    if levels is None:
        scale = window_scale(centred, mode)
    else:
        scale = np.maximum(np.asarray(levels.peaks, dtype=np.float32), np.float32(PEAK_FLOOR_MV))
    return np.divide(centred, scale, out=centred), scale
