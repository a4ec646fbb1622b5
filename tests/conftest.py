"""Shared fixtures: the tiny real-data fixture, the full data folder (skips when absent), seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support import FIXTURE_DATA, FIXTURE_SPLITS, full_data_dir, private_cache


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Evaluation-set caches go to a per-session folder, never the user's ~/.cache."""
    with private_cache(tmp_path_factory.mktemp("ulde-cache")):
        yield


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
