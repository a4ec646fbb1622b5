"""Regenerate the tiny real-data fixture under tests/fixtures/data from a full PhysioNet data folder.

    python tests/make_fixture.py /path/to/data     # the folder with cpsc2018/, mitdb/, nstdb/

Digital samples are copied unchanged (format 16, the records' own gains and baselines), only cut short
and, for CPSC 2018, reduced to two leads; see tests/fixtures/data/README.md for attribution.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import wfdb

FIXTURE = Path(__file__).parent / "fixtures" / "data"
# (database, record, leads kept, seconds kept)
EXCERPTS = [
    ("cpsc2018", "A0002", [0, 1], 24),  # training split in the committed split file
    ("cpsc2018", "A0003", [0, 1], 24),
    ("cpsc2018", "A0004", [0, 1], 12),  # validation split
    ("cpsc2018", "A0016", [0, 1], 24),  # test split
    ("mitdb", "118", [0, 1], 24),
    ("nstdb", "bw", [0], 120),
    ("nstdb", "em", [0], 120),
    ("nstdb", "ma", [0], 120),
]
SPLITS = {
    "seed": 0,
    "fractions": {"train": 0.7, "val": 0.2, "test": 0.1},
    "clean": {
        "cpsc2018": {"train": ["A0002", "A0003"], "val": ["A0004"], "test": ["A0016"]},
        "mitdb": {"train": [], "val": [], "test": ["118"]},
    },
    "noise_fractions_by_time": {"train": 0.7, "val": 0.2, "test": 0.1},
}


def copy_excerpt(source: Path, database: str, record: str, leads: list[int], seconds: int) -> None:
    rec = wfdb.rdrecord(str(source / database / record), physical=False, channels=leads)
    stop = int(seconds * rec.fs)
    out = FIXTURE / database
    out.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(
        record, fs=rec.fs, units=rec.units, sig_name=rec.sig_name, d_signal=rec.d_signal[:stop],
        fmt=["16"] * len(leads), adc_gain=rec.adc_gain, baseline=rec.baseline, write_dir=str(out),
    )


def main(source: str) -> None:
    for excerpt in EXCERPTS:
        copy_excerpt(Path(source), *excerpt)
    (FIXTURE.parent / "splits.json").write_text(json.dumps(SPLITS, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
