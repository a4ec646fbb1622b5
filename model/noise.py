"""NSTDB noise groups and mixing (Qiu et al. 2022 protocol, plus a controlled-SNR mode).

Fixed-weight mode: noisy = clean + w_ma*MA + w_em*EM + w_bw*BW with raw noise in mV, so the input SNR
varies from window to window. Controlled-SNR mode: the same noise mixture scaled so that
10*log10(sum(clean^2) / sum(noise^2)) equals a target input SNR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOISE_TYPES = ("ma", "em", "bw")


@dataclass(frozen=True)
class NoiseGroup:
    name: str
    weights: dict[str, float]  # noise type -> weight on the raw mV noise


GROUPS = (
    NoiseGroup("group1", {"ma": 0.6, "em": 0.2, "bw": 0.2}),
    NoiseGroup("group2", {"ma": 0.2, "em": 0.6, "bw": 0.2}),
    NoiseGroup("group3", {"ma": 0.2, "em": 0.2, "bw": 0.6}),
)
SINGLE_TYPE_GROUPS = tuple(NoiseGroup(t, {t: 1.0}) for t in NOISE_TYPES)
"""One noise type at a time, for the controlled-SNR robustness table."""

CONTROLLED_SNRS_DB = (-6.0, 0.0, 6.0, 12.0, 18.0, 24.0, 30.0)


def group_by_name(name: str) -> NoiseGroup:
    for group in GROUPS + SINGLE_TYPE_GROUPS:
        if group.name == name:
            return group
    raise ValueError(f"unknown noise group {name!r}; expected one of {[g.name for g in GROUPS + SINGLE_TYPE_GROUPS]}")


def mix_noise(group: NoiseGroup, excerpts: dict[str, np.ndarray]) -> np.ndarray:
    """The group's weighted sum of noise excerpts (each the same shape, mV)."""
    return sum(weight * excerpts[kind] for kind, weight in group.weights.items())


def scale_to_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``noise`` scaled along the last axis so that clean vs noise has ``snr_db`` dB."""
    clean_power = np.sum(np.square(clean, dtype=np.float64), axis=-1, keepdims=True)
    noise_power = np.sum(np.square(noise, dtype=np.float64), axis=-1, keepdims=True)
    if np.any(noise_power == 0):
        raise ValueError("cannot scale an all-zero noise excerpt to a target SNR")
    gain = np.sqrt(clean_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    return (noise * gain).astype(noise.dtype)
