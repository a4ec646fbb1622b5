"""ulde-denoise over archives: directories of mixed formats, patterns, a process pool, re-runs that skip
complete outputs, interruption, EDF/BDF round trips and the Dask route."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.runtime_fixtures import ecg_like, tiny_model  # noqa: F401
from ulde.batch import Job, Settings, denoise_files
from ulde.denoise_cli import main
from ulde.runtime import denoise

FIXTURE_DATA = Path(__file__).parent / "fixtures" / "data"
pyedflib = pytest.importorskip("pyedflib")


def write_edf(path: Path, channels: list[dict], signals: list[np.ndarray], annotations=(), file_type=None):
    """An EDF/BDF file with one data record per second; ``channels`` are pyedflib signal headers."""
    writer = pyedflib.EdfWriter(str(path), len(channels), file_type=pyedflib.FILETYPE_EDFPLUS if file_type is None else file_type)
    try:
        writer.setSignalHeaders(channels)
        writer.writeSamples([np.ascontiguousarray(x) for x in signals])
        for onset, duration, text in annotations:
            writer.writeAnnotation(onset, duration, text)
    finally:
        writer.close()


def channel(label: str, unit: str, fs: int, span: float, digital=(-32768, 32767)) -> dict:
    return dict(label=label, dimension=unit, sample_frequency=fs, physical_min=-span, physical_max=span,
                digital_min=digital[0], digital_max=digital[1], transducer="", prefilter="")


def mixed_archive(root: Path) -> dict[str, np.ndarray]:
    """A nested folder of real records in four formats; returns each input's samples (mV, 360 Hz)."""
    import wfdb

    (root / "wfdb").mkdir(parents=True)
    (root / "flat" / "deep").mkdir(parents=True)
    shutil.copy(FIXTURE_DATA / "mitdb" / "118.hea", root / "wfdb")
    shutil.copy(FIXTURE_DATA / "mitdb" / "118.dat", root / "wfdb")
    mit = wfdb.rdrecord(str(FIXTURE_DATA / "mitdb" / "118")).p_signal
    cpsc = sorted((FIXTURE_DATA / "cpsc2018").glob("*.hea"))[0].with_suffix("")
    ecg = wfdb.rdrecord(str(cpsc), channels=[1]).p_signal[:, 0]
    np.save(root / "flat" / "a.npy", ecg.astype(np.float32))
    np.savetxt(root / "flat" / "deep" / "b.csv", mit[:3600], delimiter=",", fmt="%.6f")
    write_edf(root / "flat" / "c.edf", [channel("ECG II", "mV", 360, 8.0)], [mit[:, 0]])
    return {"wfdb/118": mit, "flat/a.npy": ecg.astype(np.float32), "flat/deep/b.csv": mit[:3600],
            "flat/c.edf": mit[:, 0]}


def run(argv: list) -> int:
    return main([str(a) for a in argv])


def test_a_directory_of_mixed_formats_mirrors_its_layout_and_reports_a_corrupt_file(tmp_path, tiny_model, capsys):
    import wfdb

    inputs = mixed_archive(tmp_path / "bank")
    (tmp_path / "bank" / "flat" / "broken.npy").write_bytes(b"\x93NUMPY garbage")
    out = tmp_path / "clean"
    assert run(["--model", tiny_model, "--fs", "360", tmp_path / "bank", "-o", out, "--jobs", "2"]) == 1
    captured = capsys.readouterr()
    assert "failed: " in captured.err and "broken.npy" in captured.err and "not a readable .npy" in captured.err
    assert "5 file(s): 4 done, 0 skipped" in captured.out and "1 failed" in captured.out
    model = str(tiny_model)
    np.testing.assert_allclose(wfdb.rdrecord(str(out / "wfdb" / "118")).p_signal,
                               denoise(inputs["wfdb/118"], model), atol=0.5 / 200 + 1e-9)
    assert np.array_equal(np.load(out / "flat" / "a.npy"), denoise(inputs["flat/a.npy"], model))
    np.testing.assert_allclose(np.loadtxt(out / "flat" / "deep" / "b.csv", delimiter=","),
                               denoise(inputs["flat/deep/b.csv"], model), atol=1e-5)
    with pyedflib.EdfReader(str(tmp_path / "bank" / "flat" / "c.edf")) as source, \
            pyedflib.EdfReader(str(out / "flat" / "c.edf")) as reader:
        np.testing.assert_allclose(reader.readSignal(0), denoise(source.readSignal(0), model), atol=32 / 65535 + 1e-9)  # one digital step
    assert not (out / "flat" / "broken.npy").exists()
    assert not [p for p in out.rglob(".ulde-denoise-*")]


