"""The shipped models in runtime/models/ (skipped until the exporter's files are there)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.bounds import FULL_DATA
from tests.runtime_fixtures import ecg_like, shipped_file
from ulde.runtime import StreamingDenoiser, denoise, denoise_windows, read_contract


SHIPPED_FILES = ("ulde_int8_host.tflite", "ulde_int8.tflite", "ulde_float.tflite", "ulde.onnx",
                 "ulde_int8_host_low_latency.tflite", "ulde_int8_low_latency.tflite", "ulde_float_low_latency.tflite",
                 "ulde_low_latency.onnx")


def test_the_default_model_is_the_shipped_int8_host_graph_and_runs_under_its_own_contract():
    path = shipped_file("ulde_int8_host.tflite")
    manifest = json.loads((path.parent / "manifest.json").read_text())  # the export report, never read to run
    d = StreamingDenoiser()
    assert d.model_path == path and d.backend == "litert"
    assert d.contract == read_contract(path)
    assert (d.window_samples, d.hop_samples, d.sample_rate_hz) == (3600, 1800, 360)
    assert d.input_normalization == "mean-peak" and d.contract.output_kind == "noise_estimate"
    for name in SHIPPED_FILES:
        assert manifest["artefacts"][name]["contract"] == json.loads(read_contract(path.parent / name).to_json())


def test_low_latency_runs_the_shipped_low_latency_model_within_three_quarters_of_a_second():
    path = shipped_file("ulde_int8_host_low_latency.tflite")
    d = StreamingDenoiser(low_latency=True)
    assert d.model_path == path and d.contract.low_latency and d.contract.input_conditioning == "mean-peak"
    assert d.latency_seconds <= 0.75 and d.latency_samples == d.contract.latency_samples
    signal = ecg_like(40 * 360, seed=21)
    reference = denoise(signal, low_latency=True)
    assert np.max(np.abs(denoise(signal - 300.0, low_latency=True) - reference)) < 1e-3  # mV


@pytest.mark.parametrize("name", SHIPPED_FILES)
def test_shipped_models_stream_exactly_like_offline(name):
    path = shipped_file(name)
    signal = ecg_like(3 * 3600 + 77, seed=11, leads=2)
    d = StreamingDenoiser(path)
    streamed = np.concatenate([d.process(signal[i : i + 1000]) for i in range(0, len(signal), 1000)] + [d.flush()])
    assert np.array_equal(streamed, denoise(signal, path))


@pytest.mark.parametrize("name", SHIPPED_FILES)
def test_the_250_hz_models_take_250_hz_streams_as_they_come(name):
    """runtime/models/250hz/: the student trained at 250 Hz (docs/runtime.md). Its contract says 250 Hz,
    so a 250 Hz stream reaches it without the resamplers, exactly as offline."""
    path = shipped_file(f"250hz/{name}")
    contract = read_contract(path)
    assert contract.sample_rate_hz == 250 and contract.input_conditioning == "mean-peak"
    assert contract.window_samples == (496 if contract.low_latency else 2496)
    d = StreamingDenoiser(path, sample_rate_hz=250)
    assert d.latency_samples == contract.latency_samples  # the model's framing alone: no resampler delay
    signal = ecg_like(3 * 2496 + 77, seed=14, leads=2)
    streamed = np.concatenate([d.process(signal[i : i + 700]) for i in range(0, len(signal), 700)] + [d.flush()])
    assert np.array_equal(streamed, denoise(signal, path, sample_rate_hz=250, low_latency=contract.low_latency))


@pytest.mark.parametrize("int8_form", ["ulde_int8_host", "ulde_int8"])
@pytest.mark.parametrize("suffix", ["", "_low_latency"])
def test_int8_tflite_and_float_onnx_agree(suffix, int8_form):
    """Two routes, one network: the shipped int8 output at least 25 dB SNR against the float ONNX
    output on a minute of synthetic ECG (the benchmarks' int8-vs-float gate on real windows)."""
    int8, onnx = shipped_file(f"{int8_form}{suffix}.tflite"), shipped_file(f"ulde{suffix}.onnx")
    signal = ecg_like(60 * 360, seed=12)
    a, b = denoise(signal, int8), denoise(signal, onnx)
    snr = 10 * np.log10(np.sum(b.astype(np.float64) ** 2) / np.sum((a - b).astype(np.float64) ** 2))
    assert snr > FULL_DATA.int8_vs_float_snr_db_min


def test_float_tflite_and_onnx_agree_closely():
    tfl, onnx = shipped_file("ulde_float.tflite"), shipped_file("ulde.onnx")
    signal = ecg_like(30 * 360, seed=13)
    np.testing.assert_allclose(denoise(signal, tfl), denoise(signal, onnx), atol=1e-3)


def readme_quick_start() -> str:
    """The first ```python block of README.md: the streaming quick-start, exactly as users read it."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    return text.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_quick_start_runs_as_written():
    shipped_file("ulde_int8_host.tflite")
    namespace: dict = {}
    exec(readme_quick_start(), namespace)
    assert len(namespace["clean"]) == len(namespace["ecg"]) and namespace["clean"].dtype == np.float32
    assert np.all(np.isfinite(namespace["clean"]))
    assert namespace["denoiser"].latency_samples == 3599
    assert namespace["live"].latency_seconds <= 0.75 and len(namespace["clean_live"]) == len(namespace["ecg"])


def test_denoise_windows_is_one_normalized_call_per_window(rng):
    """denoise_windows on the shipped int8 model equals streaming each window with a rect hop of T."""
    model = shipped_file("ulde_int8_host.tflite")
    windows = rng.normal(0, 0.4, (3, 3600)).astype(np.float32)
    one_call = denoise_windows(windows, model)
    stream = StreamingDenoiser(model, hop=3600, taper="rect")
    assert np.array_equal(one_call, np.stack([np.concatenate([stream.process(w), stream.flush()]) for w in windows]))
    assert np.allclose(denoise_windows(3 * windows, model), 3 * one_call, atol=0.05)  # per-window normalization
    with pytest.raises(ValueError, match=r"expected windows of shape \(n, 3600\)"):
        denoise_windows(windows[:, :100], model)
