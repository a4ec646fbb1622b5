"""The real windows an export uses (shipped sets, data-directory route) and the shipped runtime models."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from tests.export_fixtures import UNTRAINED_LOSS_LIMIT_DB, untrained_checkpoint  # noqa: F401 (pytest fixture)
from ulde.export import calibration, shipped_data
from ulde.export.cli import main
from ulde.model.checkpoint import file_sha256, shipped_checkpoint
from ulde.runtime.signal_spec import WINDOW_SAMPLES

PACKAGE_DATA_LIMIT_BYTES = 1_000_000
SHIPPED_MODELS = Path(str(resources.files("ulde.runtime") / "models"))


def test_shipped_sets_fit_the_package_budget_and_carry_their_licences():
    folder = shipped_data.shipped_dir()
    assert sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) <= PACKAGE_DATA_LIMIT_BYTES
    attribution = (folder / "ATTRIBUTION.md").read_text()
    for phrase in ("CPSC 2018", "CC BY 4.0", "Noise Stress Test", "ODC-By 1.0"):
        assert phrase in attribution


def test_shipped_calibration_is_real_noisy_windows_of_every_group():
    windows, info = calibration.calibration_windows(None)
    assert windows.dtype == np.float32 and windows.shape == (info["windows"], WINDOW_SAMPLES)
    assert info["groups"] == ["group1", "group2", "group3"] and "shipped" in info["source"]
    assert np.all(np.isfinite(windows)) and 0.05 < float(np.std(windows)) < 5.0  # mV-scale ECG plus noise


def test_shipped_parity_sets_share_clean_windows_across_groups():
    sets, info = calibration.parity_sets(None)
    assert [s[0] for s in sets] == ["group1", "group2", "group3"]
    for _, clean, noisy, labels in sets:
        assert clean.shape == noisy.shape == (info["windows_per_group"], WINDOW_SAMPLES) and len(labels) == len(clean)
        assert not np.array_equal(clean, noisy)
    assert all(np.array_equal(sets[0][1], s[1]) for s in sets)


def test_encoding_round_trips_to_within_half_a_microvolt(rng):
    windows = np.cumsum(rng.normal(0, 0.02, (3, WINDOW_SAMPLES)), axis=1).astype(np.float32)
    decoded = shipped_data.decode(shipped_data.encode(windows))
    assert decoded.dtype == np.float32 and np.max(np.abs(decoded - windows)) <= 0.5e-3 + 1e-6


@pytest.mark.full_data
def test_shipped_sets_regenerate_identically_from_the_data(full_data, tmp_path):
    from ulde.export.make_shipped_data import write_shipped_sets

    for path in write_shipped_sets(full_data, tmp_path):
        with np.load(path) as new, np.load(shipped_data.shipped_dir() / path.name) as old:
            assert set(new) == set(old)
            assert all(np.array_equal(new[k], old[k]) for k in new)


@pytest.mark.full_data
@pytest.mark.slow
def test_export_with_a_data_directory_calibrates_on_the_training_split(full_data, tmp_path, untrained_checkpoint):
    out = tmp_path / "out"
    assert main(["--ckpt", str(untrained_checkpoint), "--int8", "--data-dir", str(full_data), "--out", str(out),
                 "--max-int8-loss-db", UNTRAINED_LOSS_LIMIT_DB]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["calibration"]["windows"] >= 200 and "data directory" in manifest["calibration"]["source"]
    assert "test split (all windows)" in manifest["parity"]["source"]


@pytest.mark.skipif(not (SHIPPED_MODELS / "manifest.json").is_file(), reason="no exported models shipped in runtime/models yet")
def test_shipped_models_were_exported_from_the_shipped_checkpoint():
    manifest = json.loads((SHIPPED_MODELS / "manifest.json").read_text())
    if not shipped_checkpoint().is_file():
        pytest.skip("the shipped student checkpoint is not present")
    assert manifest["checkpoint"]["sha256"] == file_sha256(shipped_checkpoint())
    for name in ("ulde.onnx", "ulde_int8.tflite", "ulde_float.tflite"):
        entry = manifest["artefacts"][name]
        assert entry["sha256"] == file_sha256(SHIPPED_MODELS / name), f"{name} differs from its manifest entry"
    assert manifest["parity"]["passed"]
