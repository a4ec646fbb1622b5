"""Write an export into a temporary folder beside the target, then swap it into place.

A failed or interrupted export never leaves half a folder at the target: the old contents stay until
the new folder is complete, and the swap is two renames within one parent directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ulde.export.manifest import MANIFEST_FILE


class OutputDirError(OSError):
    """The output folder cannot be created, written or safely replaced."""


def check_target(out: Path) -> None:
    """Raise OutputDirError unless ``out`` is absent, empty, or a previous export (has a manifest)."""
    if out.exists() and not out.is_dir():
        raise OutputDirError(f"output {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST_FILE).is_file():
        raise OutputDirError(f"output directory {out} is not empty and holds no {MANIFEST_FILE}: refusing to replace it")


def make_staging(out: Path) -> Path:
    """A fresh hidden folder next to ``out`` (same file system, so the final rename is atomic)."""
    check_target(out)
    parent = out.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    except OSError as exc:
        raise OutputDirError(f"cannot write the output directory {out}: {exc.strerror or exc}") from exc
    stage.chmod(0o777 & ~_umask())  # mkdtemp makes it private (0700); the export is an ordinary folder
    return stage


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def install(staging: Path, out: Path) -> None:
    """Replace ``out`` with ``staging``; the previous export is removed only after the swap."""
    check_target(out)
    previous = None
    if out.exists():
        previous = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.absolute().parent))
        os.replace(out, previous / "export")
    try:
        os.replace(staging, out)
    except OSError:
        if previous is not None:
            os.replace(previous / "export", out)  # put the old export back
        raise
    finally:
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)


def discard(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)
