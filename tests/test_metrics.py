"""Metric formulas, degenerate cases and invariants."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ulde.model.metrics import MAX_SNR_DB, pearson_r, prd_percent, rmse, snr_db, summarize, window_metrics

finite = st.floats(-5, 5, allow_nan=False, width=32)
windows = arrays(np.float64, st.integers(8, 64), elements=finite)


def test_snr_of_a_known_error_power():
    clean = np.ones(100)
    estimate = clean + 0.1  # error power 1 %, so 20 dB
    assert np.isclose(snr_db(clean, estimate), 20.0)
    assert np.isclose(prd_percent(clean, estimate), 10.0)
    assert np.isclose(rmse(clean, estimate), 0.1)


def test_degenerate_cases_are_finite_and_explicit():
    clean = np.sin(np.linspace(0, 6, 50))
    assert snr_db(clean, clean) == MAX_SNR_DB
    assert prd_percent(clean, clean) == 0.0
    assert snr_db(np.zeros(50), np.zeros(50)) == MAX_SNR_DB
    assert snr_db(np.zeros(50), clean) == -MAX_SNR_DB
    assert pearson_r(clean, np.full(50, 3.0)) == 0.0
    assert pearson_r(np.zeros(50), np.zeros(50)) == 0.0


@settings(max_examples=60, deadline=None)
@given(windows, st.floats(0.01, 100), st.integers(0, 2**31))
def test_snr_is_invariant_to_a_common_gain(clean, gain, seed):
    estimate = clean + np.random.default_rng(seed).normal(0, 0.1, clean.shape)
    assert np.isclose(snr_db(clean, estimate), snr_db(gain * clean, gain * estimate), atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(windows, st.integers(0, 2**31))
def test_bounds_and_identities(clean, seed):
    estimate = clean + np.random.default_rng(seed).normal(0, 0.5, clean.shape)
    r = pearson_r(clean, estimate)
    assert -1.0 <= r <= 1.0
    assert rmse(clean, estimate) >= 0
    snr = snr_db(clean, estimate)
    if abs(snr) < MAX_SNR_DB:
        assert np.isclose(prd_percent(clean, estimate), 100 * 10 ** (-snr / 20))


def test_window_metrics_are_relative_to_the_noisy_input(rng):
    clean = rng.normal(size=(4, 360))
    noisy = clean + rng.normal(scale=0.5, size=clean.shape)
    unchanged = window_metrics(clean, noisy, noisy)
    assert np.allclose(unchanged["snr_improvement_db"], 0)
    assert np.allclose(unchanged["rmse_decrease"], 0)
    assert np.allclose(unchanged["pearson_increase"], 0)
    better = window_metrics(clean, noisy, clean + 0.5 * (noisy - clean))
    assert np.allclose(better["snr_improvement_db"], 20 * np.log10(2))
    assert np.all(better["rmse_decrease"] > 0)


def test_summarize_reports_mean_sd_and_count():
    summary = summarize({"x": np.array([1.0, 3.0])})
    assert summary == {"x": {"mean": 2.0, "sd": 1.0, "n": 2}}
