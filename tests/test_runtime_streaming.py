"""StreamingDenoiser / denoise: chunk-size invariance, lengths, layouts, latency and the framing itself."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.runtime_fixtures import ecg_like, int8_tflite, noise_output_onnx, student_onnx, tiny_onnx, onnx_model, tflite_model, tiny_model  # noqa: F401
from ulde.runtime import StreamingDenoiser, denoise, denoise_windows
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ, WINDOW_SAMPLES

W = WINDOW_SAMPLES


def stream(denoiser: StreamingDenoiser, signal: np.ndarray, sizes) -> np.ndarray:
    """Feed ``signal`` in chunks of ``sizes`` (cycled), then flush; the concatenated output."""
    outputs, pos, i = [], 0, 0
    while pos < len(signal):
        size = sizes[i % len(sizes)]
        outputs.append(denoiser.process(signal[pos : pos + size]))
        pos, i = pos + size, i + 1
    outputs.append(denoiser.flush())
    return np.concatenate(outputs, axis=0)


@st.composite
def signal_and_chunks(draw):
    n = draw(st.one_of(st.integers(0, W), st.integers(0, 4 * W + 7)))
    sizes = draw(st.lists(st.one_of(st.integers(0, 9), st.integers(1, 2 * W)), min_size=1, max_size=12))
    if not any(sizes):
        sizes.append(1)
    return n, sizes, draw(st.integers(0, 2**16)), draw(st.sampled_from([np.float32, np.float64]))


@pytest.mark.parametrize("model_name", ["tflite_int8", "onnx_float"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=signal_and_chunks())
def test_any_chunking_equals_offline_denoise_exactly(model_name, case):
    """Concatenated process() outputs plus flush() equal denoise() bit for bit, any lengths and chunks."""
    path = int8_tflite() if model_name == "tflite_int8" else student_onnx()
    n, sizes, seed, dtype = case
    signal = ecg_like(n, seed).astype(dtype)
    offline = denoise(signal, path)
    streamed = stream(StreamingDenoiser(path), signal, sizes)
    assert offline.shape == streamed.shape == (n,)
    assert offline.dtype == streamed.dtype == np.float32
    assert np.array_equal(streamed, offline)


def test_a_float64_chunk_mid_stream_keeps_its_precision(tflite_model):
    """float32 chunks, then float64 ones carrying digits float32 cannot hold, on a 300 mV offset: the
    stream equals denoise() of the whole float64 signal, and the float32 part alone gives the same
    output as the same values passed as float64."""
    signal = ecg_like(3 * W + 50, seed=5) + 300.0
    signal[: W + 10] = signal[: W + 10].astype(np.float32)  # what a float32 front-end delivered first
    d = StreamingDenoiser(tflite_model)
    head = d.process(signal[: W + 10].astype(np.float32))
    assert d.buffer_nbytes() == W * (4 + 4)
    streamed = np.concatenate([head, d.process(signal[W + 10 :]), d.flush()])
    assert np.array_equal(streamed, denoise(signal, tflite_model))
    part = signal[: W + 10]
    assert np.array_equal(denoise(part.astype(np.float32), tflite_model), denoise(part, tflite_model))


def test_float32_samples_whose_sum_overflows_are_accepted(tiny_model):
    """Finite float32 samples near float32's maximum are valid input even though their sum is not finite."""
    huge = np.full(W, np.finfo(np.float32).max / 2, dtype=np.float32)
    d = StreamingDenoiser(tiny_model)
    out = d.process(huge)  # completes the first frame (the stream starts with T - H mirrored samples)
    assert out.shape == (d.hop_samples,) and out.dtype == np.float32


@pytest.mark.parametrize("size", [1, 7, W - 1, W, W + 1, 10**6])
def test_fixed_chunk_sizes_equal_offline(tiny_model, size):
    signal = ecg_like(3 * W + 123 if size < 10**6 else 10**6 + 5, seed=3)
    assert np.array_equal(stream(StreamingDenoiser(tiny_model), signal, [size]), denoise(signal, tiny_model))


@pytest.mark.parametrize("n", [0, 1, 5, W - 1, W, W + 1])
def test_short_signals_keep_their_length_and_are_finite(tflite_model, n):
    out = denoise(ecg_like(n, seed=n), tflite_model)
    assert out.shape == (n,) and out.dtype == np.float32 and np.all(np.isfinite(out))


def test_empty_chunks_return_empty_arrays_in_the_stream_layout(tiny_model):
    d = StreamingDenoiser(tiny_model)
    assert d.process(np.zeros(0)).shape == (0,)
    assert d.flush().shape == (0,)
    assert d.process(np.zeros((0, 2))).shape == (0, 2)
    assert d.flush().shape == (0, 2)


def test_outputs_arrive_in_hop_blocks_after_the_latency(tiny_model):
    """A sample is released at most latency_samples after it arrives; blocks are one hop long."""
    d = StreamingDenoiser(tiny_model)
    received, fed = 0, 0
    for _ in range(5 * W):
        received += len(d.process(np.zeros(1)))
        fed += 1
        assert fed - received <= d.latency_samples
    assert received % d.hop_samples == 0 and received > 0


