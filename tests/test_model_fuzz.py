"""No file can crash the process: seeded mutants of every shipped model, each opened in a child process.

Every mutant of a shipped (sealed) file must be refused with ModelFileError before any interpreter reads
it: 0 crashes, 0 runs, 0 other errors. The default suite opens 50 mutants of each shipped file; the
slow mark 500. A second check strips the contract and passes one by hand, so only the structural check
(runtime/file_structure.py) stands between the mutants and the interpreter: there a mutant may run (its
weights changed, nothing says otherwise), but none may crash.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.model_fuzz import open_all, summary
from tests.runtime_fixtures import shipped_file
from ulde.runtime import read_contract

SHIPPED = ("ulde_int8_host.tflite", "ulde_int8.tflite", "ulde_float.tflite", "ulde.onnx")
SEED = 20261202


def _check_sealed(name: str, count: int, folder) -> None:
    outcomes = open_all(shipped_file(name).read_bytes(), count, SEED, folder)
    assert len(outcomes) == count
    found = summary(outcomes)
    assert found == {"refused": count}, {i: o for i, o in outcomes.items() if o != "refused"}


@pytest.mark.parametrize("name", SHIPPED)
def test_mutants_of_a_shipped_model_are_all_refused(tmp_path, name):
    _check_sealed(name, 50, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_500_mutants_of_a_shipped_model_are_all_refused(tmp_path, name):
    _check_sealed(name, 500, tmp_path)


def test_an_operator_with_the_wrong_number_of_inputs_is_refused_before_any_interpreter(tmp_path):
    """A STRIDED_SLICE that reads 3 inputs instead of 4 (a mutant that crashed a process in the slow check
    below, inside LiteRT, only in some memory layouts) is refused by the structural check."""
    from ulde.export.tflite_graph import operator_name, pack_model, read_model, strip_contract
    from ulde.runtime import Model, ModelFileError

    shipped = shipped_file("ulde_int8.tflite")
    model = read_model(strip_contract(shipped.read_bytes()))
    graph = model.subgraphs[0]
    index, op = next((i, op) for i, op in enumerate(graph.operators) if operator_name(model, op.opcodeIndex) == "STRIDED_SLICE")
    op.inputs = op.inputs[:3]
    bad = tmp_path / "three_inputs.tflite"
    bad.write_bytes(pack_model(model, shipped.stat().st_size))
    contract = dataclasses.replace(read_contract(shipped), digest=None)
    with pytest.raises(ModelFileError, match=f"operator {index} .*has 3 inputs .*reads 4 inputs"):
        Model(bad, contract=contract)


@pytest.mark.slow
def test_mutants_of_an_unsealed_model_under_a_passed_contract_never_crash(tmp_path):
    from ulde.export.tflite_graph import strip_contract

    shipped = shipped_file("ulde_int8.tflite")
    bare = strip_contract(shipped.read_bytes())
    contract = tmp_path / "contract.json"
    contract.write_text(dataclasses.replace(read_contract(shipped), digest=None).to_json())
    outcomes = open_all(bare, 500, SEED, tmp_path / "mutants", contract)
    found = summary(outcomes)
    assert set(found) <= {"refused", "ran"}, {i: o for i, o in outcomes.items() if o.split()[0] not in ("refused", "ran")}
    assert found["refused"] > found["ran"]
