"""Structural checks of a model file in pure Python, before any native interpreter sees it.

LiteRT's Python ``Interpreter`` does not run the flatbuffer verifier and onnxruntime trusts the
protobuf it parses: a corrupt file can crash the process inside either. These checks read the file
with bounds-checked Python code only (runtime/tflite_reader.py reads through ``struct``,
which raises on a bad offset instead of reading outside the buffer), and raise ``ModelFileError``
naming the first problem. Each returns where the embedded contract's JSON lies in the file, if it has
one (runtime/contract.py), so that its digest can be checked over the very bytes that will be run.

TFLite: every vector's length against the file size; every operator code, operator, tensor and buffer
index; every constant buffer's size against its tensor's shape and type; every quantization table's
length against the tensor's quantized dimension; each operator's inputs defined before use; the number
of inputs and outputs of the operators ulde's graphs use; the filter and bias shapes of convolutions and
fully-connected layers. ONNX: the protobuf wire format of the
ModelProto's top level and of its graph (every tag, varint and length), and the metadata entries.
A file that passes is well formed, not necessarily harmless: the contract's digest is what vouches
for a ulde model (runtime/model_file.py).
"""

from __future__ import annotations

import math
import struct

from ulde.runtime.contract import CONTRACT_KEY
from ulde.runtime import tflite_reader
from ulde.runtime.errors import ModelFileError

TFLITE_IDENTIFIER = b"TFL3"
MAX_TENSOR_RANK = 8
_ELEMENT_BYTES = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 8: 8, 9: 1, 10: 8, 11: 16, 12: 8, 15: 4, 16: 2, 18: 2}
"""Bytes per element of each fixed-size TFLite TensorType (STRING, RESOURCE, VARIANT, INT4, INT2 have none)."""
_KNOWN_TENSOR_TYPES = set(range(20))
_INTEGER_QUANTIZED = {3, 7, 9}  # UINT8, INT16, INT8
# builtin operator codes whose weights are checked: (filter input, bias input, filter output-channel axis)
_WEIGHTED_OPS = {3: (1, 2, 0), 4: (1, 2, 3), 9: (1, 2, 0), 67: (1, 3, 0)}  # CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV
_ARITY = {0: (2, 2, 1), 2: (1, None, 1), 3: (2, 3, 1), 4: (2, 3, 1), 6: (1, 1, 1), 9: (2, 3, 1), 17: (1, 1, 1),
          18: (2, 2, 1), 19: (1, 1, 1), 21: (1, 1, 1), 22: (1, 2, 1), 34: (2, 3, 1), 39: (2, 2, 1), 41: (2, 2, 1),
          45: (4, 4, 1), 55: (2, 2, 1), 57: (2, 2, 1), 114: (1, 1, 1)}
"""(fewest inputs, most inputs or None, outputs) that LiteRT's kernel for a builtin operator reads: ADD, CONCATENATION,
CONV_2D, DEPTHWISE_CONV_2D, DEQUANTIZE, FULLY_CONNECTED, MAX_POOL_2D, MUL, RELU, RELU6, RESHAPE, PAD, TRANSPOSE, SUB,
STRIDED_SLICE, MAXIMUM, MINIMUM, QUANTIZE (every operator ulde's graphs use, and a few more). A kernel's prepare
checks the count, yet a STRIDED_SLICE with 3 inputs crashed LiteRT in some memory layouts (tests/test_model_fuzz.py)."""


def is_tflite(data: bytes) -> bool:
    return len(data) >= 8 and data[4:8] == TFLITE_IDENTIFIER


def check_tflite(data: bytes) -> tuple[int, int] | None:
    """Check a TFLite flatbuffer; return the (start, end) bytes of its contract JSON, or None."""
    try:
        return _TFLiteCheck(data).run()
    except ModelFileError:
        raise
    except (struct.error, IndexError, ValueError, TypeError, OverflowError, UnicodeDecodeError, MemoryError) as exc:
        raise ModelFileError(f"not a well-formed TFLite flatbuffer ({type(exc).__name__}: {exc})") from exc


