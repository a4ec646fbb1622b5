"""Training mixtures drawn afresh for every batch, from a documented distribution of recording conditions.

Two distributions ship:

- ``PAPER``: Qiu et al. 2022's protocol: every window carries noise of one of the three fixed-weight
  groups, at the raw NSTDB level; clean ECG at the record's own amplitude, no offset.
- ``DEVICE``: what an ECG front-end records. Per window, independently:
  - with probability ``clean_fraction`` no noise at all (so the network learns to leave clean ECG alone);
  - otherwise one of three noise kinds, equally likely: a paper group at its raw level, one noise type
    alone, or a random mixture of the three (Dirichlet(1, 1, 1) weights); the last two scaled to an input
    SNR drawn uniformly over ``snr_range_db``;
  - the whole window (ECG and noise together, so the SNR is kept) scaled to a peak ECG amplitude drawn
    log-uniformly over ``amplitude_range_mv``, its polarity flipped with probability ``polarity_flip``,
    and a DC offset drawn uniformly over ``±offset_mv`` added to the input only (the target is the
    offset-free ECG: the mean-peak conditioning of runtime/normalization.py must cancel it).

Clean crops are drawn with every database equally likely, then every crop position of that database
equally likely, so a few long MIT-BIH records do not outweigh many short CPSC ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ulde.model.datasets import draw_noise
from ulde.model.noise import GROUPS, NOISE_TYPES, NoiseGroup, scale_to_snr
from ulde.model.records import Lead
from ulde.runtime.signal_spec import WINDOW_SAMPLES

NOISE_KINDS = ("group", "single", "mixture")


@dataclass(frozen=True)
class MixtureDistribution:
    """How training windows are drawn (see the module docstring); saved in every checkpoint's meta."""

    name: str
    clean_fraction: float = 0.0
    kind_weights: tuple[float, float, float] = (1.0, 0.0, 0.0)  # group / single type / random mixture
    groups: tuple[NoiseGroup, ...] = GROUPS
    snr_range_db: tuple[float, float] = (-6.0, 30.0)
    amplitude_range_mv: tuple[float, float] | None = None  # None: the record's own amplitude
    polarity_flip: float = 0.0
    offset_mv: float = 0.0

    def __post_init__(self):
        if not 0.0 <= self.clean_fraction <= 1.0 or not 0.0 <= self.polarity_flip <= 1.0:
            raise ValueError("clean_fraction and polarity_flip are probabilities in [0, 1]")
        if len(self.kind_weights) != len(NOISE_KINDS) or min(self.kind_weights) < 0 or sum(self.kind_weights) <= 0:
            raise ValueError(f"kind_weights needs {len(NOISE_KINDS)} non-negative weights, not all zero")
        if self.amplitude_range_mv is not None and not 0 < self.amplitude_range_mv[0] <= self.amplitude_range_mv[1]:
            raise ValueError(f"amplitude_range_mv must be 0 < low <= high, got {self.amplitude_range_mv}")
        if self.snr_range_db[0] > self.snr_range_db[1] or self.offset_mv < 0:
            raise ValueError("snr_range_db must be (low, high) with low <= high, and offset_mv >= 0")

    def to_dict(self) -> dict:
        return {"name": self.name, "clean_fraction": self.clean_fraction, "kind_weights": list(self.kind_weights),
                "groups": [g.name for g in self.groups], "snr_range_db": list(self.snr_range_db),
                "amplitude_range_mv": None if self.amplitude_range_mv is None else list(self.amplitude_range_mv),
                "polarity_flip": self.polarity_flip, "offset_mv": self.offset_mv}


PAPER = MixtureDistribution("paper")
DEVICE = MixtureDistribution("device", clean_fraction=0.2, kind_weights=(1.0, 1.0, 1.0), amplitude_range_mv=(0.1, 5.0),
                             polarity_flip=0.5, offset_mv=300.0)
