"""A nearly clean NSTDB record as recorded, through ulde.runtime: SNR against the clean MIT-BIH record.

    python -m benchmarks.stress_record --data-dir "$ULDE_DATA" [--model PATH ...]

NSTDB's 118e24 (storage offset of about -5 mV kept, as a device file would have it), streamed through
``ulde.runtime.denoise``, scored against the baseline-corrected MIT-BIH 118 over the noise-free minutes
1-5 (NSTDB adds noise from minute 5; the first minute is left to the high-pass's start-up). A 0.5 Hz
zero-phase high-pass of the same record is the reference point.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ulde.model.metrics import snr_db
from ulde.model.records import load_clean_leads, read_record, remove_baseline
from ulde.runtime import denoise
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

QUIET = slice(60 * SAMPLE_RATE_HZ, 300 * SAMPLE_RATE_HZ)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.stress_record", description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--record", default="118e24", help="NSTDB noisy record (its clean source is its first 3 characters)")
    p.add_argument("--model", type=Path, action="append", default=None, help="model file (default: the shipped int8)")
    args = p.parse_args(argv)
    raw = read_record(args.data_dir / "nstdb" / args.record)[0][:, 0]
    ref = load_clean_leads(args.data_dir / "mitdb", args.record[:3], float(SAMPLE_RATE_HZ))[0].signal
    print(f"{args.record} as recorded: offset {np.median(raw[QUIET] - ref[QUIET]):+.2f} mV against MIT-BIH {args.record[:3]}")
    for model in args.model or [None]:
        out = denoise(raw, model)
        print(f"{model or 'shipped int8'}: {float(snr_db(ref[QUIET], out[QUIET])):.1f} dB over minutes 1-5")
    print(f"0.5 Hz high-pass alone: {float(snr_db(ref[QUIET], remove_baseline(raw)[QUIET])):.1f} dB")


if __name__ == "__main__":
    main()
