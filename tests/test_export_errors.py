"""Bad input to ulde-export: one-line error, non-zero exit, nothing written at the target or beside it."""

from __future__ import annotations

import json
import os

import pytest
import torch

from tests.export_fixtures import untrained_checkpoint  # noqa: F401 (pytest fixture)
from ulde.export import pipeline, staging
from ulde.export.cli import main
from ulde.model.checkpoint import read_checkpoint


@pytest.fixture(autouse=True)
def _no_env_data(monkeypatch):
    monkeypatch.delenv("ULDE_DATA", raising=False)


def run_failing(argv, capsys) -> str:
    """Run the CLI, expect exit 1 and exactly one error line; return it."""
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ulde-export: error: "), err
    return err[0]


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_missing_checkpoint(tmp_path, capsys):
    line = run_failing(["--ckpt", str(tmp_path / "nope.pt"), "--out", str(tmp_path / "out")], capsys)
    assert "does not exist" in line and leftovers(tmp_path) == []


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")  # torch's note on the junk bytes
def test_corrupt_checkpoint(tmp_path, capsys):
    (tmp_path / "bad.pt").write_bytes(b"\x80\x04 definitely not a torch zip file")
    line = run_failing(["--ckpt", str(tmp_path / "bad.pt"), "--out", str(tmp_path / "out")], capsys)
    assert "corrupt" in line and leftovers(tmp_path) == ["bad.pt"]


def test_foreign_checkpoint(tmp_path, capsys):
    torch.save({"model": {"w": torch.zeros(2)}}, tmp_path / "foreign.pt")
    line = run_failing(["--ckpt", str(tmp_path / "foreign.pt"), "--out", str(tmp_path / "out")], capsys)
    assert "not a ulde checkpoint" in line and leftovers(tmp_path) == ["foreign.pt"]


def test_checkpoint_whose_weights_do_not_match_its_config(tmp_path, capsys, untrained_checkpoint):
    payload = read_checkpoint(untrained_checkpoint)
    payload["config"]["channels"] = [8, 8, 12, 12, 16]
    torch.save(payload, tmp_path / "mismatched.pt")
    line = run_failing(["--ckpt", str(tmp_path / "mismatched.pt"), "--out", str(tmp_path / "out")], capsys)
    assert "do not match its config" in line and leftovers(tmp_path) == ["mismatched.pt"]


@pytest.mark.parametrize("case", ["text file", "config as a string", "huge config", "teacher"])
def test_checkpoints_that_are_not_a_device_student(tmp_path, capsys, untrained_checkpoint, case):
    """A text file, a config of the wrong type, a 3 KB file whose config asks for 8192 channels (refused
    before anything is allocated), and the teacher (refused unless --allow-teacher)."""
    target = tmp_path / "ckpt.pt"
    payload = read_checkpoint(untrained_checkpoint)
    if case == "text file":
        target.write_text("hello, I am not a checkpoint\n")
    elif case == "config as a string":
        torch.save({**payload, "config": "ulde-net"}, target)
    elif case == "huge config":
        torch.save({**payload, "config": {**payload["config"], "channels": [8192] * 5}}, target)
    else:
        torch.save({**payload, "meta": {"role": "teacher"}}, target)
    words = {"text file": "corrupt or not a torch file", "config as a string": "config must be a dictionary",
             "huge config": "more than the", "teacher": "--allow-teacher"}[case]
    line = run_failing(["--ckpt", str(target), "--out", str(tmp_path / "out")], capsys)
    assert words in line and leftovers(tmp_path) == ["ckpt.pt"], line


def test_output_path_below_a_file_is_unwritable(tmp_path, capsys, untrained_checkpoint):
    (tmp_path / "file").write_text("x")
    line = run_failing(["--ckpt", str(untrained_checkpoint), "--out", str(tmp_path / "file" / "out")], capsys)
    assert "cannot write the output directory" in line and leftovers(tmp_path) == ["file"]


