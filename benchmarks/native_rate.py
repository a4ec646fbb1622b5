"""A model trained at a device's own rate against a 360 Hz model behind the runtime's resampler.

    python -m benchmarks.native_rate --data-dir <data> --rate 250 --model A.tflite --model B.tflite ... --out docs/native_rate.json

Every model streams the same device-rate signals with ``denoise(x, model, sample_rate_hz=rate)``: a
model whose contract says 360 Hz is fed through the runtime's two resamplers, a model trained at the
rate (``ulde-train --sample-rate-hz``, exported by ``ulde-export``) takes the samples as they come.
The signals are device_rates.py's: each test lead of CPSC 2018 and MIT-BIH, its consecutive windows
with an NSTDB group's noise (seed 7) as one signal, resampled to the rate with scipy's polyphase
resampler, as a device at that rate would have recorded them. Per model and group, the mean over lead
signals of the SNR improvement (dB); on clean input (no noise added), the output SNR against the input
over each 10 s of the stream, median and 5th percentile. Cost per second of signal: the model's
convolution MACs (from its MCU-form int8 file, or the file itself) times its calls per second, and the
CPU time of streaming one minute, the models interleaved (benchmarks/timing.py; this host's flags are
recorded).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from benchmarks.device_rates import as_recorded_at, improvement_db, snr_db, lead_signals
from benchmarks.environment import cpu_flags
from benchmarks.measurement_cli import run_rate_measurement
from benchmarks.timing import MIN_RUNS, interleaved
from ulde.model.datasets import EVAL_SEED
from ulde.runtime import StreamingDenoiser, denoise

DATABASES = ("cpsc2018", "mitdb")
CLEAN_SEGMENT_SECONDS = 10
TIMED_SECONDS = 60


def device_signals(data_dir: Path, database: str, rate: int) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Per NSTDB group, and "clean" (the noise-free leads), (clean, noisy) lead signals at ``rate``."""
    from ulde.model.noise import GROUPS

    signals = {group.name: [(as_recorded_at(c, rate), as_recorded_at(x, rate)) for c, x in lead_signals(data_dir, database, group)]
               for group in GROUPS}
    signals["clean"] = [(c, c) for c, _ in signals[GROUPS[0].name]]
    return signals


def clean_passthrough_db(model: Path, signals: list[tuple[np.ndarray, np.ndarray]], rate: int) -> dict:
    """Output SNR against the clean input over each CLEAN_SEGMENT_SECONDS of every lead signal."""
    segment = CLEAN_SEGMENT_SECONDS * rate
    scores = []
    for clean, _ in signals:
        out = denoise(clean, model, sample_rate_hz=rate)
        scores += [snr_db(clean[k : k + segment], out[k : k + segment]) for k in range(0, len(clean) - segment + 1, segment)]
    return {"segments": len(scores), "median_db": float(np.median(scores)), "p5_db": float(np.percentile(scores, 5))}


def network_macs(model: Path) -> int:
    """Convolution MACs per call of ``model``'s network, counted on its MCU-form int8 file (the grouped
    graph, as trained) when one lies beside it."""
    from ulde.export.tflite_graph import convolution_macs

    mcu = model.with_name(model.name.replace("_host", ""))
    return convolution_macs((mcu if mcu.is_file() else model).read_bytes())


def cost(models: list[Path], signal: np.ndarray, rate: int) -> dict:
    """Per model: calls and MACs per second of signal, and the CPU time of streaming TIMED_SECONDS."""
    streams = {str(m): StreamingDenoiser(m, sample_rate_hz=rate) for m in models}
    chunk = np.asarray(signal[: TIMED_SECONDS * rate], dtype=np.float32)
    for stream in streams.values():
        stream.process(chunk)  # steady state from the first timed call on
    timings = interleaved({name: (lambda s=s: s.process(chunk)) for name, s in streams.items()}, MIN_RUNS, warmup=2)
    timings.check_single_threaded()
    cpu = timings.summary()
    result = {}
    for model in models:
        stream = streams[str(model)]
        contract = stream.contract
        calls = contract.sample_rate_hz / stream.hop_samples
        result[str(model)] = {
            "model_rate_hz": contract.sample_rate_hz, "window_samples": contract.window_samples,
            "calls_per_second": calls, "macs_per_second": network_macs(model) * calls,
            "cpu_ms_per_streamed_minute": cpu[str(model)]["cpu_median_ms"],
        }
    return result


def measure(models: list[Path], data_dir: Path, rate: int) -> dict:
    result = {"rate_hz": rate, "split": "test", "seed": EVAL_SEED, "cpu_flags": cpu_flags(), "databases": {}}
    timed = None  # the first noisy lead signal, for the cost
    for database in DATABASES:
        signals = device_signals(data_dir, database, rate)
        timed = signals["group1"][0][1] if timed is None else timed
        rows = {}
        for model in models:
            row = {group: float(np.mean([improvement_db(model, c, x, rate) for c, x in pairs]))
                   for group, pairs in signals.items() if group != "clean"}
            row["clean"] = clean_passthrough_db(model, signals["clean"], rate)
            rows[str(model)] = row
        result["databases"][database] = rows
    result["cost"] = cost(models, np.tile(timed, -(-TIMED_SECONDS * rate // len(timed))), rate)
    return result


def table(result: dict) -> str:
    lines = [f"At {result['rate_hz']} Hz (CPU flags: {', '.join(result['cpu_flags']) or 'none recorded'})", "",
             "| database | model | group1 | group2 | group3 | clean: median / p5 (dB) |", "|---|---|---|---|---|---|"]
    for database, rows in result["databases"].items():
        for model, row in rows.items():
            lines.append(f"| {database} | {model} | {row['group1']:+.2f} | {row['group2']:+.2f} | {row['group3']:+.2f} | "
                         f"{row['clean']['median_db']:.1f} / {row['clean']['p5_db']:.1f} |")
    lines += ["", "| model | its rate (Hz) | calls / s | MACs / s | CPU ms per streamed minute |", "|---|---|---|---|---|"]
    for model, c in result["cost"].items():
        lines.append(f"| {model} | {c['model_rate_hz']:g} | {c['calls_per_second']:.3f} | "
                     f"{c['macs_per_second'] / 1e6:.2f} M | {c['cpu_ms_per_streamed_minute']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return run_rate_measurement(__doc__.splitlines()[0], measure, table, argv)


if __name__ == "__main__":
    sys.exit(main())
