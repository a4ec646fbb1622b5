"""Input conditioning (runtime/normalization.py, "mean-peak"): a constant offset changes nothing.

The property the fidelity issue asks for: ``denoise(x + c)`` equals ``denoise(x)`` within 1 µV for any
constant |c| <= 300 mV, offline and streamed in any chunking, on a float and an int8 model.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.runtime_fixtures import ecg_like, int8_tflite, shipped_file, student_onnx, with_conditioning
from tests.test_runtime_streaming import stream
from ulde.runtime import StreamingDenoiser, denoise, denoise_windows
from ulde.runtime.normalization import PEAK_FLOOR_MV, normalize, window_offset
from ulde.runtime.signal_spec import WINDOW_SAMPLES

W = WINDOW_SAMPLES
MAX_OFFSET_MV = 300.0
TOLERANCE_MV = 1e-3  # 1 µV


def test_mean_peak_removes_the_window_mean_before_scaling():
    windows = np.array([[10.5, 8.0, 11.5], [0.01, -0.02, 0.01]], dtype=np.float32)
    network_input, scale = normalize(windows, "mean-peak")
    assert np.allclose(window_offset(windows, "mean-peak")[:, 0], [10.0, 0.0], atol=1e-6)
    assert np.allclose(scale[:, 0], [2.0, PEAK_FLOOR_MV])
    assert np.allclose(network_input, (windows - windows.mean(axis=1, keepdims=True)) / scale, atol=1e-6)
    assert np.array_equal(window_offset(windows, "peak"), np.zeros((2, 1), dtype=np.float32))


@settings(max_examples=50, deadline=None)
@given(offset=st.floats(-MAX_OFFSET_MV, MAX_OFFSET_MV), seed=st.integers(0, 2**16))
def test_the_network_input_ignores_any_offset(offset, seed):
    windows = ecg_like(2 * W, seed).astype(np.float32).reshape(2, W)
    plain, plain_scale = normalize(windows, "mean-peak")
    shifted, shifted_scale = normalize(windows + np.float32(offset), "mean-peak")
    # in mV: what float32 cannot hold of x + c (half an ulp at 300 mV is 15 nV) is all that may differ
    assert np.allclose(shifted * shifted_scale, plain * plain_scale, rtol=0, atol=1e-4)
    assert np.allclose(shifted_scale, plain_scale, rtol=0, atol=1e-4)


@pytest.fixture(scope="module", params=["onnx_float", "tflite_int8"])
def conditioned_model(request):
    return with_conditioning(student_onnx() if request.param == "onnx_float" else int8_tflite())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.floats(-MAX_OFFSET_MV, MAX_OFFSET_MV), seed=st.integers(0, 2**16),
       sizes=st.lists(st.integers(1, 2 * W), min_size=1, max_size=6))
def test_denoise_ignores_a_constant_offset_offline_and_streamed(conditioned_model, offset, seed, sizes):
    signal = ecg_like(3 * W + 77, seed)
    reference = denoise(signal, conditioned_model)
    shifted = denoise(signal + offset, conditioned_model)
    assert np.max(np.abs(shifted - reference)) <= TOLERANCE_MV
    assert np.array_equal(stream(StreamingDenoiser(conditioned_model), signal + offset, sizes), shifted)


def test_one_window_per_call_ignores_a_constant_offset(conditioned_model):
    windows = ecg_like(4 * W, seed=5).reshape(4, W)
    reference = denoise_windows(windows, conditioned_model)
    for offset in (-MAX_OFFSET_MV, -5.0, 50.0, MAX_OFFSET_MV):
        assert np.max(np.abs(denoise_windows(windows + offset, conditioned_model) - reference)) <= TOLERANCE_MV


@pytest.mark.parametrize("name", ["ulde_int8_host.tflite", "ulde_int8.tflite", "ulde.onnx"])
def test_the_shipped_models_ignore_offsets_up_to_300_mv(name):
    model = shipped_file(name)
    signal = ecg_like(4 * W, seed=11)
    reference = denoise(signal, model)
    for offset in (-MAX_OFFSET_MV, -50.0, -5.0, 5.0, 50.0, MAX_OFFSET_MV):
        assert np.max(np.abs(denoise(signal + offset, model) - reference)) <= TOLERANCE_MV, offset