def test_output_that_is_a_file_is_refused(tmp_path, capsys, untrained_checkpoint):
    (tmp_path / "out").write_text("keep me")
    line = run_failing(["--ckpt", str(untrained_checkpoint), "--out", str(tmp_path / "out")], capsys)
    assert "not a directory" in line and (tmp_path / "out").read_text() == "keep me"


def test_foreign_non_empty_output_directory_is_not_replaced(tmp_path, capsys, untrained_checkpoint):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    line = run_failing(["--ckpt", str(untrained_checkpoint), "--out", str(tmp_path / "out")], capsys)
    assert "refusing to replace" in line and leftovers(tmp_path / "out") == ["notes.txt"]


def test_missing_data_directory(tmp_path, capsys, untrained_checkpoint):
    line = run_failing(["--ckpt", str(untrained_checkpoint), "--data-dir", str(tmp_path / "nodata"),
                        "--out", str(tmp_path / "out")], capsys)
    assert "does not exist" in line and leftovers(tmp_path) == []


def test_data_directory_without_the_needed_records(tmp_path, capsys, untrained_checkpoint):
    data = tmp_path / "data"
    (data / "cpsc2018").mkdir(parents=True)
    (data / "nstdb").mkdir()
    line = run_failing(["--ckpt", str(untrained_checkpoint), "--data-dir", str(data), "--out", str(tmp_path / "out")], capsys)
    assert "lacks record(s)" in line
    assert leftovers(tmp_path) == ["data"], "the staging folder must be removed"


def test_unwritable_target_directory(tmp_path, capsys, untrained_checkpoint):
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    line = run_failing(["--ckpt", str(untrained_checkpoint), "--out", str(locked / "out")], capsys)
    assert "cannot write the output directory" in line and leftovers(locked) == []


def test_bad_loss_limit_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--max-int8-loss-db", "-1"])
    assert exit_info.value.code == 2 and "expected a limit >= 0 dB" in capsys.readouterr().err


def test_install_replaces_a_previous_export_and_keeps_nothing_of_it(tmp_path):
    out = tmp_path / "models"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    (out / "stale.tflite").write_bytes(b"old")
    stage = staging.make_staging(out)
    (stage / "manifest.json").write_text(json.dumps({"new": True}))
    staging.install(stage, out)
    assert leftovers(out) == ["manifest.json"] and json.loads((out / "manifest.json").read_text()) == {"new": True}
    assert leftovers(tmp_path) == ["models"]


def test_int8_loss_over_the_limit_fails_and_leaves_the_target_untouched(tmp_path, capsys, monkeypatch, untrained_checkpoint):
    """The conversion itself is faked (the real one is exercised once per session in test_export_cli)."""

    def fake_export_variant(stage, variant, network, calibration, parity_data, options, rate_hz):
        (stage / variant.file("ulde_int8.tflite")).write_bytes(b"int8")
        loss = 0.8 if variant.kept_start else 0.1  # only the low-latency model fails
        report = {"passed": loss <= options.max_int8_loss_db, "max_int8_loss_db": options.max_int8_loss_db,
                  "failing_groups": ["group2"] if loss > options.max_int8_loss_db else [],
                  "groups": {"group2": {"int8_loss_db": loss}}}
        return {}, {}, report

    monkeypatch.setattr(pipeline, "_export_variant", fake_export_variant)
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text('{"previous": true}')
    line = run_failing(["--ckpt", str(untrained_checkpoint), "--out", str(out), "--max-int8-loss-db", "0.5"], capsys)
    assert "low-latency model: " in line and "loses more SNR improvement than the 0.5 dB limit: group2 0.80 dB" in line
    assert "10 s model" not in line
    assert json.loads((out / "manifest.json").read_text()) == {"previous": True}
    rejected = tmp_path / "out.rejected"
    assert (rejected / "ulde_int8.tflite").is_file() and (rejected / "ulde_int8_low_latency.tflite").is_file()
    assert (rejected / "manifest.json").is_file()
    assert leftovers(tmp_path) == ["out", "out.rejected"]
