"""Read, check and trim a .tflite flatbuffer without an interpreter (LiteRT's generated schema only).

The checks look at the file itself, not at what an interpreter reports after delegation: XNNPACK folds
a float graph into one DELEGATE node, which would hide the operators firmware has to run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

from ulde.runtime.contract import CONTRACT_KEY, UNSEALED_DIGEST, ModelContract, TensorEncoding, digest_span, seal
from ulde.runtime.file_structure import check_tflite

TFLITE_FILE_IDENTIFIER = b"TFL3"
BUFFER_ALIGNMENT = 16  # bytes; the schema's force_align on Buffer.data, which the Python packer ignores
KEEP_METADATA = ("min_runtime_version", CONTRACT_KEY)
"""Metadata entries kept when trimming; the converter's CONVERSION_METADATA is dropped."""

_OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
_TYPE_NAMES = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
FLOAT_TYPES = {"float16", "float32", "float64", "bfloat16"}


class TFLiteGraphError(ValueError):
    """A .tflite file that is unreadable or breaks a requirement (float operator, misaligned buffer)."""


def read_model(data: bytes) -> schema.ModelT:
    """The mutable object tree of a .tflite flatbuffer."""
    if len(data) < 8 or data[4:8] != TFLITE_FILE_IDENTIFIER:
        raise TFLiteGraphError("not a TFLite flatbuffer (no 'TFL3' identifier)")
    return schema.ModelT.InitFromPackedBuf(bytearray(data), 0)


def _decode(name) -> str:
    return name.decode() if isinstance(name, bytes) else (name or "")


def operator_name(model: schema.ModelT, opcode_index: int) -> str:
    code = model.operatorCodes[opcode_index]
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)  # the schema keeps both for old readers
    if builtin == schema.BuiltinOperator.CUSTOM:
        return "CUSTOM:" + _decode(code.customCode)
    return _OP_NAMES.get(builtin, f"BUILTIN_{builtin}")


def tensor_dtype(tensor: schema.TensorT) -> str:
    return _TYPE_NAMES.get(tensor.type, f"type_{tensor.type}")


def operator_counts(data: bytes) -> dict[str, int]:
    """How many times each operator occurs (all subgraphs), sorted by name."""
    model = read_model(data)
    counts = Counter(operator_name(model, op.opcodeIndex) for sg in model.subgraphs for op in sg.operators or [])
    return dict(sorted(counts.items()))


def float_operators(data: bytes) -> list[str]:
    """'OP(tensor dtypes)' for every operator with a floating-point input or output tensor."""
    model = read_model(data)
    found = []
    for sg in model.subgraphs:
        for op in sg.operators or []:
            indices = [i for i in list(op.inputs if op.inputs is not None else []) + list(op.outputs) if i >= 0]
            dtypes = sorted({tensor_dtype(sg.tensors[i]) for i in indices})
            if FLOAT_TYPES & set(dtypes):
                found.append(f"{operator_name(model, op.opcodeIndex)}({', '.join(dtypes)})")
    return found


def require_full_integer(data: bytes) -> None:
    """Raise TFLiteGraphError unless every operator and both I/O tensors are integer-only."""
    floats = float_operators(data)
    if floats:
        shown = ", ".join(sorted(set(floats)))
        raise TFLiteGraphError(f"int8 model still has {len(floats)} float operator(s): {shown}")
    for role, tensor in io_tensors(data).items():
        if tensor["dtype"] != "int8":
            raise TFLiteGraphError(f"int8 model {role} tensor is {tensor['dtype']}, expected int8")


def io_tensors(data: bytes) -> dict[str, dict]:
    """{'input': ..., 'output': ...}: name, shape, dtype, scale, zero point of the main subgraph's I/O."""
    graph = read_model(data).subgraphs[0]
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise TFLiteGraphError(f"expected one input and one output, got {len(graph.inputs)} and {len(graph.outputs)}")
    return {"input": _tensor_info(graph.tensors[graph.inputs[0]]), "output": _tensor_info(graph.tensors[graph.outputs[0]])}


