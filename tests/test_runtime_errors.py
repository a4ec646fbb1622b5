"""Bad input and bad models: clear TypeError/ValueError, unchanged state, no accepted sample lost."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from tests.runtime_fixtures import (contract_for, ecg_like, model_folder, int8_tflite, sealed, tiny_onnx,  # noqa: F401
                                    wrong_shape_onnx, tflite_model, tiny_model)
from ulde.runtime import BackendMissingError, ModelFileError, StreamingDenoiser, denoise
from ulde.runtime.signal_spec import WINDOW_SAMPLES

W = WINDOW_SAMPLES

BAD_CHUNKS = {
    "scalar": (np.float32(1.0), ValueError, "shape (n,)"),
    "3-d": (np.zeros((10, 1, 1)), ValueError, "shape (n,)"),
    "int16 ADC counts": (np.zeros(10, dtype=np.int16), TypeError, "float32 or float64"),
    "float16": (np.zeros(10, dtype=np.float16), TypeError, "float32 or float64"),
    "complex": (np.zeros(10, dtype=np.complex64), TypeError, "float32 or float64"),
    "strings": (np.array(["a", "b"]), TypeError, "float32 or float64"),
    "NaN": (np.array([0.1, np.nan, 0.2]), ValueError, "non-finite"),
    "inf": (np.array([np.inf, 0.2]), ValueError, "non-finite"),
    "float64 beyond float32": (np.array([0.0, 1e300]), ValueError, "non-finite"),
    "two leads in a one-lead stream": (np.zeros((10, 2)), ValueError, "lead count cannot change"),
    "(n, 1) in a (n,) stream": (np.zeros((10, 1)), ValueError, "lead count cannot change"),
}


@pytest.mark.parametrize("name", sorted(BAD_CHUNKS))
def test_a_bad_chunk_raises_and_loses_nothing(tflite_model, name):
    chunk, error, words = BAD_CHUNKS[name]
    signal = ecg_like(2 * W + 77, seed=1)
    d = StreamingDenoiser(tflite_model)
    first = d.process(signal[:W + 5])
    before = d._stream.copy()
    with pytest.raises(error, match=re.escape(words)):
        d.process(chunk)
    assert same_state(d._stream, before)
    rest = [d.process(signal[W + 5 :]), d.flush()]
    assert np.array_equal(np.concatenate([first] + rest), denoise(signal, tflite_model))


def same_state(stream, other) -> bool:
    """Two stream states equal field by field, buffers bit for bit."""
    scalars = ("layout", "fill", "skip", "head_written", "n_in", "n_out")
    return (all(getattr(stream, f) == getattr(other, f) for f in scalars)
            and np.array_equal(stream.frame, other.frame) and np.array_equal(stream.acc, other.acc))


def test_a_lead_count_change_in_a_multi_lead_stream_is_refused(tiny_model):
    d = StreamingDenoiser(tiny_model)
    d.process(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"has \(n, 3\) 3 lead\(s\).*shape \(5, 2\)"):
        d.process(np.zeros((5, 2)))
    d.flush()
    assert d.process(np.zeros((5, 2))).shape == (0, 2)  # after flush a new layout is fine


def test_a_transposed_first_chunk_gets_a_hint(tiny_model):
    with pytest.raises(ValueError, match=r"array\.T"):
        StreamingDenoiser(tiny_model).process(np.zeros((2, 5000)))


@pytest.mark.parametrize("rate, words", [(50, "outside the 100-1000 Hz"), (2000, "outside the 100-1000 Hz"),
                                         (float("nan"), "outside"), (True, "outside"), ("250", "outside"),
                                         (360.0001, "not a ratio of integers up to 1000")])
def test_a_sample_rate_the_runtime_cannot_resample_is_refused(tiny_model, rate, words):
    with pytest.raises(ValueError, match=words):
        StreamingDenoiser(tiny_model, sample_rate_hz=rate)
    with pytest.raises(ValueError, match=words):
        denoise(np.zeros(10), tiny_model, sample_rate_hz=rate)


@pytest.mark.parametrize("hop, error", [(0, ValueError), (W + 1, ValueError), (-5, ValueError), (1.5, TypeError)])
def test_a_bad_hop_is_refused(tiny_model, hop, error):
    with pytest.raises(error, match="hop"):
        StreamingDenoiser(tiny_model, hop=hop)


def test_an_unknown_taper_is_refused(tiny_model):
    with pytest.raises(ValueError, match="taper"):
        StreamingDenoiser(tiny_model, taper="kaiser")


@pytest.mark.parametrize("suffix", [".tflite", ".onnx"])
def test_random_bytes_are_not_a_model(suffix):
    path = model_folder("garbage") / f"random{suffix}"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ModelFileError, match=f"is not a valid {'TFLite' if suffix == '.tflite' else 'ONNX'} file"):
        StreamingDenoiser(path)


def test_a_foreign_onnx_model_is_refused_even_under_a_contract():
    """A model without a contract is refused; given one by hand, its shape is still checked."""
    with pytest.raises(ModelFileError, match="carries no ulde model contract"):
        StreamingDenoiser(wrong_shape_onnx((1, 2, W)))
    for shape, words in (((1, 2, W), "more than one channel"), ((1, 1, 1, W), "rank 4"), ((4, 1, W), "batch dimension is 4")):
        path = wrong_shape_onnx(shape)
        with pytest.raises(ModelFileError, match=words):
            StreamingDenoiser(path, contract=contract_for(path))


def test_a_contract_that_disagrees_with_the_model_is_refused():
    import shutil

    path = model_folder("bad-contract") / "tiny.onnx"
    shutil.copy(tiny_onnx(with_contract=False), path)
    sealed(path, window_samples=1800)
    with pytest.raises(ModelFileError, match="contract says window_samples = 1800, the model itself has 3600"):
        StreamingDenoiser(path)


def test_a_file_of_another_kind_or_a_missing_file_is_refused(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"\0" * 10)
    with pytest.raises(ModelFileError, match="not a valid TFLite or ONNX file"):
        StreamingDenoiser(tmp_path / "model.pt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        StreamingDenoiser(tmp_path / "absent.onnx")


@pytest.mark.parametrize("blocked, make_model, words", [
    (("ai_edge_litert", "ai_edge_litert.interpreter", "ai_edge_litert.schema_py_generated"),
     int8_tflite, "pip install ai-edge-litert"),
    (("onnxruntime",), tiny_onnx, r"pip install 'ulde\[onnxruntime\]'"),
])
def test_a_missing_backend_names_the_package_to_install(monkeypatch, blocked, make_model, words):
    path = make_model()
    for name in blocked:
        monkeypatch.setitem(sys.modules, name, None)  # makes `import name` raise ImportError
    with pytest.raises(BackendMissingError, match=words):
        StreamingDenoiser(path)
