"""The real-data pipeline on the shipped fixture (and on the full data when present)."""

from __future__ import annotations

import numpy as np
import pytest
import wfdb

from tests.support import private_cache
from ulde.model.datadir import DataDirError, resolve_data_dir
from ulde.model.datasets import clean_leads, eval_set, noise_part
from ulde.model.mixtures import DEVICE, PAPER, TrainingMixtures
from ulde.model.metrics import snr_db
from ulde.model.noise import GROUPS, group_by_name, mix_noise, scale_to_snr
from ulde.model.records import RecordError, load_clean_leads, remove_baseline
from ulde.model.splits import load_splits
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ, TOTAL_STRIDE, WINDOW_SAMPLES, window_samples_at


def test_cpsc_leads_are_resampled_to_360_hz_one_signal_per_lead(fixture_data):
    header = wfdb.rdheader(str(fixture_data / "cpsc2018" / "A0016"))
    leads = clean_leads(fixture_data, "cpsc2018", ["A0016"])
    assert [lead.lead for lead in leads] == header.sig_name
    expected = header.sig_len * SAMPLE_RATE_HZ // int(header.fs)
    assert all(len(lead.signal) == expected and lead.signal.dtype == np.float32 for lead in leads)


def test_clean_reference_is_baseline_corrected(fixture_data):
    raw = wfdb.rdrecord(str(fixture_data / "mitdb" / "118")).p_signal[:, 0]
    lead = clean_leads(fixture_data, "mitdb", ["118"])[0].signal
    assert abs(raw.mean()) > 0.1  # the raw record carries a DC offset ...
    assert abs(lead.mean()) < 0.02  # ... the reference does not
    assert np.allclose(lead, remove_baseline(raw), atol=1e-5)


def test_baseline_filter_removes_wander_and_keeps_qrs_band():
    t = np.arange(20 * SAMPLE_RATE_HZ) / SAMPLE_RATE_HZ
    wander, qrs_band = np.sin(2 * np.pi * 0.1 * t), np.sin(2 * np.pi * 10 * t)
    out = remove_baseline(wander + qrs_band)
    middle = slice(len(t) // 4, -len(t) // 4)
    assert np.std(out[middle] - qrs_band[middle]) < 0.01


def test_noise_comes_only_from_its_time_part(fixture_data):
    full = wfdb.rdrecord(str(fixture_data / "nstdb" / "ma")).p_signal[:, 0]
    parts = {split: noise_part(fixture_data, split)["ma"][:, 0] for split in ("train", "val", "test")}
    n = len(full)
    assert np.array_equal(parts["train"], full[: round(0.7 * n)].astype(np.float32))
    assert np.array_equal(parts["test"], full[round(0.9 * n) :].astype(np.float32))


def test_training_mixtures_are_clean_plus_group_noise(fixture_data, fixture_splits, rng):
    records = load_splits(fixture_splits)["clean"]["cpsc2018"]["train"]
    mixtures = TrainingMixtures({"cpsc2018": clean_leads(fixture_data, "cpsc2018", records)}, noise_part(fixture_data, "train"), PAPER)
    noisy, clean = mixtures.batch(rng, 16)
    assert noisy.shape == clean.shape == (16, WINDOW_SAMPLES)
    assert noisy.dtype == clean.dtype == np.float32
    assert not np.array_equal(noisy, clean)
    again, _ = mixtures.batch(rng, 16)
    assert not np.array_equal(noisy, again)  # every batch is a fresh mixture


def test_group_weights_follow_the_paper():
    assert group_by_name("group1").weights == {"ma": 0.6, "em": 0.2, "bw": 0.2}
    assert group_by_name("group2").weights == {"ma": 0.2, "em": 0.6, "bw": 0.2}
    assert group_by_name("group3").weights == {"ma": 0.2, "em": 0.2, "bw": 0.6}
    ones = {k: np.ones(3) for k in ("ma", "em", "bw")}
    assert np.allclose(mix_noise(GROUPS[0], ones), 1.0)
    with pytest.raises(ValueError, match="unknown noise group"):
        group_by_name("group4")


@pytest.mark.parametrize("target", [-6.0, 0.0, 12.0, 24.0])
def test_controlled_snr_mode_hits_the_target(rng, target):
    clean, noise = rng.normal(size=(5, 3600)), rng.normal(scale=3, size=(5, 3600))
    assert np.allclose(snr_db(clean, clean + scale_to_snr(clean, noise, target)), target, atol=1e-6)


def test_eval_set_is_reproducible_and_cached(fixture_data, fixture_splits):
    records = load_splits(fixture_splits)["clean"]["cpsc2018"]["test"]
    first = eval_set(fixture_data, "cpsc2018", records, "test", GROUPS[1], seed=7)
    second = eval_set(fixture_data, "cpsc2018", records, "test", GROUPS[1], seed=7)
    other_seed = eval_set(fixture_data, "cpsc2018", records, "test", GROUPS[1], seed=8)
    assert np.array_equal(first.noisy, second.noisy) and first.labels == second.labels
    assert not np.array_equal(first.noisy, other_seed.noisy)
    assert first.labels[0] == "A0016/I#0"


def test_a_cache_write_in_progress_elsewhere_does_not_stop_another_process(fixture_data, fixture_splits, tmp_path):
    """Two trainings started together fill the evaluation-set cache at once: each writes its own
    temporary file, so another process's temporary file in the way changes nothing."""
    records = load_splits(fixture_splits)["clean"]["cpsc2018"]["test"]
    with private_cache(tmp_path):
        expected = eval_set(fixture_data, "cpsc2018", records, "test", GROUPS[2], seed=7)
        [cached] = tmp_path.glob("eval-*.npz")
        cached.unlink()
        (tmp_path / cached.name.replace(".npz", ".tmp.npz")).mkdir()  # the shared name the writers once used
        (tmp_path / cached.name.replace(".npz", ".12345.tmp.npz")).write_bytes(b"half written by process 12345")
        again = eval_set(fixture_data, "cpsc2018", records, "test", GROUPS[2], seed=7)
        assert np.array_equal(again.noisy, expected.noisy) and cached.is_file()


def test_missing_data_dir_names_the_problem_and_the_download(tmp_path, monkeypatch):
    monkeypatch.delenv("ULDE_DATA", raising=False)
    with pytest.raises(DataDirError, match="ULDE_DATA"):
        resolve_data_dir(None)
    with pytest.raises(DataDirError, match=r"does not exist.*physionet\.org"):
        resolve_data_dir(tmp_path / "nowhere")


def test_missing_record_is_named(fixture_data):
    with pytest.raises(DataDirError, match="A9999"):
        clean_leads(fixture_data, "cpsc2018", ["A0016", "A9999"])


def write_record(folder, name, signal, fs):
    wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=["II"], p_signal=signal[:, None], fmt=["16"], adc_gain=[200.0],
                baseline=[0], write_dir=str(folder))