def io_encodings(io: dict[str, dict]) -> dict[str, TensorEncoding]:
    """{'input': ..., 'output': ...} contract encodings of I/O tensors described as ``io_tensors`` describes them."""
    return {role: TensorEncoding("float32") if t["dtype"] == "float32" else
            TensorEncoding(t["dtype"], float(t["scale"]), int(t["zero_point"])) for role, t in io.items()}


def _tensor_info(tensor: schema.TensorT) -> dict:
    q = tensor.quantization
    scales = [] if q is None or q.scale is None else [float(s) for s in q.scale]
    zeros = [] if q is None or q.zeroPoint is None else [int(z) for z in q.zeroPoint]
    return {
        "name": _decode(tensor.name), "shape": [int(d) for d in tensor.shape], "dtype": tensor_dtype(tensor),
        "scale": scales[0] if len(scales) == 1 else None, "zero_point": zeros[0] if len(zeros) == 1 else None,
    }


class _AlignedBufferT(schema.BufferT):
    """A Buffer whose data vector starts on a BUFFER_ALIGNMENT boundary (int32 biases, SIMD loads)."""

    def Pack(self, builder):
        data = None
        if self.data is not None and len(self.data):
            raw = np.asarray(self.data, dtype=np.uint8).tobytes()
            builder.StartVector(1, len(raw), BUFFER_ALIGNMENT)
            builder.head -= len(raw)
            builder.Bytes[builder.head : builder.head + len(raw)] = raw
            data = builder.EndVector()
        schema.BufferStart(builder)
        if data is not None:
            schema.BufferAddData(builder, data)
        schema.BufferAddOffset(builder, self.offset)
        schema.BufferAddSize(builder, self.size)
        return schema.BufferEnd(builder)


def _aligned(buffer: schema.BufferT) -> _AlignedBufferT:
    copy = _AlignedBufferT()
    copy.data, copy.offset, copy.size = buffer.data, buffer.offset, buffer.size
    return copy


def trim(data: bytes, input_name: str, output_name: str) -> bytes:
    """The model without what firmware never reads: intermediate tensor names and conversion metadata.

    The single input and output tensors (and the signature) are renamed to ``input_name`` and
    ``output_name`` so every runtime sees the same names as the ONNX file.
    """
    model = read_model(data)
    for sg in model.subgraphs:
        for tensor in sg.tensors:
            tensor.name = None
        sg.name = None
    graph = model.subgraphs[0]
    graph.tensors[graph.inputs[0]].name = input_name.encode()
    graph.tensors[graph.outputs[0]].name = output_name.encode()
    for signature in model.signatureDefs or []:
        for mapping, name in ((signature.inputs, input_name), (signature.outputs, output_name)):
            if mapping and len(mapping) == 1:
                mapping[0].name = name.encode()
    _drop_metadata(model, lambda name: name not in KEEP_METADATA)
    _drop_repeated_metadata(model)
    drop_unused(model)
    model.description = None
    trimmed = pack_model(model, len(data))
    return _sealed(trimmed) if check_tflite(trimmed) is not None else trimmed


def embed_contract(data: bytes, contract: ModelContract) -> bytes:
    """The model with ``contract`` in its ``CONTRACT_KEY`` metadata entry (replacing any), sealed: the
    contract's digest computed over the packed file (runtime/contract.py)."""
    model = read_model(data)
    _drop_metadata(model, lambda name: name == CONTRACT_KEY)
    buffer = schema.BufferT()
    buffer.data = list(replace(contract, digest=UNSEALED_DIGEST).to_json().encode())
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = CONTRACT_KEY.encode(), len(model.buffers) - 1
    model.metadata = (model.metadata or []) + [entry]
    return _sealed(pack_model(model, len(data)))


def _sealed(packed: bytes) -> bytes:
    """``packed`` with the digest of its contract entry written in (the entry's digest reset first)."""
    start, end = check_tflite(packed)
    digits = digest_span(packed, start, end)
    packed = packed[: digits[0]] + b"0" * (digits[1] - digits[0]) + packed[digits[1] :]
    return seal(packed, digits)


