"""Run one network on many windows through each backend: torch, onnxruntime and LiteRT (float or int8).

Every function takes and returns (n, WINDOW_SAMPLES) float32 in mV; the int8 LiteRT path quantizes
with the scale and zero point read from the model and returns the raw int8 output too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from ulde.export.onnx_export import INPUT_NAME, IO_SHAPE
from ulde.model.inference import predict
from ulde.runtime.model_output import denoised, outputs_noise
from ulde.runtime.normalization import normalize
from ulde.runtime.quantization import check_quantization, dequantize, quantize

def onnx_denoise(path: Path, windows: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # the machine's cores belong to training runs too
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    out = [session.run(None, {INPUT_NAME: w.reshape(IO_SHAPE).astype(np.float32)})[0].reshape(-1) for w in windows]
    return denoised(windows, np.stack(out).astype(np.float32), outputs_noise(session.get_outputs()[0].name))


def tflite_denoise(path: Path, windows: np.ndarray, reference_kernels: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """(denoised float32 windows, raw int8 outputs or None for a float model), via LiteRT, 1 thread:
    the model's output subtracted from the float32 windows where it is a noise estimate, as the runtime does.

    ``reference_kernels`` runs TFLite's reference kernels (the arithmetic TFLite Micro implements)
    instead of the optimized ones (XNNPACK), which round intermediate requantizations differently.
    """
    resolver = OpResolverType.BUILTIN_REF if reference_kernels else OpResolverType.AUTO
    interpreter = Interpreter(model_path=str(path), num_threads=1, experimental_op_resolver_type=resolver)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    integer = inp["dtype"] == np.int8
    if integer:  # the runtime's own (de)quantization, so parity measures what the runtime computes
        in_quant = check_quantization(np.int8, inp["quantization"], f"{path} input")
        out_quant = check_quantization(np.int8, out["quantization"], f"{path} output")
    raw = []
    for window in windows:
        x = window.reshape(IO_SHAPE).astype(np.float32)
        interpreter.set_tensor(inp["index"], quantize(x, *in_quant, np.int8) if integer else x)
        interpreter.invoke()
        raw.append(interpreter.get_tensor(out["index"]).reshape(-1).copy())
    raw = np.stack(raw)
    is_noise = outputs_noise(out["name"])
    if not integer:
        return denoised(windows, raw.astype(np.float32), is_noise), None
    return denoised(windows, dequantize(raw, *out_quant), is_noise), raw


def denoise_all_routes(model: torch.nn.Module, onnx_path: Path, float_path: Path, int8_path: Path,
                       noisy: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """({route: denoised (n, T) mV} for torch_float, onnx_float, tflite_float, tflite_int8; raw int8 outputs).

    Each route runs the network on windows normalized by the network's own rule (runtime/normalization),
    exactly as the runtime feeds it, and the outputs are scaled back to mV."""
    x, scale = normalize(noisy, model.config.input_normalization)
    int8_out, raw_int8 = tflite_denoise(int8_path, x)
    routes = {"onnx_float": onnx_denoise(onnx_path, x), "tflite_float": tflite_denoise(float_path, x)[0], "tflite_int8": int8_out}
    # predict applies the same normalization itself, so the torch route takes the raw windows
    return {"torch_float": predict(model, noisy), **{name: out * scale for name, out in routes.items()}}, raw_int8
