"""The model contract travels inside the model file: round trips, copies, and refusal of changed files."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from tests.support import REPO_ROOT
from tests.runtime_fixtures import contract_for, ecg_like, int8_tflite, model_folder, sealed, shipped_file, tiny_onnx
from ulde.runtime import Model, ModelContract, ModelFileError, StreamingDenoiser, TensorEncoding, denoise, read_contract
from ulde.runtime.contract import CONTRACT_KEY, contract_from_json
from ulde.runtime.signal_spec import WINDOW_SAMPLES

SHIPPED = ("ulde_int8_host.tflite", "ulde_int8.tflite", "ulde_float.tflite", "ulde.onnx")


def test_a_contract_survives_json_and_both_file_formats():
    for path in (int8_tflite(), tiny_onnx()):
        contract = read_contract(path)
        assert contract_from_json(contract.to_json()) == contract
        assert contract.unpinned() == contract_for(path)  # what the fixture asked for, digest aside
        assert contract.digest.startswith("sha256:") and len(contract.digest) == 71


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_file_copied_alone_renamed_or_symlinked_denoises_exactly_as_shipped(tmp_path, name):
    shipped = shipped_file(name)
    alone = tmp_path / "alone" / name
    alone.parent.mkdir()
    shutil.copyfile(shipped, alone)  # no manifest.json beside it
    renamed = tmp_path / "my-denoiser.bin"
    shutil.copyfile(shipped, renamed)
    link = tmp_path / f"link-{name}"
    link.symlink_to(shipped)
    signal = ecg_like(2 * WINDOW_SAMPLES + 123, seed=3) - 5.0  # with a storage offset, as NSTDB has
    expected = denoise(signal, shipped)
    for path in (alone, renamed, link):
        assert np.array_equal(denoise(signal, path), expected), path


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_contracts_state_the_firmware_terms(name):
    contract = read_contract(shipped_file(name))
    assert (contract.sample_rate_hz, contract.window_samples, contract.recommended_hop_samples) == (360.0, 3600, 1800)
    assert contract.input_conditioning == "mean-peak" and contract.output_kind == "noise_estimate"
    expected_dtype = "int8" if "int8" in name else "float32"
    assert contract.input_tensor.dtype == contract.output_tensor.dtype == expected_dtype


def _changed(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)


@pytest.mark.parametrize("name", SHIPPED)
def test_any_changed_byte_of_a_shipped_file_is_refused(tmp_path, name):
    """Bytes in the header, the weights, the contract's JSON and its digest, and the last byte."""
    data = shipped_file(name).read_bytes()
    contract_at = data.find(b'{"digest":"sha256:')
    positions = [0, 5, 16, len(data) // 3, len(data) // 2, contract_at + 20, contract_at + 90, len(data) - 1]
    for position in positions:
        path = tmp_path / f"changed-{position}"
        path.write_bytes(_changed(data, position))
        with pytest.raises(ModelFileError):
            Model(path)


def test_an_edited_contract_term_is_refused_as_a_changed_file(tmp_path):
    """Editing the JSON (say the window) breaks the digest; the error says the file was changed."""
    source = int8_tflite()
    data = source.read_bytes()
    edited = data.replace(b'"recommended_hop_samples":1800', b'"recommended_hop_samples":1700')
    assert edited != data
    path = tmp_path / "edited.tflite"
    path.write_bytes(edited)
    with pytest.raises(ModelFileError, match="was changed after export"):
        Model(path)


def test_a_file_without_a_contract_is_refused_unless_one_is_passed(tmp_path):
    bare = tiny_onnx(with_contract=False)
    with pytest.raises(ModelFileError, match="carries no ulde model contract.*contract=ModelContract"):
        Model(bare)
    contract = contract_for(bare)
    signal = ecg_like(WINDOW_SAMPLES + 50, seed=4)
    assert np.array_equal(denoise(signal, bare, contract=contract), denoise(signal, tiny_onnx()))
    import hashlib

    pinned = dataclasses.replace(contract, digest="sha256:" + hashlib.sha256(bare.read_bytes()).hexdigest())
    assert Model(bare, contract=pinned).contract == pinned
    with pytest.raises(ModelFileError, match="SHA-256 is not the digest"):
        Model(bare, contract=dataclasses.replace(pinned, digest="sha256:" + "1" * 64))


def test_a_passed_contract_must_agree_with_the_embedded_one():
    path = tiny_onnx()
    assert Model(path, contract=read_contract(path).unpinned()).contract == read_contract(path)
    with pytest.raises(ModelFileError, match="carries its own contract, which differs"):
        Model(path, contract=dataclasses.replace(read_contract(path), input_conditioning="peak"))


@pytest.mark.parametrize("change, words", [
    ({"input_conditioning": "rms"}, "input_conditioning 'rms'"),
    ({"peak_floor_mv": 0.5}, "peak floor 0.5"),
    ({"output_kind": "probability"}, "output_kind 'probability'"),
    ({"sample_rate_hz": float("nan")}, "sample_rate_hz"),
    ({"window_samples": 0}, "window_samples"),
    ({"recommended_hop_samples": 5000}, "exceeds its window"),
    ({"format": "ulde-model-contract/9"}, "contract format"),
    ({"digest": "md5:abc"}, "digest"),
])
def test_a_contract_this_runtime_cannot_honour_is_refused(change, words):
    terms = {"sample_rate_hz": 360.0, "window_samples": 3600, "recommended_hop_samples": 1800,
             "input_conditioning": "mean-peak", "output_kind": "noise_estimate",
             "input_tensor": TensorEncoding("float32"), "output_tensor": TensorEncoding("float32")}
    with pytest.raises(ModelFileError, match=words):
        ModelContract(**{**terms, **change})


@pytest.mark.parametrize("text, words", [
    ("not json", "not valid JSON"), ("[1, 2]", "not a JSON object"), ('{"window_samples": 3600}', "missing or unknown"),
])
def test_a_malformed_embedded_contract_is_a_clear_error(text, words):
    with pytest.raises(ModelFileError, match=words):
        contract_from_json(text)


def test_an_integer_tensor_needs_a_valid_scale_and_zero_point():
    with pytest.raises(ModelFileError, match="finite positive scale"):
        TensorEncoding("int8", 0.0, 0)
    with pytest.raises(ModelFileError, match="zero point in"):
        TensorEncoding("int8", 0.1, 300)
    with pytest.raises(ModelFileError, match="no scale"):
        TensorEncoding("float32", 0.1, 0)


def test_the_contract_must_match_the_model_it_is_in(tmp_path):
    path = model_folder("wrong-encoding") / "toy.tflite"
    shutil.copyfile(int8_tflite(), path)
    actual = read_contract(int8_tflite()).input_tensor
    sealed(path, input_tensor=TensorEncoding("int8", actual.scale * 2, actual.zero_point))
    with pytest.raises(ModelFileError, match="contract says input_tensor"):
        Model(path)


def test_trim_keeps_the_contract_and_reseals_it():
    from ulde.export.tflite_graph import trim

    trimmed = model_folder("trimmed") / "t.tflite"
    trimmed.write_bytes(trim(int8_tflite().read_bytes(), "noisy_ecg", "noise_estimate"))
    assert read_contract(trimmed).unpinned() == read_contract(int8_tflite()).unpinned()
    assert CONTRACT_KEY.encode() in trimmed.read_bytes()


def test_the_c_header_states_the_contract():
    from ulde.export.c_array import read_constants

    header_path = REPO_ROOT / "runtime" / "models" / "ulde_model.h"
    if not header_path.is_file():
        pytest.skip("the C array is an export artefact kept in the repository, not in the wheel: no checkout here")
    header = header_path.read_text()
    constants, contract = read_constants(header), read_contract(shipped_file("ulde_int8.tflite"))
    manifest_arena = __import__("json").loads(shipped_file("manifest.json").read_text())["micro"]["arena_bytes"]
    assert int(constants["WINDOW_SAMPLES"]) == contract.window_samples
    assert int(constants["HOP_SAMPLES"]) == contract.recommended_hop_samples
    assert float(constants["SAMPLE_RATE_HZ"].rstrip("f")) == contract.sample_rate_hz
    assert np.float32(constants["INPUT_SCALE"].rstrip("f")) == np.float32(contract.input_tensor.scale)
    assert int(constants["INPUT_ZERO_POINT"]) == contract.input_tensor.zero_point
    assert np.float32(constants["OUTPUT_SCALE"].rstrip("f")) == np.float32(contract.output_tensor.scale)
    assert int(constants["OUTPUT_ZERO_POINT"]) == contract.output_tensor.zero_point
    assert (constants["REMOVE_WINDOW_MEAN"], constants["PEAK_NORMALIZE"], constants["OUTPUT_IS_NOISE_ESTIMATE"]) == ("1", "1", "1")
    assert float(constants["PEAK_FLOOR_MV"].rstrip("f")) == pytest.approx(contract.peak_floor_mv)
    assert int(constants["TENSOR_ARENA_BYTES"]) == manifest_arena
    assert contract.digest in header


def test_streaming_denoiser_takes_an_open_model():
    model = Model(tiny_onnx())
    signal = ecg_like(WINDOW_SAMPLES + 99, seed=9)
    assert np.array_equal(denoise(signal, model), denoise(signal, tiny_onnx()))
    assert StreamingDenoiser(model).model is model
    with pytest.raises(ValueError, match="pass contract= to Model"):
        StreamingDenoiser(model, contract=model.contract)
