"""ulde-export: checkpoint -> ulde.onnx, ulde_float.tflite, ulde_int8.tflite, manifest.json, parity.*

    ulde-export --ckpt model/checkpoints/student.pt --int8 --c-array --data-dir "$ULDE_DATA" --out runtime/models
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ulde.export.parity import SHIPPED_SETS_MAX_INT8_LOSS_DB, TEST_SPLIT_MAX_INT8_LOSS_DB
from ulde.runtime.errors import first_line

PROG = "ulde-export"
DEFAULT_OUT = Path("ulde-export")


def non_negative_db(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of dB, got {text!r}") from None
    if not value >= 0:  # also rejects NaN
        raise argparse.ArgumentTypeError(f"expected a limit >= 0 dB, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Export a ulde checkpoint to checked ONNX and full-integer TFLite.")
    parser.add_argument("--ckpt", type=Path, default=None, help="checkpoint (default: the shipped student)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory, replaced atomically (default: ./ulde-export)")
    parser.add_argument("--int8", action="store_true",
                        help="also write the full-integer int8 model (calibrated on real ECG), check it against the float "
                             "model (--max-int8-loss-db) and run it in TFLite Micro; without it, ONNX and float TFLite only")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="PhysioNet data folder for calibration (training split) and parity (test split); "
                             "default $ULDE_DATA, else the small real sets shipped with ulde")
    parser.add_argument("--no-conv2d-twin", action="store_true",
                        help="convert the plain Conv1d graph to TFLite instead of its (1, k) Conv2d twin (larger, slower)")
    parser.add_argument("--no-equalization", action="store_true",
                        help="keep the downsampling outputs' per-channel ranges as trained (more int8 rounding error)")
    parser.add_argument("--allow-teacher", action="store_true",
                        help="export a checkpoint whose meta says it is a teacher (refused by default: ship the student)")
    parser.add_argument("--c-array", action="store_true", help="also write ulde_model.h / ulde_model.cc for firmware (needs --int8)")
    parser.add_argument("--max-int8-loss-db", type=non_negative_db, default=None,
                        help="fail when int8 loses more SNR improvement than this on any noise group (default "
                             f"{TEST_SPLIT_MAX_INT8_LOSS_DB} dB on a data directory's test split, "
                             f"{SHIPPED_SETS_MAX_INT8_LOSS_DB} dB on the shipped 8 windows per group)")
    return parser


def _data_dir(arg: Path | None) -> Path | None:
    from ulde.model.datadir import DATA_ENV_VAR, resolve_data_dir

    if arg is None and not os.environ.get(DATA_ENV_VAR):
        return None
    return resolve_data_dir(arg)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.c_array and not args.int8:
        parser.error("--c-array needs --int8: the C array holds the int8 model")
    # heavy imports (torch, onnx) only after --help had its chance
    from ulde.export.pipeline import ExportOptions, run_export
    from ulde.model.checkpoint import shipped_checkpoint

    try:
        options = ExportOptions(
            checkpoint=args.ckpt if args.ckpt is not None else shipped_checkpoint(), out=args.out,
            data_dir=_data_dir(args.data_dir), c_array=args.c_array, conv2d_twin=not args.no_conv2d_twin,
            equalize=not args.no_equalization, max_int8_loss_db=args.max_int8_loss_db, int8=args.int8,
            allow_teacher=args.allow_teacher,
        )
        manifest = run_export(options)
    except (ValueError, RuntimeError, OSError) as exc:  # every ulde error derives from one of these
        print(f"{PROG}: error: {first_line(exc)}", file=sys.stderr)
        return 1
    _print_summary(manifest, args.out)
    return 0


def _print_summary(manifest: dict, out: Path) -> None:
    for name, entry in manifest["artefacts"].items():
        print(f"{out / name}: {entry['bytes']} bytes")
    for name, form in (("10 s model", manifest), ("low-latency model", manifest["low_latency"])):
        if "micro" not in form:
            print(f"{name}: float only (--int8 adds the int8 model)")
            continue
        losses = ", ".join(f"{g} {v:.2f} dB" for g, v in form["parity"]["int8_loss_db"].items())
        print(f"{name}: int8 loss {losses}; TFLM arena {form['micro']['arena_bytes']} bytes")
    print(f"exported in {manifest['export_seconds']} s")


if __name__ == "__main__":
    raise SystemExit(main())
