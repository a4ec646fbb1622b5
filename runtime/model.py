"""``Model``: one checked model file run under its contract, over a batch of windows.

Every route that runs an exported model goes through here: ``StreamingDenoiser`` (which only frames),
``denoise`` and ``denoise_windows``, the exporter's parity and TFLite Micro checks, and the benchmarks.
A window's path, in order:

1. ``condition``: the contract's input conditioning (runtime/normalization.py), float32 network input
   and the per-window scale s;
2. ``encode``: network input -> input tensor values, q = clip(rint(x / scale) + zero_point) for an
   integer tensor (float32, rounding half to even, saturating), the float32 input itself otherwise;
3. ``invoke``: the interpreter, one call per window (several leads in one call only where that was
   checked to be bit-exact);
4. ``decode``: output tensor values -> real values ((q - zero_point) * scale in float32), then the
   contract's output rule (a noise estimate is subtracted from the float32 network input, so the
   denoised signal keeps the input's precision instead of the int8 output's 256 levels), times s.

Everything is float32 after conditioning and elementwise, so a result never depends on how many
windows were run together.
"""

from __future__ import annotations

import functools
import os
import threading

import numpy as np

from ulde.runtime.chunks import as_levels, as_windows
from ulde.runtime.contract import ModelContract, TensorEncoding
from ulde.runtime.errors import ModelFileError
from ulde.runtime.interpreters import INTERPRETERS
from ulde.runtime.model_file import open_model_file
from ulde.runtime.normalization import Levels, normalize

_SATURATION = {name: (np.float32(np.iinfo(name).min), np.float32(np.iinfo(name).max)) for name in ("int8", "uint8")}


class ModelBusyError(RuntimeError):
    """A model (or a stream) entered from a second thread while a first one is running it."""


