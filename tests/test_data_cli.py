"""``ulde-data`` as a user runs it."""

from __future__ import annotations

import json

from ulde.model.data_cli import main


def test_summary_on_the_fixture(fixture_data, fixture_splits, tmp_path, capsys):
    out = tmp_path / "summary.json"
    assert main(["--data-dir", str(fixture_data), "--splits", str(fixture_splits), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| cpsc2018 | test | 1 | 2 | 4 |" in printed
    assert "Excluded by design" in printed
    summary = json.loads(out.read_text())
    snr = summary["databases"]["cpsc2018"]["test"]["input_snr_db"]
    assert set(snr) == {"group1", "group2", "group3"}
    assert all(d["n"] == 4 and d["p5"] <= d["p50"] <= d["p95"] for d in snr.values())


def test_missing_data_dir_exits_with_one_clear_line(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path / "absent")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ulde-data: error:") and "does not exist" in err and len(err.splitlines()) == 1


def test_data_dir_without_records_names_them(tmp_path, capsys):
    (tmp_path / "cpsc2018").mkdir()
    assert main(["--data-dir", str(tmp_path)]) == 1
    assert "lacks record(s) A0" in capsys.readouterr().err
