"""Training on the fixture: the loss falls, the run folder is complete, an interrupted run resumes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ulde.model.checkpoint import load_model, save_checkpoint
from ulde.model.datasets import TrainingMixtures, clean_leads, noise_part
from ulde.model.networks import STUDENT, TEACHER, build
from ulde.model.noise import GROUPS
from ulde.model.splits import load_splits
from ulde.model.train import log_error_loss
from ulde.model.train_cli import main


def test_a_few_steps_lower_the_loss_on_real_data(fixture_data, fixture_splits):
    torch.manual_seed(0)
    records = load_splits(fixture_splits)["clean"]["cpsc2018"]["train"]
    mixtures = TrainingMixtures(clean_leads(fixture_data, "cpsc2018", records), noise_part(fixture_data, "train"), GROUPS)
    noisy, clean = (torch.from_numpy(a)[:, None] for a in mixtures.batch(np.random.default_rng(0), 16))
    model = build(STUDENT)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        loss = log_error_loss(model(noisy), clean)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 1.0  # dB of error power on this batch


def run(out, fixture_data, fixture_splits, *extra):
    return main(["student", "--out", str(out), "--data-dir", str(fixture_data), "--splits", str(fixture_splits),
                 "--steps-per-epoch", "2", "--batch-size", "4", "--val-windows", "2", *extra])


def test_cli_distils_and_resumes(tmp_path, fixture_data, fixture_splits):
    teacher = tmp_path / "teacher.pt"
    save_checkpoint(teacher, build(TEACHER), {"role": "teacher"})
    out = tmp_path / "run"
    assert run(out, fixture_data, fixture_splits, "--teacher", str(teacher), "--epochs", "1") == 0
    assert run(out, fixture_data, fixture_splits, "--teacher", str(teacher), "--epochs", "2") == 0  # resumes at epoch 2
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2]
    model, meta = load_model(out / "best.pt")
    assert meta["role"] == "student-kd" and meta["settings"]["kd_weight"] > 0
    assert meta["complexity"]["params"] == sum(p.numel() for p in model.parameters())
    assert len(meta["split_sha256"]) == 64


def test_cli_reports_a_missing_data_dir(tmp_path, capsys):
    assert main(["student", "--out", str(tmp_path / "r"), "--data-dir", str(tmp_path / "absent")]) == 2
    assert "ulde-train: error: data directory" in capsys.readouterr().err


def test_cli_trains_an_ablation_variant_and_refuses_it_with_init(tmp_path, fixture_data, fixture_splits, capsys):
    out = tmp_path / "ablation"
    assert run(out, fixture_data, fixture_splits, "--ablation", "no-extrema", "--epochs", "1") == 0
    model, _ = load_model(out / "best.pt")
    assert model.config.extrema_kernel == 0 and model.config.name == "ulde-net-no-extrema"
    init = tmp_path / "student.pt"
    save_checkpoint(init, build(STUDENT), {"role": "student"})
    with pytest.raises(SystemExit):
        run(tmp_path / "x", fixture_data, fixture_splits, "--ablation", "conventional", "--init", str(init))
    assert "--ablation trains a student variant from scratch" in capsys.readouterr().err


def test_cli_fine_tunes_with_fake_quantization_from_a_checkpoint(tmp_path, fixture_data, fixture_splits):
    init = tmp_path / "student.pt"
    save_checkpoint(init, build(STUDENT), {"role": "student-kd", "teacher": "t.pt"})
    out = tmp_path / "qat"
    assert run(out, fixture_data, fixture_splits, "--init", str(init), "--fake-quant", "--activation", "relu6", "--epochs", "1") == 0
    model, meta = load_model(out / "best.pt")
    assert meta["settings"]["fake_quant"] and meta["init"] == str(init)
    assert model.config.activation == "relu6" and isinstance(model.stem[1], torch.nn.ReLU6)
    assert meta["role"] == "student-kd" and meta["teacher"] == "t.pt"  # the lineage is kept
    assert not model._forward_hooks and not model._forward_pre_hooks  # nothing of the hooks is saved


def test_cli_fine_tunes_with_the_parity_term(tmp_path, fixture_data, fixture_splits):
    init = tmp_path / "student.pt"
    save_checkpoint(init, build(STUDENT), {"role": "student"})
    out = tmp_path / "parity"
    assert run(out, fixture_data, fixture_splits, "--init", str(init), "--fake-quant", "--parity-weight", "0.1", "--epochs", "1") == 0
    _, meta = load_model(out / "best.pt")
    assert meta["settings"]["parity_weight"] == 0.1 and meta["settings"]["fake_quant"]
    assert np.isfinite(meta["val_snr_improvement_db"])


def test_cli_refuses_the_parity_term_without_fake_quantization(tmp_path, fixture_data, fixture_splits, capsys):
    with pytest.raises(SystemExit):
        run(tmp_path / "x", fixture_data, fixture_splits, "--parity-weight", "0.1")
    assert "--parity-weight needs --fake-quant" in capsys.readouterr().err
