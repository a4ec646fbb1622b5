"""Streaming vs one-window-at-a-time quality, and cost, per hop and taper on the real test split.

This is the measurement behind the runtime's default framing (hann taper, hop = window / 2). Run it
to print the table and write JSON (needs the full data; uses ulde.model, so the training extra):

    python -m benchmarks.streaming_quality --model runtime/models/ulde.onnx --out streaming_quality.json

For each NSTDB group (test split of CPSC 2018, seed 7 as in ulde.model.evaluate) it reports the mean
SNR improvement (dB) of (a) the model on each 10 s window alone ("offline", one call per window),
(b) the consecutive windows of each lead concatenated and streamed (steady state), (c) each window
streamed as its own 10 s signal (edges dominate). Cost is interpreter calls per second of one lead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ulde.model.datasets import EVAL_SEED
from ulde.runtime import StreamingDenoiser, denoise_windows

CONFIGS = (("rect", 1.0), ("hann", 1.0), ("rect", 0.5), ("hann", 0.5), ("hann", 0.25), ("hann", 0.125))
"""(taper, hop as a fraction of the window)."""
DATABASE = "cpsc2018"


def lead_runs(labels: list[str]) -> list[np.ndarray]:
    """Indices of consecutive windows of one record/lead ('record/lead#k' labels, k = 0, 1, ...)."""
    runs, current, previous = [], [], None
    for i, label in enumerate(labels):
        lead, k = label.rsplit("#", 1)
        if current and (lead != previous[0] or int(k) != previous[1] + 1):
            runs.append(np.array(current))
            current = []
        current.append(i)
        previous = (lead, int(k))
    return runs + ([np.array(current)] if current else [])


def streamed(denoise_signal: Callable[[np.ndarray], np.ndarray], runs: list[np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """A window denoiser: the windows of each run (``lead_runs``: a lead's consecutive windows) joined
    into one signal, denoised whole by ``denoise_signal`` (signal -> same-length signal), cut back."""

    def run(windows: np.ndarray) -> np.ndarray:
        out = np.empty(windows.shape, dtype=np.float32)
        for indices in runs:
            out[indices] = denoise_signal(np.ascontiguousarray(windows[indices].reshape(-1))).reshape(len(indices), -1)
        return out

    return run


def whole_stream(d: StreamingDenoiser) -> Callable[[np.ndarray], np.ndarray]:
    """A signal denoiser: the signal as one chunk through ``d``, then its flush."""
    return lambda signal: np.concatenate([d.process(signal), d.flush()])


def offline(model: Path, noisy: np.ndarray) -> np.ndarray:
    return denoise_windows(noisy, model)


def measure(model: Path, data_dir: Path, configs=CONFIGS) -> dict:
    from ulde.model.datasets import eval_set
    from ulde.model.metrics import window_metrics
    from ulde.model.noise import GROUPS
    from ulde.model.splits import load_splits

    records = load_splits()["clean"][DATABASE]["test"]
    result = {"model": str(model), "database": DATABASE, "split": "test", "seed": EVAL_SEED, "groups": {}}
    for group in GROUPS:
        s = eval_set(data_dir, DATABASE, records, "test", group, EVAL_SEED)
        snri = lambda den: float(np.mean(window_metrics(s.clean, s.noisy, den)["snr_improvement_db"]))  # noqa: E731
        runs = lead_runs(s.labels)
        row = {"windows": len(s.clean), "lead_runs": len(runs), "offline_db": snri(offline(model, s.noisy))}
        for taper, fraction in configs:
            d = StreamingDenoiser(model, taper=taper, hop=None)
            d = StreamingDenoiser(model, taper=taper, hop=int(d.window_samples * fraction))
            key = f"{taper}/hop{d.hop_samples}"
            row[key] = {"stream_db": snri(streamed(whole_stream(d), runs)(s.noisy)),
                        "isolated_db": snri(streamed(whole_stream(d), [np.array([i]) for i in range(len(s.clean))])(s.noisy)),
                        "calls_per_s": d.calls_per_second, "latency_s": d.latency_seconds}
        result["groups"][group.name] = row
    return result


def table(result: dict) -> str:
    lines = ["| group | framing | calls/s | offline dB | stream dB (loss) | isolated 10 s dB (loss) |", "|---|---|---|---|---|---|"]
    for name, row in result["groups"].items():
        for key, v in row.items():
            if isinstance(v, dict):
                lines.append(f"| {name} | {key} | {v['calls_per_s']:.3f} | {row['offline_db']:.2f} | {v['stream_db']:.2f} "
                             f"({row['offline_db'] - v['stream_db']:+.2f}) | {v['isolated_db']:.2f} "
                             f"({row['offline_db'] - v['isolated_db']:+.2f}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, required=True, help=".onnx or .tflite model")
    p.add_argument("--data-dir", type=Path, default=None, help="PhysioNet data folder (default: $ULDE_DATA)")
    p.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    p.add_argument("--configs", default=None, help="taper:hop-fraction list, e.g. hann:0.5,rect:1 (default: all)")
    args = p.parse_args(argv)
    from ulde.model.datadir import resolve_data_dir

    configs = CONFIGS if args.configs is None else tuple(
        (taper, float(fraction)) for taper, fraction in (item.split(":") for item in args.configs.split(",")))
    result = measure(args.model, resolve_data_dir(args.data_dir), configs)
    print(table(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