def strip_contract(data: bytes) -> bytes:
    """The model without its contract entry: a foreign file, as far as the runtime is concerned."""
    model = read_model(data)
    _drop_metadata(model, lambda name: name == CONTRACT_KEY)
    return pack_model(model, len(data))


def _drop_metadata(model: schema.ModelT, drop) -> None:
    """Remove the metadata entries whose name ``drop(name)`` accepts; their buffers keep their index, not their bytes."""
    for entry in model.metadata or []:
        if drop(_decode(entry.name)):
            model.buffers[entry.buffer].data = None
    model.metadata = [m for m in model.metadata or [] if not drop(_decode(m.name))]


def _drop_repeated_metadata(model: schema.ModelT) -> None:
    """Keep the first metadata entry of each name (the converter writes ``min_runtime_version`` twice)."""
    seen, kept = set(), []
    for entry in model.metadata or []:
        name = _decode(entry.name)
        if name in seen:
            model.buffers[entry.buffer].data = None
        else:
            seen.add(name)
            kept.append(entry)
    model.metadata = kept


def drop_unused(model: schema.ModelT) -> None:
    """Remove the tensors no operator or graph I/O refers to, then the buffers no tensor or metadata entry
    refers to (buffer 0, the schema's empty sentinel, stays); every index is renumbered."""
    for sg in model.subgraphs:
        used = sorted({i for op in sg.operators for i in list(op.inputs) + list(op.outputs) if i >= 0}
                      | set(sg.inputs) | set(sg.outputs))
        new_index = {old: new for new, old in enumerate(used)}
        sg.tensors = [sg.tensors[i] for i in used]
        for op in sg.operators:
            op.inputs = [new_index[i] if i >= 0 else i for i in op.inputs]
            op.outputs = [new_index[i] for i in op.outputs]
        sg.inputs, sg.outputs = [new_index[i] for i in sg.inputs], [new_index[i] for i in sg.outputs]
    for sg in model.subgraphs:  # a tensor without constant data reads the empty sentinel
        for tensor in sg.tensors:
            data = model.buffers[tensor.buffer].data
            if data is None or not len(data):
                tensor.buffer = 0
    kept = sorted({0} | {t.buffer for sg in model.subgraphs for t in sg.tensors} | {m.buffer for m in model.metadata or []})
    new_buffer = {old: new for new, old in enumerate(kept)}
    model.buffers = [model.buffers[i] for i in kept]
    for sg in model.subgraphs:
        for tensor in sg.tensors:
            tensor.buffer = new_buffer[tensor.buffer]
    for entry in model.metadata or []:
        entry.buffer = new_buffer[entry.buffer]


class _SharedQuantizationT:
    """Packs a tensor's quantization table so that equal tables, and equal scale or zero-point vectors,
    are written once and referred to by every tensor that has them (a flatbuffer may share any offset).
    Per-channel tables repeat: every conv's zero points are zeros of its channel count."""

    def __init__(self, quantization: schema.QuantizationParametersT, packed: dict):
        if quantization.details is not None:
            raise TFLiteGraphError("custom quantization details are not supported")
        self.quantization, self.packed = quantization, packed

    def _vector(self, builder, values, dtype: str) -> int:
        array = np.ascontiguousarray(values, dtype=dtype)
        key = ("vector", array.dtype.str, array.tobytes())
        if key not in self.packed:
            self.packed[key] = builder.CreateNumpyVector(array)
        return self.packed[key]

    def Pack(self, builder) -> int:
        q = self.quantization
        fields = (("Min", q.min, "<f4"), ("Max", q.max, "<f4"), ("Scale", q.scale, "<f4"), ("ZeroPoint", q.zeroPoint, "<i8"))
        key = ("table", q.quantizedDimension, *((None if v is None else np.asarray(v, dt).tobytes()) for _, v, dt in fields))
        if key not in self.packed:
            vectors = [(name, self._vector(builder, values, dtype)) for name, values, dtype in fields if values is not None]
            schema.QuantizationParametersStart(builder)
            for name, offset in vectors:
                getattr(schema, f"QuantizationParametersAdd{name}")(builder, offset)
            schema.QuantizationParametersAddQuantizedDimension(builder, q.quantizedDimension)
            self.packed[key] = schema.QuantizationParametersEnd(builder)
        return self.packed[key]


