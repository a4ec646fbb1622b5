"""Locate and check the PhysioNet data directory (``--data-dir`` or ``$ULDE_DATA``)."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV_VAR = "ULDE_DATA"

DOWNLOAD_HINT = (
    "Download the PhysioNet databases into one folder with sub-folders nstdb/ "
    "(https://physionet.org/content/nstdb/1.0.0/), mitdb/ (https://physionet.org/content/mitdb/1.0.0/) "
    "and cpsc2018/ (CPSC 2018 in WFDB form: https://physionet.org/content/challenge-2020/1.0.2/, "
    "training/cpsc_2018/), then pass --data-dir or set ULDE_DATA."
)

NOISE_RECORDS = ("bw", "em", "ma")


class DataDirError(FileNotFoundError):
    """The data directory is missing, or lacks records ulde needs."""


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Return the data directory from the argument or ``$ULDE_DATA``, checked to exist.

    Raises DataDirError naming what is missing and where to download it.
    """
    chosen = data_dir if data_dir is not None else os.environ.get(DATA_ENV_VAR)
    if not chosen:
        raise DataDirError(f"no data directory given: pass --data-dir or set {DATA_ENV_VAR}. {DOWNLOAD_HINT}")
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise DataDirError(f"data directory {path} does not exist. {DOWNLOAD_HINT}")
    return path


def require_records(folder: Path, records: list[str] | tuple[str, ...]) -> None:
    """Raise DataDirError listing every record of ``records`` whose header is absent in ``folder``."""
    if not folder.is_dir():
        raise DataDirError(f"{folder} is missing. {DOWNLOAD_HINT}")
    missing = [r for r in records if not (folder / f"{r}.hea").is_file()]
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise DataDirError(f"{folder} lacks record(s) {shown}. {DOWNLOAD_HINT}")


def list_records(folder: Path) -> list[str]:
    """Record names in a WFDB folder: its RECORDS file if present, else every ``*.hea``, sorted."""
    if not folder.is_dir():
        raise DataDirError(f"{folder} is missing. {DOWNLOAD_HINT}")
    listing = folder / "RECORDS"
    if listing.is_file():
        names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    else:
        names = sorted(p.stem for p in folder.glob("*.hea"))
    if not names:
        raise DataDirError(f"{folder} holds no WFDB records. {DOWNLOAD_HINT}")
    return names
