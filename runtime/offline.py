"""Offline denoising of a whole array: the streaming framing run once, so results match exactly."""

from __future__ import annotations

import os

import numpy as np

from ulde.runtime.contract import ModelContract
from ulde.runtime.model import Model
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ
from ulde.runtime.streaming import StreamingDenoiser


def denoise(signal, model: str | os.PathLike | Model | None = None, *, contract: ModelContract | None = None,
            hop: int | None = None, sample_rate_hz: float = SAMPLE_RATE_HZ, taper: str | None = None,
            num_threads: int = 1, quality: bool = False, low_latency: bool = False):
    """Denoise a whole recording: (n,) or (n, leads) float32/float64 mV -> same shape, float32 mV
    (with ``quality=True``, ``(denoised, quality)``: the estimated input SNR in dB of each sample's block).

    Identical, bit for bit, to streaming the same signal through ``StreamingDenoiser`` with the same
    arguments in any chunking: both run the same frames through the same operations.
    Arguments as for ``StreamingDenoiser``; any length n >= 0 (shorter than one window included).
    ``low_latency=True`` is the offline result of the low-latency mode (the shipped low-latency model, or
    ``model`` if it is one).
    """
    denoiser = StreamingDenoiser(model, contract=contract, hop=hop, sample_rate_hz=sample_rate_hz, taper=taper,
                                 num_threads=num_threads, quality=quality, low_latency=low_latency)
    head, tail = denoiser.process(signal), denoiser.flush()
    if not quality:
        return _joined(head, tail)
    return tuple(_joined(a, b) for a, b in zip(head, tail))


def _joined(head: np.ndarray, tail: np.ndarray) -> np.ndarray:
    """process() then flush() output as one array (an empty flush comes back (0,) whatever the layout)."""
    return np.concatenate([head, tail.reshape((-1,) + head.shape[1:])], axis=0)


def denoise_windows(windows, model: str | os.PathLike | Model | None = None, *, contract: ModelContract | None = None,
                    num_threads: int = 1) -> np.ndarray:
    """Denoise each window by exactly one model call, no overlap-add: (n, T) float mV -> (n, T) float32 mV.

    T must be the model's window; windows are checked as a streamed chunk is. The contract's input
    conditioning is applied around every call, as the streaming path does. This is the
    one-window-per-call protocol of the paper and of ulde's evaluation tables (``Model.denoise_windows``).
    """
    if isinstance(model, Model):
        if contract is not None:
            raise ValueError("pass contract= to Model(...), not with an open Model")
        return model.denoise_windows(windows)
    return Model(model, contract=contract, num_threads=num_threads).denoise_windows(windows)