def pack_model(model: schema.ModelT, size_hint: int) -> bytes:
    model.buffers = [_aligned(b) for b in model.buffers]
    packed: dict = {}
    for sg in model.subgraphs:
        for tensor in sg.tensors:
            if isinstance(tensor.quantization, _SharedQuantizationT):
                tensor.quantization = tensor.quantization.quantization
            if tensor.quantization is not None:
                tensor.quantization = _SharedQuantizationT(tensor.quantization, packed)
    builder = flatbuffers.Builder(size_hint)
    builder.Finish(model.Pack(builder), file_identifier=TFLITE_FILE_IDENTIFIER)
    packed = bytes(builder.Output())
    require_aligned_buffers(packed)
    return packed


def require_aligned_buffers(data: bytes) -> None:
    """Raise TFLiteGraphError when a constant buffer does not start on a BUFFER_ALIGNMENT boundary."""
    root = schema.Model.GetRootAs(data, 0)
    for i in range(root.BuffersLength()):
        buffer = root.Buffers(i)
        if buffer.DataLength():
            start = buffer._tab.Vector(buffer._tab.Offset(4))
            if start % BUFFER_ALIGNMENT:
                raise TFLiteGraphError(f"buffer {i} starts at byte {start}, not {BUFFER_ALIGNMENT}-byte aligned")


def convolution_macs(data: bytes) -> int:
    """Multiply-accumulates the file's convolutions execute per call, zero weights included (what a kernel
    that skips nothing does): output elements × taps × filter input channels."""
    model = read_model(data)
    total = 0
    for sg in model.subgraphs:
        for op in sg.operators or []:
            name = operator_name(model, op.opcodeIndex)
            if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                out = int(np.prod(sg.tensors[op.outputs[0]].shape))
                _, height, width, per_output = sg.tensors[op.inputs[1]].shape
                total += out * int(height) * int(width) * (int(per_output) if name == "CONV_2D" else 1)
    return total


def byte_budget(data: bytes) -> dict[str, int]:
    """Where a .tflite file's bytes go: constant data by kind, quantization tables (each distinct vector
    once, as ``pack_model`` writes them), metadata (the contract and the runtime version), and the rest:
    the flatbuffer structure (tables, vectors of indices, shapes, options, alignment)."""
    model = read_model(data)
    weighted = {"CONV_2D", "DEPTHWISE_CONV_2D"}
    role = {}
    for sg in model.subgraphs:
        for op in sg.operators or []:
            if operator_name(model, op.opcodeIndex) in weighted:
                role[sg.tensors[op.inputs[1]].buffer], role[sg.tensors[op.inputs[2]].buffer] = "weights", "biases"
    budget = {"weights": 0, "biases": 0, "other constants": 0, "quantization tables": 0, "metadata": 0}
    for entry in model.metadata or []:
        budget["metadata"] += len(model.buffers[entry.buffer].data)
    metadata_buffers = {entry.buffer for entry in model.metadata or []}
    for index, buffer in enumerate(model.buffers):
        if buffer.data is not None and len(buffer.data) and index not in metadata_buffers:
            budget[role.get(index, "other constants")] += len(buffer.data)
    vectors = set()
    for sg in model.subgraphs:
        for tensor in sg.tensors:
            q = tensor.quantization
            for values, dtype in ((None if q is None else q.scale, "<f4"), (None if q is None else q.zeroPoint, "<i8")):
                if values is not None:
                    vectors.add((dtype, np.asarray(values, dtype).tobytes()))
    budget["quantization tables"] = sum(len(raw) + 4 for _, raw in vectors)  # + each vector's length field
    budget["structure"] = len(data) - sum(budget.values())
    budget["file"] = len(data)
    return budget
