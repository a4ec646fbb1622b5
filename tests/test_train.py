"""Training on the fixture: the loss falls, the run folder is complete, an interrupted run resumes."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from ulde.model.checkpoint import load_model, save_checkpoint
from ulde.model.datasets import clean_leads, noise_part
from ulde.model.mixtures import DEVICE, PAPER, TrainingMixtures
from ulde.model.networks import STUDENT, TEACHER, build
from ulde.model.splits import load_splits
from ulde.model.train import log_error_loss, low_band_error_loss, partial_span_levels, teacher_helps
from ulde.runtime.normalization import normalize, span_levels
from ulde.model.train_cli import main


def test_a_few_steps_lower_the_loss_on_real_data(fixture_data, fixture_splits):
    torch.manual_seed(0)
    records = load_splits(fixture_splits)["clean"]["cpsc2018"]["train"]
    mixtures = TrainingMixtures({"cpsc2018": clean_leads(fixture_data, "cpsc2018", records)}, noise_part(fixture_data, "train"), PAPER)
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
    assert main(["student", "--out", str(tmp_path / "r"), "--data-dir", str(tmp_path / "absent")]) == 1
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


def test_recipe_runs_its_stages_in_order_and_resumes(tmp_path, fixture_data, fixture_splits):
    small = f'"--splits", "{fixture_splits}", "--steps-per-epoch", "2", "--batch-size", "4", "--val-windows", "2", "--epochs", "1"'
    recipe = tmp_path / "r.toml"
    recipe.write_text(f"""
[[stage]]
name = "teacher"
args = ["teacher", {small}]

