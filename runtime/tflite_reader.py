"""A bounds-checked reader of the .tflite fields that runtime/file_structure.py checks.

The same accessors as LiteRT's generated schema (``Model.Subgraphs(i)``, ``Tensor.Shape(i)``, ...), for
the fields the structural check reads and nothing else. The generated module is 660 kB of Python
that takes about 4 MiB of resident memory once imported, and the runtime needs none of the rest of
it. Every read goes through ``struct.unpack_from`` at a position checked to lie inside the file, so a
corrupt offset raises ``ValueError`` or ``struct.error``, never reads elsewhere.

Field positions are the schema's vtable slots (4 + 2 × field id), as the generated code has them;
``tests/test_tflite_reader.py`` reads every shipped file with both and compares.
"""

from __future__ import annotations

import struct

LARGEST_BUILTIN_OPERATOR = 209
"""The largest ``BuiltinOperator`` code of the schema (LiteRT 2.1); a test compares it with the installed LiteRT's."""


def _unpack(fmt: str, data: bytes, at: int):
    if at < 0:
        raise ValueError(f"flatbuffer offset {at} lies before the file")
    return struct.unpack_from(fmt, data, at)[0]


class _Table:
    """One flatbuffer table: its fields by vtable slot."""

    __slots__ = ("data", "at", "vtable", "vtable_bytes")

    def __init__(self, data: bytes, at: int):
        self.data, self.at = data, at
        self.vtable = at - _unpack("<i", data, at)
        self.vtable_bytes = _unpack("<H", data, self.vtable)

    def _field(self, slot: int) -> int:
        """Position of the field at ``slot`` in the file, or 0 when the table does not have it."""
        if slot + 2 > self.vtable_bytes:
            return 0
        offset = _unpack("<H", self.data, self.vtable + slot)
        return self.at + offset if offset else 0

    def scalar(self, slot: int, fmt: str, default=0):
        at = self._field(slot)
        return _unpack(fmt, self.data, at) if at else default

    def table(self, slot: int) -> _Table | None:
        at = self._field(slot)
        return _Table(self.data, at + _unpack("<I", self.data, at)) if at else None

    def vector(self, slot: int) -> tuple[int, int]:
        """(position of the first element, element count), (0, 0) when absent."""
        at = self._field(slot)
        if not at:
            return 0, 0
        start = at + _unpack("<I", self.data, at)
        return start + 4, _unpack("<I", self.data, start)

    def element(self, slot: int, index: int, fmt: str):
        start, count = self.vector(slot)
        if not 0 <= index < count:
            raise IndexError(f"element {index} of a {count}-element vector")
        return _unpack(fmt, self.data, start + index * struct.calcsize(fmt))

    def table_element(self, slot: int, index: int) -> _Table:
        start, count = self.vector(slot)
        if not 0 <= index < count:
            raise IndexError(f"element {index} of a {count}-element vector")
        at = start + 4 * index
        return _Table(self.data, at + _unpack("<I", self.data, at))


class _Node:
    """A schema table type: subclasses name their fields with the class attributes below."""

    def __init__(self, table: _Table):
        self._tab = table


def _length(slot: int):
    return lambda self: self._tab.vector(slot)[1]


def _scalars(slot: int, fmt: str):
    return lambda self, i: self._tab.element(slot, i, fmt)


def _tables(slot: int, kind):
    return lambda self, i: kind(self._tab.table_element(slot, i))


def _scalar(slot: int, fmt: str, default=0):
    return lambda self: self._tab.scalar(slot, fmt, default)


def _child(slot: int, kind):
    def get(self):
        table = self._tab.table(slot)
        return None if table is None else kind(table)
    return get


class QuantizationParameters(_Node):
    ScaleLength, Scale = _length(8), _scalars(8, "<f")
    ZeroPointLength = _length(10)
    QuantizedDimension = _scalar(16, "<i")


class Tensor(_Node):
    ShapeLength, Shape = _length(4), _scalars(4, "<i")
    Type = _scalar(6, "<b")
    Buffer = _scalar(8, "<I")
    Quantization = _child(12, QuantizationParameters)
    IsVariable = _scalar(14, "<?", False)
    Sparsity = _child(16, _Node)


class Operator(_Node):
    OpcodeIndex = _scalar(4, "<I")
    InputsLength, Inputs = _length(6), _scalars(6, "<i")
    OutputsLength, Outputs = _length(8), _scalars(8, "<i")
    IntermediatesLength, Intermediates = _length(20), _scalars(20, "<i")


class SubGraph(_Node):
    TensorsLength, Tensors = _length(4), _tables(4, Tensor)
    InputsLength, Inputs = _length(6), _scalars(6, "<i")
    OutputsLength, Outputs = _length(8), _scalars(8, "<i")
    OperatorsLength, Operators = _length(10), _tables(10, Operator)


class OperatorCode(_Node):
    DeprecatedBuiltinCode = _scalar(4, "<b")
    BuiltinCode = _scalar(10, "<i")


class Buffer(_Node):
    DataLength = _length(4)
    Offset = _scalar(6, "<Q")
    Size = _scalar(8, "<Q")

    def DataStart(self) -> int:
        """Position of the first data byte in the file."""
        return self._tab.vector(4)[0]


class Metadata(_Node):
    Buffer = _scalar(6, "<I")

    def Name(self) -> bytes | None:
        start, count = self._tab.vector(4)
        if not start:
            return None
        if start + count > len(self._tab.data):
            raise ValueError(f"a {count}-byte metadata name runs past the end of the file")
        return bytes(self._tab.data[start : start + count])


class Model(_Node):
    OperatorCodesLength, OperatorCodes = _length(6), _tables(6, OperatorCode)
    SubgraphsLength, Subgraphs = _length(8), _tables(8, SubGraph)
    BuffersLength, Buffers = _length(12), _tables(12, Buffer)
    MetadataBufferLength, MetadataBuffer = _length(14), _scalars(14, "<i")
    MetadataLength, Metadata = _length(16), _tables(16, Metadata)
    ExternalBufferGroupsLength = _length(20)
    ExternalBuffersLength = _length(22)

    @classmethod
    def root(cls, data: bytes) -> Model:
        """The model table of a .tflite file (its first four bytes point at it)."""
        return cls(_Table(data, _unpack("<I", data, 0)))