def test_a_rerun_skips_complete_outputs_and_overwrite_redoes_them(tmp_path, tiny_model, capsys):
    mixed_archive(tmp_path / "bank")
    argv = ["--model", tiny_model, "--fs", "360", tmp_path / "bank", "-o", tmp_path / "clean", "--jobs", "1"]
    assert run(argv) == 0
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "clean").rglob("*") if p.is_file()}
    capsys.readouterr()
    assert run(argv) == 0
    assert "4 file(s): 0 done, 4 skipped" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    (tmp_path / "clean" / "flat" / "a.npy").unlink()
    assert run(argv) == 0
    assert "4 file(s): 1 done, 3 skipped" in capsys.readouterr().out
    assert run(argv + ["--overwrite", "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert all(p.stat().st_mtime_ns > stamps[p] for p in stamps if p.name != "a.npy")


def test_patterns_and_several_inputs_and_the_pool_equal_one_process(tmp_path, tiny_model, capsys):
    mixed_archive(tmp_path / "bank")
    pattern = str(tmp_path / "bank" / "**" / "*.npy")
    assert run(["--model", tiny_model, "--fs", "360", pattern, tmp_path / "bank" / "flat" / "c.edf",
                "-o", tmp_path / "one", "--jobs", "1"]) == 0
    assert sorted(p.relative_to(tmp_path / "one").as_posix() for p in (tmp_path / "one").rglob("*.*")) == [
        "c.edf", "flat/a.npy"]  # the pattern's root is bank/, the file's its folder
    assert run(["--model", tiny_model, "--fs", "360", pattern, tmp_path / "bank" / "flat" / "c.edf",
                "-o", tmp_path / "two", "--jobs", "2"]) == 0
    for produced in (tmp_path / "one").rglob("*.*"):
        assert produced.read_bytes() == (tmp_path / "two" / produced.relative_to(tmp_path / "one")).read_bytes()


def test_archive_errors_are_one_line(tmp_path, tiny_model, capsys):
    mixed_archive(tmp_path / "bank")
    (tmp_path / "empty").mkdir()
    (tmp_path / "a.npy").write_bytes(b"")
    cases = {
        "no match": ([str(tmp_path / "none" / "*.edf")], tmp_path / "o", "matches no ECG file"),
        "empty folder": ([tmp_path / "empty"], tmp_path / "o", "holds no ECG file"),
        "output a file": ([tmp_path / "bank"], tmp_path / "a.npy", "-o must be a directory"),
        "clash": ([tmp_path / "a.npy", tmp_path / "bank" / "flat" / "a.npy"], tmp_path / "o", "would both be written"),
        "plot": ([tmp_path / "bank"], tmp_path / "o", "--plot takes one input"),
    }
    for name, (inputs, out, words) in cases.items():
        extra = ["--plot", tmp_path / "p.png"] if name == "plot" else []
        assert run(["--model", tiny_model, *inputs, "-o", out, *extra]) == 1, name
        err = capsys.readouterr().err.strip()
        assert err.startswith("ulde-denoise: error:") and words in err and "\n" not in err, (name, err)
    assert not (tmp_path / "o").exists()


def test_an_interrupted_archive_run_leaves_only_complete_outputs(tmp_path):
    """Ctrl-C in the middle of a run: what is written is complete, nothing partial is left, and the
    next run does the rest. The shipped model takes about half a second per file here, so the run is
    still going when the first output appears."""
    bank, out = tmp_path / "bank", tmp_path / "clean"
    bank.mkdir()
    signals = {f"r{i}.npy": ecg_like(360 * 60 * 20, seed=i).astype(np.float32) for i in range(8)}
    for name, x in signals.items():
        np.save(bank / name, x)
    command = [sys.executable, "-m", "ulde.denoise_cli", str(bank), "-o", str(out), "--fs", "360", "--jobs", "1",
               "--no-progress"]
    # a shell that runs the tests in the background ignores SIGINT, and its children inherit that: restore it
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not list(out.glob("*.npy")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "interrupted" in err, err
    done = sorted(p.name for p in out.glob("*.npy"))
    assert 1 <= len(done) < len(signals)
    assert sorted(p.name for p in out.iterdir()) == done  # no staging folder, no partial file
    expected = {name: denoise(x) for name, x in signals.items()}
    assert all(np.array_equal(np.load(out / name), expected[name]) for name in done)
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0 and f"{len(done)} skipped" in finished.stdout
    assert all(np.array_equal(np.load(out / name), expected[name]) for name in signals)


EDF_DIGITAL, BDF_DIGITAL = (-32768, 32767), (-8388608, 8388607)


@pytest.mark.parametrize("file_type, suffix, digital", [("EDFPLUS", ".edf", EDF_DIGITAL), ("BDFPLUS", ".bdf", BDF_DIGITAL),
                                                        ("EDF", ".edf", EDF_DIGITAL), ("BDF", ".bdf", BDF_DIGITAL)])
def test_edf_round_trip_keeps_rates_labels_units_and_annotations(tmp_path, tiny_model, file_type, suffix, digital):
    seconds = 30
    ii = ecg_like(250 * seconds, seed=1)
    v1 = ecg_like(500 * seconds, seed=2) * 1000.0 - 250_000.0  # uV, with a -250 mV electrode offset
    resp = np.sin(np.arange(25 * seconds) / 7.0)
    headers = [channel("ECG II", "mV", 250, 6.0, digital), channel("V1", "uV", 500, 300_000.0, digital),
               channel("Resp", "a.u.", 25, 1.0, digital)]
    annotations = [(1.5, -1.0, "N"), (12.25, 2.0, "motion")] if file_type.endswith("PLUS") else []
    source = tmp_path / f"in{suffix}"
    write_edf(source, headers, [ii, v1, resp], annotations, getattr(pyedflib, f"FILETYPE_{file_type}"))
    assert run([source, "-o", tmp_path / f"out{suffix}", "--model", tiny_model, "-q"]) == 0
    with pyedflib.EdfReader(str(source)) as before, pyedflib.EdfReader(str(tmp_path / f"out{suffix}")) as after:
        assert after.filetype == before.filetype
        assert after.getSignalLabels() == ["ECG II", "V1", "Resp"]
        assert [after.getPhysicalDimension(i) for i in range(3)] == ["mV", "uV", "a.u."]
        assert list(after.getSampleFrequencies()) == [250, 500, 25]
        onsets, durations, texts = after.readAnnotations()
        assert list(zip(onsets, durations, texts)) == annotations
        for i, (rate, scale) in enumerate([(250, 1.0), (500, 1000.0)]):
            header = after.getSignalHeader(i)
            resolution = (header["physical_max"] - header["physical_min"]) / (digital[1] - digital[0])
            wanted = denoise(before.readSignal(i) / scale, str(tiny_model), sample_rate_hz=rate) * scale
            np.testing.assert_allclose(after.readSignal(i), wanted, atol=resolution * 1.001)  # one digital step
        assert np.array_equal(after.readSignal(2, digital=True), before.readSignal(2, digital=True))


def test_edf_channel_choice_and_a_file_without_ecg(tmp_path, tiny_model, capsys):
    x = ecg_like(360 * 20, seed=3)
    write_edf(tmp_path / "eeg.edf", [channel("EEG Fp1", "uV", 360, 500.0)], [x * 10])
    assert run([tmp_path / "eeg.edf", "-o", tmp_path / "out.edf", "--model", tiny_model]) == 1
    assert "no ECG channel" in capsys.readouterr().err
    assert run([tmp_path / "eeg.edf", "-o", tmp_path / "out.edf", "--model", tiny_model, "--channels", "EEG Fp1", "-q"]) == 0
    with pyedflib.EdfReader(str(tmp_path / "eeg.edf")) as before, pyedflib.EdfReader(str(tmp_path / "out.edf")) as after:
        wanted = denoise(before.readSignal(0) / 1000, str(tiny_model)) * 1000
        np.testing.assert_allclose(after.readSignal(0), wanted, atol=2000 / 65535 * 1.001)  # one digital step
    assert run([tmp_path / "eeg.edf", "-o", tmp_path / "o2.edf", "--model", tiny_model, "--channels", "Fz"]) == 1
    assert "neither a label" in capsys.readouterr().err


def test_the_dask_route_equals_the_local_one(tmp_path, tiny_model):
    distributed = pytest.importorskip("distributed")
    mixed_archive(tmp_path / "bank")
    from ulde.archive import plan_jobs

    settings = Settings(model=str(tiny_model), fs=360.0)
    local = denoise_files(plan_jobs([str(tmp_path / "bank")], tmp_path / "local"), settings, workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = denoise_files(plan_jobs([str(tmp_path / "bank")], tmp_path / "dask"), settings, client=client)
    assert [r.status for r in local] == [r.status for r in remote] == ["done"] * 4
    for result in local:
        for produced in result.written:
            twin = tmp_path / "dask" / produced.relative_to(tmp_path / "local")
            assert produced.read_bytes() == twin.read_bytes(), produced


def test_a_job_list_reports_each_failure_and_keeps_going(tmp_path, tiny_model):
    np.save(tmp_path / "good.npy", ecg_like(2000, seed=4))
    np.save(tmp_path / "nan.npy", np.full(2000, np.nan))
    jobs = [Job(tmp_path / "nan.npy", tmp_path / "out" / "nan.npy"), Job(tmp_path / "good.npy", tmp_path / "out" / "good.npy"),
            Job(tmp_path / "absent.npy", tmp_path / "out" / "absent.npy")]
    results = denoise_files(jobs, Settings(model=str(tiny_model), fs=360.0), workers=2)
    assert [r.status for r in results] == ["failed", "done", "failed"]
    assert "non-finite" in results[0].reason and "does not exist" in results[2].reason
    assert sorted(os.listdir(tmp_path / "out")) == ["good.npy"]


def test_the_readme_dask_example_runs_as_written(tmp_path, monkeypatch, capsys):
    pytest.importorskip("distributed")
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    [example] = [b for b in blocks if "dask.distributed" in b]
    bank = tmp_path / "holter_bank"
    bank.mkdir()
    np.save(bank / "a.npy", ecg_like(250 * 30, seed=5).astype(np.float32))
    np.save(bank / "b.npy", np.full(250 * 30, np.nan))
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "README.md", "exec"), {"__name__": "readme"})
    assert f"[(PosixPath('holter_bank/b.npy')" in capsys.readouterr().out  # the failure it prints
    assert np.array_equal(np.load(tmp_path / "denoised" / "a.npy"), denoise(np.load(bank / "a.npy"), sample_rate_hz=250.0))
