"""onnxruntime backend for float32 ONNX models, imported lazily."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ulde.runtime.errors import BackendMissingError, ModelFileError
from ulde.runtime.model_output import denoised, outputs_noise
from ulde.runtime.tensor_layout import check_same_window, window_from_shape

INSTALL_HINT = "install onnxruntime with `pip install onnxruntime` (part of the bare `pip install ulde`)"


def import_onnxruntime():
    """The ``onnxruntime`` module; BackendMissingError saying what to install if absent."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise BackendMissingError(f"running a .onnx model needs onnxruntime: {INSTALL_HINT}") from exc
    return onnxruntime


def _shape(value_info) -> list:
    return [d if isinstance(d, int) else None for d in value_info.shape]


class OnnxBackend:
    """One onnxruntime CPU session; ``run`` maps (B, T) float32 network-input frames to (B, T) denoised
    float32 (subtracting the model's output from its input if that output is a noise estimate,
    runtime/model_output.py)."""

    name = "onnxruntime"

    def __init__(self, path: Path, num_threads: int = 1):
        ort = import_onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: a wearable log has no room for graph warnings
        try:
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own pybind classes (Fail, InvalidProtobuf, ...)
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelFileError(f"model {path} is not a readable ONNX model ({first_line})") from exc
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelFileError(f"model {path}: {len(inputs)} input(s) and {len(outputs)} output(s); expected 1 and 1")
        for where, info in (("input", inputs[0]), ("output", outputs[0])):
            if info.type != "tensor(float)":
                raise ModelFileError(f"model {path} {where}: type {info.type}; expected tensor(float) (float32)")
        in_shape, out_shape = _shape(inputs[0]), _shape(outputs[0])
        self.window = check_same_window(
            window_from_shape(in_shape, f"model {path} input"),
            window_from_shape(out_shape, f"model {path} output"),
            str(path),
        )
        self._input_name, self._output_name = inputs[0].name, outputs[0].name
        self.outputs_noise = outputs_noise(self._output_name)
        self._unit_shape = in_shape[1:]
        self.supports_batch = in_shape[0] is None  # a fixed batch of 1 cannot take several leads
        self.input_dtype = np.dtype(np.float32)

    def run_rows(self, frames: np.ndarray) -> np.ndarray:
        """(B, T) float32 -> (B, T) float32 denoised, one session call per row."""
        return np.concatenate([self.run(row[None]) for row in frames]) if len(frames) else frames.copy()

    def run(self, frames: np.ndarray) -> np.ndarray:
        """(B, T) float32 -> (B, T) float32 denoised, B model rows in one session call."""
        batch = frames.shape[0]
        x = np.ascontiguousarray(frames, dtype=np.float32).reshape([batch] + self._unit_shape)
        (y,) = self._session.run([self._output_name], {self._input_name: x})
        output = np.asarray(y, dtype=np.float32).reshape(batch, self.window)  # a fresh array per call
        return denoised(x.reshape(batch, self.window), output, self.outputs_noise)
