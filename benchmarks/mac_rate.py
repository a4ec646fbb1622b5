"""The core's int8 multiply-accumulate rate through XNNPACK's int8 convolution: the denominator of the
int8 model's physical floor (its MACs per window ÷ this rate, benchmarks/test_latency.py).

The probe is one dense int8 CONV_2D of the model's kind (3 taps along time, per-channel weight scales)
whose every vector lane does useful work: 64 input and 64 output channels (multiples of every x86
kernel's width) over 4,096 samples, large enough that per-call costs vanish (an input and an output
of 256 KiB each; the model's tensors are 14.4 KB at most). The rate is MACs per call ÷ its CPU-time
median.
"""

from __future__ import annotations

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from ulde.export.tflite_graph import pack_model

CHANNELS, TAPS, SAMPLES = 64, 3, 4096
PROBE_MACS = SAMPLES * CHANNELS * CHANNELS * TAPS


def int8_convolution_probe() -> bytes:
    """A .tflite file holding the probe convolution (weights from a fixed seed; values do not matter)."""
    rng = np.random.default_rng(0)
    weights = rng.integers(-127, 128, size=(CHANNELS, 1, TAPS, CHANNELS), dtype=np.int8)
    bias = rng.integers(-1000, 1000, size=CHANNELS, dtype=np.int32)
    weight_scales = np.full(CHANNELS, 0.01, np.float32)
    model = schema.ModelT()
    model.version, model.description = 3, b"ulde int8 MAC-rate probe"
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CONV_2D
    code.version = 3  # per-channel int8
    model.operatorCodes = [code]
    model.buffers = [schema.BufferT(), _buffer(weights), _buffer(bias), schema.BufferT(), schema.BufferT()]
    graph = schema.SubGraphT()
    graph.tensors = [
        _tensor([1, 1, SAMPLES, CHANNELS], schema.TensorType.INT8, 3, [0.05]),
        _tensor(list(weights.shape), schema.TensorType.INT8, 1, list(weight_scales), axis=0),
        _tensor([CHANNELS], schema.TensorType.INT32, 2, list(weight_scales * np.float32(0.05))),
        _tensor([1, 1, SAMPLES, CHANNELS], schema.TensorType.INT8, 4, [0.5]),
    ]
    options = schema.Conv2DOptionsT()
    options.padding, options.strideW, options.strideH = schema.Padding.SAME, 1, 1
    options.fusedActivationFunction = schema.ActivationFunctionType.RELU
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0, 1, 2], [3]
    op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.Conv2DOptions, options
    graph.operators, graph.inputs, graph.outputs = [op], [0], [3]
    model.subgraphs = [graph]
    return pack_model(model, weights.nbytes + 4096)


def _buffer(values: np.ndarray) -> schema.BufferT:
    buffer = schema.BufferT()
    buffer.data = list(np.ascontiguousarray(values).view(np.uint8).ravel())
    return buffer


def _tensor(shape, dtype, buffer: int, scales, axis: int = 0) -> schema.TensorT:
    tensor = schema.TensorT()
    tensor.shape, tensor.type, tensor.buffer = shape, dtype, buffer
    quantization = schema.QuantizationParametersT()
    quantization.scale, quantization.zeroPoint, quantization.quantizedDimension = scales, [0] * len(scales), axis
    tensor.quantization = quantization
    return tensor
