"""Streaming is transactional: a call that raises leaves the stream as it was; threads and copies are safe."""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest

from tests.runtime_fixtures import ecg_like, fail_on_call, int8_tflite, student_onnx, tiny_onnx
from ulde.runtime import Model, ModelBusyError, StreamingDenoiser, denoise, denoise_windows
from ulde.runtime.signal_spec import WINDOW_SAMPLES

W = WINDOW_SAMPLES
FAILURES = {"KeyboardInterrupt": KeyboardInterrupt, "interpreter error": RuntimeError}


@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize("make_model", [int8_tflite, student_onnx], ids=["tflite_int8", "onnx_float"])
def test_an_exception_mid_chunk_leaves_the_stream_as_before_and_the_chunk_can_be_retried(monkeypatch, failure, make_model):
    """The chunk completes 20 frames (two batches of 16 + 4): the failure hits the second batch, after
    the first batch's frames were already run and overlap-added."""
    path = make_model()
    signal = ecg_like(26 * W // 2, seed=21)
    d = StreamingDenoiser(path)
    first = d.process(signal[:W])
    fail_on_call(monkeypatch, d.model, 2, FAILURES[failure])
    with pytest.raises(FAILURES[failure]):
        d.process(signal[W : 12 * W])
    again = d.process(signal[W : 12 * W])  # the same chunk, retried
    rest = [d.process(signal[12 * W :]), d.flush()]
    assert np.array_equal(np.concatenate([first, again] + rest), denoise(signal, path))


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_an_exception_in_flush_keeps_the_stream_for_a_second_flush(monkeypatch, failure):
    path = int8_tflite()
    signal = ecg_like(W + 700, seed=22)
    d = StreamingDenoiser(path)
    head = d.process(signal)
    fail_on_call(monkeypatch, d.model, 1, FAILURES[failure])
    with pytest.raises(FAILURES[failure]):
        d.flush()
    assert np.array_equal(np.concatenate([head, d.flush()]), denoise(signal, path))


def test_a_second_thread_entering_a_busy_stream_is_refused_at_once(monkeypatch):
    d = StreamingDenoiser(tiny_onnx())
    entered, release = threading.Event(), threading.Event()
    real = d.model.invoke

    def slow_invoke(values):
        entered.set()
        release.wait(10)
        return real(values)

    monkeypatch.setattr(d.model, "invoke", slow_invoke)
    signal = ecg_like(2 * W, seed=23)
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("out", d.process(signal)))
    worker.start()
    assert entered.wait(10)
    with pytest.raises(ModelBusyError, match="another thread"):
        d.process(signal[:10])
    with pytest.raises(ModelBusyError):
        d.flush()
    release.set()
    worker.join(10)
    monkeypatch.setattr(d.model, "invoke", real)
    assert np.array_equal(np.concatenate([result["out"], d.flush()]), denoise(signal, tiny_onnx()))


def test_one_model_shared_by_two_threads_refuses_the_second_caller(monkeypatch):
    model = Model(tiny_onnx())
    entered, release = threading.Event(), threading.Event()
    interpreter = model._interpreter
    real = interpreter.invoke_rows

    def slow(values):
        entered.set()
        release.wait(10)
        return real(values)

    monkeypatch.setattr(interpreter, "invoke_rows", slow)
    worker = threading.Thread(target=model.denoise_windows, args=(np.zeros((1, W)),))
    worker.start()
    assert entered.wait(10)
    with pytest.raises(ModelBusyError):
        model.denoise_windows(np.zeros((1, W)))
    release.set()
    worker.join(10)


def test_streams_in_separate_threads_each_equal_offline():
    path = int8_tflite()
    signals = [ecg_like(3 * W + 17 * i, seed=30 + i) for i in range(3)]
    outputs = [None] * 3

    def run(i):
        d = StreamingDenoiser(path)
        outputs[i] = np.concatenate([d.process(signals[i][j : j + 997]) for j in range(0, len(signals[i]), 997)] + [d.flush()])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for signal, out in zip(signals, outputs):
        assert np.array_equal(out, denoise(signal, path))


@pytest.mark.parametrize("copier", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
def test_a_copied_stream_is_independent_and_continues_from_the_same_state(copier):
    """The twin and the original, fed the rest of the signal interleaved, each give the offline result."""
    path = int8_tflite()
    signal = ecg_like(3 * W + 500, seed=24)
    d = StreamingDenoiser(path)
    head = d.process(signal[:W + 300])
    twin = copier(d)
    assert twin.model is not d.model and twin.model.contract == d.model.contract
    rest = signal[W + 300 :]
    twin_parts = [twin.process(rest[:1000])]
    original_parts = [d.process(rest), d.flush()]
    twin_parts += [twin.process(rest[1000:]), twin.flush()]
    expected = denoise(signal, path)
    assert np.array_equal(np.concatenate([head] + twin_parts), expected)
    assert np.array_equal(np.concatenate([head] + original_parts), expected)


BAD_WINDOWS = {
    "NaN": (np.full((1, W), np.nan), ValueError, "non-finite"),
    "int16": (np.zeros((1, W), dtype=np.int16), TypeError, "float32 or float64"),
    "bool": (np.zeros((1, W), dtype=bool), TypeError, "float32 or float64"),
    "complex": (np.zeros((1, W), dtype=np.complex64), TypeError, "float32 or float64"),
    "beyond float32": (np.full((1, W), 1e300), ValueError, "non-finite"),
    "wrong length": (np.zeros((1, 100)), ValueError, "shape (n, 3600)"),
    "1-d": (np.zeros(W), ValueError, "shape (n, 3600)"),
}


@pytest.mark.parametrize("name", sorted(BAD_WINDOWS))
def test_denoise_windows_validates_as_process_does(name):
    windows, error, words = BAD_WINDOWS[name]
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        denoise_windows(windows, int8_tflite())
