"""The low-latency mode: overlap-save framing of a short-window model, its offsets, latency and errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.runtime_fixtures import (LOW_LATENCY_TERMS, ecg_like, int8_tflite, int8_tflite_low_latency,
                                    student_onnx_low_latency)
from ulde.runtime import Model, ModelFileError, StreamingDenoiser, denoise
from ulde.runtime.contract import ModelContract
from ulde.runtime.model_file import read_contract
from ulde.runtime.normalization import Levels, span_levels
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

T, H = LOW_LATENCY_TERMS["window_samples"], LOW_LATENCY_TERMS["recommended_hop_samples"]
KEPT, SPAN = LOW_LATENCY_TERMS["kept_start_samples"], LOW_LATENCY_TERMS["conditioning_span_samples"]
LATENCY = T - 1 - KEPT
ROUTES = {"tflite_int8": int8_tflite_low_latency, "onnx_float": student_onnx_low_latency}


def stream(denoiser: StreamingDenoiser, signal: np.ndarray, sizes) -> np.ndarray:
    """Feed ``signal`` in chunks of ``sizes`` (cycled), then flush; the concatenated output."""
    outputs, pos, i = [], 0, 0
    while pos < len(signal):
        outputs.append(denoiser.process(signal[pos : pos + sizes[i % len(sizes)]]))
        pos, i = pos + sizes[i % len(sizes)], i + 1
    outputs.append(denoiser.flush())
    return np.concatenate(outputs, axis=0)


@st.composite
def signal_and_chunks(draw):
    """Lengths around the window and past the offset span (where the history is full), any chunks."""
    n = draw(st.one_of(st.integers(0, T + H), st.integers(SPAN - T, 2 * SPAN + 7)))
    sizes = draw(st.lists(st.one_of(st.integers(0, 9), st.integers(1, 3 * SPAN)), min_size=1, max_size=12))
    if not any(sizes):
        sizes.append(1)
    return n, sizes, draw(st.integers(0, 2**16)), draw(st.sampled_from([np.float32, np.float64]))


@pytest.mark.parametrize("route", sorted(ROUTES))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=signal_and_chunks())
def test_any_chunking_equals_the_offline_low_latency_result_exactly(route, case):
    path = ROUTES[route]()
    n, sizes, seed, dtype = case
    signal = ecg_like(n, seed).astype(dtype)
    offline = denoise(signal, path, low_latency=True)
    streamed = stream(StreamingDenoiser(path, low_latency=True), signal, sizes)
    assert offline.shape == streamed.shape == (n,) and offline.dtype == np.float32
    assert np.array_equal(streamed, offline)


def test_several_leads_equal_each_lead_streamed_alone():
    path = int8_tflite_low_latency()
    signal = ecg_like(SPAN + 700, seed=4, leads=3)
    together = stream(StreamingDenoiser(path), signal, [333])
    for lead in range(3):
        assert np.array_equal(together[:, lead], denoise(np.ascontiguousarray(signal[:, lead]), path))


def test_every_sample_is_released_within_the_stated_latency():
    """Fed one sample at a time, output i is returned by the call that passes input i + LATENCY at the
    latest, and the bound is reached: the contract's latency is the real one."""
    d = StreamingDenoiser(int8_tflite_low_latency(), low_latency=True)
    assert (d.latency_samples, d.window_samples, d.hop_samples) == (LATENCY, T, H)
    assert d.latency_seconds == pytest.approx(LATENCY / SAMPLE_RATE_HZ)
    assert d.calls_per_second == pytest.approx(SAMPLE_RATE_HZ / H)
    released, waits = 0, []
    for i, x in enumerate(ecg_like(3 * SPAN, seed=2).astype(np.float32)):
        got = len(d.process(x[None]))
        waits += [i - j for j in range(released, released + got)]
        released += got
    assert max(waits) == LATENCY
    assert released >= 3 * SPAN - LATENCY


def test_offsets_within_300_mv_change_the_output_by_under_a_microvolt():
    path = int8_tflite_low_latency()
    signal = ecg_like(2 * SPAN + 300, seed=9)
    reference = denoise(signal, path, low_latency=True)
    for offset in (-300.0, -5.0, 0.7, 120.0, 300.0):
        shifted = stream(StreamingDenoiser(path, low_latency=True), signal + offset, [97, 1, 4000])
        assert np.max(np.abs(shifted - reference)) < 1e-3  # mV


