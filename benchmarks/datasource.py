"""The windows the benchmarks denoise: the CPSC 2018 test split of every noise group.

From the PhysioNet data folder ($ULDE_DATA, else ../shared/data beside the repository) with the
committed splits; when that folder is absent, from the small test fixture (tests/fixtures) with its
own splits file, and the wider FIXTURE bounds. Windows are drawn exactly as ``ulde-eval`` draws its
test sets (``ulde.model.evaluate.group_sets``, seed 7), so the SNR figures match its report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.bounds import FIXTURE, FULL_DATA, QualityBounds
from ulde.model.datasets import EvalSet
from ulde.model.evaluate import EVAL_SEED, group_sets
from ulde.model.splits import load_splits
from tests.support import FIXTURE_DATA, FIXTURE_SPLITS, full_data_dir

DATABASE = "cpsc2018"


@dataclass(frozen=True)
class EvalData:
    """Test windows per noise group, where they came from, and the quality bounds that suit their size."""

    sets: dict[str, EvalSet]
    source: str
    bounds: QualityBounds

    def describe(self) -> dict:
        return {"source": self.source, "database": DATABASE, "split": "test", "seed": EVAL_SEED,
                "windows_per_group": {name: int(len(s.clean)) for name, s in self.sets.items()}}


def load_eval_data() -> EvalData:
    """The test windows of every noise group: full data when present, else the fixture."""
    data_dir = full_data_dir()
    if data_dir is not None:
        records = load_splits()["clean"][DATABASE]["test"]
        source, bounds = f"PhysioNet data folder {data_dir}, committed splits", FULL_DATA
    else:
        data_dir, records = FIXTURE_DATA, load_splits(FIXTURE_SPLITS)["clean"][DATABASE]["test"]
        source, bounds = "test fixture tests/fixtures (full data folder not found)", FIXTURE
    return EvalData(group_sets(data_dir, DATABASE, records), source, bounds)


def real_signal(data: EvalData, n_samples: int) -> np.ndarray:
    """(n_samples,) float32 mV of real noisy ECG: the test windows of every group end to end, repeated if short."""
    windows = np.concatenate([s.noisy for s in data.sets.values()]).reshape(-1)
    return np.resize(windows, n_samples).astype(np.float32)
