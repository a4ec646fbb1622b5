"""Run one network on many windows through each route: torch, and the exported files through ``ulde.runtime.Model``.

Every function takes and returns (n, L) float32 in mV, each row run as the variant frames it (variants.py). The exported files run exactly as
the runtime runs them (their embedded contract: conditioning, (de)quantization, output rule), so parity
measures what a user gets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ulde.export.variants import Variant
from ulde.model.inference import predict
from ulde.runtime.model import Model


def denoise_all_routes(variant: Variant, model: torch.nn.Module, onnx_path: Path, float_path: Path,
                       int8_path: Path | None, noisy: np.ndarray) -> dict[str, np.ndarray]:
    """{route: denoised (n, L) mV} for torch_float, onnx_float, tflite_float and (with an int8 file) tflite_int8."""
    files = {"onnx_float": onnx_path, "tflite_float": float_path, **({"tflite_int8": int8_path} if int8_path else {})}
    runs = {"torch_float": lambda x, levels: predict(model, x, levels=levels),
            **{name: Model(path).denoise_windows for name, path in files.items()}}
    return {name: variant.denoised(run, noisy) for name, run in runs.items()}
