"""Helpers shared by tests/ and benchmarks/: where the fixture and the full data are, a private cache."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_DATA = REPO_ROOT / "tests" / "fixtures" / "data"
FIXTURE_SPLITS = REPO_ROOT / "tests" / "fixtures" / "splits.json"


def full_data_dir() -> Path | None:
    """$ULDE_DATA, else ../shared/data beside the repository (where CI puts it); None unless it holds
    cpsc2018/ and nstdb/."""
    candidate = Path(os.environ.get("ULDE_DATA") or REPO_ROOT.parent / "shared" / "data")
    return candidate if (candidate / "cpsc2018").is_dir() and (candidate / "nstdb").is_dir() else None


@contextmanager
def private_cache(folder: Path):
    """Point ULDE_CACHE (evaluation-set caches) at ``folder`` for the duration, never at ~/.cache."""
    previous = os.environ.get("ULDE_CACHE")
    os.environ["ULDE_CACHE"] = str(folder)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("ULDE_CACHE", None)
        else:
            os.environ["ULDE_CACHE"] = previous
