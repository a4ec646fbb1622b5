"""Denoising at device sample rates: the runtime's resampling path against the native 360 Hz stream.

    python -m benchmarks.device_rates --data-dir <data> --model runtime/models/ulde_int8.tflite --out docs/device_rates.json

For each database's test records (CPSC 2018, MIT-BIH) and NSTDB group (seed 7, as ulde.model.evaluate),
the consecutive windows of each lead are one signal. Native: that 360 Hz signal streamed as it is.
At a device rate f: the clean and the noisy signal resampled to f with scipy.signal.resample_poly (the
recording a device at f would have made), the noisy one streamed with ``sample_rate_hz=f`` (the runtime
resamples to 360 Hz and back itself), scored against the clean one at f. Figures are the mean over
lead signals of the SNR improvement (dB) of the whole signal; the table gives each rate's difference
to native (negative: worse).
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

from benchmarks.measurement_cli import run_measurement
from benchmarks.streaming_quality import lead_runs
from ulde.model.datasets import EVAL_SEED
from ulde.runtime import denoise
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

RATES = (125, 250, 500, 1000)
DATABASES = ("cpsc2018", "mitdb")


def snr_db(clean: np.ndarray, estimate: np.ndarray) -> float:
    clean, estimate = clean.astype(np.float64), estimate.astype(np.float64)
    return float(10 * np.log10(np.sum(clean**2) / np.sum((estimate - clean) ** 2)))


def improvement_db(model: Path, clean: np.ndarray, noisy: np.ndarray, rate: float) -> float:
    return snr_db(clean, denoise(noisy, model, sample_rate_hz=rate)) - snr_db(clean, noisy)


def lead_signals(data_dir: Path, database: str, group) -> list[tuple[np.ndarray, np.ndarray]]:
    """(clean, noisy) at 360 Hz per test lead of ``database``: its consecutive windows with ``group``'s
    noise (seed 7) as one signal."""
    from ulde.model.datasets import eval_set
    from ulde.model.splits import load_splits

    s = eval_set(data_dir, database, load_splits()["clean"][database]["test"], "test", group, EVAL_SEED)
    return [(s.clean[run].reshape(-1), s.noisy[run].reshape(-1)) for run in lead_runs(s.labels)]


def resampled(signal: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """``signal`` at ``from_hz`` resampled to ``to_hz`` by scipy's polyphase resampler, float64."""
    from scipy.signal import resample_poly

    ratio = Fraction(to_hz, from_hz)
    return resample_poly(np.asarray(signal).astype(np.float64), ratio.numerator, ratio.denominator)


def as_recorded_at(signal: np.ndarray, rate: int) -> np.ndarray:
    """A 360 Hz signal as a device at ``rate`` would have recorded it, float64."""
    return resampled(signal, SAMPLE_RATE_HZ, rate)


def measure(model: Path, data_dir: Path, rates=RATES, databases=DATABASES) -> dict:
    from ulde.model.noise import GROUPS

    result = {"model": str(model), "split": "test", "seed": EVAL_SEED, "rates_hz": list(rates), "databases": {}}
    for database in databases:
        rows = {}
        for group in GROUPS:
            signals = lead_signals(data_dir, database, group)
            row = {"lead_signals": len(signals),
                   "native_db": float(np.mean([improvement_db(model, c, x, SAMPLE_RATE_HZ) for c, x in signals]))}
            for rate in rates:
                row[f"{rate}_hz_db"] = float(np.mean([improvement_db(model, as_recorded_at(c, rate), as_recorded_at(x, rate), rate)
                                                      for c, x in signals]))
            rows[group.name] = row
        result["databases"][database] = rows
    return result


def table(result: dict) -> str:
    rates = result["rates_hz"]
    lines = ["| database | group | native 360 Hz | " + " | ".join(f"{r} Hz (vs native)" for r in rates) + " |",
             "|---|---|---|" + "---|" * len(rates)]
    for database, rows in result["databases"].items():
        for group, row in rows.items():
            cells = [f"{row[f'{r}_hz_db']:+.2f} ({row[f'{r}_hz_db'] - row['native_db']:+.2f})" for r in rates]
            lines.append(f"| {database} | {group} | {row['native_db']:+.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return run_measurement(__doc__.splitlines()[0], measure, table, argv)


if __name__ == "__main__":
    sys.exit(main())
