"""ulde-denoise: WFDB / CSV / .npy in and out, resampling, plot, progress, one-line errors."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from tests.runtime_fixtures import ecg_like, tiny_model  # noqa: F401
from ulde.denoise_cli import main
from ulde.runtime import denoise


def write_record(folder, name="rec", fs=500, seconds=25, units=("mV", "mV")):
    import wfdb

    signal = ecg_like(int(fs * seconds), seed=1, leads=len(units))
    wfdb.wrsamp(name, fs=fs, units=list(units), sig_name=["II", "V1"][: len(units)], p_signal=signal,
                fmt=["16"] * len(units), write_dir=str(folder))
    return folder / name, wfdb.rdrecord(str(folder / name)).p_signal


def expected(signal: np.ndarray, fs: float, model) -> np.ndarray:
    """The CLI's pipeline written out: the runtime at the file's rate (it resamples to 360 Hz and back)."""
    return denoise(signal, model, sample_rate_hz=fs)


@pytest.mark.parametrize("fs, as_hea", [(500, False), (360, True), (250, False)])
def test_wfdb_record_round_trip_keeps_header_and_length(tmp_path, tiny_model, fs, as_hea):
    import wfdb

    record, raw = write_record(tmp_path, fs=fs)
    source = record.with_name("rec.hea") if as_hea else record
    assert main([str(source), "-o", str(tmp_path / "clean"), "--model", str(tiny_model), "--no-progress"]) == 0
    out = wfdb.rdrecord(str(tmp_path / "clean"))
    assert out.fs == fs and out.units == ["mV", "mV"] and out.sig_name == ["II", "V1"]
    assert out.p_signal.shape == raw.shape
    np.testing.assert_allclose(out.p_signal, expected(raw, fs, tiny_model), atol=2e-3)  # 16-bit ADC steps
    assert any("ulde-denoise" in c for c in out.comments)


def test_microvolt_records_are_converted_to_mv_and_back(tmp_path, tiny_model):
    import wfdb

    record, raw = write_record(tmp_path, fs=360, units=("uV",))
    raw_uv = raw * 1000.0
    wfdb.wrsamp("uv", fs=360, units=["uV"], sig_name=["II"], p_signal=raw_uv, fmt=["16"], write_dir=str(tmp_path))
    assert main([str(tmp_path / "uv"), "-o", str(tmp_path / "out"), "--model", str(tiny_model)]) == 0
    out = wfdb.rdrecord(str(tmp_path / "out"))
    assert out.units == ["uV"]
    np.testing.assert_allclose(out.p_signal / 1000.0, expected(wfdb.rdrecord(str(tmp_path / "uv")).p_signal / 1000.0,
                                                               360, tiny_model), atol=2e-3)


def test_npy_at_360_hz_equals_the_runtime_exactly(tmp_path, tiny_model):
    x = ecg_like(5000, seed=2).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert main([str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"), "--fs", "360", "--model", str(tiny_model)]) == 0
    y = np.load(tmp_path / "y.npy")
    assert y.shape == x.shape and np.array_equal(y, denoise(x, tiny_model))


def test_csv_with_a_header_and_the_assumed_rate(tmp_path, tiny_model, capsys):
    x = ecg_like(4000, seed=3, leads=2)
    np.savetxt(tmp_path / "in.csv", x, delimiter=",", header="I,II", comments="")
    assert main([str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"), "--model", str(tiny_model)]) == 0
    assert "assuming 360 Hz" in capsys.readouterr().err
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0] == "I,II" and len(lines) == 4001
    np.testing.assert_allclose(np.loadtxt(tmp_path / "out.csv", delimiter=",", skiprows=1),
                               expected(x, 360, tiny_model), rtol=1e-6, atol=1e-6)


def test_csv_without_header_at_another_rate(tmp_path, tiny_model):
    x = ecg_like(5000, seed=4, leads=1)
    np.savetxt(tmp_path / "in.csv", x, delimiter=",")
    assert main([str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"), "--fs", "500", "--model", str(tiny_model)]) == 0
    out = np.loadtxt(tmp_path / "out.csv", delimiter=",", ndmin=2)
    assert out.shape == x.shape
    np.testing.assert_allclose(out, expected(x, 500, tiny_model), rtol=1e-6, atol=1e-6)


def test_plot_draws_a_png(tmp_path, tiny_model):
    record, _ = write_record(tmp_path, fs=360)
    png = tmp_path / "plot.png"
    assert main([str(record), "-o", str(tmp_path / "out"), "--model", str(tiny_model), "--plot", str(png),
                 "--plot-start", "5", "--plot-seconds", "4"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_what_to_install(tmp_path, tiny_model, monkeypatch, capsys):
    import sys

    record, _ = write_record(tmp_path, fs=360)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main([str(record), "-o", str(tmp_path / "out"), "--model", str(tiny_model), "--plot", str(tmp_path / "p.png")]) == 1
    assert "pip install 'ulde[plot]'" in capsys.readouterr().err


def test_long_records_show_a_progress_bar(tmp_path, tiny_model, capsys):
    np.save(tmp_path / "long.npy", ecg_like(11 * 60 * 360, seed=5))
    assert main([str(tmp_path / "long.npy"), "-o", str(tmp_path / "out.npy"), "--fs", "360", "--model", str(tiny_model)]) == 0
    assert "denoising" in capsys.readouterr().err


def bad_inputs(tmp_path):
    np.save(tmp_path / "ints.npy", np.zeros(100, dtype=np.int16))
    np.save(tmp_path / "nan.npy", np.array([0.0, np.nan] * 50))
    (tmp_path / "x.txt").write_text("1,2\n")
    (tmp_path / "bad.tflite").write_bytes(b"not a flatbuffer" * 10)
    np.save(tmp_path / "ok.npy", np.zeros(100))
    return {
        "missing input": (["absent.npy", "-o", "o.npy"], "does not exist"),
        "missing record": (["absent_record", "-o", "o"], "does not exist"),
        "unknown type": (["x.txt", "-o", "o.txt"], "unknown input type"),
        "other output format": (["ok.npy", "-o", "o.csv"], "must be the input's format"),
        "integer array": (["ints.npy", "-o", "o.npy"], "expected a float"),
        "NaN": (["nan.npy", "-o", "o.npy"], "non-finite"),
        "corrupt model": (["ok.npy", "-o", "o.npy", "--model", "bad.tflite"], "is not a valid TFLite file"),
        "bad hop": (["ok.npy", "-o", "o.npy", "--hop", "0"], "hop must be between"),
    }


@pytest.mark.parametrize("case", ["missing input", "missing record", "unknown type", "other output format",
                                  "integer array", "NaN", "corrupt model", "bad hop"])
def test_errors_are_one_line_and_exit_non_zero(tmp_path, tiny_model, monkeypatch, capsys, case):
    argv, words = bad_inputs(tmp_path)[case]
    monkeypatch.chdir(tmp_path)
    if "--model" not in argv:
        argv = argv + ["--model", str(tiny_model)]
    argv = argv + ["--fs", "360"] if argv[0].endswith(".npy") else argv  # no "assuming 360 Hz" note
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ulde-denoise: error:") and words in err and "\n" not in err


def test_a_bad_fs_is_an_argparse_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"), "--fs", "-5"])
    assert exit_info.value.code == 2 and "positive" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("ulde-denoise") is None, reason="console script not installed (pip install -e .)")
def test_the_console_script_is_installed():
    result = subprocess.run(["ulde-denoise", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--plot-seconds" in result.stdout
