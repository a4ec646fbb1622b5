"""The low-latency mode against the 10 s mode, both streamed as a device streams them.

    python -m benchmarks.low_latency_quality --data-dir <data> --out docs/low_latency_quality.json

For each database's test records (CPSC 2018, MIT-BIH) the consecutive test windows of each lead are
one signal, streamed whole through ``ulde.runtime.denoise`` with the shipped 10 s int8 model and with
the shipped low-latency one (``low_latency=True``), then cut back into its windows and scored as
``ulde-eval`` scores windows: per NSTDB group (seed 7) the mean SNR improvement; with no noise, the
output's SNR against the clean input (median, 5th percentile) and the beat measures' change
(model/fidelity.py: ST at J + 60 ms, R and T amplitude), and the clean-input SNR median of each
signal's first window apart from the rest (the low-latency mode conditions a frame on the signal's
last 10 s, which a stream does not have before its 10th second); under noise, the ST error next to
the raw input's. ``--model`` names another export's 10 s int8 file; its low-latency one is read from beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from benchmarks.measurement_cli import run_measurement
from benchmarks.streaming_quality import lead_runs
from ulde.model.datasets import EVAL_SEED
from ulde.model.metrics import snr_db
from ulde.runtime import denoise
from ulde.runtime.model_file import LOW_LATENCY_MODEL, shipped_model

DATABASES = ("cpsc2018", "mitdb")
MODES = ("10 s", "low-latency")


def streamed(path: Path, low_latency: bool, labels: list[str]):
    """A window denoiser: (n, T) windows -> each lead's consecutive windows streamed as one signal."""
    runs = lead_runs(labels)

    def run(windows: np.ndarray) -> np.ndarray:
        out = np.empty(windows.shape, dtype=np.float32)
        for indices in runs:
            signal = np.ascontiguousarray(windows[indices].reshape(-1), dtype=np.float64)
            out[indices] = denoise(signal, path, low_latency=low_latency).reshape(len(indices), -1)
        return out

    return run


def measure(model: Path | None, data_dir: Path, databases=DATABASES) -> dict:
    from ulde.model.evaluate import group_sets
    from ulde.model.fidelity import fidelity
    from ulde.model.splits import load_splits

    ten_second = Path(model) if model else shipped_model()
    paths = {"10 s": ten_second, "low-latency": ten_second.with_name(LOW_LATENCY_MODEL)}
    result = {"models": {mode: str(p) for mode, p in paths.items()}, "split": "test", "seed": EVAL_SEED, "databases": {}}
    for database in databases:
        sets = group_sets(data_dir, database, load_splits()["clean"][database]["test"])
        first = next(iter(sets.values()))
        denoisers = {mode: streamed(paths[mode], mode == "low-latency", first.labels) for mode in MODES}
        gains = {mode: {group: float(np.mean(snr_db(s.clean, run(s.noisy)) - snr_db(s.clean, s.noisy)))
                        for group, s in sets.items()} for mode, run in denoisers.items()}
        starts = np.zeros(len(first.labels), dtype=bool)
        starts[[run[0] for run in lead_runs(first.labels)]] = True
        clean_snr = {mode: snr_db(first.clean, run(first.clean)) for mode, run in denoisers.items()}
        by_position = {mode: {"first_window_db": float(np.median(snr[starts])),
                              "later_windows_db": float(np.median(snr[~starts])) if (~starts).any() else None}
                       for mode, snr in clean_snr.items()}
        result["databases"][database] = {"windows": int(len(first.clean)), "signals": int(starts.sum()),
                                         "snr_improvement_db": gains, "clean_snr_median_by_position": by_position,
                                         "fidelity": fidelity(denoisers, first.clean, sets)}
    return result


def table(result: dict) -> str:
    lines = ["| database | measure | 10 s mode | low-latency | difference |", "|---|---|---|---|---|"]
    for database, rows in result["databases"].items():
        gains, clean = rows["snr_improvement_db"], rows["fidelity"]["clean_input"]
        for group in gains["10 s"]:
            a, b = gains["10 s"][group], gains["low-latency"][group]
            lines.append(f"| {database} | SNR improvement {group} (dB) | {a:+.2f} | {b:+.2f} | {b - a:+.2f} |")
        for key, label in (("snr_median_db", "clean-input SNR median (dB)"), ("snr_p5_db", "clean-input SNR p5 (dB)")):
            a, b = clean["10 s"][key], clean["low-latency"][key]
            lines.append(f"| {database} | {label} | {a:.1f} | {b:.1f} | {b - a:+.1f} |")
        for key, label in (("first_window_db", "first 10 s of each signal"), ("later_windows_db", "after its first 10 s")):
            a, b = (rows["clean_snr_median_by_position"][m][key] for m in MODES)
            if a is not None:
                lines.append(f"| {database} | clean-input SNR median, {label} (dB) | {a:.1f} | {b:.1f} | {b - a:+.1f} |")
        for key, label in (("median_abs_uv", "median abs"), ("p90_abs_uv", "p90 abs"), ("median_bias_uv", "median bias")):
            a, b = (clean[m]["beat_change"]["st_j60"][key] for m in MODES)
            lines.append(f"| {database} | clean ST change, {label} (µV) | {a:.1f} | {b:.1f} | {b - a:+.1f} |")
        for group, errors in rows["fidelity"]["noisy_error"].items():
            a, b = (errors[m]["st_j60"]["median_abs_uv"] for m in MODES)
            raw = errors["raw noisy input"]["st_j60"]["median_abs_uv"]
            lines.append(f"| {database} | ST error {group}, median abs (µV; raw {raw:.0f}) | {a:.1f} | {b:.1f} | {b - a:+.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return run_measurement(__doc__.splitlines()[0], measure, table, argv)


if __name__ == "__main__":
    sys.exit(main())