def test_each_frame_is_conditioned_on_the_last_span_samples_not_on_itself():
    """A stream whose first SPAN samples sit at +1 mV with a tall burst and the rest at 0 mV: a frame
    whose span holds both is conditioned with that span's mean and peak (not its own), exactly."""
    path = student_onnx_low_latency()
    signal = np.concatenate([np.full(SPAN, 1.0), np.zeros(2 * SPAN)]) + 0.2 * ecg_like(3 * SPAN, seed=1)
    signal[SPAN - 900 : SPAN - 880] += 3.0
    model = Model(path)
    out = denoise(signal, model, low_latency=True)
    frame = 70  # its span reaches back past the step at sample SPAN and holds the burst
    start = frame * H - KEPT  # its first sample on the signal axis (the head is KEPT mirrored samples)
    end = start + T
    padded = np.concatenate([signal[:KEPT][::-1], signal])
    levels = span_levels(padded[max(0, end + KEPT - SPAN) : end + KEPT][None])
    assert 0.0 < levels.offsets[0, 0] < 1.0 and levels.peaks[0, 0] > 3.0
    expected = model.denoise_windows(signal[start:end][None], levels=levels)[0, KEPT : KEPT + H]
    assert np.array_equal(out[frame * H : frame * H + H], expected)


def test_low_latency_on_a_10_s_model_is_refused():
    with pytest.raises(ValueError, match="low-latency"):
        StreamingDenoiser(int8_tflite(), low_latency=True)
    with pytest.raises(ValueError, match="low-latency"):
        denoise(np.zeros(10), int8_tflite(), low_latency=True)


@pytest.mark.parametrize("arguments", [{"hop": 32}, {"taper": "hann"}, {"taper": "rect"}])
def test_the_overlap_save_framing_cannot_be_changed(arguments):
    with pytest.raises(ValueError, match="fixed by its contract"):
        StreamingDenoiser(int8_tflite_low_latency(), **arguments)


def test_frames_without_their_levels_are_refused():
    model = Model(int8_tflite_low_latency())
    with pytest.raises(ValueError, match="levels"):
        model.denoise_windows(np.zeros((2, T)))
    with pytest.raises(ValueError, match=r"offsets of shape \(2, 1\)"):
        model.denoise_windows(np.zeros((2, T)), levels=Levels(np.zeros((3, 1)), np.ones((2, 1))))
    with pytest.raises(ValueError, match="peaks hold non-finite"):
        model.denoise_windows(np.zeros((2, T)), levels=Levels(np.zeros((2, 1)), np.full((2, 1), np.nan)))


@pytest.mark.parametrize("terms, message", [
    ({"kept_start_samples": 0}, "kept span"),
    ({"kept_start_samples": T - H + 1}, "kept span"),
    ({"latency_samples": LATENCY - 1}, "contradicts"),
    ({"conditioning_span_samples": T - 1}, "conditioning_span_samples"),
    ({"conditioning_span_samples": 3.5}, "conditioning_span_samples"),
    ({"input_conditioning": "peak"}, "applies to the 'mean-peak'"),
    ({"framing": "overlap-sum"}, "framing"),
])
def test_contradictory_low_latency_contracts_are_refused(terms, message):
    fields = {**LOW_LATENCY_TERMS, **terms}
    base = read_contract(int8_tflite_low_latency())
    with pytest.raises(ModelFileError, match=message):
        ModelContract(sample_rate_hz=SAMPLE_RATE_HZ, output_kind="signal", input_tensor=base.input_tensor,
                      output_tensor=base.output_tensor, **fields)


def test_quality_and_other_sample_rates_work_in_the_low_latency_mode():
    path = int8_tflite_low_latency()
    signal = ecg_like(SPAN + 900, seed=3)
    out, quality = denoise(signal, path, low_latency=True, quality=True)
    assert out.shape == quality.shape == signal.shape and np.all(np.isfinite(quality))
    at_250 = StreamingDenoiser(path, low_latency=True, sample_rate_hz=250)
    assert at_250.latency_seconds > LATENCY / SAMPLE_RATE_HZ  # plus the resamplers' look-ahead
    signal_250 = ecg_like(2500, seed=3)
    assert np.array_equal(stream(at_250, signal_250, [17, 400]), denoise(signal_250, path, sample_rate_hz=250))


def test_a_sealed_low_latency_file_states_its_terms():
    contract = read_contract(int8_tflite_low_latency())
    assert contract.low_latency and contract.conditioning_span == SPAN
    assert (contract.window_samples, contract.recommended_hop_samples, contract.kept_start_samples,
            contract.latency_samples) == (T, H, KEPT, LATENCY)
