"""Rebuild the model files committed under tests/fixtures/models/ (needs the export stack):

    python -m tests.make_model_fixtures

They are committed so that the runtime's tests run on a runtime-only install (no torch, no
TensorFlow): ``untrained_student.onnx``, the ULde-net student at ``torch.manual_seed(SEED)``, never
trained, exported as ulde-export does; ``toy_int8.tflite``, a seeded random 3-conv Keras net
converted to fully-int8 TFLite. Both carry a contract (``sealed``: no conditioning, signal output).
``untrained_student_low_latency.onnx`` and ``toy_int8_low_latency.tflite`` are the same networks at
the low-latency window under LOW_LATENCY_TERMS (overlap-save, mean-peak over a 3600-sample span).
"""

from __future__ import annotations

import os

import numpy as np

from pathlib import Path

from tests.runtime_fixtures import (LOW_LATENCY_TERMS, SEED, STUDENT_LOW_LATENCY_ONNX, STUDENT_ONNX,
                                    TOY_INT8_LOW_LATENCY_TFLITE, TOY_INT8_TFLITE, ecg_like, sealed)
from ulde.runtime.signal_spec import WINDOW_SAMPLES


def build_student_onnx(path: Path, window: int, **terms) -> None:
    """``torch.onnx.export(m.eval(), torch.zeros(1, 1, window), path, dynamo=True, opset_version=18,
    external_data=False)`` of the untrained student."""
    import torch

    from ulde.model.networks import STUDENT, build

    torch.manual_seed(SEED)
    network = build(STUDENT).eval()
    torch.onnx.export(network, torch.zeros(1, 1, window), str(path), dynamo=True, opset_version=18,
                      external_data=False, verbose=False)
    sealed(path, **terms)


def build_toy_int8_tflite(path: Path, window: int, **terms) -> None:
    """``tf.lite.TFLiteConverter`` + 64 ecg_like representative windows, TFLITE_BUILTINS_INT8, int8 I/O."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.keras.utils.set_random_seed(SEED)
    w = window
    inputs = tf.keras.Input(shape=(1, w), batch_size=1)
    h = tf.keras.layers.Reshape((w, 1))(inputs)
    h = tf.keras.layers.Conv1D(4, 9, padding="same", activation="relu")(h)
    h = tf.keras.layers.Conv1D(4, 9, padding="same", activation="relu")(h)
    h = tf.keras.layers.Conv1D(1, 9, padding="same")(h)
    model = tf.keras.Model(inputs, tf.keras.layers.Reshape((1, w))(h))
    calibration = ecg_like(64 * w, seed=1).astype(np.float32).reshape(64, 1, 1, w)

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([c] for c in calibration)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    path.write_bytes(converter.convert())
    sealed(path, **terms)


def main() -> None:
    STUDENT_ONNX.parent.mkdir(parents=True, exist_ok=True)
    window = LOW_LATENCY_TERMS["window_samples"]
    build_student_onnx(STUDENT_ONNX, WINDOW_SAMPLES)
    build_toy_int8_tflite(TOY_INT8_TFLITE, WINDOW_SAMPLES)
    build_student_onnx(STUDENT_LOW_LATENCY_ONNX, window, **LOW_LATENCY_TERMS)
    build_toy_int8_tflite(TOY_INT8_LOW_LATENCY_TFLITE, window, **LOW_LATENCY_TERMS)
    for path in (STUDENT_ONNX, TOY_INT8_TFLITE, STUDENT_LOW_LATENCY_ONNX, TOY_INT8_LOW_LATENCY_TFLITE):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
