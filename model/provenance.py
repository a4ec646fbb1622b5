"""Where an artefact came from: the package version and the git commit of the source tree."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ulde import __version__


def git_commit() -> str:
    """The source tree's commit (with '+dirty' for uncommitted changes), or 'unknown' outside git."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def provenance() -> dict[str, str]:
    return {"ulde_version": __version__, "commit": git_commit()}
