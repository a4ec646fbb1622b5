"""``ulde-eval`` on the fixture."""

from __future__ import annotations

import json

import pytest

from ulde.model.checkpoint import save_checkpoint
from ulde.model.complexity import complexity
from ulde.model.eval_cli import main
from ulde.model.networks import STUDENT, build

from tests.support import FIXTURE_DATA, FIXTURE_SPLITS


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eval")
    model = build(STUDENT)
    save_checkpoint(folder / "s.pt", model, {"role": "student", "complexity": complexity(model)})
    code = main(["--ckpt", str(folder / "s.pt"), "--data-dir", str(FIXTURE_DATA), "--splits", str(FIXTURE_SPLITS),
                 "--out", str(folder / "out"), "--no-neurokit"])
    assert code == 0
    return folder / "out"


def test_writes_json_and_markdown_with_every_section(results):
    data = json.loads((results / "results.json").read_text())
    assert set(data["cpsc_test"]["scores"]) == {"s.pt: ulde-net, student", "band-pass 0.5-40 Hz", "wavelet db4 soft"}
    assert set(data["cpsc_test"]["input_snr_db"]) == {"group1", "group2", "group3"}
    assert set(data["robustness"]["band-pass 0.5-40 Hz"]) == {"ma", "em", "bw"}
    assert data["stress"].startswith("skipped")  # the fixture has no 118e*/119e* records
    assert data["qrs"].startswith("skipped") and data["fidelity"]["ptbxl"].startswith("skipped")
    assert set(data["robustness"]["band-pass 0.5-40 Hz"]["bw"]) == {"-6", "0", "6", "12", "18", "24", "30", "clean"}
    markdown = (results / "results.md").read_text()
    assert "Qiu et al. 2022 student (published) | 10.30" in markdown
    assert "## 5. Fidelity" in markdown and "## 6. DC offsets" in markdown
    assert "Reproduce: `ulde-eval --ckpt" in markdown


def test_band_pass_improves_the_fixture_windows(results):
    scores = json.loads((results / "results.json").read_text())["cpsc_test"]["scores"]["band-pass 0.5-40 Hz"]
    assert all(scores[g]["snr_improvement_db"]["mean"] > 3 for g in ("group1", "group2", "group3"))


def test_bad_checkpoint_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_text("nope")
    assert main(["--ckpt", str(bad), "--data-dir", str(FIXTURE_DATA)]) == 1
    assert capsys.readouterr().err.startswith("ulde-eval: error: checkpoint")


def test_a_checkpoint_trained_at_another_rate_is_refused_not_scored_on_360_hz_windows(tmp_path, capsys):
    at_250 = tmp_path / "s250.pt"
    save_checkpoint(at_250, build(STUDENT), {"role": "student", "settings": {"sample_rate_hz": 250}})
    assert main(["--ckpt", str(at_250), "--data-dir", str(FIXTURE_DATA), "--splits", str(FIXTURE_SPLITS),
                 "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ulde-eval: error:") and "was trained at 250 Hz; ulde-eval scores 360 Hz models" in err
    assert not (tmp_path / "out").exists()


def test_fidelity_section_measures_clean_input_and_beats(results):
    section = json.loads((results / "results.json").read_text())["fidelity"]["cpsc_test"]
    assert section["beats"] > 10  # the fixture's test windows hold real beats NeuroKit2 finds
    band = section["clean_input"]["band-pass 0.5-40 Hz"]
    assert 10 < band["snr_median_db"] < 60  # a band-pass changes clean ECG, but not beyond recognition
    # its 0.5 Hz edge changes mostly the baseline band, its 40 Hz edge the rest: counting only the change
    # above 2 Hz must read higher, and still finite
    assert band["snr_median_db"] < band["snr_change_above_baseline_band_median_db"] < 80
    assert band["snr_p5_db"] <= band["snr_change_above_baseline_band_p5_db"]
    assert band["beat_change"]["st_j60"]["median_abs_uv"] < 20  # 0.5-40 Hz keeps the ST level
    for group, rows in section["noisy_error"].items():
        assert rows["raw noisy input"]["st_j60"]["median_abs_uv"] > 10, group  # noise moves the ST level


def test_offset_table_shows_the_untrained_network_ignores_offsets(results):
    offsets = json.loads((results / "results.json").read_text())["dc_offsets"]
    assert set(offsets["s.pt: ulde-net, student"]) == {"+5", "-5", "+50", "-50", "+300", "-300"}
    assert all(row["max_abs_diff_uv"] < 1.0 for row in offsets["s.pt: ulde-net, student"].values())


def test_targets_table_judges_a_denoiser_from_the_results(results, capsys):
    from ulde.model.targets import main as targets

    name = "s.pt: ulde-net, student"
    assert targets([str(results / "results.json"), "--denoiser", name, "--float-denoiser", name]) == 0
    table = capsys.readouterr().out
    assert "| params / MACs per window ≤ 6.9 K / 6.6 M | 6,2" in table and "| met |" in table
    assert "XQRS F1 on NSTDB 118e*/119e* | not measured (skipped" in table  # the fixture has no stress records
    assert "clean input: output SNR vs input ≥ 30 dB median, ≥ 20 dB p5 |" in table and "(change above 2 Hz only: " in table
    assert targets([str(results / "results.json"), "--denoiser", "absent", "--float-denoiser", name]) == 1
