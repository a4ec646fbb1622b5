"""The console scripts: each imports its command only when run, so a missing extra is one line that
names it (exit 1) instead of a ModuleNotFoundError traceback."""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "ulde-data": ("ulde.model.data_cli", "train"),
    "ulde-train": ("ulde.model.train_cli", "train"),
    "ulde-eval": ("ulde.model.eval_cli", "train"),
    "ulde-export": ("ulde.export.cli", "export"),
    "ulde-denoise": ("ulde.denoise_cli", None),  # the bare install; WFDB files name [files] themselves
}
"""Command -> (module with main(), the extra it needs)."""


def run(command: str, argv: list[str] | None = None) -> int:
    """Run ``command``'s main; a package missing when it is imported or while it runs is one line."""
    module, extra = COMMANDS[command]
    try:
        return importlib.import_module(module).main(argv)
    except ModuleNotFoundError as exc:
        hint = f": pip install 'ulde[{extra}]'" if extra else ""
        print(f"{command}: error: needs {exc.name or exc}, which this install lacks{hint}", file=sys.stderr)
        return 1


def data() -> int:
    return run("ulde-data")


def train() -> int:
    return run("ulde-train")


def evaluate() -> int:
    return run("ulde-eval")


def export() -> int:
    return run("ulde-export")


def denoise() -> int:
    return run("ulde-denoise")
