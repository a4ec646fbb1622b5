"""Train/validation/test splits: clean records by record (never by window), noise records by time.

The split is computed once from the sorted record list and a fixed seed and committed as
``model/splits/splits.json``; every tool reads that file, and a test checks it can be regenerated.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

import numpy as np

SPLIT_NAMES = ("train", "val", "test")
SPLIT_FRACTIONS = (0.7, 0.2, 0.1)
SPLIT_SEED = 2022
NEVER_TRAIN = {"mitdb": ("118", "119")}
"""MIT-BIH 118/119 are the clean sources of NSTDB's own noisy records 118e*/119e*: test only."""

SPLIT_FILE = "splits.json"


def split_records(records: list[str], seed: int = SPLIT_SEED, test_only: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Shuffle ``records`` with ``seed`` and cut them 7:2:1; ``test_only`` records go to test."""
    pool = sorted(set(records) - set(test_only))
    order = np.random.default_rng(seed).permutation(len(pool))
    shuffled = [pool[i] for i in order]
    n_train = round(SPLIT_FRACTIONS[0] * len(records))
    n_val = round(SPLIT_FRACTIONS[1] * len(records))
    parts = {
        "train": shuffled[:n_train],
        "val": shuffled[n_train : n_train + n_val],
        "test": shuffled[n_train + n_val :] + [r for r in records if r in test_only],
    }
    return {name: sorted(names) for name, names in parts.items()}


def noise_bounds(n_samples: int) -> dict[str, tuple[int, int]]:
    """Non-overlapping [start, stop) sample ranges of a noise record per split (70/20/10 % by time)."""
    edges = np.round(np.cumsum((0.0,) + SPLIT_FRACTIONS) * n_samples).astype(int)
    return {name: (int(edges[i]), int(edges[i + 1])) for i, name in enumerate(SPLIT_NAMES)}


def build_splits(record_lists: dict[str, list[str]]) -> dict:
    """The whole split document for the given clean databases' record lists."""
    return {
        "seed": SPLIT_SEED,
        "fractions": dict(zip(SPLIT_NAMES, SPLIT_FRACTIONS)),
        "clean": {
            db: split_records(records, test_only=NEVER_TRAIN.get(db, ()))
            for db, records in sorted(record_lists.items())
        },
        "noise_fractions_by_time": dict(zip(SPLIT_NAMES, SPLIT_FRACTIONS)),
    }


def shipped_split_path() -> Path:
    return Path(str(resources.files("ulde.model") / "splits" / SPLIT_FILE))


def load_splits(path: Path | None = None) -> dict:
    """The committed split document."""
    return json.loads((path or shipped_split_path()).read_text())


def split_hash(path: Path | None = None) -> str:
    """sha256 of the split file's bytes: recorded in checkpoints and caches."""
    return hashlib.sha256((path or shipped_split_path()).read_bytes()).hexdigest()
