"""Read the window length from an interpreter's input/output shapes (no interpreter imports here).

The runtime takes one lead per model call: the model's input must be one of [1, 1, T], [1, T, 1] or
[1, T] (with one channel, channels-first and channels-last share the same memory order), and its output
must have the same shape. T, the window length in samples, is read from the model, never assumed.
"""

from __future__ import annotations

from collections.abc import Sequence

from ulde.runtime.errors import ModelFileError

MIN_WINDOW_SAMPLES = 2
"""A model window shorter than this cannot overlap-add."""


def window_from_shape(shape: Sequence, where: str) -> int:
    """The window length T in samples from a model input/output shape such as [1, 1, 3600].

    ``shape`` may hold ints or (for dynamic ONNX dimensions) strings/None; the batch dimension may be
    dynamic, the time dimension may not. Raises ModelFileError naming the shape that was found.
    """
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


def check_same_window(input_window: int, output_window: int, path: str) -> int:
    """The window shared by input and output; ModelFileError if the model changes the length."""
    if input_window != output_window:
        raise ModelFileError(
            f"model {path}: input window {input_window} samples but output {output_window}; "
            "a denoiser must return one output sample per input sample"
        )
    return input_window
