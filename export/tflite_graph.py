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
            tensor.name = b""
        sg.name = None
    graph = model.subgraphs[0]
    graph.tensors[graph.inputs[0]].name = input_name.encode()
    graph.tensors[graph.outputs[0]].name = output_name.encode()
    for signature in model.signatureDefs or []:
        for mapping, name in ((signature.inputs, input_name), (signature.outputs, output_name)):
            if mapping and len(mapping) == 1:
                mapping[0].name = name.encode()
    _drop_metadata(model, lambda name: name not in KEEP_METADATA)
    model.description = None
    trimmed = _pack(model, len(data))
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
    return _sealed(_pack(model, len(data)))


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
    return _pack(model, len(data))


def _drop_metadata(model: schema.ModelT, drop) -> None:
    """Remove the metadata entries whose name ``drop(name)`` accepts; their buffers keep their index, not their bytes."""
    for entry in model.metadata or []:
        if drop(_decode(entry.name)):
            model.buffers[entry.buffer].data = None
    model.metadata = [m for m in model.metadata or [] if not drop(_decode(m.name))]


def _pack(model: schema.ModelT, size_hint: int) -> bytes:
    model.buffers = [_aligned(b) for b in model.buffers]
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
