"""The command line of a measurement script: data folder and model in, a table printed, JSON out."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path


def run_measurement(description: str, measure: Callable[[Path | None, Path], dict], table: Callable[[dict], str],
                    argv: list[str] | None = None) -> int:
    """Parse --data-dir (default: $ULDE_DATA), --model (default: the shipped int8 TFLite) and --out,
    run ``measure(model, data_dir)``, print ``table`` of the result and write it as JSON to --out."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data-dir", type=Path, default=None, help="PhysioNet data folder (default: $ULDE_DATA)")
    p.add_argument("--model", type=Path, default=None, help="model file (default: the shipped int8 TFLite)")
    p.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = p.parse_args(argv)
    from ulde.model.datadir import resolve_data_dir

    return _report(measure(args.model, resolve_data_dir(args.data_dir)), table, args.out)


def run_rate_measurement(description: str, measure: Callable[[list[Path], Path, int], dict], table: Callable[[dict], str],
                         argv: list[str] | None = None) -> int:
    """Parse --data-dir, --rate (a device's sample rate), --model (repeated: the models to compare) and
    --out, run ``measure(models, data_dir, rate)``, print ``table`` of the result and write it as JSON."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data-dir", type=Path, default=None, help="PhysioNet data folder (default: $ULDE_DATA)")
    p.add_argument("--rate", type=int, default=250, help="the device's sample rate, Hz")
    p.add_argument("--model", type=Path, action="append", required=True, help="a model file (repeat to compare)")
    p.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = p.parse_args(argv)
    from ulde.model.datadir import resolve_data_dir

    return _report(measure(args.model, resolve_data_dir(args.data_dir), args.rate), table, args.out)


def _report(result: dict, table: Callable[[dict], str], out: Path | None) -> int:
    print(table(result))
    if out:
        out.write_text(json.dumps(result, indent=2) + "\n")
    return 0
