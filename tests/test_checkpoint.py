"""Checkpoint round trip and every kind of bad checkpoint."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from ulde.model.checkpoint import CheckpointError, file_sha256, load_model, save_checkpoint, shipped_checkpoint
from ulde.model.convert_cli import main as convert_main
from ulde.model.networks import STUDENT, TEACHER, build


def test_round_trip_rebuilds_the_same_network(tmp_path):
    model = build(STUDENT)
    path = tmp_path / "s.pt"
    save_checkpoint(path, model, {"role": "student"})
    loaded, meta = load_model(path)
    assert meta == {"role": "student"} and loaded.config == STUDENT and not loaded.training
    x = torch.randn(2, 1, 3600)
    with torch.no_grad():
        assert torch.equal(loaded(x), model.eval()(x))


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "absent.pt")


def test_corrupt_checkpoint(tmp_path):
    path = tmp_path / "corrupt.pt"
    path.write_bytes(b"\x00not a zip" * 10)
    with pytest.raises(CheckpointError, match="corrupt or not a torch file"):
        load_model(path)


def test_truncated_checkpoint(tmp_path):
    good = tmp_path / "good.pt"
    save_checkpoint(good, build(STUDENT), {})
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_model(bad)


def test_foreign_checkpoint(tmp_path):
    path = tmp_path / "foreign.pt"
    torch.save({"model": torch.nn.Linear(2, 2).state_dict()}, path)
    with pytest.raises(CheckpointError, match="not a ulde checkpoint"):
        load_model(path)


def test_weights_that_do_not_match_the_config(tmp_path):
    path = tmp_path / "mismatch.pt"
    save_checkpoint(path, build(STUDENT), {})
    payload = torch.load(path, weights_only=True)
    payload["config"] = TEACHER.to_dict()
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="weights do not match its config"):
        load_model(path)


def test_shipped_student_is_a_distilled_ulde_net():
    path = shipped_checkpoint()
    if not path.is_file():
        pytest.skip("no shipped checkpoint yet")
    model, meta = load_model(path)
    assert model.config == replace(STUDENT, activation="relu6")  # ReLU6 from its int8 fine-tuning on
    assert meta["role"] == "student-kd"
    assert {"split_sha256", "commit", "complexity", "val_snr_improvement_db"} <= meta.keys()


def test_convert_moves_the_extrema_bias_into_the_head_once(tmp_path, capsys):
    """``python -m ulde.model.convert_cli``: a bias-free student whose export folds the module (model/fusion.py)."""
    source, target = tmp_path / "with_bias.pt", tmp_path / "converted.pt"
    torch.manual_seed(0)
    save_checkpoint(source, build(replace(STUDENT, extrema_bias=True)), meta={"role": "student-kd", "val_snr_improvement_db": 9.0})
    assert convert_main([str(source), str(target)]) == 0
    converted, meta = load_model(target)
    assert converted.config == STUDENT and converted.extrema.mix.bias is None
    assert meta["role"] == "student-kd" and meta["converted_from"]["sha256"] == file_sha256(source)
    assert meta["complexity"]["params"] == sum(p.numel() for p in converted.parameters())
    assert convert_main([str(target), str(tmp_path / "again.pt")]) == 1
    assert "no local-extrema mix bias" in capsys.readouterr().err
    assert convert_main([str(tmp_path / "missing.pt"), str(tmp_path / "x.pt")]) == 1
    assert not (tmp_path / "again.pt").exists() and not (tmp_path / "x.pt").exists()
