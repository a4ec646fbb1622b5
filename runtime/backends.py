"""Choose the interpreter by the model file's extension, and run several leads per call where exact.

Only the chosen backend's module is imported (lazily): a .tflite model never imports onnxruntime
and a .onnx model never imports LiteRT.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ulde.runtime.errors import ModelFileError

SUFFIXES = {".tflite": "LiteRT", ".onnx": "onnxruntime"}


def open_backend(path: Path, num_threads: int = 1):
    """A backend object with ``window`` (samples), ``name``, ``supports_batch``, ``run(frames)`` (B rows in
    one call) and ``run_rows(frames)`` (one call per row); both take network-input frames and return a
    new float32 array of denoised frames (runtime/model_output.py)."""
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        from ulde.runtime.backend_tflite import TFLiteBackend

        return TFLiteBackend(path, num_threads)
    if suffix == ".onnx":
        from ulde.runtime.backend_onnx import OnnxBackend

        return OnnxBackend(path, num_threads)
    known = ", ".join(f"{s} ({name})" for s, name in SUFFIXES.items())
    raise ModelFileError(f"model {path}: unknown file type {suffix!r}; expected one of {known}")


class LeadRunner:
    """Runs one frame per lead, (L, T) float32 -> (L, T) float32, in one call where that is exact.

    Batching is used for a lead count L only after the first batched call has been checked to equal
    L single-lead calls bit for bit (that first result is the single-lead one); otherwise every lead
    gets its own call. So a multi-lead stream always equals its leads streamed one by one.
    """

    def __init__(self, backend):
        self.backend = backend
        self._batch_exact: dict[int, bool] = {1: True}

    def run_frames(self, frames: np.ndarray) -> np.ndarray:
        """(k, L, T) float32 -> (k, L, T) float32: k frames of L leads, each frame as ``__call__`` runs it."""
        if frames.shape[1] == 1:
            return self.backend.run_rows(frames[:, 0])[:, None]
        return np.stack([self(frame) for frame in frames])

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        leads = frames.shape[0]
        if leads == 1 or not self.backend.supports_batch or self._batch_exact.get(leads) is False:
            return self.backend.run_rows(frames)
        if leads in self._batch_exact:
            return self.backend.run(frames)
        single = self.backend.run_rows(frames)
        try:
            batched = self.backend.run(frames)
            self._batch_exact[leads] = bool(np.array_equal(batched, single))
        except (ValueError, RuntimeError):  # e.g. a graph with a hard-coded batch of 1 in a RESHAPE
            self._batch_exact[leads] = False
        return single

    def batched(self, leads: int) -> bool | None:
        """Whether ``leads`` leads run in one call (None: not tried yet)."""
        return True if leads == 1 else (self._batch_exact.get(leads) if self.backend.supports_batch else False)