def test_wrong_sample_rate_is_refused(tmp_path):
    write_record(tmp_path, "r1", np.zeros(8000), fs=250)
    with pytest.raises(RecordError, match=r"r1: sample rate 250 Hz, expected 500 Hz"):
        load_clean_leads(tmp_path, "r1", expected_fs=500)


def test_non_finite_samples_are_refused(tmp_path):
    signal = np.zeros(8000)
    signal[100] = np.nan
    write_record(tmp_path, "r2", signal, fs=360)
    with pytest.raises(RecordError, match=r"r2: 1 non-finite sample"):
        load_clean_leads(tmp_path, "r2")


def test_record_shorter_than_a_window_is_refused(tmp_path):
    write_record(tmp_path, "r3", np.zeros(WINDOW_SAMPLES - 1), fs=360)
    with pytest.raises(RecordError, match=r"r3: 3599 samples .* shorter than one 3600-sample window"):
        load_clean_leads(tmp_path, "r3")


@pytest.mark.full_data
def test_full_test_split_builds_every_group(full_data):
    records = load_splits()["clean"]["cpsc2018"]["test"]
    sizes = {g.name: eval_set(full_data, "cpsc2018", records, "test", g, seed=7).noisy.shape for g in GROUPS}
    assert len(set(sizes.values())) == 1 and sizes["group1"][0] >= 200


def device_mixtures(fixture_data, fixture_splits, **changes):
    from dataclasses import replace

    records = load_splits(fixture_splits)["clean"]["cpsc2018"]["train"]
    return TrainingMixtures({"cpsc2018": clean_leads(fixture_data, "cpsc2018", records)}, noise_part(fixture_data, "train"),
                            replace(DEVICE, **changes))


