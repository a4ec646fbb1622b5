"""Affine int8/uint8 (de)quantization with the scale and zero point read from the model's tensors.

real = (q - zero_point) * scale. Everything is float32 so the result does not depend on how a
stream was chunked. Quantization rounds half to even (numpy ``rint``) and saturates at the integer
type's range; samples beyond the representable range (roughly scale * 127 mV) are clipped.
"""

from __future__ import annotations

import numpy as np

from ulde.runtime.errors import ModelFileError

INTEGER_DTYPES = (np.int8, np.uint8)
"""Integer tensor types the runtime (de)quantizes; float32 tensors pass through unchanged."""


def check_quantization(dtype: type, quantization: tuple, where: str) -> tuple[np.float32, np.float32]:
    """(scale, zero_point) as float32 for an integer tensor; ModelFileError if it has none."""
    scale, zero_point = quantization
    if not scale > 0:
        raise ModelFileError(f"{where}: {np.dtype(dtype).name} tensor without a quantization scale (got {scale})")
    info = np.iinfo(dtype)
    if not info.min <= zero_point <= info.max:
        raise ModelFileError(f"{where}: zero point {zero_point} outside the {np.dtype(dtype).name} range")
    return np.float32(scale), np.float32(zero_point)


_SATURATION = {np.dtype(t): (np.float32(np.iinfo(t).min), np.float32(np.iinfo(t).max)) for t in INTEGER_DTYPES}
"""Integer range of each type as float32 bounds, computed once (this runs once per streamed frame)."""


def quantize(x: np.ndarray, scale: np.float32, zero_point: np.float32, dtype: type) -> np.ndarray:
    """float32 mV array -> integer array of ``dtype`` (any shape), saturating.

    Computes clip(rint(x / scale) + zero_point) in one float32 buffer, updated in place.
    """
    low, high = _SATURATION[np.dtype(dtype)]
    q = np.divide(x, scale, dtype=np.float32)
    np.rint(q, out=q)
    np.add(q, zero_point, out=q)
    np.clip(q, low, high, out=q)
    return q.astype(dtype)


def dequantize(q: np.ndarray, scale: np.float32, zero_point: np.float32) -> np.ndarray:
    """Integer array -> float32 mV array (same shape): (q - zero_point) * scale."""
    real = np.subtract(q, zero_point, dtype=np.float32)
    return np.multiply(real, scale, out=real)
