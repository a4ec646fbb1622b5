"""Clean leads and noise per split, training mixtures on the fly, and cached evaluation sets."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ulde.model.datadir import NOISE_RECORDS, require_records
from ulde.model.noise import NOISE_TYPES, NoiseGroup, mix_noise, scale_to_snr
from ulde.model.records import Lead, load_clean_leads, load_noise
from ulde.model.splits import noise_bounds
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ, WINDOW_SAMPLES, window_samples_at

CLEAN_SOURCES = {"cpsc2018": 500.0, "mitdb": 360.0}
"""Clean databases split for training, and their native sample rates in Hz (checked on every record)."""
HELD_OUT_SOURCES = {"ptbxl": 500.0}
"""Clean databases used only to evaluate (every record is test data): PTB-XL, another country and device."""

CACHE_ENV_VAR = "ULDE_CACHE"
EVAL_SET_VERSION = 1  # bump when the way evaluation windows are drawn changes
EVAL_SEED = 7
"""The noise draw of every evaluation set (validation and test windows): ulde-eval, ulde-data's
report, the exporter's parity check and the benchmarks all score the same windows."""


def clean_leads(data_dir: Path, database: str, records: list[str], rate_hz: int = SAMPLE_RATE_HZ) -> list[Lead]:
    """Every lead of ``records`` of a clean database, resampled to ``rate_hz`` and baseline-corrected."""
    rates = {**CLEAN_SOURCES, **HELD_OUT_SOURCES}
    if database not in rates:
        raise ValueError(f"unknown clean database {database!r}; expected one of {sorted(rates)}")
    folder = data_dir / database
    require_records(folder, records)
    return [lead for r in records for lead in load_clean_leads(folder, r, rates[database], rate_hz)]


def noise_part(data_dir: Path, split: str, rate_hz: int = SAMPLE_RATE_HZ) -> dict[str, np.ndarray]:
    """The ``split`` time-part of each NSTDB noise record at ``rate_hz``: type -> (n, channels) float32 mV."""
    folder = data_dir / "nstdb"
    require_records(folder, NOISE_RECORDS)
    parts = {}
    for kind in NOISE_TYPES:
        full = load_noise(folder, kind, rate_hz)
        start, stop = noise_bounds(full.shape[0])[split]
        if stop - start < window_samples_at(rate_hz):
            raise ValueError(f"noise record {kind}: its {split} part has {stop - start} samples, less than a window")
        parts[kind] = full[start:stop]
    return parts


def draw_noise(rng: np.random.Generator, noise: dict[str, np.ndarray], n_windows: int,
               window: int = WINDOW_SAMPLES) -> dict[str, np.ndarray]:
    """For each noise type, ``n_windows`` excerpts of ``window`` samples at random offsets and channels:
    (n_windows, window)."""
    excerpts = {}
    for kind in NOISE_TYPES:
        part = noise[kind]
        starts = rng.integers(0, part.shape[0] - window + 1, size=n_windows)
        channels = rng.integers(0, part.shape[1], size=n_windows)
        idx = starts[:, None] + np.arange(window)
        excerpts[kind] = part[idx, channels[:, None]]
    return excerpts


def clean_windows(leads: list[Lead], window: int = WINDOW_SAMPLES) -> tuple[np.ndarray, list[str]]:
    """Non-overlapping windows of ``window`` samples from the start of every lead: ((n, window) float32,
    'record/lead#k' labels)."""
    windows, labels = [], []
    for lead in leads:
        for k in range(len(lead.signal) // window):
            windows.append(lead.signal[k * window : (k + 1) * window])
            labels.append(f"{lead.record}/{lead.lead}#{k}")
    return np.stack(windows).astype(np.float32), labels


@dataclass(frozen=True)
class EvalSet:
    """Fixed noisy/clean windows of one split and noise group, bit-for-bit reproducible."""

    clean: np.ndarray  # (n, T) float32 mV
    noisy: np.ndarray  # (n, T) float32 mV
    labels: list[str]


def mix_eval_set(
    clean: np.ndarray, labels: list[str], noise: dict[str, np.ndarray], group: NoiseGroup, seed: int, snr_db: float | None
) -> EvalSet:
    """Add the group's noise (at fixed weights, or scaled to ``snr_db``) to each clean window."""
    excerpts = draw_noise(np.random.default_rng(seed), noise, len(clean), clean.shape[1])
    mixed = mix_noise(group, excerpts)
    if snr_db is not None:
        mixed = scale_to_snr(clean, mixed, snr_db)
    return EvalSet(clean, (clean + mixed).astype(np.float32), labels)


def files_digest(folder: Path, records: list[str] | tuple[str, ...]) -> str:
    """sha256 over the bytes of every file of the given records (headers and signals)."""
    digest = hashlib.sha256()
    for record in records:
        for path in sorted(folder.glob(f"{record}.*")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV_VAR, Path.home() / ".cache" / "ulde"))


def eval_set(
    data_dir: Path, database: str, records: list[str], split: str, group: NoiseGroup, seed: int, snr_db: float | None = None,
    rate_hz: int = SAMPLE_RATE_HZ,
) -> EvalSet:
    """The evaluation windows of one database split and group at ``rate_hz``, cached on disk as .npz.

    The cache key hashes the settings and the bytes of every data file used, so a changed file or
    setting can never return stale windows.
    """
    settings = {
        "version": EVAL_SET_VERSION, "database": database, "records": sorted(records), "split": split,
        "group": group.weights, "seed": seed, "snr_db": snr_db, "rate_hz": rate_hz,
        "window": window_samples_at(rate_hz),
        "clean_files": files_digest(data_dir / database, records),
        "noise_files": files_digest(data_dir / "nstdb", NOISE_RECORDS),
    }
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:24]
    path = cache_dir() / f"eval-{database}-{split}-{group.name}-{key}.npz"
    if path.is_file():
        with np.load(path) as cached:
            return EvalSet(cached["clean"], cached["noisy"], list(cached["labels"]))
    clean, labels = clean_windows(clean_leads(data_dir, database, records, rate_hz), window_samples_at(rate_hz))
    result = mix_eval_set(clean, labels, noise_part(data_dir, split, rate_hz), group, seed, snr_db)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")  # two processes filling the cache at once each write their own
    np.savez(tmp, clean=result.clean, noisy=result.noisy, labels=np.array(labels))
    os.replace(tmp, path)
    return result
