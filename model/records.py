"""Read PhysioNet records with wfdb and bring them to the network's signal contract.

Clean ECG is resampled to the model's rate (360 Hz unless a model is trained at a device's own rate;
scipy's polyphase resampler) and baseline-corrected over the whole record with a zero-phase high-pass:
a 2nd-order Butterworth at 0.5 Hz run forward and backward (``sosfiltfilt``, so 4th order in effect and
no phase shift). Without it, the record's own DC offset and baseline wander would count as "signal" and
dominate every score. Every lead becomes its own single-lead signal. Noise records (NSTDB bw/em/ma) are
recorded at 360 Hz and used raw, in mV (resampled alike for a model at another rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import wfdb
from scipy import signal as sps

from ulde.runtime.signal_spec import SAMPLE_RATE_HZ, window_samples_at

BASELINE_HIGHPASS_HZ = 0.5
BASELINE_FILTER_ORDER = 2
NOISE_RATE_HZ = 360
"""NSTDB's sample rate: every noise record is checked against it."""


class RecordError(ValueError):
    """A record that cannot be used as it is (wrong rate, non-finite samples, unreadable)."""


@dataclass(frozen=True)
class Lead:
    """One lead of one record at the model's rate, in mV, baseline-corrected when it is clean ECG."""

    record: str
    lead: str
    signal: np.ndarray  # (n,) float32


def read_record(path: Path) -> tuple[np.ndarray, float, list[str]]:
    """Read a WFDB record as physical units: (samples (n, leads) float64, fs in Hz, lead names)."""
    try:
        rec = wfdb.rdrecord(str(path))
    except Exception as exc:  # wfdb raises many types for a broken file
        raise RecordError(f"record {path}: cannot be read by wfdb ({type(exc).__name__}: {exc})") from exc
    samples = rec.p_signal
    if samples is None or samples.ndim != 2:
        raise RecordError(f"record {path}: no physical signal in the file")
    if not np.all(np.isfinite(samples)):
        bad = int(np.count_nonzero(~np.isfinite(samples)))
        raise RecordError(f"record {path}: {bad} non-finite sample(s) (NaN/inf)")
    return samples, float(rec.fs), list(rec.sig_name)


def resample_to_model_rate(samples: np.ndarray, fs: float, rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Polyphase-resample ``samples`` (n, ...) from ``fs`` Hz to ``rate_hz`` along axis 0."""
    ratio = Fraction(rate_hz) / Fraction(fs).limit_denominator(1000)
    if float(Fraction(fs).limit_denominator(1000)) != fs:
        raise RecordError(f"sample rate {fs} Hz is not a rational rate ulde can resample exactly")
    if ratio == 1:
        return samples
    return sps.resample_poly(samples, ratio.numerator, ratio.denominator, axis=0)


def remove_baseline(samples: np.ndarray, cutoff_hz: float = BASELINE_HIGHPASS_HZ, axis: int = 0,
                    rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Zero-phase Butterworth high-pass (0.5 Hz unless told) along ``axis`` of signals at ``rate_hz``."""
    sos = sps.butter(BASELINE_FILTER_ORDER, cutoff_hz, btype="highpass", fs=rate_hz, output="sos")
    return sps.sosfiltfilt(sos, samples, axis=axis)


def load_clean_leads(folder: Path, record: str, expected_fs: float | None = None,
                     rate_hz: int = SAMPLE_RATE_HZ) -> list[Lead]:
    """Every lead of one clean-ECG record at ``rate_hz``, baseline-corrected.

    Raises RecordError when the rate differs from ``expected_fs`` or the record is shorter than a window.
    """
    samples, fs, names = read_record(folder / record)
    if expected_fs is not None and fs != expected_fs:
        raise RecordError(f"record {folder / record}: sample rate {fs:g} Hz, expected {expected_fs:g} Hz")
    clean = remove_baseline(resample_to_model_rate(samples, fs, rate_hz), rate_hz=rate_hz).astype(np.float32)
    if clean.shape[0] < window_samples_at(rate_hz):
        raise RecordError(
            f"record {folder / record}: {clean.shape[0]} samples at {rate_hz} Hz, "
            f"shorter than one {window_samples_at(rate_hz)}-sample window"
        )
    return [Lead(record, name, np.ascontiguousarray(clean[:, i])) for i, name in enumerate(names)]


def load_noise(folder: Path, name: str, rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """An NSTDB noise record (bw, em or ma) as (n, 2) float32 mV at ``rate_hz``."""
    samples, fs, _ = read_record(folder / name)
    if fs != NOISE_RATE_HZ:
        raise RecordError(f"noise record {folder / name}: sample rate {fs:g} Hz, expected {NOISE_RATE_HZ} Hz")
    return resample_to_model_rate(samples, fs, rate_hz).astype(np.float32)
