"""``python -m ulde.model.convert_cli SRC DST``: a student checkpoint without its local-extrema mix bias.

The bias moves into the head's bias (``without_extrema_bias``, model/networks.py): the same function
except at each window's first and last sample, and an export that folds the module into the head
(model/fusion.py). The new checkpoint keeps the source's meta, with fresh provenance and complexity
and a ``converted_from`` entry; its ``val_snr_improvement_db`` is still the source's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ulde.model.checkpoint import CheckpointError, file_sha256, load_model, save_checkpoint
from ulde.model.complexity import complexity
from ulde.model.networks import without_extrema_bias
from ulde.model.provenance import provenance


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ulde.model.convert_cli", description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="checkpoint whose local-extrema mix has a bias")
    parser.add_argument("target", type=Path, help="where to write the converted checkpoint")
    args = parser.parse_args(argv)
    try:
        network, meta = load_model(args.source)
    except CheckpointError as exc:
        print(f"convert: error: {exc}", file=sys.stderr)
        return 1
    converted = without_extrema_bias(network)
    if converted is network:
        print(f"convert: error: {args.source} has no local-extrema mix bias to move", file=sys.stderr)
        return 1
    save_checkpoint(args.target, converted, {
        **meta, **provenance(), "complexity": complexity(converted),
        "converted_from": {"file": args.source.name, "sha256": file_sha256(args.source),
                           "by": "without_extrema_bias (model/networks.py)"}})
    print(f"{args.source} -> {args.target}: local-extrema mix bias moved into the head")
    return 0


if __name__ == "__main__":
    sys.exit(main())
