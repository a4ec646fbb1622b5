"""Shared export fixtures: one full export of an untrained student of the shipped design (the shipped
checkpoint's config) per test session, reused by every test.

Import the fixtures into a test module with ``from tests.export_fixtures import exported, untrained_checkpoint``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from ulde.export.cli import main
from ulde.model.checkpoint import read_checkpoint, save_checkpoint, shipped_checkpoint
from ulde.model.networks import UNetConfig, build

# The untrained network's int8 loss means nothing; the limit is raised so the pipeline, not the
# weights, is what these tests check. (The real student is checked against the 0.5 dB default.)
UNTRAINED_LOSS_LIMIT_DB = "100"


@dataclass(frozen=True)
class Export:
    out: Path
    checkpoint: Path
    exit_code: int


@pytest.fixture(scope="session")
def untrained_checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "student.pt"
    design = UNetConfig.from_dict(read_checkpoint(shipped_checkpoint())["config"])
    save_checkpoint(path, build(design), meta={"role": "untrained test student"})
    return path


@pytest.fixture(scope="session")
def exported(tmp_path_factory, untrained_checkpoint) -> Export:
    """``ulde-export --int8 --c-array`` with the shipped calibration / parity sets (no data directory)."""
    out = tmp_path_factory.mktemp("export") / "ulde-export"
    saved = os.environ.pop("ULDE_DATA", None)  # the shipped sets, whatever the machine has
    try:
        code = main(["--ckpt", str(untrained_checkpoint), "--int8", "--c-array", "--out", str(out),
                     "--max-int8-loss-db", UNTRAINED_LOSS_LIMIT_DB])
    finally:
        if saved is not None:
            os.environ["ULDE_DATA"] = saved
    return Export(out, untrained_checkpoint, code)
