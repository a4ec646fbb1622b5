"""The signal-quality output: per-block estimated input SNR, exact under chunking, offset-free, monotonic."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.runtime_fixtures import ecg_like, int8_tflite, shipped_file, tiny_model  # noqa: F401
from ulde.runtime import StreamingDenoiser, denoise
from ulde.runtime.quality import QUALITY_LIMIT_DB
from ulde.runtime.signal_spec import WINDOW_SAMPLES

W = WINDOW_SAMPLES


def streamed(d: StreamingDenoiser, signal: np.ndarray, sizes) -> tuple[np.ndarray, np.ndarray]:
    parts, pos, i = [], 0, 0
    while pos < len(signal):
        parts.append(d.process(signal[pos : pos + sizes[i % len(sizes)]]))
        pos, i = pos + sizes[i % len(sizes)], i + 1
    parts.append(d.flush())
    return tuple(np.concatenate(p) for p in zip(*parts))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rate=st.sampled_from([360, 250, 500]), n=st.integers(0, 5 * W), seed=st.integers(0, 2**16),
       sizes=st.lists(st.integers(0, 2 * W), min_size=1, max_size=6).filter(any))
def test_quality_under_any_chunking_equals_offline(rate, n, seed, sizes):
    path = int8_tflite()
    signal = ecg_like(n * rate // 360, seed)
    offline = denoise(signal, path, sample_rate_hz=rate, quality=True)
    online = streamed(StreamingDenoiser(path, sample_rate_hz=rate, quality=True), signal, sizes)
    for a, b in zip(offline, online):
        assert a.shape == b.shape == signal.shape and a.dtype == b.dtype == np.float32
        assert np.array_equal(a, b)
    assert np.array_equal(offline[0], denoise(signal, path, sample_rate_hz=rate))  # the samples are unchanged


def test_quality_is_one_value_per_block_and_falls_as_noise_rises(tiny_model):
    """The 3-tap smoother removes part of added white noise: the more noise, the lower the estimate."""
    clean = ecg_like(12 * W, seed=13)
    d = StreamingDenoiser(tiny_model)
    medians = []
    for sigma in (0.005, 0.05, 0.5):
        noisy = clean + np.random.default_rng(0).normal(0, sigma, len(clean))
        _, quality = denoise(noisy, tiny_model, quality=True)
        blocks = quality[: len(clean) // d.hop_samples * d.hop_samples].reshape(-1, d.hop_samples)
        assert np.all(blocks == blocks[:, :1])  # constant over each H-sample block
        medians.append(float(np.median(blocks[:, 0])))
    assert medians[0] > medians[1] + 2 > medians[2] + 4, medians


def test_quality_ignores_an_offset_and_a_flat_block_reads_zero():
    model = shipped_file("ulde_int8.tflite")
    signal = ecg_like(6 * W, seed=14) + np.random.default_rng(1).normal(0, 0.2, 6 * W)
    _, base = denoise(signal, model, quality=True)
    for offset in (300.0, -300.0):
        _, moved = denoise(signal + offset, model, quality=True)
        assert np.abs(moved - base).max() < 1e-3
    _, flat = denoise(np.full(3 * W, 2.0), model, quality=True)
    assert np.abs(flat).max() < 1e-3 and np.all(np.abs(base) <= QUALITY_LIMIT_DB)


def test_without_quality_process_returns_samples_only(tiny_model):
    d = StreamingDenoiser(tiny_model)
    assert isinstance(d.process(np.zeros(W)), np.ndarray) and isinstance(d.flush(), np.ndarray)
    q = StreamingDenoiser(tiny_model, quality=True)
    samples, quality = q.process(np.zeros((W, 2)))
    assert samples.shape == quality.shape == (W // 2, 2)
