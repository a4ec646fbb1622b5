"""ONNX -> float32 and full-integer int8 TFLite (onnx2tf, then the TFLite converter).

tensorflow and onnx2tf take seconds to import and print a great deal, so they are imported here,
inside the function, and never when ``ulde.export`` is imported.
"""

from __future__ import annotations

import io
import os
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np

from ulde.export.onnx_export import INPUT_NAME, io_shape
from ulde.runtime.errors import first_line
from ulde.runtime.native_log import native_stderr


class TFLiteConversionError(RuntimeError):
    """onnx2tf or the TFLite converter failed."""


def convert(onnx_path: Path, work_dir: Path, calibration: np.ndarray | None) -> tuple[bytes, bytes | None, dict]:
    """(float32 .tflite bytes, int8 .tflite bytes, converter versions) for the simplified ONNX model.

    ``calibration`` holds (n, T) float32 network inputs, T the ONNX model's window; each becomes one
    representative [1, 1, T] input for the int8 activation ranges. None: no int8 model (None returned).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # silence TensorFlow's C++ start-up chatter
    try:
        # TensorFlow's C++ and absl logs ignore sys.stderr and TF_CPP_MIN_LOG_LEVEL alike, and would bury
        # the exporter's one-line summary: descriptor 2 is discarded while it converts
        with native_stderr(lambda caught: ""), redirect_stdout(io.StringIO()):
            import onnx2tf
            import tensorflow as tf

            saved_model = work_dir / "saved_model"
            onnx2tf.convert(
                input_onnx_file_path=str(onnx_path),
                output_folder_path=str(saved_model),
                # keep [1, 1, T]: with one channel NCW and NWC share memory order, and no TRANSPOSE is needed
                keep_shape_absolutely_input_names=[INPUT_NAME],
                not_use_onnxsim=True,  # the ONNX file is already simplified (and onnxsim may not be on PATH)
                non_verbose=True,
            )
            float_model = tf.lite.TFLiteConverter.from_saved_model(str(saved_model)).convert()
            int8_model = None if calibration is None else _int8_converter(tf, saved_model, calibration).convert()
    except Exception as exc:  # onnx2tf and TF raise many types; one line names the failure
        raise TFLiteConversionError(f"TFLite conversion failed: {first_line(exc)}") from exc
    return float_model, int8_model, {"onnx2tf": onnx2tf.__version__, "tensorflow": tf.__version__}


def _int8_converter(tf, saved_model: Path, calibration: np.ndarray):
    """Full-integer conversion: int8 weights (per-channel) and activations, int8 input and output.

    TFLITE_BUILTINS_INT8 alone does not stop float fall-backs (a Neg stays float without a warning),
    so the caller checks every tensor of the result (tflite_graph.require_full_integer).
    """
    if calibration.ndim != 2 or len(calibration) == 0:
        raise ValueError(f"calibration windows must be (n, T) with n >= 1, got {calibration.shape}")
    shape = io_shape(calibration.shape[1])

    def representative():
        for window in calibration:
            yield [np.asarray(window, dtype=np.float32).reshape(shape)]

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter
