"""runtime/tflite_reader.py reads what LiteRT's generated schema reads, field for field."""

from __future__ import annotations

import subprocess
import sys

import pytest
from ai_edge_litert import schema_py_generated as schema

from tests.runtime_fixtures import int8_tflite, shipped_file
from ulde.runtime import tflite_reader

FILES = ("ulde_int8_host.tflite", "ulde_int8.tflite", "ulde_float.tflite", "ulde_int8_host_low_latency.tflite")


def fields(model) -> list:
    """Every field the structural check reads, in one list, through either reader's accessors."""
    out = [model.ExternalBuffersLength(), model.ExternalBufferGroupsLength()]
    out += [(c.BuiltinCode(), c.DeprecatedBuiltinCode()) for c in map(model.OperatorCodes, range(model.OperatorCodesLength()))]
    for b in map(model.Buffers, range(model.BuffersLength())):
        out.append((b.DataLength(), b.Offset(), b.Size(), b._tab.Vector(b._tab.Offset(4)) if isinstance(b, schema.Buffer)
                    and b.DataLength() else b.DataStart() if b.DataLength() else None))
    out += [model.MetadataBuffer(i) for i in range(model.MetadataBufferLength())]
    out += [(m.Name(), m.Buffer()) for m in map(model.Metadata, range(model.MetadataLength()))]
    for g in map(model.Subgraphs, range(model.SubgraphsLength())):
        out += [g.Inputs(i) for i in range(g.InputsLength())] + [g.Outputs(i) for i in range(g.OutputsLength())]
        for t in map(g.Tensors, range(g.TensorsLength())):
            q = t.Quantization()
            out.append(([t.Shape(i) for i in range(t.ShapeLength())], t.Type(), t.Buffer(), t.IsVariable(),
                        t.Sparsity() is None, None if q is None else
                        ([q.Scale(i) for i in range(q.ScaleLength())], q.ZeroPointLength(), q.QuantizedDimension())))
        for op in map(g.Operators, range(g.OperatorsLength())):
            out.append((op.OpcodeIndex(), [op.Inputs(i) for i in range(op.InputsLength())],
                        [op.Outputs(i) for i in range(op.OutputsLength())],
                        [op.Intermediates(i) for i in range(op.IntermediatesLength())]))
    return out


@pytest.mark.parametrize("name", FILES + ("toy",))
def test_the_reader_reads_what_the_generated_schema_reads(name):
    data = (int8_tflite() if name == "toy" else shipped_file(name)).read_bytes()
    assert fields(tflite_reader.Model.root(data)) == fields(schema.Model.GetRootAs(data, 0))


def test_the_largest_builtin_operator_is_the_installed_schemas():
    largest = max(v for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_"))
    assert tflite_reader.LARGEST_BUILTIN_OPERATOR == largest


def test_opening_a_model_loads_neither_the_generated_schema_nor_openssl():
    """What a streaming process keeps resident: the structural check and the digest use neither (OpenSSL
    only where numpy itself loads it, as numpy 1.x's random module does)."""
    code = ("import sys, numpy; by_numpy = {'_hashlib'} & set(sys.modules)\n"
            "from ulde.runtime import StreamingDenoiser; StreamingDenoiser()\n"
            "print(sorted(m for m in ('ai_edge_litert.schema_py_generated', '_hashlib') if m in sys.modules.keys() - by_numpy))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
