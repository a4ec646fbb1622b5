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

A bound, not a mode: the first windows once more through the low-latency model, every frame conditioned
on the levels of the whole 10 s window it lies in (which a stream knows only 10 s later), instead of
the stream's levels so far. What separates the low-latency mode's first 10 s from that bound is the
conditioning's estimate of the offset and peak from less than 10 s of signal, not the short frames.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from benchmarks.measurement_cli import run_measurement
from benchmarks.streaming_quality import lead_runs, streamed
from ulde.model.datasets import EVAL_SEED
from ulde.model.metrics import snr_db
from ulde.runtime import denoise
from ulde.runtime.model_file import LOW_LATENCY_MODEL, shipped_model

DATABASES = ("cpsc2018", "mitdb")
MODES = ("10 s", "low-latency")


def with_window_levels(path: Path, windows: np.ndarray) -> np.ndarray:
    """(n, L) windows, each streamed alone through the low-latency model at ``path``, every frame
    conditioned on its whole window's levels (the bound of the module docstring)."""
    from ulde.export.variants import LOW_LATENCY
    from ulde.runtime import Model
    from ulde.runtime.normalization import Levels, span_levels

    model, own = Model(path), span_levels(windows)

    def run(frames: np.ndarray, _stream_levels: Levels) -> np.ndarray:  # each window's frames, window after window
        return model.denoise_windows(frames, Levels(*(np.repeat(part, len(frames) // len(windows), axis=0) for part in own)))

    return LOW_LATENCY.denoised(run, windows)


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
        runs = lead_runs(first.labels)
        denoisers = {mode: streamed(lambda x, mode=mode: denoise(x.astype(np.float64), paths[mode], low_latency=mode == "low-latency"),
                                    runs) for mode in MODES}
        gains = {mode: {group: float(np.mean(snr_db(s.clean, run(s.noisy)) - snr_db(s.clean, s.noisy)))
                        for group, s in sets.items()} for mode, run in denoisers.items()}
        starts = np.zeros(len(first.labels), dtype=bool)
        starts[[run[0] for run in runs]] = True
        clean_snr = {mode: snr_db(first.clean, run(first.clean)) for mode, run in denoisers.items()}
        by_position = {mode: {"first_window_db": float(np.median(snr[starts])),
                              "later_windows_db": float(np.median(snr[~starts])) if (~starts).any() else None}
                       for mode, snr in clean_snr.items()}
        bound = snr_db(first.clean[starts], with_window_levels(paths["low-latency"], first.clean[starts]))
        by_position["low-latency, window levels"] = {"first_window_db": float(np.median(bound)), "later_windows_db": None}
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
        a, b = rows["clean_snr_median_by_position"]["10 s"]["first_window_db"], rows["clean_snr_median_by_position"][
            "low-latency, window levels"]["first_window_db"]
        lines.append(f"| {database} | … first 10 s, every frame conditioned on its whole window (a bound: 10 s look-ahead) "
                     f"| {a:.1f} | {b:.1f} | {b - a:+.1f} |")
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
