"""Rebuild the two model files committed under tests/fixtures/models/ (needs the export stack):

    python -m tests.make_model_fixtures

They are committed so that the runtime's tests run on a runtime-only install (no torch, no
TensorFlow): ``untrained_student.onnx``, the ULde-net student at ``torch.manual_seed(SEED)``, never
trained, exported as ulde-export does; ``toy_int8.tflite``, a seeded random 3-conv Keras net
converted to fully-int8 TFLite. Both carry a contract (``sealed``: no conditioning, signal output).
"""

from __future__ import annotations

import os

import numpy as np

from tests.runtime_fixtures import SEED, STUDENT_ONNX, TOY_INT8_TFLITE, ecg_like, sealed
from ulde.runtime.signal_spec import WINDOW_SAMPLES


def build_student_onnx() -> None:
    """``torch.onnx.export(m.eval(), torch.zeros(1, 1, 3600), path, dynamo=True, opset_version=18,
    external_data=False)`` of the untrained student."""
    import torch

    from ulde.model.networks import STUDENT, build

    torch.manual_seed(SEED)
    network = build(STUDENT).eval()
    torch.onnx.export(network, torch.zeros(1, 1, WINDOW_SAMPLES), str(STUDENT_ONNX), dynamo=True, opset_version=18,
                      external_data=False, verbose=False)
    sealed(STUDENT_ONNX)


def build_toy_int8_tflite() -> None:
    """``tf.lite.TFLiteConverter`` + 64 ecg_like representative windows, TFLITE_BUILTINS_INT8, int8 I/O."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.keras.utils.set_random_seed(SEED)
    w = WINDOW_SAMPLES
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
    TOY_INT8_TFLITE.write_bytes(converter.convert())
    sealed(TOY_INT8_TFLITE)


def main() -> None:
    STUDENT_ONNX.parent.mkdir(parents=True, exist_ok=True)
    build_student_onnx()
    build_toy_int8_tflite()
    for path in (STUDENT_ONNX, TOY_INT8_TFLITE):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
