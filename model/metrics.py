"""Denoising metrics on windows (numpy; the last axis is time).

For clean x, estimate x_hat, noisy input y:
- SNR(x, x_hat) = 10*log10(sum(x^2) / sum((x - x_hat)^2)) dB; SNR improvement = SNR(x, x_hat) - SNR(x, y).
- RMSE = sqrt(mean((x - x_hat)^2)) in mV; its decrease = RMSE(x, y) - RMSE(x, x_hat).
- Pearson r between x and x_hat; its increase = r(x, x_hat) - r(x, y).
- PRD = 100 * sqrt(sum((x - x_hat)^2) / sum(x^2)) %.

Degenerate cases are explicit, never NaN: a perfect estimate has SNR = +MAX_SNR_DB (PRD 0); an all-zero
clean reference has SNR = -MAX_SNR_DB unless the estimate is also exactly zero; Pearson r of a constant
signal is 0 (no linear relation can be measured).
"""

from __future__ import annotations

import numpy as np

MAX_SNR_DB = 200.0
"""Cap for exact or degenerate reconstructions, far above any float32 result."""


def _f64(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def snr_db(clean: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Per-window SNR of ``estimate`` against ``clean`` in dB, clipped to +-MAX_SNR_DB."""
    clean, estimate = _f64(clean), _f64(estimate)
    signal_power = np.sum(clean**2, axis=-1)
    error_power = np.sum((clean - estimate) ** 2, axis=-1)
    with np.errstate(divide="ignore"):
        ratio = 10.0 * (np.log10(signal_power) - np.log10(error_power))
    ratio = np.where(error_power == 0, MAX_SNR_DB, ratio)
    return np.clip(np.nan_to_num(ratio, nan=-MAX_SNR_DB), -MAX_SNR_DB, MAX_SNR_DB)


def rmse(clean: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Per-window root-mean-square error (units of the input, mV)."""
    return np.sqrt(np.mean((_f64(clean) - _f64(estimate)) ** 2, axis=-1))


def pearson_r(clean: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Per-window Pearson correlation; 0 where either window is constant."""
    a = _f64(clean) - np.mean(clean, axis=-1, keepdims=True)
    b = _f64(estimate) - np.mean(estimate, axis=-1, keepdims=True)
    denominator = np.sqrt(np.sum(a**2, axis=-1) * np.sum(b**2, axis=-1))
    numerator = np.sum(a * b, axis=-1)
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, np.clip(numerator / safe, -1.0, 1.0), 0.0)


def prd_percent(clean: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Per-window percentage root-mean-square difference; equals 100 * 10**(-SNR/20), and exactly 0
    for a perfect estimate."""
    exact = np.sum((_f64(clean) - _f64(estimate)) ** 2, axis=-1) == 0
    return np.where(exact, 0.0, 100.0 * 10.0 ** (-snr_db(clean, estimate) / 20.0))


def window_metrics(clean: np.ndarray, noisy: np.ndarray, denoised: np.ndarray) -> dict[str, np.ndarray]:
    """Every per-window metric of one denoiser on a batch of windows (..., time)."""
    snr_in, snr_out = snr_db(clean, noisy), snr_db(clean, denoised)
    rmse_in, rmse_out = rmse(clean, noisy), rmse(clean, denoised)
    r_in, r_out = pearson_r(clean, noisy), pearson_r(clean, denoised)
    return {
        "snr_in_db": snr_in,
        "snr_out_db": snr_out,
        "snr_improvement_db": snr_out - snr_in,
        "rmse_out": rmse_out,
        "rmse_decrease": rmse_in - rmse_out,
        "pearson_out": r_out,
        "pearson_increase": r_out - r_in,
        "prd_percent": prd_percent(clean, denoised),
    }


def summarize(per_window: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation of each per-window metric."""
    return {
        name: {"mean": float(np.mean(values)), "sd": float(np.std(values)), "n": int(np.size(values))}
        for name, values in per_window.items()
    }
