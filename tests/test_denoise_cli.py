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


def test_a_plot_span_past_the_end_is_refused_before_anything_is_written(tmp_path, tiny_model, capsys):
    record, _ = write_record(tmp_path, fs=360, seconds=25)
    assert main([str(record), "-o", str(tmp_path / "out"), "--model", str(tiny_model), "--plot", str(tmp_path / "p.png"),
                 "--plot-start", "30"]) == 1
    assert "past the end of the record (25.0 s)" in capsys.readouterr().err
    assert not (tmp_path / "out.hea").exists() and not (tmp_path / "p.png").exists()


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


def test_version(capsys):
    import ulde

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == f"ulde-denoise {ulde.__version__}"


def test_a_bad_fs_is_an_argparse_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"), "--fs", "-5"])
    assert exit_info.value.code == 2 and "positive" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("ulde-denoise") is None, reason="console script not installed (pip install -e .)")
def test_the_console_script_is_installed():
    result = subprocess.run(["ulde-denoise", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--plot-seconds" in result.stdout


def test_success_prints_one_line_and_quiet_prints_none(tmp_path, tiny_model, capsys):
    np.save(tmp_path / "x.npy", ecg_like(2000, seed=7))
    args = [str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"), "--fs", "360", "--model", str(tiny_model)]
    assert main(args) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("ulde-denoise: wrote") and "y.npy" in out and "2000 samples" in out and "\n" not in out
    quiet = [str(tmp_path / "x.npy"), "-o", str(tmp_path / "z.npy"), "--fs", "360", "--model", str(tiny_model), "--quiet"]
    assert main(quiet) == 0
    assert capsys.readouterr().out == "" and np.array_equal(np.load(tmp_path / "z.npy"), np.load(tmp_path / "y.npy"))


@pytest.mark.parametrize("kind", ["npy", "csv", "wfdb", "symlink"])
def test_an_output_that_is_the_input_is_refused_and_the_input_kept(tmp_path, tiny_model, capsys, kind):
    if kind == "wfdb":
        record, _ = write_record(tmp_path, fs=360)
        source, target = record, record
        before = {f: f.read_bytes() for f in tmp_path.glob("rec.*")}
    else:
        source = tmp_path / ("x.csv" if kind == "csv" else "x.npy")
        np.savetxt(source, ecg_like(1000, seed=8), delimiter=",") if kind == "csv" else np.save(source, ecg_like(1000, seed=8))
        target = source
        if kind == "symlink":
            target = tmp_path / "link.npy"
            target.symlink_to(source)
        before = {source: source.read_bytes()}
    assert main([str(source), "-o", str(target), "--fs", "360", "--model", str(tiny_model)] if kind != "wfdb"
                else [str(source), "-o", str(target), "--model", str(tiny_model)]) == 1
    assert "is the input file" in capsys.readouterr().err
    assert all(f.read_bytes() == data for f, data in before.items())


def test_an_interrupted_write_leaves_the_previous_output(tmp_path, tiny_model, monkeypatch, capsys):
    from ulde.formats import NpyOutput

    np.save(tmp_path / "x.npy", ecg_like(3000, seed=9))
    old = np.arange(5.0)
    np.save(tmp_path / "y.npy", old)
    real_append = NpyOutput.append

    def interrupted(self, stream, denoised):
        real_append(self, stream, denoised)  # part of the output is on disk, in the staging folder
        raise KeyboardInterrupt

    monkeypatch.setattr(NpyOutput, "append", interrupted)
    argv = [str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"), "--fs", "360", "--model", str(tiny_model)]
    assert main(argv + ["--overwrite"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert np.array_equal(np.load(tmp_path / "y.npy"), old)
    assert sorted(f.name for f in tmp_path.iterdir()) == ["x.npy", "y.npy"]  # no staging folder left


def test_an_existing_output_is_skipped_unless_overwrite(tmp_path, tiny_model, capsys):
    x = ecg_like(3000, seed=9)
    np.save(tmp_path / "x.npy", x)
    old = np.arange(5.0)
    np.save(tmp_path / "y.npy", old)
    argv = [str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"), "--fs", "360", "--model", str(tiny_model)]
    assert main(argv) == 0
    assert "skipped" in capsys.readouterr().err and np.array_equal(np.load(tmp_path / "y.npy"), old)
    assert main(argv + ["--overwrite"]) == 0
    assert np.array_equal(np.load(tmp_path / "y.npy"), denoise(x, tiny_model))


def test_wfdb_output_keeps_gains_format_date_and_annotations(tmp_path, tiny_model):
    import datetime

    import wfdb

    signal = ecg_like(360 * 25, seed=10, leads=2)
    digital = np.rint(signal * 200 + 1024).astype(np.int64)
    wfdb.wrsamp("rec", fs=360, units=["mV", "mV"], sig_name=["MLII", "V5"], d_signal=digital, fmt=["212", "212"],
                adc_gain=[200, 200], baseline=[1024, 1024], base_date=datetime.date(2020, 3, 4),
                base_time=datetime.time(10, 20, 30), write_dir=str(tmp_path))
    wfdb.wrann("rec", "atr", np.array([100, 500]), symbol=["N", "N"], write_dir=str(tmp_path))
    assert main([str(tmp_path / "rec"), "-o", str(tmp_path / "out"), "--model", str(tiny_model), "-q"]) == 0
    out = wfdb.rdrecord(str(tmp_path / "out"))
    assert out.adc_gain == [200.0, 200.0] and out.baseline == [1024, 1024] and out.fmt == ["212", "212"]
    assert out.base_date == datetime.date(2020, 3, 4) and out.base_time == datetime.time(10, 20, 30)
    assert wfdb.rdann(str(tmp_path / "out"), "atr").sample.tolist() == [100, 500]
    np.testing.assert_allclose(out.p_signal, expected(wfdb.rdrecord(str(tmp_path / "rec")).p_signal, 360, tiny_model),
                               atol=0.5 / 200 + 1e-9)  # half an ADC step


def test_csv_time_column_bom_and_chosen_columns(tmp_path, tiny_model):
    x = ecg_like(3000, seed=11, leads=2)
    t = np.arange(3000) / 360
    rows = "\n".join(f"{a:.6f},{b:.7g},{c:.7g}" for a, b, c in zip(t, x[:, 0], x[:, 1]))
    (tmp_path / "in.csv").write_text("\ufefftime,I,II\n" + rows + "\n", encoding="utf-8")
    assert main([str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"), "--model", str(tiny_model), "-q"]) == 0
    lines = (tmp_path / "out.csv").read_text().splitlines()
    table = np.loadtxt(tmp_path / "out.csv", delimiter=",", skiprows=1)
    assert lines[0] == "time,I,II" and table.shape == (3000, 3)
    np.testing.assert_allclose(table[:, 0], t, atol=1e-6)  # the time column passed through
    source = np.loadtxt(tmp_path / "in.csv", delimiter=",", skiprows=1, encoding="utf-8-sig")
    np.testing.assert_allclose(table[:, 1:], expected(source[:, 1:], 360, tiny_model), atol=1e-5)
    assert main([str(tmp_path / "in.csv"), "-o", str(tmp_path / "one.csv"), "--columns", "2", "--model", str(tiny_model), "-q"]) == 0
    one = np.loadtxt(tmp_path / "one.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(one[:, :2], source[:, :2], atol=1e-6)  # not chosen: unchanged
    np.testing.assert_allclose(one[:, 2], expected(source[:, 2], 360, tiny_model), atol=1e-5)


def more_bad_inputs(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("I,II\n")
    (tmp_path / "ragged.csv").write_text("1,2\n3\n4,5\n")
    (tmp_path / "word.csv").write_text("1,2\n3,x\n")
    (tmp_path / "zero.npy").write_bytes(b"")
    (tmp_path / "text.npy").write_text("1,2,3\n")
    (tmp_path / "badfs.hea").write_text("badfs 1 abc 100\nbadfs.dat 16 200 16 0 0 0 0 II\n")
    (tmp_path / "badfs.dat").write_bytes(b"\x00" * 200)
    (tmp_path / "short.hea").write_text("short 3 360 100\nshort.dat 16 200 16 0 0 0 0 I\nshort.dat 16 200 16 0 0 0 0 II\n")
    (tmp_path / "short.dat").write_bytes(b"\x00" * 600)
    return {
        "empty csv": (["empty.csv", "-o", "o.csv"], "holds no samples"),
        "header only": (["header.csv", "-o", "o.csv"], "no samples"),
        "ragged csv": (["ragged.csv", "-o", "o.csv"], "row 2 has 1 value"),
        "word in csv": (["word.csv", "-o", "o.csv"], "not a number"),
        "zero-byte npy": (["zero.npy", "-o", "o.npy"], "not a readable .npy"),
        "text npy": (["text.npy", "-o", "o.npy"], "not a readable .npy"),
        "fs abc": (["badfs", "-o", "o"], "is not a number"),
        "missing signal line": (["short", "-o", "o"], "cannot read WFDB record"),
        "columns on npy": (["zero.npy", "-o", "o.npy", "--columns", "0"], "CSV input only"),
    }


@pytest.mark.parametrize("case", ["empty csv", "header only", "ragged csv", "word in csv", "zero-byte npy", "text npy",
                                  "fs abc", "missing signal line", "columns on npy"])
def test_malformed_files_are_one_line_errors(tmp_path, tiny_model, monkeypatch, capsys, case):
    argv, words = more_bad_inputs(tmp_path)[case]
    monkeypatch.chdir(tmp_path)
    argv = argv + ["--model", str(tiny_model)] + (["--fs", "360"] if argv[0].endswith((".npy", ".csv")) else [])
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ulde-denoise: error:") and words in err and "\n" not in err, err


def test_a_rate_the_runtime_cannot_take_is_a_one_line_error(tmp_path, tiny_model, capsys):
    np.save(tmp_path / "x.npy", ecg_like(500, seed=12))
    for rate in ("0.001", "20000"):
        assert main([str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"), "--fs", rate, "--model", str(tiny_model)]) == 1
        err = capsys.readouterr().err.strip()
        assert "outside the 100-1000 Hz" in err and "\n" not in err