class _TFLiteCheck:
    def __init__(self, data: bytes):
        self.data = data
        if not is_tflite(data):
            raise ModelFileError("not a TFLite flatbuffer (no 'TFL3' identifier at byte 4)")
        root = struct.unpack_from("<I", data, 0)[0]
        if not 8 <= root < len(data):
            raise ModelFileError(f"TFLite root table offset {root} lies outside the {len(data)}-byte file")
        self.model = tflite_reader.Model.root(data)
        self.largest_builtin = tflite_reader.LARGEST_BUILTIN_OPERATOR

    def fail(self, message: str):
        raise ModelFileError(f"TFLite structure: {message}")

    def length(self, n: int, element_bytes: int, what: str) -> int:
        if n < 0 or n * element_bytes > len(self.data):
            self.fail(f"{what} claims {n} entries, more than a {len(self.data)}-byte file can hold")
        return n

    def run(self) -> tuple[int, int] | None:
        model = self.model
        if model.ExternalBuffersLength() or model.ExternalBufferGroupsLength():
            self.fail("external buffers are not supported")
        codes = [self._opcode(model.OperatorCodes(i), i)
                 for i in range(self.length(model.OperatorCodesLength(), 4, "operator_codes"))]
        n_buffers = self.length(model.BuffersLength(), 4, "buffers")
        buffer_bytes = [self._buffer_bytes(model.Buffers(i), i) for i in range(n_buffers)]
        subgraphs = self.length(model.SubgraphsLength(), 4, "subgraphs")
        if subgraphs < 1:
            self.fail("no subgraph")
        for g in range(subgraphs):
            self._subgraph(model.Subgraphs(g), g, codes, buffer_bytes)
        for i in range(self.length(model.MetadataBufferLength(), 4, "metadata_buffer")):
            if not 0 <= model.MetadataBuffer(i) < n_buffers:
                self.fail(f"metadata_buffer {i} points at buffer {model.MetadataBuffer(i)} of {n_buffers}")
        return self._contract_span(n_buffers)

    def _opcode(self, code, i: int) -> int:
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if not 0 <= builtin <= self.largest_builtin:
            self.fail(f"operator code {i} has unknown builtin {builtin}")
        return builtin

    def _buffer_bytes(self, buffer, i: int) -> int:
        size = self.length(buffer.DataLength(), 1, f"buffer {i}")
        if size:
            start = buffer.DataStart()
            if not 0 <= start <= len(self.data) - size:
                self.fail(f"buffer {i} data [{start}, {start + size}) lies outside the file")
        offset, external = buffer.Offset(), buffer.Size()
        if offset or external:
            if offset <= 1 or offset + external > len(self.data):
                self.fail(f"buffer {i} refers to bytes [{offset}, {offset + external}) outside the file")
            size = external
        return size

    def _subgraph(self, graph, g: int, codes: list[int], buffer_bytes: list[int]) -> None:
        n_tensors = self.length(graph.TensorsLength(), 4, f"subgraph {g} tensors")
        shapes, constant = [], set()
        for t in range(n_tensors):
            shape, is_constant = self._tensor(graph.Tensors(t), f"subgraph {g} tensor {t}", buffer_bytes)
            shapes.append(shape)
            if is_constant:
                constant.add(t)
        available = set(constant) | {t for t in range(n_tensors) if graph.Tensors(t).IsVariable()}
        for role, count, get in (("input", graph.InputsLength(), graph.Inputs), ("output", graph.OutputsLength(), graph.Outputs)):
            for i in range(self.length(count, 4, f"subgraph {g} {role}s")):
                if not 0 <= get(i) < n_tensors:
                    self.fail(f"subgraph {g} {role} {i} is tensor {get(i)} of {n_tensors}")
        available |= {graph.Inputs(i) for i in range(graph.InputsLength())}
        for o in range(self.length(graph.OperatorsLength(), 4, f"subgraph {g} operators")):
            op, where = graph.Operators(o), f"subgraph {g} operator {o}"
            if not 0 <= op.OpcodeIndex() < len(codes):
                self.fail(f"{where} has operator code {op.OpcodeIndex()} of {len(codes)}")
            inputs = [op.Inputs(i) for i in range(self.length(op.InputsLength(), 4, f"{where} inputs"))]
            outputs = [op.Outputs(i) for i in range(self.length(op.OutputsLength(), 4, f"{where} outputs"))]
            for i in range(self.length(op.IntermediatesLength(), 4, f"{where} intermediates")):
                if not 0 <= op.Intermediates(i) < n_tensors:
                    self.fail(f"{where} intermediate {i} is tensor {op.Intermediates(i)} of {n_tensors}")
            for role, indices in (("input", inputs), ("output", outputs)):
                for i, t in enumerate(indices):
                    if not -1 <= t < n_tensors:
                        self.fail(f"{where} {role} {i} is tensor {t} of {n_tensors}")
            for i, t in enumerate(inputs):
                if t >= 0 and t not in available:
                    self.fail(f"{where} input {i} (tensor {t}) is read before any operator writes it")
            for t in outputs:
                if t in constant:
                    self.fail(f"{where} writes tensor {t}, which is a constant")
            available |= {t for t in outputs if t >= 0}
            self._arity(codes[op.OpcodeIndex()], inputs, outputs, where)
            self._weights(codes[op.OpcodeIndex()], inputs, outputs, shapes, where)
        for i in range(graph.OutputsLength()):
            if graph.Outputs(i) not in available:
                self.fail(f"subgraph {g} output {i} (tensor {graph.Outputs(i)}) is never written")

    def _tensor(self, tensor, where: str, buffer_bytes: list[int]) -> tuple[list[int], bool]:
        kind = tensor.Type()
        if kind not in _KNOWN_TENSOR_TYPES:
            self.fail(f"{where} has unknown type {kind}")
        rank = self.length(tensor.ShapeLength(), 4, f"{where} shape")
        if rank > MAX_TENSOR_RANK:
            self.fail(f"{where} has rank {rank} (at most {MAX_TENSOR_RANK})")
        shape = [tensor.Shape(i) for i in range(rank)]
        if any(d < 0 for d in shape):
            self.fail(f"{where} has a negative dimension in shape {shape}")
        elements = 1
        for d in shape:
            elements *= d
        if not 0 <= tensor.Buffer() < len(buffer_bytes):
            self.fail(f"{where} points at buffer {tensor.Buffer()} of {len(buffer_bytes)}")
        size = buffer_bytes[tensor.Buffer()] if tensor.Buffer() else 0
        if size and kind in _ELEMENT_BYTES and tensor.Sparsity() is None and size != elements * _ELEMENT_BYTES[kind]:
            self.fail(f"{where}: constant of {size} bytes for shape {shape} ({elements} elements of {_ELEMENT_BYTES[kind]} bytes)")
        if elements * _ELEMENT_BYTES.get(kind, 1) > (1 << 31):
            self.fail(f"{where}: shape {shape} asks for more than 2 GiB")
        self._quantization(tensor.Quantization(), kind, shape, where)
        return shape, size > 0

    def _quantization(self, q, kind: int, shape: list[int], where: str) -> None:
        if q is None:
            return
        scales = self.length(q.ScaleLength(), 4, f"{where} scales")
        zeros = self.length(q.ZeroPointLength(), 8, f"{where} zero points")
        if zeros and scales and zeros != scales:
            self.fail(f"{where}: {scales} scales but {zeros} zero points")
        for i in range(scales):
            value = q.Scale(i)
            if not math.isfinite(value) or value < 0:
                self.fail(f"{where}: scale {i} is {value}")
        if scales > 1:
            axis = q.QuantizedDimension()
            if not 0 <= axis < len(shape) or shape[axis] != scales:
                self.fail(f"{where}: {scales} per-channel scales do not match dimension {axis} of shape {shape}")
        if kind in _INTEGER_QUANTIZED and scales and not zeros:
            self.fail(f"{where}: quantized tensor without zero points")

    def _arity(self, builtin: int, inputs: list[int], outputs: list[int], where: str) -> None:
        if builtin not in _ARITY:
            return
        fewest, most, n_outputs = _ARITY[builtin]
        if len(inputs) < fewest or (most is not None and len(inputs) > most) or len(outputs) != n_outputs:
            expected = f"{fewest}" if most == fewest else f"{fewest} or more" if most is None else f"{fewest} to {most}"
            self.fail(f"{where} (builtin operator {builtin}) has {len(inputs)} inputs and {len(outputs)} outputs; "
                      f"its kernel reads {expected} inputs and writes {n_outputs}")

    def _weights(self, builtin: int, inputs: list[int], outputs: list[int], shapes: list, where: str) -> None:
        if builtin not in _WEIGHTED_OPS:
            return
        filter_at, bias_at, axis = _WEIGHTED_OPS[builtin]
        if len(inputs) <= filter_at or inputs[filter_at] < 0 or not outputs:
            self.fail(f"{where}: missing filter or output")
        weights = shapes[inputs[filter_at]]
        if len(weights) != (2 if builtin == 9 else 4):
            self.fail(f"{where}: filter shape {weights} has the wrong rank")
        if len(inputs) > bias_at and inputs[bias_at] >= 0 and shapes[inputs[bias_at]] != [weights[axis]]:
            self.fail(f"{where}: bias shape {shapes[inputs[bias_at]]} does not match {weights[axis]} output channels")

    def _contract_span(self, n_buffers: int) -> tuple[int, int] | None:
        model, found = self.model, None
        for i in range(self.length(model.MetadataLength(), 4, "metadata")):
            entry = model.Metadata(i)
            if (entry.Name() or b"") != CONTRACT_KEY.encode():
                continue
            if found is not None:
                self.fail(f"two '{CONTRACT_KEY}' metadata entries")
            if not 0 < entry.Buffer() < n_buffers:
                self.fail(f"metadata '{CONTRACT_KEY}' points at buffer {entry.Buffer()} of {n_buffers}")
            buffer = model.Buffers(entry.Buffer())
            if buffer.Offset() or not buffer.DataLength():
                self.fail(f"metadata '{CONTRACT_KEY}' buffer holds no inline data")
            start = buffer.DataStart()
            found = (start, start + buffer.DataLength())
        return found


