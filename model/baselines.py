"""Classical denoisers measured beside the networks, each mapping (n, T) windows at 360 Hz to (n, T).

- band-pass: zero-phase 2nd-order Butterworth 0.5-40 Hz (sosfiltfilt, so 4th order in effect);
- NeuroKit2 ``ecg_clean`` with each of its filtering methods;
- wavelet: db4 decomposition to level 9 (approximation below ~0.35 Hz dropped: baseline), detail
  coefficients soft-thresholded with the universal threshold sigma * sqrt(2 ln n), sigma from the
  median absolute deviation of the finest level (Donoho & Johnstone 1994).
"""

from __future__ import annotations

from collections.abc import Callable

import neurokit2 as nk
import numpy as np
import pywt
from scipy import signal as sps

from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

NEUROKIT_METHODS = ("neurokit", "biosppy", "pantompkins1985", "hamilton2002", "elgendi2010", "engzeemod2012")
WAVELET, WAVELET_LEVEL = "db4", 9


def bandpass(windows: np.ndarray, low_hz: float = 0.5, high_hz: float = 40.0) -> np.ndarray:
    sos = sps.butter(2, [low_hz, high_hz], btype="bandpass", fs=SAMPLE_RATE_HZ, output="sos")
    return sps.sosfiltfilt(sos, windows, axis=-1).astype(np.float32)


def neurokit_clean(windows: np.ndarray, method: str) -> np.ndarray:
    return np.stack([nk.ecg_clean(w, sampling_rate=SAMPLE_RATE_HZ, method=method) for w in windows]).astype(np.float32)


def wavelet_denoise(windows: np.ndarray) -> np.ndarray:
    out = np.empty_like(windows, dtype=np.float32)
    for i, window in enumerate(windows):
        coeffs = pywt.wavedec(window, WAVELET, level=WAVELET_LEVEL)
        sigma = np.median(np.abs(coeffs[-1])) / 0.6745
        threshold = sigma * np.sqrt(2 * np.log(len(window)))
        kept = [np.zeros_like(coeffs[0])] + [pywt.threshold(c, threshold, mode="soft") for c in coeffs[1:]]
        out[i] = pywt.waverec(kept, WAVELET)[: len(window)]
    return out


def classical_denoisers(with_neurokit: bool = True) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Name -> denoiser, in report order."""
    denoisers: dict[str, Callable[[np.ndarray], np.ndarray]] = {"band-pass 0.5-40 Hz": bandpass, "wavelet db4 soft": wavelet_denoise}
    if with_neurokit:
        for method in NEUROKIT_METHODS:
            denoisers[f"neurokit2 {method}"] = lambda w, m=method: neurokit_clean(w, m)
    return denoisers
