"""The two native interpreters, behind one small interface, each imported only when its format is run.

An interpreter here maps raw input tensor values to raw output tensor values: (B, T) in the model's
input dtype to (B, T) in its output dtype. Conditioning, (de)quantization and the output rule are the
contract's, applied by ``ulde.runtime.Model``. Both are built from the checked bytes of a model file
(runtime/model_file.py), never from its path.

The model's input and output must be one lead of one window: [1, 1, T], [1, T, 1] or [1, T] (with one
channel, channels-first and channels-last share the same memory order), the output the same as the
input. T is read from the model; the batch dimension may be dynamic (ONNX) or resized (LiteRT).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ulde.runtime.contract import TensorEncoding
from ulde.runtime.errors import BackendMissingError, ModelFileError, first_line
from ulde.runtime.native_log import quiet_routine_log

MIN_WINDOW_SAMPLES = 2
LITERT_HINT = "install LiteRT with `pip install ai-edge-litert` (part of the bare `pip install ulde`)"
ONNXRUNTIME_HINT = "install onnxruntime with `pip install 'ulde[onnxruntime]'` (or `pip install onnxruntime`)"


def window_from_shape(shape: Sequence, where: str) -> int:
    """The window length T from a model input/output shape such as [1, 1, 3600] (ints, or None/str for
    a dynamic ONNX batch); ModelFileError naming the shape found."""
    dims = list(shape)
    expected = "[1, 1, T], [1, T, 1] or [1, T] (batch 1, one lead, fixed window T)"
    if len(dims) not in (2, 3):
        raise ModelFileError(f"{where}: shape {dims} has rank {len(dims)}; expected {expected}")
    batch, rest = dims[0], dims[1:]
    if isinstance(batch, int) and batch not in (1, -1):
        raise ModelFileError(f"{where}: batch dimension is {batch}; expected {expected}")
    if not all(isinstance(d, int) and d > 0 for d in rest):
        raise ModelFileError(f"{where}: shape {dims} has a dynamic or invalid time dimension; expected {expected}")
    long_dims = [d for d in rest if d != 1]
    if len(long_dims) > 1:
        raise ModelFileError(f"{where}: shape {dims} has more than one channel; expected {expected}")
    window = long_dims[0] if long_dims else 1
    if window < MIN_WINDOW_SAMPLES:
        raise ModelFileError(f"{where}: window of {window} sample(s) is too short; expected {expected}")
    return window


def _same_window(shapes: tuple[Sequence, Sequence], where: str) -> int:
    windows = [window_from_shape(s, f"{where} {role}") for s, role in zip(shapes, ("input", "output"))]
    if windows[0] != windows[1]:
        raise ModelFileError(f"{where}: input window {windows[0]} samples but output {windows[1]}; "
                             "a denoiser must return one output sample per input sample")
    return windows[0]


class LiteRTInterpreter:
    """One LiteRT interpreter: XNNPACK by default, or TFLite's reference kernels (the arithmetic TFLite
    Micro implements) with ``reference_kernels``."""

    name = "litert"

    def __init__(self, data: bytes, where: str, num_threads: int = 1, reference_kernels: bool = False):
        try:
            from ai_edge_litert.interpreter import Interpreter, OpResolverType
        except ImportError as exc:
            raise BackendMissingError(f"running a .tflite model needs LiteRT: {LITERT_HINT}") from exc
        resolver = OpResolverType.BUILTIN_REF if reference_kernels else OpResolverType.AUTO
        try:
            with quiet_routine_log():
                self._interpreter = Interpreter(model_content=data, num_threads=num_threads,
                                                experimental_op_resolver_type=resolver)
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelFileError(f"{where} is not a TFLite model LiteRT can run ({first_line(exc)})") from exc
        inputs, outputs = self._interpreter.get_input_details(), self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelFileError(f"{where}: {len(inputs)} input(s) and {len(outputs)} output(s); expected 1 and 1")
        self._input, self._output = inputs[0], outputs[0]
        self.window = _same_window((self._input["shape"].tolist(), self._output["shape"].tolist()), where)
        self.input, self.output = (self._encoding(d, f"{where} {role}") for d, role in ((self._input, "input"), (self._output, "output")))
        self._unit_shape = [int(d) for d in self._input["shape"][1:]]
        self._batch = 1
        self.supports_batch = True  # by resizing the input; Model checks a batch is exact before using it

    @staticmethod
    def _encoding(detail: dict, where: str) -> TensorEncoding:
        dtype = np.dtype(detail["dtype"]).name
        if dtype == "float32":
            return TensorEncoding("float32")
        scale, zero_point = detail["quantization"]
        try:
            return TensorEncoding(dtype, float(scale), int(zero_point))
        except ModelFileError as exc:
            raise ModelFileError(f"{where}: {exc}") from None

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

    def invoke_rows(self, values: np.ndarray) -> np.ndarray:
        """(B, T) input values -> (B, T) output values, one interpreter call per row."""
        if self._batch != 1:
            self._resize(1)
        out = np.empty((values.shape[0], self.window), dtype=self._output["dtype"])
        # copied straight into and out of the interpreter's own buffers; each view is dropped before invoke()
        input_view, output_view = self._interpreter.tensor(self._input["index"]), self._interpreter.tensor(self._output["index"])
        for row, target in zip(values, out):
            input_view().reshape(self.window)[:] = row
            self._interpreter.invoke()
            target[:] = output_view().reshape(self.window)
        return out

    def invoke_batch(self, values: np.ndarray) -> np.ndarray:
        """(B, T) input values -> (B, T) output values in one interpreter call."""
        batch = values.shape[0]
        if batch != self._batch:
            self._resize(batch)
        self._interpreter.set_tensor(self._input["index"], values.reshape([batch] + self._unit_shape))
        self._interpreter.invoke()
        y = self._interpreter.get_tensor(self._output["index"])
        if y.size != values.size:
            raise ModelFileError(f"model returned {y.shape} for a batch of {batch}; it does not support batching")
        return y.reshape(batch, self.window).copy()


class OnnxInterpreter:
    """One onnxruntime CPU session (float32 input and output)."""

    name = "onnxruntime"

    def __init__(self, data: bytes, where: str, num_threads: int = 1, reference_kernels: bool = False):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendMissingError(f"running a .onnx model needs onnxruntime: {ONNXRUNTIME_HINT}") from exc
        if reference_kernels:
            raise ValueError("reference_kernels is a LiteRT option; onnxruntime has one CPU kernel set")
        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: a wearable log has no room for graph warnings
        try:
            self._session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own pybind classes (Fail, InvalidProtobuf, ...)
            raise ModelFileError(f"{where} is not an ONNX model onnxruntime can run ({first_line(exc)})") from exc
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelFileError(f"{where}: {len(inputs)} input(s) and {len(outputs)} output(s); expected 1 and 1")
        for role, info in (("input", inputs[0]), ("output", outputs[0])):
            if info.type != "tensor(float)":
                raise ModelFileError(f"{where} {role}: type {info.type}; expected tensor(float) (float32)")
        shapes = [[d if isinstance(d, int) else None for d in info.shape] for info in (inputs[0], outputs[0])]
        self.window = _same_window(shapes, where)
        self._input_name, self._output_name = inputs[0].name, outputs[0].name
        self._unit_shape = shapes[0][1:]
        self.input = self.output = TensorEncoding("float32")
        self.supports_batch = shapes[0][0] is None  # a fixed batch of 1 cannot take several leads

    def invoke_rows(self, values: np.ndarray) -> np.ndarray:
        """(B, T) float32 -> (B, T) float32, one session call per row."""
        if not len(values):
            return np.empty((0, self.window), dtype=np.float32)
        return np.concatenate([self.invoke_batch(row[None]) for row in values])

    def invoke_batch(self, values: np.ndarray) -> np.ndarray:
        """(B, T) float32 -> (B, T) float32 in one session call."""
        batch = values.shape[0]
        (y,) = self._session.run([self._output_name], {self._input_name: values.reshape([batch] + self._unit_shape)})
        return np.asarray(y, dtype=np.float32).reshape(batch, self.window).copy()


INTERPRETERS = {"tflite": LiteRTInterpreter, "onnx": OnnxInterpreter}
"""Interpreter class by file format (runtime/model_file.py reads the format from the file's content)."""
