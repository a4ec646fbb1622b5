"""LiteRT (TensorFlow Lite) backend: float32 or fully-int8 models, imported lazily.

``ai_edge_litert`` is preferred; ``tflite_runtime`` is used where only it is installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ulde.runtime.errors import BackendMissingError, ModelFileError
from ulde.runtime.model_output import denoised, outputs_noise
from ulde.runtime.quantization import INTEGER_DTYPES, check_quantization, dequantize, quantize
from ulde.runtime.tensor_layout import check_same_window, window_from_shape

INSTALL_HINT = "install LiteRT with `pip install ai-edge-litert` (part of the bare `pip install ulde`)"


def import_interpreter() -> type:
    """The LiteRT ``Interpreter`` class; BackendMissingError saying what to install if absent."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError as exc:
            raise BackendMissingError(f"running a .tflite model needs LiteRT: {INSTALL_HINT}") from exc
    return Interpreter


class TFLiteBackend:
    """One LiteRT interpreter; ``run`` maps (B, T) float32 network-input frames to (B, T) denoised float32.

    Window length T, tensor dtypes, int8 scale/zero point and what the output holds (its name,
    runtime/model_output.py) are read from the model's tensor details.
    """

    name = "litert"

    def __init__(self, path: Path, num_threads: int = 1):
        interpreter_class = import_interpreter()
        try:
            self._interpreter = interpreter_class(model_path=str(path), num_threads=num_threads)
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelFileError(f"model {path} is not a readable TFLite model ({first_line})") from exc
        inputs, outputs = self._interpreter.get_input_details(), self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelFileError(f"model {path}: {len(inputs)} input(s) and {len(outputs)} output(s); expected 1 and 1")
        self._input, self._output = inputs[0], outputs[0]
        self.window = check_same_window(
            window_from_shape(self._input["shape"].tolist(), f"model {path} input"),
            window_from_shape(self._output["shape"].tolist(), f"model {path} output"),
            str(path),
        )
        self.outputs_noise = outputs_noise(self._output["name"])
        self._in_quant = self._tensor_quantization(self._input, f"model {path} input")
        self._out_quant = self._tensor_quantization(self._output, f"model {path} output")
        self._unit_shape = [int(d) for d in self._input["shape"][1:]]
        self._batch = 1
        self.supports_batch = True  # by resizing the input; the runner verifies it is exact first

    @staticmethod
    def _tensor_quantization(detail: dict, where: str) -> tuple | None:
        dtype = detail["dtype"]
        if dtype == np.float32:
            return None
        if dtype not in INTEGER_DTYPES:
            raise ModelFileError(f"{where}: tensor type {np.dtype(dtype).name}; expected float32, int8 or uint8")
        return check_quantization(dtype, detail["quantization"], where) + (dtype,)

    @property
    def input_dtype(self) -> np.dtype:
        return np.dtype(self._input["dtype"])

    def _resize(self, batch: int) -> None:
        """Resize the input to ``batch`` rows; on failure restore the previous size and re-raise."""
        try:
            self._interpreter.resize_tensor_input(self._input["index"], [batch] + self._unit_shape, strict=False)
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError):
            self._interpreter.resize_tensor_input(self._input["index"], [self._batch] + self._unit_shape, strict=False)
            self._interpreter.allocate_tensors()
            raise
        self._batch = batch

    def _model_input(self, frames: np.ndarray) -> np.ndarray:
        """(B, T) float32 mV -> the values of the model's input tensor (quantized for an integer model)."""
        return frames if self._in_quant is None else quantize(frames, *self._in_quant)

    def _denoised(self, frames: np.ndarray, y: np.ndarray) -> np.ndarray:
        """(B, T) input frames and values of the model's output tensor -> a new float32 array of denoised frames."""
        real = y.astype(np.float32, copy=True) if self._out_quant is None else dequantize(y, *self._out_quant[:2])
        return denoised(frames, real, self.outputs_noise)

    def run_rows(self, frames: np.ndarray) -> np.ndarray:
        """(B, T) float32 -> (B, T) float32 denoised, one interpreter call per row.

        The (de)quantization runs once over all rows (the same float32 operations, row by row, as
        ``run``), so a stream pays its numpy overhead per chunk instead of per frame.
        """
        if self._batch != 1:
            self._resize(1)
        x = self._model_input(frames)
        y = np.empty((frames.shape[0], self.window), dtype=self._output["dtype"])
        shape, index_in, index_out = [1] + self._unit_shape, self._input["index"], self._output["index"]
        for row, out in zip(x, y):
            self._interpreter.set_tensor(index_in, row.reshape(shape))
            self._interpreter.invoke()
            out[:] = self._interpreter.get_tensor(index_out).reshape(self.window)
        return self._denoised(frames, y)

    def run(self, frames: np.ndarray) -> np.ndarray:
        """(B, T) float32 -> (B, T) float32 denoised, B model rows in one interpreter call."""
        batch = frames.shape[0]
        if batch != self._batch:
            self._resize(batch)
        x = self._model_input(frames)
        self._interpreter.set_tensor(self._input["index"], x.reshape([batch] + self._unit_shape))
        self._interpreter.invoke()
        y = self._interpreter.get_tensor(self._output["index"])
        if y.size != frames.size:
            raise ModelFileError(f"model returned {y.shape} for a batch of {batch}; it does not support batching")
        return self._denoised(frames, y.reshape(batch, self.window))
