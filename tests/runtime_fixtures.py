"""Test models for the runtime tests, built once per test process (shared by several test modules).

Builders write into one temporary folder and memoise their paths, so a session pays for each model
once even when several modules import the fixtures. Provenance of each model is in its builder's
docstring; none is trained: the runtime tests check framing and exactness, not denoising quality.
Each carries a model contract (runtime/contract.py) written and sealed by the exporter's own functions
(``sealed``), as ulde-export writes it.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from ulde.runtime.contract import ModelContract, TensorEncoding
from ulde.runtime.model import Model
from ulde.runtime.model_file import shipped_model
from ulde.runtime.framing import OVERLAP_SAVE
from ulde.runtime.signal_spec import (LOW_LATENCY_CONDITIONING_SPAN_SAMPLES, LOW_LATENCY_HOP_SAMPLES, LOW_LATENCY_KEPT_START,
                                     LOW_LATENCY_WINDOW_SAMPLES, SAMPLE_RATE_HZ, WINDOW_SAMPLES)

_FOLDER = Path(tempfile.mkdtemp(prefix="ulde-runtime-models-"))
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)
SEED = 20240505
MODEL_FIXTURES = Path(__file__).parent / "fixtures" / "models"
STUDENT_ONNX = MODEL_FIXTURES / "untrained_student.onnx"
TOY_INT8_TFLITE = MODEL_FIXTURES / "toy_int8.tflite"
STUDENT_LOW_LATENCY_ONNX = MODEL_FIXTURES / "untrained_student_low_latency.onnx"
TOY_INT8_LOW_LATENCY_TFLITE = MODEL_FIXTURES / "toy_int8_low_latency.tflite"
LOW_LATENCY_TERMS = {
    "window_samples": LOW_LATENCY_WINDOW_SAMPLES, "recommended_hop_samples": LOW_LATENCY_HOP_SAMPLES,
    "framing": OVERLAP_SAVE, "kept_start_samples": LOW_LATENCY_KEPT_START,
    "latency_samples": LOW_LATENCY_WINDOW_SAMPLES - 1 - LOW_LATENCY_KEPT_START,
    "input_conditioning": "mean-peak", "conditioning_span_samples": LOW_LATENCY_CONDITIONING_SPAN_SAMPLES,
}
"""The contract terms of a low-latency model (as ulde-export writes them for the shipped one), for
the low-latency fixtures."""


def model_folder(name: str) -> Path:
    """A fresh sub-folder for one model."""
    folder = _FOLDER / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def contract_for(path: Path, **terms) -> ModelContract:
    """A contract for the model file at ``path``: its own I/O encoding, 360 Hz, a window of
    WINDOW_SAMPLES, hop T/2, no conditioning and a signal output unless ``terms`` say otherwise."""
    data = path.read_bytes()
    if data[4:8] == b"TFL3":
        from ulde.export.tflite_graph import io_encodings, io_tensors

        encodings = io_encodings(io_tensors(data))
    else:
        encodings = {"input": TensorEncoding("float32"), "output": TensorEncoding("float32")}
    window = terms.pop("window_samples", WINDOW_SAMPLES)
    hop = terms.pop("recommended_hop_samples", window // 2)
    fields = {"sample_rate_hz": SAMPLE_RATE_HZ, "window_samples": window, "recommended_hop_samples": hop,
              "input_conditioning": "none", "output_kind": "signal", "input_tensor": encodings["input"],
              "output_tensor": encodings["output"], **terms}
    return ModelContract(**fields)


def sealed(path: Path, **terms) -> Path:
    """Embed ``contract_for(path, **terms)`` into the file at ``path`` (in place) as ulde-export does; return it."""
    contract = contract_for(path, **terms)
    if path.read_bytes()[4:8] == b"TFL3":
        from ulde.export.tflite_graph import embed_contract

        path.write_bytes(embed_contract(path.read_bytes(), contract))
    else:
        from ulde.export.onnx_contract import embed_onnx_contract

        embed_onnx_contract(path, contract)
    return path


def _onnx_conv_model(shape: list, kernel: np.ndarray, dynamic_batch: bool = False, output: str = "y"):
    """ONNX graph output = Conv1d(x, kernel, same padding), input/output ``shape`` float32."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    dims = ["batch"] + shape[1:] if dynamic_batch else shape
    k = kernel.astype(np.float32).reshape(1, 1, -1)
    pad = (k.shape[-1] - 1) // 2
    node = helper.make_node("Conv", ["x", "w"], [output], pads=[pad, k.shape[-1] - 1 - pad])
    graph = helper.make_graph(
        [node], "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, dims)], [numpy_helper.from_array(k, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9  # onnxruntime 1.18+ reads IR 9
    onnx.checker.check_model(model)
    return model


@functools.cache
def tiny_onnx(window: int = WINDOW_SAMPLES, dynamic_batch: bool = False, with_contract: bool = True) -> Path:
    """3-tap smoothing Conv ([0.25, 0.5, 0.25]) as ONNX built with onnx.helper: microseconds per call."""
    pytest.importorskip("onnx")
    import onnx

    name = f"tiny-{window}-{'dyn' if dynamic_batch else 'b1'}-{'c' if with_contract else 'noc'}"
    path = model_folder(name) / "tiny.onnx"
    onnx.save(_onnx_conv_model([1, 1, window], np.array([0.25, 0.5, 0.25]), dynamic_batch), path)
    return sealed(path, window_samples=window) if with_contract else path


@functools.cache
def noise_output_onnx() -> Path:
    """The 3-tap smoothing Conv of ``tiny_onnx`` under a contract whose output is a noise estimate:
    the runtime returns the input minus it."""
    pytest.importorskip("onnx")
    import onnx

    path = model_folder("noise-output") / "noise.onnx"
    onnx.save(_onnx_conv_model([1, 1, WINDOW_SAMPLES], np.array([0.25, 0.5, 0.25])), path)
    return sealed(path, output_kind="noise_estimate")


@functools.cache
def wrong_shape_onnx(shape: tuple = (1, 2, WINDOW_SAMPLES)) -> Path:
    """A valid ONNX model whose input is not one lead of one window (default: two channels)."""
    pytest.importorskip("onnx")
    import onnx
    from onnx import TensorProto, helper

    folder = model_folder("wrong-" + "x".join(map(str, shape)))  # no contract: its shape is what is tested
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "wrong",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    path = folder / "wrong.onnx"
    onnx.save(model, path)
    return path


@functools.cache
def student_onnx() -> Path:
    """Untrained ULde-net student, float ONNX, input/output [1, 1, 3600] (a private copy of the file
    committed under tests/fixtures/models/, built by tests/make_model_fixtures.py)."""
    return _private_copy(STUDENT_ONNX, "student-onnx", "ulde.onnx")


def ecg_like(n: int, seed: int = 0, leads: int | None = None) -> np.ndarray:
    """Deterministic ECG-like test signal in mV: 1.2 Hz spiky beats + baseline wander + noise, float64."""
    rng = np.random.default_rng(seed)
    cols = 1 if leads is None else leads
    t = np.arange(n)[:, None] / SAMPLE_RATE_HZ + rng.uniform(0, 1, cols)
    beats = np.exp(-((np.mod(t * 1.2, 1.0) - 0.3) ** 2) / 2e-4)
    x = 1.2 * beats + 0.3 * np.sin(2 * np.pi * 0.3 * t) + 0.05 * rng.standard_normal((n, cols))
    return x[:, 0] if leads is None else x


@functools.cache
def int8_tflite() -> Path:
    """Fully-int8 TFLite (int8 input/output [1, 1, 3600]) of a seeded random 3-conv net (a private copy
    of the file committed under tests/fixtures/models/, built by tests/make_model_fixtures.py)."""
    return _private_copy(TOY_INT8_TFLITE, "toy-int8", "ulde_int8.tflite")


@functools.cache
def int8_tflite_low_latency() -> Path:
    """The fully-int8 toy net of ``int8_tflite`` at the low-latency window (int8 I/O [1, 1, 496]) under
    LOW_LATENCY_TERMS (a private copy of the committed file, built by tests/make_model_fixtures.py)."""
    return _private_copy(TOY_INT8_LOW_LATENCY_TFLITE, "toy-int8-ll", "ulde_int8_low_latency.tflite")


@functools.cache
def student_onnx_low_latency() -> Path:
    """The untrained student of ``student_onnx`` exported at the low-latency window, float ONNX
    [1, 1, 496], under LOW_LATENCY_TERMS (a private copy of the committed file)."""
    return _private_copy(STUDENT_LOW_LATENCY_ONNX, "student-onnx-ll", "ulde_low_latency.onnx")


def _private_copy(committed: Path, folder: str, name: str) -> Path:
    path = model_folder(folder) / name
    shutil.copyfile(committed, path)
    return path


def fail_on_call(monkeypatch, model: Model, call: int, error: type[BaseException]) -> None:
    """Make ``model.invoke`` raise ``error`` on its ``call``-th call (1-based) from now on, once."""
    real, calls = model.invoke, {"n": 0}

    def invoke(values):
        calls["n"] += 1
        if calls["n"] == call:
            raise error("injected")
        return real(values)

    monkeypatch.setattr(model, "invoke", invoke)


def shipped_file(name: str) -> Path:
    """A file the installed package ships in ulde.runtime's models folder; a missing one fails the test
    (a packaging regression), never skips it."""
    path = shipped_model(name)
    assert path.is_file(), f"{name} is missing from the installed package's {path.parent}: a packaging regression"
    return path


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    return tiny_onnx()


@pytest.fixture(scope="session")
def onnx_model() -> Path:
    return student_onnx()


@pytest.fixture(scope="session")
def tflite_model() -> Path:
    return int8_tflite()


@functools.cache
def with_conditioning(model: Path, mode: str = "mean-peak") -> Path:
    """A copy of ``model`` whose contract states the input conditioning ``mode`` (runtime/normalization.py)."""
    from ulde.runtime.model_file import read_contract

    copy = model_folder(f"{model.parent.name}-{mode}") / model.name
    shutil.copyfile(model, copy)
    terms = read_contract(model)
    return sealed(copy, input_conditioning=mode, output_kind=terms.output_kind, window_samples=terms.window_samples)