def test_latency_attributes_and_defaults(tiny_model):
    d = StreamingDenoiser(tiny_model)
    assert d.window_samples == W and d.hop_samples == W // 2  # the contract's recommended hop
    assert d.latency_samples == W - 1
    assert d.latency_seconds == pytest.approx((W - 1) / SAMPLE_RATE_HZ)
    assert d.calls_per_second == pytest.approx(SAMPLE_RATE_HZ / (W // 2))
    assert StreamingDenoiser(tiny_onnx(), hop=900).hop_samples == 900
    assert StreamingDenoiser(tiny_model, hop=900).hop_samples == 900


def test_reset_returns_to_the_initial_state(tflite_model):
    signal = ecg_like(2 * W + 50, seed=4)
    fresh = stream(StreamingDenoiser(tflite_model), signal, [1000])
    d = StreamingDenoiser(tflite_model)
    d.process(ecg_like(5000, seed=9))
    d.reset()
    assert d.buffer_nbytes() == 0
    assert np.array_equal(stream(d, signal, [1000]), fresh)
    assert np.array_equal(stream(d, signal, [333]), fresh)  # flush() also resets


@pytest.mark.parametrize("hop", [1, 7, 900, 1000, 1800, W])
@pytest.mark.parametrize("taper", ["hann", "rect"])
def test_overlap_add_weights_sum_to_one_at_every_sample(hop, taper):
    """With a pass-through model (kernel [0, 1, 0]) the output is the input: the shifted tapers sum to
    one at every sample, the first and last included."""
    from tests.runtime_fixtures import _onnx_conv_model, model_folder
    import onnx

    from tests.runtime_fixtures import sealed

    path = model_folder("identity") / "identity.onnx"
    if not path.exists():
        onnx.save(_onnx_conv_model([1, 1, W], np.array([0.0, 1.0, 0.0])), path)
        sealed(path)
    signal = ecg_like(2 * W + 17 if hop > 100 else W + 3, seed=hop)
    out = denoise(signal, path, hop=hop, taper=taper)
    tolerance = 2e-6 + 1e-7 * (W // hop)  # float32 rounding grows with the number of overlapping frames
    np.testing.assert_allclose(out, signal.astype(np.float32), rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("hop, taper, n", [(W, "rect", 2 * W + 2000), (W // 2, "hann", 2 * W + 1700)])
def test_denoise_is_overlap_add_on_the_mirror_padded_signal(hop, taper, n):
    """The textbook computation, written out: pad both ends by mirroring (numpy "symmetric"), run the
    model on every frame (conditioned as its contract says), taper, overlap-add, divide by the summed
    taper. (For these lengths the end's mirror needs no second reflection.)"""
    from ulde.runtime import Model
    from ulde.runtime.framing import make_framing

    model, signal = Model(), ecg_like(n, seed=5).astype(np.float32)  # shipped: conditioned per frame
    framing = make_framing(W, hop, taper)
    head = W - hop
    frames_needed = -(-(head + n) // hop)  # the last real sample's block is released by frame (head + n - 1) // hop
    padded = np.pad(signal, (head, (frames_needed - 1) * hop + W - head - n), mode="symmetric")
    accumulated = np.zeros(len(padded), np.float32)
    for k in range(frames_needed):
        frame = padded[None, k * hop : k * hop + W].astype(np.float64)
        accumulated[k * hop : k * hop + W] += model.denoise_windows(frame)[0] * framing.taper
    expected = (accumulated / np.resize(framing.coverage, len(padded)))[head : head + n]
    np.testing.assert_allclose(denoise(signal, model.path, hop=hop, taper=taper), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("model_name", ["tflite_int8", "onnx_float", "onnx_dynamic_batch"])
def test_leads_are_independent_of_each_other(model_name):
    path = {"tflite_int8": int8_tflite, "onnx_float": student_onnx,
            "onnx_dynamic_batch": lambda: tiny_onnx(dynamic_batch=True)}[model_name]()
    signal = ecg_like(2 * W + 321, seed=6, leads=3)
    d = StreamingDenoiser(path)
    together = stream(d, signal, [1234])
    assert together.shape == signal.shape
    for lead in range(3):
        assert np.array_equal(together[:, lead], denoise(signal[:, lead], path))
    if model_name == "onnx_dynamic_batch":
        assert d.model.batched(3) is True  # exact, so the three leads share one call


def test_a_one_lead_2d_stream_equals_the_1d_stream(tiny_model):
    signal = ecg_like(W + 11, seed=8)
    assert np.array_equal(denoise(signal[:, None], tiny_model)[:, 0], denoise(signal, tiny_model))


def test_a_model_that_outputs_noise_is_subtracted_from_its_input_offline_and_streaming():
    """The contract's output rule: a "noise_estimate" output is taken from the input, a "signal" output
    is the denoised signal itself (the same 3-tap conv under both contracts)."""
    windows = np.random.default_rng(3).normal(size=(2, WINDOW_SAMPLES)).astype(np.float32)
    smoothed = denoise_windows(windows, tiny_onnx())
    assert np.allclose(denoise_windows(windows, noise_output_onnx()), windows - smoothed, atol=1e-6)
    signal = np.random.default_rng(4).normal(size=3 * WINDOW_SAMPLES).astype(np.float32)
    streamer = StreamingDenoiser(noise_output_onnx())
    streamed = np.concatenate([streamer.process(signal[:1000]), streamer.process(signal[1000:]), streamer.flush()])
    assert np.array_equal(streamed, denoise(signal, noise_output_onnx()))
    assert np.allclose(streamed, signal - denoise(signal, tiny_onnx()), atol=1e-5)
