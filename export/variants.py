"""The two forms of the network one export writes: the 10 s overlap-add model and the low-latency
overlap-save model (runtime/framing.py), with what differs between them: the window, the framing,
the file names, and how evaluation windows become the model's inputs and back. Both at the rate the
network was trained at (``variants_at``): the 10 s window is 10 s of that rate, the low-latency frames
are the same samples at any rate (they follow the network's receptive field, counted in samples)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ulde.model.inference import kept_outputs, low_latency_frames
from ulde.runtime.framing import OVERLAP_ADD, OVERLAP_SAVE, framing_latency
from ulde.runtime.normalization import Levels
from ulde.runtime.signal_spec import (LOW_LATENCY_HOP_SAMPLES, LOW_LATENCY_KEPT_START, LOW_LATENCY_WINDOW_SAMPLES,
                                     SAMPLE_RATE_HZ, window_samples_at)

LOW_LATENCY_SUBSAMPLE = 16
"""Low-latency calibration and TFLM run: every 16th frame of the windows' frames (a frame every 2.8 s,
still hundreds of frames); parity uses every frame."""


@dataclass(frozen=True)
class Variant:
    """One exported form: window T, hop H and kept start (0 for overlap-add), the suffix of its files, and
    the conditioning's span (None: each frame's own, runtime/normalization.py)."""

    name: str
    window: int
    hop: int
    kept_start: int
    suffix: str
    conditioning_span: int | None = None

    @property
    def framing(self) -> str:
        return OVERLAP_SAVE if self.kept_start else OVERLAP_ADD

    @property
    def latency_samples(self) -> int:
        return framing_latency(self.window, self.kept_start)

    def file(self, name: str) -> str:
        """``ulde_int8.tflite`` -> ``ulde_int8_low_latency.tflite`` (the 10 s form keeps the name)."""
        stem, dot, ext = name.partition(".")
        return f"{stem}{self.suffix}{dot}{ext}"

    def contract_terms(self) -> dict:
        """The window and framing fields of the model contract (runtime/contract.py)."""
        return {"window_samples": self.window, "recommended_hop_samples": self.hop, "framing": self.framing,
                "kept_start_samples": self.kept_start, "latency_samples": self.latency_samples,
                "conditioning_span_samples": self.conditioning_span}

    def inputs(self, windows: np.ndarray, subsample: bool = False) -> tuple[np.ndarray, Levels | None]:
        """(n, L) signals -> (m, T) model inputs and their conditioning levels ((m, 1) each, or None: each
        its own): the windows themselves, or the low-latency frames of each window streamed alone (every
        LOW_LATENCY_SUBSAMPLE-th with ``subsample``)."""
        if not self.kept_start:
            return windows, None
        frames, levels = low_latency_frames(windows, self.conditioning_span)
        step = LOW_LATENCY_SUBSAMPLE if subsample else 1
        return (np.ascontiguousarray(frames.reshape(-1, self.window)[::step]),
                Levels(*(np.ascontiguousarray(part.reshape(-1, 1)[::step]) for part in levels)))

    def denoised(self, run: Callable[[np.ndarray, Levels | None], np.ndarray], windows: np.ndarray) -> np.ndarray:
        """(n, L) noisy signals -> (n, L) denoised by ``run`` ((m, T) mV and their levels -> (m, T) mV,
        conditioning included), each window as a stream of its own in this framing."""
        if not self.kept_start:
            return run(windows, None)
        n, length = windows.shape
        return kept_outputs(run(*self.inputs(windows)).reshape(n, -1, self.window)).reshape(n, -1)[:, :length]


def variants_at(rate_hz: int) -> tuple[Variant, Variant]:
    """(the 10 s form, the low-latency form) of a network trained at ``rate_hz``. The 10 s form's
    recommended hop is half its window (each sample seen in two windows); the low-latency frames'
    conditioning spans one 10 s window (runtime/signal_spec.py)."""
    window = window_samples_at(rate_hz)
    return (Variant("10 s", window, window // 2, 0, ""),
            Variant("low-latency", LOW_LATENCY_WINDOW_SAMPLES, LOW_LATENCY_HOP_SAMPLES, LOW_LATENCY_KEPT_START,
                    "_low_latency", window))


TEN_SECOND, LOW_LATENCY = variants_at(SAMPLE_RATE_HZ)