# --- ONNX: the protobuf wire format ---------------------------------------------------------------
_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5
_MODEL_GRAPH, _MODEL_METADATA, _MODEL_IR_VERSION = 7, 14, 1
_MAX_VARINT_BYTES = 10


def check_onnx(data: bytes) -> tuple[int, int] | None:
    """Check an ONNX ModelProto's wire format; return the (start, end) bytes of its contract JSON, or None."""
    fields = _fields(data, 0, len(data), "ONNX model")
    numbers = [number for number, _, _, _ in fields]
    if numbers.count(_MODEL_GRAPH) != 1 or _MODEL_IR_VERSION not in numbers:
        raise ModelFileError("not an ONNX model (no single graph and ir_version)")
    found = None
    for number, wire, start, end in fields:
        if number == _MODEL_GRAPH:
            if wire != _LEN:
                raise ModelFileError("ONNX structure: the graph field is not a message")
            _fields(data, start, end, "ONNX graph")
        elif number == _MODEL_METADATA and wire == _LEN:
            entry = {n: (s, e) for n, w, s, e in _fields(data, start, end, "ONNX metadata entry") if w == _LEN}
            key = entry.get(1)
            if key is not None and data[key[0] : key[1]] == CONTRACT_KEY.encode():
                if found is not None:
                    raise ModelFileError(f"ONNX structure: two '{CONTRACT_KEY}' metadata entries")
                found = entry.get(2, (end, end))
    return found