def test_device_distribution_draws_clean_windows_offsets_polarity_and_amplitudes(fixture_data, fixture_splits):
    noisy, clean = device_mixtures(fixture_data, fixture_splits).batch(np.random.default_rng(3), 400)
    residual = noisy - clean
    offsets = residual.mean(axis=1)
    noise_free = np.ptp(residual, axis=1) < 1e-3  # the residual is the offset alone: a clean window
    assert 0.1 < noise_free.mean() < 0.3  # clean_fraction 0.2
    assert np.abs(offsets).max() > 200 and np.abs(offsets).max() <= 300.01
    peaks = np.abs(clean).max(axis=1)
    assert peaks.min() >= 0.1 - 1e-4 and peaks.max() <= 5.0 + 1e-3 and np.median(peaks) < 1.5  # log-uniform 0.1-5 mV
    flipped = np.array([np.abs(c.min()) > np.abs(c.max()) for c in clean])
    assert 0.2 < flipped.mean() < 0.8  # polarity flipped half the time (some leads are negative anyway)


def test_device_distribution_scales_single_types_and_mixtures_to_the_drawn_snr(fixture_data, fixture_splits):
    mixtures = device_mixtures(fixture_data, fixture_splits, clean_fraction=0.0, kind_weights=(0.0, 1.0, 1.0),
                               snr_range_db=(6.0, 6.0), offset_mv=0.0, amplitude_range_mv=None, polarity_flip=0.0)
    noisy, clean = mixtures.batch(np.random.default_rng(4), 64)
    assert np.allclose(snr_db(clean, noisy), 6.0, atol=1e-3)


def test_paper_distribution_is_the_fixed_weight_groups_at_raw_level(fixture_data, fixture_splits):
    noisy, clean = device_mixtures(fixture_data, fixture_splits, **{k: getattr(PAPER, k) for k in (
        "clean_fraction", "kind_weights", "amplitude_range_mv", "polarity_flip", "offset_mv")}).batch(np.random.default_rng(5), 32)
    assert not np.any(np.ptp(noisy - clean, axis=1) < 1e-3) and abs(float(np.mean(noisy - clean))) < 1.0


@pytest.mark.parametrize("changes", [{"clean_fraction": 1.5}, {"kind_weights": (0.0, 0.0, 0.0)},
                                     {"amplitude_range_mv": (0.0, 1.0)}, {"offset_mv": -1.0}])
def test_a_bad_distribution_is_refused(changes):
    from dataclasses import replace

    with pytest.raises(ValueError):
        replace(DEVICE, **changes)


@pytest.mark.parametrize("rate", [100, 125, 128, 200, 250, 256, 360, 500, 512, 1000])
def test_a_window_at_any_device_rate_is_ten_seconds_cut_to_the_total_stride(rate):
    window = window_samples_at(rate)
    assert window % TOTAL_STRIDE == 0 and 0 <= rate * 10 - window < TOTAL_STRIDE
    assert window_samples_at(360) == WINDOW_SAMPLES == 3600 and window_samples_at(250) == 2496


def test_data_for_a_model_at_another_rate_is_resampled_leads_and_noise_alike(fixture_data, fixture_splits):
    records = load_splits(fixture_splits)["clean"]["cpsc2018"]["test"]
    native, at_250 = clean_leads(fixture_data, "cpsc2018", records), clean_leads(fixture_data, "cpsc2018", records, 250)
    assert [lead.lead for lead in at_250] == [lead.lead for lead in native]
    assert all(abs(len(b.signal) - len(a.signal) * 250 / 360) <= 1 for a, b in zip(native, at_250))
    noise, noise_250 = noise_part(fixture_data, "train"), noise_part(fixture_data, "train", 250)
    assert all(abs(len(noise_250[k]) - len(noise[k]) * 250 / 360) <= 2 for k in noise)
    # the same noise at 250 Hz: its power is kept (NSTDB noise has little above 125 Hz)
    assert np.isclose(np.mean(noise_250["ma"] ** 2), np.mean(noise["ma"] ** 2), rtol=0.05)
    windows = eval_set(fixture_data, "cpsc2018", records, "test", GROUPS[0], seed=7, rate_hz=250)
    assert windows.noisy.shape[1] == windows.clean.shape[1] == 2496
    assert not np.array_equal(windows.noisy, eval_set(fixture_data, "cpsc2018", records, "test", GROUPS[0], seed=7).noisy[:, :2496])
