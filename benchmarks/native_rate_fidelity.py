"""Beat measures and QRS detection of models streaming at a device's rate, scored at 360 Hz.

    python -m benchmarks.native_rate_fidelity --data-dir <data> --rate 250 --model A.tflite --model B.tflite ... --out docs/native_rate_fidelity.json

``ulde-eval``'s fidelity section and XQRS rows (model/fidelity.py, model/qrs_detection.py) for a device
at ``--rate``: every 360 Hz signal is recorded at the rate as benchmarks/device_rates.py records it
(scipy's polyphase resampler), streamed through ``denoise(x, model, sample_rate_hz=rate)`` (a 360 Hz
model behind the runtime's resamplers, or a model trained at the rate), and resampled back to 360 Hz,
where the fiducials of the clean reference (NeuroKit2's R peaks, fixed offsets) and the NSTDB beat
annotations are. The row "resampled only" goes to the rate and back without a denoiser: the part of
every row's change that the scoring's own resampling makes. Fidelity: the test records of CPSC 2018
and MIT-BIH, each lead's consecutive windows one signal (NSTDB groups, seed 7), clean-input change and
the ST error under noise next to the raw input's. XQRS: NSTDB 118e*/119e* as recorded (offset kept).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.device_rates import as_recorded_at, resampled
from benchmarks.measurement_cli import run_rate_measurement
from benchmarks.streaming_quality import lead_runs, streamed
from ulde.model.datasets import EVAL_SEED
from ulde.runtime import denoise
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

DATABASES = ("cpsc2018", "mitdb")
RESAMPLED_ONLY = "resampled only"

SignalDenoiser = Callable[[np.ndarray], np.ndarray]


def at_device_rate(rate: int, model: Path | None) -> SignalDenoiser:
    """360 Hz signal -> recorded at ``rate`` -> streamed through ``model`` (None: nothing) -> 360 Hz."""

    def run(signal: np.ndarray) -> np.ndarray:
        recorded = as_recorded_at(signal, rate)
        out = recorded if model is None else denoise(recorded, model, sample_rate_hz=rate)
        return resampled(out, rate, SAMPLE_RATE_HZ)[: len(signal)]

    return run


def measure(models: list[Path], data_dir: Path, rate: int) -> dict:
    from ulde.model.evaluate import group_sets
    from ulde.model.fidelity import fidelity
    from ulde.model.qrs_detection import stress_qrs
    from ulde.model.splits import load_splits

    denoisers = {RESAMPLED_ONLY: at_device_rate(rate, None), **{str(m): at_device_rate(rate, m) for m in models}}
    result = {"rate_hz": rate, "split": "test", "seed": EVAL_SEED, "fidelity": {}}
    for database in DATABASES:
        sets = group_sets(data_dir, database, load_splits()["clean"][database]["test"])
        first = next(iter(sets.values()))
        runs = lead_runs(first.labels)
        windowed = {name: streamed(d, runs) for name, d in denoisers.items()}
        result["fidelity"][database] = fidelity(windowed, first.clean, sets)
    result["qrs"] = stress_qrs(data_dir, denoisers)
    return result


def table(result: dict) -> str:
    lines = [f"At {result['rate_hz']} Hz, scored at 360 Hz", "",
             "| database | denoiser | clean ST change median / p90 / bias (µV) | ST error under groups 1/2/3, median abs (µV) |",
             "|---|---|---|---|"]
    for database, rows in result["fidelity"].items():
        raw = "/".join(f"{e['raw noisy input']['st_j60']['median_abs_uv']:.0f}" for e in rows["noisy_error"].values())
        for name, clean in rows["clean_input"].items():
            st = clean["beat_change"]["st_j60"]
            noisy = "/".join(f"{e[name]['st_j60']['median_abs_uv']:.1f}" for e in rows["noisy_error"].values())
            lines.append(f"| {database} | {name} | {st['median_abs_uv']:.1f} / {st['p90_abs_uv']:.1f} / "
                         f"{st['median_bias_uv']:+.1f} | {noisy} (raw {raw}) |")
    snrs = list(result["qrs"])
    lines += ["", "| XQRS F1 | " + " | ".join(snrs) + " |", "|---|" + "---|" * len(snrs)]
    for name in result["qrs"][snrs[0]]:
        lines.append(f"| {name} | " + " | ".join(f"{result['qrs'][s][name]['f1']:.3f}" for s in snrs) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return run_rate_measurement(__doc__.splitlines()[0], measure, table, argv)


if __name__ == "__main__":
    sys.exit(main())