[[stage]]
name = "student"
args = ["student", "--teacher", "{{out}}/teacher/best.pt", "--low-band-weight", "1.0", {small}]
""")
    argv = ["--recipe", str(recipe), "--out", str(tmp_path / "run"), "--data-dir", str(fixture_data)]
    assert main(argv) == 0
    _, meta = load_model(tmp_path / "run" / "student" / "best.pt")
    assert meta["teacher"] == str(tmp_path / "run" / "teacher" / "best.pt") and meta["settings"]["low_band_weight"] == 1.0
    assert meta["distribution"]["name"] == "device" and meta["distribution"]["offset_mv"] == 300.0
    assert main(argv) == 0  # a finished recipe re-runs as reloads: no stage trains again
    assert len((tmp_path / "run" / "student" / "train_log.jsonl").read_text().splitlines()) == 1


@pytest.mark.parametrize("text, message", [("[[stage]]\nname = 'a'\nargs = ['student', '--out', 'x']\n", "must not set --out"),
                                           ("name = 1\n", "no \\[\\[stage\\]\\]"), ("[[stage\n", "cannot be read as TOML")])
def test_a_bad_recipe_is_one_line(tmp_path, capsys, text, message):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(text)
    assert main(["--recipe", str(recipe), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ulde-train: error: recipe") and re.search(message, err)


def test_partial_span_levels_take_a_part_of_the_window_for_the_offset_and_all_of_it_for_the_peak():
    rng = np.random.default_rng(0)
    noisy = rng.normal(size=(64, 3600)) + np.linspace(-50, 50, 64)[:, None]  # offsets differ per window
    own = span_levels(noisy)
    untouched = partial_span_levels(np.random.default_rng(1), noisy, 0.0)
    np.testing.assert_array_equal(untouched.offsets, own.offsets)
    np.testing.assert_array_equal(untouched.peaks, own.peaks)
    levels = partial_span_levels(np.random.default_rng(1), noisy, 1.0, shortest=496)
    moved = (levels.offsets != own.offsets)[:, 0]
    assert moved.sum() >= 60  # every window drawn (a part as long as the window keeps its own mean)
    for row in np.flatnonzero(moved):  # the offset is the mean of some contiguous part of >= 496 samples
        sums = np.concatenate(([0.0], np.cumsum(noisy[row])))
        found = any(np.isclose((sums[length:] - sums[:-length]) / length, levels.offsets[row, 0]).any()
                    for length in range(496, 3601))
        assert found, row
    network_input, _ = normalize(noisy, "mean-peak", levels)
    assert np.abs(network_input).max() <= 1.0 + 1e-6  # the peak covers the whole window
    some = partial_span_levels(np.random.default_rng(2), noisy, 0.25)
    assert 4 <= ((some.offsets != own.offsets)[:, 0]).sum() <= 30


def test_cli_trains_with_partial_span_conditioning_and_refuses_a_bad_share(tmp_path, fixture_data, fixture_splits, capsys):
    init = tmp_path / "student.pt"
    save_checkpoint(init, build(STUDENT), {"role": "student"})
    out = tmp_path / "partial"
    assert run(out, fixture_data, fixture_splits, "--init", str(init), "--partial-span-fraction", "0.5", "--epochs", "1") == 0
    assert load_model(out / "best.pt")[1]["settings"]["partial_span_fraction"] == 0.5
    with pytest.raises(SystemExit):
        run(tmp_path / "x", fixture_data, fixture_splits, "--partial-span-fraction", "1.5")
    assert "--partial-span-fraction is a share of windows in [0, 1], got 1.5" in capsys.readouterr().err


def test_cli_distils_only_where_the_teacher_helps(tmp_path, fixture_data, fixture_splits):
    teacher = tmp_path / "teacher.pt"
    save_checkpoint(teacher, build(TEACHER), {"role": "teacher"})
    out = tmp_path / "run"
    assert run(out, fixture_data, fixture_splits, "--teacher", str(teacher), "--kd-where-teacher-helps", "--epochs", "1") == 0
    assert load_model(out / "best.pt")[1]["settings"]["kd_where_teacher_helps"] is True


def test_the_teacher_helps_only_where_it_is_nearer_the_target_than_the_input():
    rng = np.random.default_rng(0)
    target = rng.standard_normal((3, 360))
    noisy = target + 0.5 * rng.standard_normal((3, 360))
    noisy[0] = target[0]  # a noise-free window: no teacher can beat it
    taught = target + 0.1 * rng.standard_normal((3, 360))
    taught[2] = target[2] + 2.0 * rng.standard_normal(360)  # a teacher that harms this window
    assert teacher_helps(taught, noisy, target).tolist() == [[False], [True], [False]]


def test_the_distillation_term_over_some_windows_counts_those_alone():
    target = torch.ones(2, 1, 100)
    estimate = target + torch.tensor([0.01, 1.0])[:, None, None]
    first = torch.tensor([[1.0], [0.0]])
    alone = log_error_loss(estimate[:1], target[:1], windows=torch.ones(1, 1))
    assert torch.isclose(log_error_loss(estimate, target, windows=first), alone / 2)  # over the batch's 2 windows
    assert torch.isclose(log_error_loss(estimate, target, windows=torch.ones(2, 1)), log_error_loss(estimate, target))


def test_low_band_term_sees_only_the_error_below_2_hz():
    t = torch.arange(3600, dtype=torch.float64) / 360.0
    target = torch.zeros(1, 1, 3600, dtype=torch.float64) + torch.sin(2 * torch.pi * 5 * t)  # power for the floor
    slow, fast = torch.sin(2 * torch.pi * 1.0 * t), torch.sin(2 * torch.pi * 10.0 * t)
    full = log_error_loss(target + slow, target)
    assert torch.isclose(low_band_error_loss(target + slow, target), full, atol=1e-3)  # Parseval: all of it is low
    assert low_band_error_loss(target + fast, target) < full - 30  # none of it is: only the floor is left


def test_the_loss_stops_falling_at_the_snr_ceiling():
    target = torch.ones(1, 1, 100)
    at_ceiling = log_error_loss(target + 0.01, target, ceiling_db=40.0)  # 40 dB output SNR
    exact = log_error_loss(target, target, ceiling_db=40.0)
    assert torch.isclose(at_ceiling - exact, torch.tensor(10 * np.log10(2.0), dtype=at_ceiling.dtype), atol=1e-3)


def test_cli_trains_a_model_at_a_device_rate_and_records_it(tmp_path, fixture_data, fixture_splits, capsys):
    out = tmp_path / "at250"
    assert run(out, fixture_data, fixture_splits, "--sample-rate-hz", "250", "--epochs", "1") == 0
    _, meta = load_model(out / "best.pt")
    assert meta["settings"]["sample_rate_hz"] == 250
    assert run(tmp_path / "native", fixture_data, fixture_splits, "--epochs", "1") == 0
    assert load_model(tmp_path / "native" / "best.pt")[1]["settings"]["sample_rate_hz"] == 360
    with pytest.raises(SystemExit):
        run(tmp_path / "x", fixture_data, fixture_splits, "--sample-rate-hz", "50")
    assert "--sample-rate-hz must lie in 100..1000 Hz, got 50" in capsys.readouterr().err


def test_training_windows_at_a_device_rate_are_ten_seconds_of_it(fixture_data, fixture_splits):
    records = load_splits(fixture_splits)["clean"]["cpsc2018"]["train"]
    mixtures = TrainingMixtures({"cpsc2018": clean_leads(fixture_data, "cpsc2018", records, 250)},
                                noise_part(fixture_data, "train", 250), DEVICE, window=2496)
    noisy, clean = mixtures.batch(np.random.default_rng(0), 6)
    assert noisy.shape == clean.shape == (6, 2496)


def test_a_teacher_at_another_rate_is_fed_and_read_at_its_own_rate():
    """A 360 Hz network distilling a 250 Hz student: predict_at_rate resamples each window to 360 Hz and
    back. Slow waves sampled at 250 Hz and resampled are the same waves sampled at 360 Hz (away from the
    window's ends), so the route must give what the network gives on the 360 Hz waves, read at 250 Hz."""
    from ulde.model.inference import predict, predict_at_rate

    torch.manual_seed(0)
    model = build(STUDENT)
    t = np.arange(2496) / 250.0
    windows = np.stack([np.sin(2 * np.pi * 1.2 * t), 0.5 * np.sin(2 * np.pi * 3.0 * t + 1.0)]).astype(np.float32)
    same = predict_at_rate(model, windows, 250, 250)
    assert np.array_equal(same, predict(model, windows))
    other = predict_at_rate(model, windows, 250, 360)
    assert other.shape == windows.shape and other.dtype == np.float32 and np.all(np.isfinite(other))
    # what the 360 Hz network gives on the same waves sampled at 360 Hz, read back at the 250 Hz instants
    t360 = np.arange(3600) / 360.0
    direct = predict(model, np.stack([np.sin(2 * np.pi * 1.2 * t360), 0.5 * np.sin(2 * np.pi * 3.0 * t360 + 1.0)]).astype(np.float32))
    at_250 = np.stack([np.interp(t, t360, row) for row in direct])
    inner = slice(250, 2496 - 250)
    assert np.max(np.abs(other[:, inner] - at_250[:, inner])) < 0.02 * np.max(np.abs(at_250))
    # an electrode offset changes nothing (the resampler's phases would ripple it by 0.2 mV at 300 mV)
    for offset in (-300.0, 300.0):
        assert np.max(np.abs(predict_at_rate(model, windows + np.float32(offset), 250, 360) - other)) < 1e-3


def test_cli_distils_a_student_at_a_device_rate_from_a_360_hz_teacher(tmp_path, fixture_data, fixture_splits):
    teacher = tmp_path / "teacher.pt"
    save_checkpoint(teacher, build(TEACHER), {"role": "teacher"})
    out = tmp_path / "kd250"
    assert run(out, fixture_data, fixture_splits, "--teacher", str(teacher), "--sample-rate-hz", "250", "--epochs", "1") == 0
    _, meta = load_model(out / "best.pt")
    assert meta["settings"]["sample_rate_hz"] == 250 and meta["settings"]["teacher_rate_hz"] == 360
