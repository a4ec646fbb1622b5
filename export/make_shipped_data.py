"""Regenerate the shipped calibration and parity sets from the real data (training / test split).

    python -m ulde.export.make_shipped_data --data-dir "$ULDE_DATA"

Deterministic (fixed seeds in calibration.py): rerunning it on the same data gives the same arrays.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from ulde.export.calibration import calibration_from_data, parity_from_data
from ulde.export.shipped_data import CALIBRATION_FILE, PARITY_FILE, encode, shipped_dir

SHIPPED_CALIBRATION_PER_GROUP = 50  # 150 windows (~5 KB each): the 1 MB package-data budget allows no more
SHIPPED_PARITY_WINDOWS = 8  # clean test windows, each mixed with every group's noise


def _save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def write_shipped_sets(data_dir: Path, folder: Path | None = None) -> list[Path]:
    """Draw both sets from ``data_dir`` (training split for calibration, test split for parity) and save them."""
    folder = folder or shipped_dir()
    folder.mkdir(parents=True, exist_ok=True)
    calibration = calibration_from_data(data_dir, SHIPPED_CALIBRATION_PER_GROUP)
    _save(folder / CALIBRATION_FILE, {"noisy": encode(calibration)})
    sets = parity_from_data(data_dir, SHIPPED_PARITY_WINDOWS)
    arrays = {"clean": encode(sets[0][1]), "labels": np.array(sets[0][3])}
    arrays.update({f"noisy_{name}": encode(noisy) for name, _, noisy, _ in sets})
    _save(folder / PARITY_FILE, arrays)
    return [folder / CALIBRATION_FILE, folder / PARITY_FILE]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ulde.export.make_shipped_data", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="PhysioNet data folder (cpsc2018/, nstdb/)")
    parser.add_argument("--out", type=Path, default=None, help="target folder (default: the package's calibration/)")
    args = parser.parse_args(argv)
    for path in write_shipped_sets(args.data_dir, args.out):
        print(f"{path}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

