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

    result = measure(args.model, resolve_data_dir(args.data_dir))
    print(table(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0
