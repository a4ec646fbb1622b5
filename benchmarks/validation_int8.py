"""Score exported models on the validation split: how a release is chosen without touching the test split.

For each folder written by ``ulde-export`` (ulde_float.tflite, ulde_int8.tflite, manifest.json), every
validation window is denoised by one call of each model through the runtime (``denoise_windows``,
LiteRT, 1 thread) and scored per noise group: mean SNR improvement of the float and the int8 model
and the int8-vs-float output SNR, in dB. Windows: the CPSC 2018 validation records with the
validation part of the NSTDB noise, seed 7, the first ``--windows`` of each group. Needs the full data:

    python -m benchmarks.validation_int8 --data-dir "$ULDE_DATA" runtime/models other-export/
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ulde.model.datasets import EVAL_SEED, eval_set
from ulde.model.metrics import snr_db
from ulde.model.noise import GROUPS
from ulde.model.splits import load_splits
from ulde.runtime import denoise_windows



def score(folder: Path, data_dir: Path, windows: int) -> dict[str, dict[str, float]]:
    """{group: {float_db, int8_db, int8_vs_float_db}} for the export in ``folder``."""
    records = load_splits()["clean"]["cpsc2018"]["val"]
    rows = {}
    for group in GROUPS:
        s = eval_set(data_dir, "cpsc2018", records, "val", group, EVAL_SEED)
        clean, noisy = s.clean[:windows], s.noisy[:windows]
        exact, int8 = (denoise_windows(noisy, folder / name) for name in ("ulde_float.tflite", "ulde_int8.tflite"))
        snr_in = snr_db(clean, noisy)
        rows[group.name] = {"float_db": float(np.mean(snr_db(clean, exact) - snr_in)),
                            "int8_db": float(np.mean(snr_db(clean, int8) - snr_in)),
                            "int8_vs_float_db": float(np.mean(snr_db(exact, int8)))}
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+", help="ulde-export output folders")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--windows", type=int, default=200, help="validation windows per noise group")
    args = parser.parse_args(argv)
    names = [g.name for g in GROUPS]
    print("| export | float SNR imp. (dB) | int8 SNR imp. (dB) | int8-vs-float output SNR (dB) |\n|---|---|---|---|")
    for folder in args.folders:
        rows = score(folder, args.data_dir, args.windows)
        cells = [" / ".join(f"{rows[g][key]:.2f}" for g in names) for key in ("float_db", "int8_db", "int8_vs_float_db")]
        print(f"| {folder} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