def _varint(data: bytes, at: int, end: int, where: str) -> tuple[int, int]:
    value = shift = 0
    for i in range(_MAX_VARINT_BYTES):
        if at + i >= end:
            raise ModelFileError(f"{where}: truncated varint at byte {at}")
        byte = data[at + i]
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at + i + 1
    raise ModelFileError(f"{where}: varint longer than {_MAX_VARINT_BYTES} bytes at byte {at}")


def _fields(data: bytes, at: int, end: int, where: str) -> list[tuple[int, int, int, int]]:
    """(field number, wire type, value start, value end) of every field of the message data[at:end]."""
    found = []
    while at < end:
        tag, at = _varint(data, at, end, where)
        number, wire = tag >> 3, tag & 7
        if number < 1:
            raise ModelFileError(f"{where}: field number 0 at byte {at}")
        if wire == _VARINT:
            start = at
            _, at = _varint(data, at, end, where)
        elif wire in (_FIXED64, _FIXED32):
            start, at = at, at + (8 if wire == _FIXED64 else 4)
        elif wire == _LEN:
            size, start = _varint(data, at, end, where)
            at = start + size
        else:
            raise ModelFileError(f"{where}: wire type {wire} at byte {at} (groups are not used by ONNX)")
        if at > end:
            raise ModelFileError(f"{where}: field {number} runs past the end ({at} > {end} bytes)")
        found.append((number, wire, start, at))
    return found
