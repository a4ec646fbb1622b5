"""Device sample rates: the streaming resampler alone, and StreamingDenoiser / denoise through it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.runtime_fixtures import ecg_like, fail_on_call, int8_tflite, shipped_file, tiny_model  # noqa: F401
from ulde.runtime import StreamingDenoiser, denoise
from ulde.runtime.resampling import Resampler
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

DEVICE_RATES = [125, 128, 200, 250, 256, 500, 512, 1000]


def resampled(resampler: Resampler, x: np.ndarray, sizes=None) -> np.ndarray:
    """(n,) through ``resampler`` in chunks of ``sizes`` (cycled; one chunk if None), then flushed."""
    state, parts, pos, i = resampler.new_state(1), [], 0, 0
    sizes = sizes or [max(1, len(x))]
    while pos < len(x):
        parts.append(resampler.process(state, x[None, pos : pos + sizes[i % len(sizes)]]))
        pos, i = pos + sizes[i % len(sizes)], i + 1
    parts.append(resampler.flush(state))
    return np.concatenate(parts, axis=1)[0]


@pytest.mark.parametrize("rate", DEVICE_RATES)
def test_the_resampler_keeps_a_constant_and_a_passband_sine(rate):
    """A 300 mV offset stays 300 mV (no ripple at the phase pattern); a 10 Hz sine is reproduced to
    within 0.5 % away from the ends; ceil(n * up / down) outputs."""
    resampler = Resampler(rate, SAMPLE_RATE_HZ)
    n = 20 * rate
    flat = resampled(resampler, np.full(n, 300.0))
    assert flat.shape == (resampler.total_outputs(n),) == (20 * SAMPLE_RATE_HZ,)
    assert np.abs(flat - 300.0).max() < 1e-9
    t = np.arange(n) / rate
    y = resampled(resampler, np.sin(2 * np.pi * 10 * t))
    truth = np.sin(2 * np.pi * 10 * np.arange(len(y)) / SAMPLE_RATE_HZ)
    assert np.abs(y - truth)[SAMPLE_RATE_HZ:-SAMPLE_RATE_HZ].max() < 5e-3


def test_the_resampler_matches_scipy_resample_poly_inside_the_signal():
    signal = pytest.importorskip("scipy.signal")
    x = ecg_like(250 * 30, seed=4)
    resampler = Resampler(250, SAMPLE_RATE_HZ)
    ours, theirs = resampled(resampler, x), signal.resample_poly(x, resampler.up, resampler.down)
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs)[SAMPLE_RATE_HZ:-SAMPLE_RATE_HZ].max() < 5e-3


@settings(max_examples=40, deadline=None)
@given(rate=st.sampled_from(DEVICE_RATES + [SAMPLE_RATE_HZ]), n=st.integers(0, 3000), seed=st.integers(0, 2**16),
       sizes=st.lists(st.integers(0, 700), min_size=1, max_size=8).filter(any))
def test_resampling_any_chunking_equals_one_call(rate, n, seed, sizes):
    x = ecg_like(n, seed) + 300.0
    for resampler in (Resampler(rate, 500.0), Resampler(500.0, rate)) if rate != 500 else ():
        assert np.array_equal(resampled(resampler, x, sizes), resampled(resampler, x))


@pytest.mark.parametrize("model_name", ["onnx", "int8"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rate=st.sampled_from(DEVICE_RATES), seconds=st.floats(0.0, 25.0), seed=st.integers(0, 2**16),
       sizes=st.lists(st.integers(0, 4000), min_size=1, max_size=6).filter(any))
def test_streaming_at_a_device_rate_equals_denoise_exactly(tiny_model, model_name, rate, seconds, seed, sizes):
    """Any chunking at any device rate gives denoise() bit for bit, one float32 output per input sample."""
    path = tiny_model if model_name == "onnx" else int8_tflite()
    signal = ecg_like(int(seconds * rate), seed)
    offline = denoise(signal, path, sample_rate_hz=rate)
    d, parts, pos, i = StreamingDenoiser(path, sample_rate_hz=rate), [], 0, 0
    while pos < len(signal):
        parts.append(d.process(signal[pos : pos + sizes[i % len(sizes)]]))
        pos, i = pos + sizes[i % len(sizes)], i + 1
    parts.append(d.flush())
    streamed = np.concatenate(parts)
    assert streamed.shape == offline.shape == signal.shape and streamed.dtype == np.float32
    assert np.array_equal(streamed, offline)


@pytest.mark.parametrize("rate", [128, 250, 1000])
def test_a_device_rate_stream_keeps_offsets_out_and_leads_apart(rate):
    """Shipped int8 model: an offset of +-300 mV moves the output by float rounding only (< 1 nV); two
    leads equal each lead alone."""
    model = shipped_file("ulde_int8.tflite")
    two = ecg_like(rate * 22, seed=2, leads=2)
    both = denoise(two, model, sample_rate_hz=rate)
    for lead in range(2):
        alone = denoise(two[:, lead], model, sample_rate_hz=rate)
        assert np.array_equal(both[:, lead], alone)
        for offset in (300.0, -300.0):
            moved = denoise(two[:, lead] + offset, model, sample_rate_hz=rate)
            assert np.abs(moved - alone).max() < 1e-6


@pytest.mark.parametrize("rate", [125, 250, 500, 1000])
def test_a_device_rate_stream_releases_each_sample_within_its_latency(tiny_model, rate):
    """latency_seconds adds the two resamplers' look-ahead to the framing's T - 1 model samples, and no
    output waits longer than latency_samples device samples."""
    d = StreamingDenoiser(tiny_model, sample_rate_hz=rate)
    framing = (d.window_samples - 1) / SAMPLE_RATE_HZ
    assert framing < d.latency_seconds < framing + 0.2
    assert d.latency_samples == int(np.ceil(d.latency_seconds * rate - 1e-9))
    fed = received = 0
    for chunk in np.array_split(ecg_like(rate * 40, seed=3), 97):
        received += len(d.process(chunk))
        fed += len(chunk)
        assert fed - received <= d.latency_samples
    assert received + len(d.flush()) == fed


@pytest.mark.parametrize("when", ["process", "flush"])
def test_a_device_rate_call_that_raises_leaves_the_stream_as_before(monkeypatch, tiny_model, when):
    """The resamplers' state is part of the stream's transaction: after a KeyboardInterrupt inside the
    model, the same call retried gives the uninterrupted result."""
    rate = 250
    signal = ecg_like(rate * 40, seed=6)
    d = StreamingDenoiser(tiny_model, sample_rate_hz=rate)
    head = d.process(signal[: rate * 12])
    fail_on_call(monkeypatch, d.model, 1, KeyboardInterrupt)
    call = (lambda: d.process(signal[rate * 12 :])) if when == "process" else d.flush
    with pytest.raises(KeyboardInterrupt):
        call()
    parts = [head, d.process(signal[rate * 12 :]), d.flush()] if when == "process" else [head, d.flush()]
    full = signal if when == "process" else signal[: rate * 12]
    assert np.array_equal(np.concatenate(parts), denoise(full, tiny_model, sample_rate_hz=rate))
