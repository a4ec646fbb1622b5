"""The real windows an export uses: int8 calibration (training split) and the parity check (test split).

With a data directory: CALIBRATION_PER_GROUP fresh training mixtures per noise group (CPSC 2018
training records + the training part of the NSTDB noise), and the whole CPSC 2018 test split per group.
Without one: the small sets shipped in ``calibration/`` (drawn the same way, see make_shipped_data.py).
Both at the rate the network was trained at: drawn at that rate from the data directory, or the shipped
360 Hz windows resampled to it (scipy's polyphase resampler) and cut to its window.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ulde.export.shipped_data import CALIBRATION_FILE, PARITY_FILE, load, shipped_dir
from ulde.model.datasets import EVAL_SEED, clean_leads, eval_set, noise_part
from ulde.model.mixtures import PAPER, TrainingMixtures
from ulde.model.noise import GROUPS
from ulde.model.records import resample_to_model_rate
from ulde.model.splits import load_splits
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ, window_samples_at

DATABASE = "cpsc2018"
CALIBRATION_PER_GROUP = 80  # 240 windows: >= 200, and every group's noise statistics represented
CALIBRATION_SEED = 4  # fixed: the same checkpoint and data always give the same int8 model

ParitySet = tuple[str, np.ndarray, np.ndarray, list[str]]
"""(group name, clean (n, T) float32 mV, noisy (n, T) float32 mV, window labels)."""


def calibration_from_data(data_dir: Path, per_group: int = CALIBRATION_PER_GROUP,
                          rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """(3 * per_group, T) float32 noisy windows at ``rate_hz``: ``per_group`` training mixtures of each
    noise group."""
    records = load_splits()["clean"][DATABASE]["train"]
    leads, noise = clean_leads(data_dir, DATABASE, records, rate_hz), noise_part(data_dir, "train", rate_hz)
    rng = np.random.default_rng(CALIBRATION_SEED)
    return np.concatenate([TrainingMixtures({DATABASE: leads}, noise, replace(PAPER, groups=(group,)), window_samples_at(rate_hz))
                           .batch(rng, per_group)[0] for group in GROUPS])


def parity_from_data(data_dir: Path, n_windows: int | None = None, rate_hz: int = SAMPLE_RATE_HZ) -> list[ParitySet]:
    """Per group, the CPSC 2018 test windows at ``rate_hz`` with that group's noise (a fixed subset of n_windows)."""
    records = load_splits()["clean"][DATABASE]["test"]
    sets = []
    for group in GROUPS:
        full = eval_set(data_dir, DATABASE, records, "test", group, EVAL_SEED, rate_hz=rate_hz)
        keep = np.arange(len(full.clean))
        if n_windows is not None:
            keep = np.sort(np.random.default_rng(EVAL_SEED).permutation(len(full.clean))[:n_windows])
        sets.append((group.name, full.clean[keep], full.noisy[keep], [full.labels[i] for i in keep]))
    return sets


def shipped_at_rate(windows: np.ndarray, rate_hz: int) -> np.ndarray:
    """(n, 3600) shipped 360 Hz windows -> (n, T) float32 at ``rate_hz``, cut to its window T."""
    if rate_hz == SAMPLE_RATE_HZ:
        return windows
    resampled = resample_to_model_rate(np.asarray(windows, np.float64).T, SAMPLE_RATE_HZ, rate_hz).T
    return np.ascontiguousarray(resampled[:, : window_samples_at(rate_hz)], dtype=np.float32)


def calibration_windows(data_dir: Path | None, rate_hz: int = SAMPLE_RATE_HZ) -> tuple[np.ndarray, dict]:
    """(windows at ``rate_hz``, description for the manifest) from ``data_dir``, or the shipped set
    when it is None."""
    if data_dir is not None:
        windows = calibration_from_data(data_dir, rate_hz=rate_hz)
        source = f"{DATABASE} training split + NSTDB training part, from the data directory"
    else:
        windows = shipped_at_rate(load(CALIBRATION_FILE)["noisy"], rate_hz)
        source = f"shipped set export/calibration/{CALIBRATION_FILE} ({DATABASE} training split + NSTDB training part)"
    return windows, {
        "source": source, "sample_rate_hz": rate_hz, "windows": int(len(windows)), "window_samples": int(windows.shape[1]),
        "groups": [g.name for g in GROUPS], "seed": CALIBRATION_SEED, "units": "mV",
    }


def parity_sets(data_dir: Path | None, rate_hz: int = SAMPLE_RATE_HZ) -> tuple[list[ParitySet], dict]:
    """The parity windows per group at ``rate_hz`` and their description (test split, full or shipped subset)."""
    if data_dir is not None:
        sets = parity_from_data(data_dir, rate_hz=rate_hz)
        source = f"{DATABASE} test split (all windows) + NSTDB test part, from the data directory"
    else:
        stored = load(PARITY_FILE)
        labels = [str(s) for s in stored["labels"]]
        clean = shipped_at_rate(stored["clean"], rate_hz)
        sets = [(g.name, clean, shipped_at_rate(stored[f"noisy_{g.name}"], rate_hz), labels) for g in GROUPS]
        source = f"shipped set export/calibration/{PARITY_FILE} ({DATABASE} test split subset + NSTDB test part)"
    return sets, {"source": source, "sample_rate_hz": rate_hz, "windows_per_group": int(len(sets[0][1])), "seed": EVAL_SEED}


def shipped_files() -> list[Path]:
    return [shipped_dir() / CALIBRATION_FILE, shipped_dir() / PARITY_FILE]
