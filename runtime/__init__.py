"""ulde.runtime: torch-free streaming inference (numpy + one interpreter, imported lazily).

    from ulde.runtime import StreamingDenoiser, denoise

A ``.tflite`` model runs on LiteRT (``ai_edge_litert``), a ``.onnx`` model on onnxruntime; nothing else
is imported (no torch, tensorflow or scipy). Every model file carries its ``ModelContract``
(runtime/contract.py) and is checked in Python before an interpreter reads it (runtime/model_file.py).
"""

from ulde.runtime.contract import ModelContract, TensorEncoding
from ulde.runtime.errors import BackendMissingError, ModelFileError
from ulde.runtime.model import Model, ModelBusyError
from ulde.runtime.model_file import read_contract, shipped_model
from ulde.runtime.offline import denoise, denoise_windows
from ulde.runtime.streaming import StreamingDenoiser

__all__ = ["StreamingDenoiser", "denoise", "denoise_windows", "Model", "ModelContract", "TensorEncoding",
           "read_contract", "shipped_model", "ModelFileError", "ModelBusyError", "BackendMissingError"]