DISTRIBUTIONS = {d.name: d for d in (PAPER, DEVICE)}


class TrainingMixtures:
    """Random clean crops plus random noise, drawn from ``distribution`` afresh for every batch."""

    def __init__(self, leads_by_database: dict[str, list[Lead]], noise: dict[str, np.ndarray],
                 distribution: MixtureDistribution = PAPER, window: int = WINDOW_SAMPLES):
        self.window = window  # samples per training window (the leads' and the noise's rate)
        self.databases = [[lead.signal for lead in leads] for leads in leads_by_database.values() if leads]
        if not self.databases:
            raise ValueError("no clean leads to train on")
        self.position_p = []  # per database: every crop position equally likely
        for signals in self.databases:
            lengths = np.array([len(s) - window + 1 for s in signals], dtype=np.float64)
            self.position_p.append(lengths / lengths.sum())
        self.noise = noise
        self.distribution = distribution

    def clean_crops(self, rng: np.random.Generator, size: int) -> np.ndarray:
        clean = np.empty((size, self.window), dtype=np.float32)
        database = rng.integers(0, len(self.databases), size=size)
        for row, d in enumerate(database):
            signals = self.databases[d]
            i = rng.choice(len(signals), p=self.position_p[d])
            start = rng.integers(0, len(signals[i]) - self.window + 1)
            clean[row] = signals[i][start : start + self.window]
        return clean

    def noise_for(self, rng: np.random.Generator, clean: np.ndarray) -> np.ndarray:
        """Noise for each clean window, drawn as the distribution says (zeros for its clean windows)."""
        d, size = self.distribution, len(clean)
        excerpts = draw_noise(rng, self.noise, size, self.window)
        kind_p = np.asarray(d.kind_weights, dtype=np.float64) / sum(d.kind_weights)
        kind = rng.choice(len(NOISE_KINDS), size=size, p=kind_p)
        group_of_row = rng.integers(0, len(d.groups), size=size)
        weights = np.zeros((size, len(NOISE_TYPES)))
        weights[np.arange(size), rng.integers(0, len(NOISE_TYPES), size=size)] = 1.0
        mixture = kind == NOISE_KINDS.index("mixture")
        weights[mixture] = rng.dirichlet(np.ones(len(NOISE_TYPES)), size=int(mixture.sum()))
        for g, group in enumerate(d.groups):  # the paper's groups: their own weights
            rows = (kind == NOISE_KINDS.index("group")) & (group_of_row == g)
            weights[rows] = [group.weights.get(t, 0.0) for t in NOISE_TYPES]
        noise = sum(weights[:, i : i + 1].astype(np.float32) * excerpts[t] for i, t in enumerate(NOISE_TYPES))
        scaled = kind != NOISE_KINDS.index("group")
        if scaled.any():
            snr = rng.uniform(*d.snr_range_db, size=int(scaled.sum()))[:, None]
            noise[scaled] = scale_to_snr(clean[scaled], noise[scaled], snr)
        noise[rng.random(size) < d.clean_fraction] = 0.0
        return noise

    def batch(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        """(noisy, clean), each (size, window) float32 in mV."""
        d = self.distribution
        clean = self.clean_crops(rng, size)
        noise = self.noise_for(rng, clean)
        gain = np.ones((size, 1), dtype=np.float32)
        if d.amplitude_range_mv is not None:
            peak = np.maximum(np.abs(clean).max(axis=1, keepdims=True), 1e-3)
            target = np.exp(rng.uniform(*np.log(d.amplitude_range_mv), size=(size, 1)))
            gain = (target / peak).astype(np.float32)
        gain[rng.random(size) < d.polarity_flip] *= -1.0
        clean, noise = clean * gain, noise * gain
        offset = rng.uniform(-d.offset_mv, d.offset_mv, size=(size, 1)).astype(np.float32)
        return (clean + noise + offset).astype(np.float32), clean.astype(np.float32)

