"""Does a denoiser do no harm? Clean-input fidelity, clinical beat measures and offset invariance.

Beat measures (µV), located once on the clean reference and read at the same samples of every signal:
- R peaks: NeuroKit2's ``ecg_peaks`` (method "neurokit") on the clean reference window;
- PR baseline: the mean over R - 90 ... R - 50 ms (the PR segment, before the QRS onset);
- ST level at J + 60 ms: the mean over R + 100 ... R + 120 ms minus the PR baseline, with the J point
  taken as R + 40 ms (fixed offsets, not a per-beat delineation: ``ecg_delineate`` costs 0.18 s a
  window, two orders of magnitude more than the denoisers themselves);
- R amplitude: the sample at R minus the PR baseline;
- T amplitude: at the sample of the largest |reference - baseline| over R + 150 ... R + 400 ms, minus
  the PR baseline.
Only beats whose whole span (R - 90 ... R + 400 ms) lies inside the window, and whose next R peak
(if any) is more than 400 ms away, are measured.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from ulde.model.datasets import EvalSet
from ulde.model.metrics import snr_db
from ulde.model.records import remove_baseline
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

Denoiser = Callable[[np.ndarray], np.ndarray]

BEAT_MEASURES = ("st_j60", "r_amplitude", "t_amplitude")
PR_BASELINE_MS = (-90, -50)
ST_MS = (100, 120)  # J + 60 ms with J = R + 40 ms
T_SEARCH_MS = (150, 400)
DC_OFFSETS_MV = (0.0, 5.0, -5.0, 50.0, -50.0, 300.0, -300.0)
BASELINE_BAND_HZ = 2.0
"""Clean-input change split at this frequency: below it the isoelectric level and what is left of the
reference's own baseline wander after its 0.5 Hz high-pass (the band the issue located the old
release's harm in), above it the waves' shapes."""
UV_PER_MV = 1000.0


def _samples(ms: float) -> int:
    return int(round(ms * SAMPLE_RATE_HZ / 1000.0))


def find_beats(clean: np.ndarray) -> list[np.ndarray]:
    """R-peak sample indices of each clean window (n, T), kept only where a beat is measurable."""
    import neurokit2 as nk

    first, last, gap = -_samples(PR_BASELINE_MS[0]), clean.shape[1] - _samples(T_SEARCH_MS[1]), _samples(T_SEARCH_MS[1])
    beats = []
    for window in clean:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NeuroKit2 warns on windows with few beats
            try:
                peaks = np.asarray(nk.ecg_peaks(window, sampling_rate=SAMPLE_RATE_HZ, method="neurokit")[1]["ECG_R_Peaks"])
            except (ValueError, IndexError):  # a flat or beat-less window
                peaks = np.zeros(0, dtype=int)
        spacing_ok = np.append(np.diff(peaks) > gap, True) if len(peaks) else np.zeros(0, dtype=bool)
        beats.append(peaks[(peaks >= first) & (peaks < last) & spacing_ok].astype(int))
    return beats


def beat_measures(windows: np.ndarray, reference: np.ndarray, beats: list[np.ndarray]) -> np.ndarray:
    """(n_beats, 3) float64 µV: BEAT_MEASURES of ``windows`` at the fiducials of ``reference``."""
    rows = []
    pr, st, t_span = (np.arange(_samples(a), _samples(b)) for a, b in (PR_BASELINE_MS, ST_MS, T_SEARCH_MS))
    for signal, ref, peaks in zip(np.asarray(windows, np.float64), np.asarray(reference, np.float64), beats):
        for r in peaks:
            ref_base = ref[r + pr].mean()
            t_at = r + t_span[np.argmax(np.abs(ref[r + t_span] - ref_base))]
            base = signal[r + pr].mean()
            rows.append((signal[r + st].mean() - base, signal[r] - base, signal[t_at] - base))
    return np.array(rows, dtype=np.float64).reshape(-1, len(BEAT_MEASURES)) * UV_PER_MV


def _change_summary(change: np.ndarray) -> dict:
    """Per measure: median |Δ|, 90th percentile |Δ|, median signed Δ (µV)."""
    return {name: {"median_abs_uv": float(np.median(np.abs(change[:, i]))), "p90_abs_uv": float(np.percentile(np.abs(change[:, i]), 90)),
                   "median_bias_uv": float(np.median(change[:, i]))} for i, name in enumerate(BEAT_MEASURES)}


def fidelity(denoisers: dict[str, Denoiser], clean: np.ndarray, noisy_sets: dict[str, EvalSet]) -> dict:
    """Clean input passed through each denoiser (output SNR against the input, and counting only the
    change above BASELINE_BAND_HZ, the same zero-phase high-pass as the reference's baseline removal;
    beat measures changed) and each noise group's beat-measure error next to the raw noisy input's.

    ``noisy_sets`` must hold the same clean windows as ``clean`` (eval_set draws noise onto them)."""
    beats = find_beats(clean)
    truth = beat_measures(clean, clean, beats)
    result = {"windows": int(len(clean)), "beats": int(len(truth)), "baseline_band_hz": BASELINE_BAND_HZ,
              "clean_input": {}, "noisy_error": {}}
    for name, denoise in denoisers.items():
        out = denoise(clean)
        snr = snr_db(clean, out)
        above = snr_db(clean, clean - remove_baseline(np.asarray(clean - out, np.float64), BASELINE_BAND_HZ, axis=-1))
        result["clean_input"][name] = {"snr_median_db": float(np.median(snr)), "snr_p5_db": float(np.percentile(snr, 5)),
                                       "snr_change_above_baseline_band_median_db": float(np.median(above)),
                                       "snr_change_above_baseline_band_p5_db": float(np.percentile(above, 5)),
                                       "beat_change": _change_summary(beat_measures(out, clean, beats) - truth)}
    for group, s in noisy_sets.items():
        if not np.array_equal(s.clean, clean):
            raise ValueError(f"noise set {group} does not hold the clean windows the fidelity section was given")
        inputs = {"raw noisy input": s.noisy, **{name: d(s.noisy) for name, d in denoisers.items()}}
        result["noisy_error"][group] = {name: _change_summary(beat_measures(x, clean, beats) - truth) for name, x in inputs.items()}
    return result


def offset_invariance(denoisers: dict[str, Denoiser], windows: np.ndarray) -> dict:
    """Per denoiser and DC offset: median and worst output SNR (dB) against the offset-free output,
    and the largest absolute difference (µV)."""
    table = {}
    for name, denoise in denoisers.items():
        reference = denoise(windows)
        for offset in DC_OFFSETS_MV[1:]:
            shifted = denoise(windows.astype(np.float64) + offset)
            snr = snr_db(reference, shifted)
            table.setdefault(name, {})[f"{offset:+g}"] = {
                "snr_median_db": float(np.median(snr)), "snr_min_db": float(np.min(snr)),
                "max_abs_diff_uv": float(np.max(np.abs(shifted.astype(np.float64) - reference)) * UV_PER_MV)}
    return table