class Model:
    """A model file opened, checked and bound to its contract (runtime/contract.py).

    Args:
        model: path of a ``.tflite`` or ``.onnx`` file (the format is read from its content);
            None = the shipped fully-int8 ``ulde_int8.tflite``.
        contract: for a file that carries no contract: the terms to run it under. A file exported
            by ulde carries its own; it is refused if given a different one.
        num_threads: interpreter threads (1 keeps a wearable-like, deterministic single core).
        reference_kernels: run LiteRT's reference kernels (TFLite Micro's arithmetic) instead of XNNPACK.

    One instance runs one call at a time: a call from a second thread while one is running raises
    ``ModelBusyError`` at once (use one Model per thread).
    """

    def __init__(self, model: str | os.PathLike | None = None, *, contract: ModelContract | None = None,
                 num_threads: int = 1, reference_kernels: bool = False):
        self.file = open_model_file(model, contract)
        self.path, self.contract = self.file.path, self.file.contract
        where = f"model {self.path}"
        self._interpreter = INTERPRETERS[self.file.format](self.file.data, where, num_threads, reference_kernels)
        self._check_against_file(where)
        self._options = {"num_threads": num_threads, "reference_kernels": reference_kernels}
        self._batch_exact: dict[int, bool] = {1: True}
        self._lock = threading.Lock()

    def _check_against_file(self, where: str) -> None:
        found = {"window_samples": self._interpreter.window, "input_tensor": self._interpreter.input,
                 "output_tensor": self._interpreter.output}
        for name, value in found.items():
            if getattr(self.contract, name) != value:
                raise ModelFileError(f"{where}: its contract says {name} = {getattr(self.contract, name)}, "
                                     f"the model itself has {value}")

    def reopened(self) -> Model:
        """A new, independent Model of the same file and contract (its own interpreter)."""
        return Model(self.path, contract=None if self.file.embedded else self.contract, **self._options)

    @property
    def window_samples(self) -> int:
        return self.contract.window_samples

    @property
    def sample_rate_hz(self) -> float:
        return self.contract.sample_rate_hz

    @property
    def backend(self) -> str:
        """Name of the interpreter: "litert" or "onnxruntime"."""
        return self._interpreter.name

    def condition(self, windows: np.ndarray, levels: Levels | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(..., T) float windows in mV -> (network input (..., T) float32, scale (..., 1) float32);
        ``levels`` ((..., 1) each): each window's offset and peak where the contract's conditioning span
        is longer than the window (``trailing_levels`` on the stream), None = each window's own."""
        if levels is None and self.contract.conditioning_span != self.window_samples:
            raise ValueError(f"model {self.path} conditions each frame on the last {self.contract.conditioning_span} stream "
                             "samples: pass each frame's levels (runtime/normalization.py trailing_levels)")
        return normalize(windows, self.contract.input_conditioning, levels)

    def encode(self, network_input: np.ndarray) -> np.ndarray:
        """Network input (float32) -> input tensor values (a new array; any shape)."""
        tensor = self.contract.input_tensor
        if tensor.dtype == "float32":
            return np.array(network_input, dtype=np.float32)
        low, high = _SATURATION[tensor.dtype]
        q = np.divide(network_input, np.float32(tensor.scale), dtype=np.float32)
        np.rint(q, out=q)
        np.add(q, np.float32(tensor.zero_point), out=q)
        np.clip(q, low, high, out=q)
        return q.astype(tensor.dtype)

    def invoke(self, values: np.ndarray) -> np.ndarray:
        """(k, L, T) input tensor values -> (k, L, T) output tensor values: one interpreter call per window
        of L leads, batched over the L leads only where checked bit-exact (the first batched call for a
        lead count is compared with L single calls, whose result is used)."""
        if not self._lock.acquire(blocking=False):
            raise ModelBusyError(f"model {self.path} is already running in another thread; use one Model "
                                 "(or one StreamingDenoiser) per thread")
        try:
            frames, leads, window = values.shape
            if leads == 1:
                return self._interpreter.invoke_rows(values.reshape(frames, window)).reshape(values.shape)
            return np.stack([self._invoke_leads(frame) for frame in values]) if frames else \
                np.empty(values.shape, dtype=np.dtype(self.contract.output_tensor.dtype))
        finally:
            self._lock.release()

    def _invoke_leads(self, frame: np.ndarray) -> np.ndarray:
        leads = frame.shape[0]
        if not self._interpreter.supports_batch or self._batch_exact.get(leads) is False:
            return self._interpreter.invoke_rows(frame)
        if self._batch_exact.get(leads):
            return self._interpreter.invoke_batch(frame)
        single = self._interpreter.invoke_rows(frame)
        try:
            self._batch_exact[leads] = bool(np.array_equal(self._interpreter.invoke_batch(frame), single))
        except (ValueError, RuntimeError):  # e.g. a graph with a hard-coded batch of 1 in a RESHAPE
            self._batch_exact[leads] = False
        return single

    def batched(self, leads: int) -> bool | None:
        """Whether ``leads`` leads run in one interpreter call (None: not tried yet)."""
        if leads == 1:
            return True
        return self._batch_exact.get(leads) if self._interpreter.supports_batch else False

    def decode(self, network_input: np.ndarray, outputs: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """Output tensor values -> denoised float32 mV: dequantized, the output rule applied, times ``scale``."""
        real = _real_values(outputs, self.contract.output_tensor)
        if self.contract.outputs_noise:
            np.subtract(network_input, real, out=real)
        real *= scale
        return real

    def denoise_frames(self, frames: np.ndarray, levels: Levels | None = None) -> np.ndarray:
        """(k, L, T) float64/float32 frames in mV, already validated -> (k, L, T) float32 denoised mV
        (``levels`` (k, L, 1) each, as for ``condition``)."""
        network_input, scale = self.condition(frames, levels)
        return self.decode(network_input, self.invoke(self.encode(network_input)), scale)

    def denoise_windows(self, windows, levels: Levels | None = None) -> np.ndarray:
        """(n, T) float32/float64 mV -> (n, T) float32 mV, one model call per window, no overlap-add.

        The one-window-per-call protocol of the paper and of ulde's evaluation tables. Windows are
        checked as ``StreamingDenoiser.process`` checks a chunk (dtype, finite values) and must be
        the model's window long. ``levels`` ((n, 1) mV each): each window's offset and peak, for a
        model whose conditioning span is longer than its window (``condition``)."""
        checked = as_windows(windows, self.window_samples)
        if levels is not None:
            levels = Levels(*(as_levels(part, len(checked), name)[:, None] for part, name in zip(levels, Levels._fields)))
        return self.denoise_frames(checked[:, None], levels)[:, 0]


def _real_values(outputs: np.ndarray, tensor: TensorEncoding) -> np.ndarray:
    """Output tensor values -> a new float32 array of real values, (q - zero_point) * scale in float32."""
    if tensor.dtype == "float32":
        return np.array(outputs, dtype=np.float32)
    return np.take(_dequantization_table(tensor), outputs.view(np.uint8))


@functools.lru_cache(maxsize=8)
def _dequantization_table(tensor: TensorEncoding) -> np.ndarray:
    """Real value of each 8-bit pattern, computed as _real_values states: one lookup per output value."""
    codes = np.arange(256, dtype=np.uint8).view(tensor.dtype)
    real = np.subtract(codes, np.float32(tensor.zero_point), dtype=np.float32)
    return np.multiply(real, np.float32(tensor.scale), out=real)
