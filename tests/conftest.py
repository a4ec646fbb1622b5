"""Shared fixtures: the tiny real-data fixture, the full data folder (skips when absent), seeds."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).parent
REPO_ROOT = TESTS.parent
FIXTURE_DATA = TESTS / "fixtures" / "data"
FIXTURE_SPLITS = TESTS / "fixtures" / "splits.json"


def full_data_dir() -> Path | None:
    """$ULDE_DATA, else ../shared/data beside the repository (where CI puts it); None when absent."""
    candidate = Path(os.environ.get("ULDE_DATA") or REPO_ROOT.parent / "shared" / "data")
    return candidate if (candidate / "cpsc2018").is_dir() and (candidate / "nstdb").is_dir() else None


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Evaluation-set caches go to a per-session folder, never the user's ~/.cache."""
    previous = os.environ.get("ULDE_CACHE")
    os.environ["ULDE_CACHE"] = str(tmp_path_factory.mktemp("ulde-cache"))
    yield
    if previous is None:
        os.environ.pop("ULDE_CACHE", None)
    else:
        os.environ["ULDE_CACHE"] = previous


@pytest.fixture
def fixture_data() -> Path:
    return FIXTURE_DATA


@pytest.fixture
def fixture_splits() -> Path:
    return FIXTURE_SPLITS


@pytest.fixture
def full_data() -> Path:
    found = full_data_dir()
    if found is None:
        pytest.skip("full PhysioNet data not found: set ULDE_DATA or put the data in ../shared/data")
    return found


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
