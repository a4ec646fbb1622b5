"""ulde.runtime: torch-free streaming inference (numpy + one interpreter, imported lazily).

    from ulde.runtime import StreamingDenoiser, denoise

A ``.tflite`` model runs on LiteRT (``ai_edge_litert``, else ``tflite_runtime``), a ``.onnx`` model on
onnxruntime; nothing else is imported (no torch, tensorflow or scipy).
"""

from ulde.runtime.errors import BackendMissingError, ModelFileError
from ulde.runtime.model_files import shipped_model
from ulde.runtime.offline import denoise, denoise_windows
from ulde.runtime.streaming import StreamingDenoiser

__all__ = ["StreamingDenoiser", "denoise", "denoise_windows", "shipped_model", "ModelFileError", "BackendMissingError"]
