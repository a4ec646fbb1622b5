"""ulde-export end to end: one export of an untrained student (shipped data sets), checked artefact by artefact."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import onnx
import pytest
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from benchmarks.bounds import LOW_LATENCY_ARENA_MAX_BYTES
from tests.export_fixtures import exported, untrained_checkpoint  # noqa: F401 (pytest fixtures)
from ulde.export import micro, tflite_graph
from ulde.export.cli import main
from ulde.export.c_array import array_name, read_c_array, read_constants
from ulde.export.graph_forms import HEAD_PARTS
from ulde.export.variants import LOW_LATENCY, TEN_SECOND
from ulde.model.checkpoint import file_sha256
from ulde.runtime import Model, read_contract
from ulde.runtime.normalization import Levels
from ulde.runtime.signal_spec import NETWORK_LEVELS, SAMPLE_RATE_HZ, WINDOW_SAMPLES

FORMS = {"10 s": TEN_SECOND, "low-latency": LOW_LATENCY}
ARTEFACTS = {form.file(name) for form in FORMS.values() for name in
             ("ulde.onnx", "ulde_float.tflite", "ulde_int8.tflite", "ulde_int8_host.tflite", "parity.json", "parity.md",
              "ulde_model.h", "ulde_model.cc")}
INT8_FORMS = ("ulde_int8.tflite", "ulde_int8_host.tflite")  # the MCU and host graphs (export/graph_forms.py)


def form_section(manifest: dict, form) -> dict:
    """The manifest's sections of one form: the top level for the 10 s model, "low_latency" for the other."""
    return manifest["low_latency"] if form.kept_start else manifest


def test_importing_the_exporter_and_help_do_not_load_tensorflow():
    code = (
        "import sys; import ulde.export.pipeline, ulde.export.cli as c\n"
        "try:\n    c.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('tensorflow', 'onnx2tf', 'tf_keras') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_without_int8_the_export_is_onnx_and_float_tflite_checked_against_torch(tmp_path, untrained_checkpoint,
                                                                                 monkeypatch, capsys):
    monkeypatch.delenv("ULDE_DATA", raising=False)
    out = tmp_path / "float"
    assert main(["--ckpt", str(untrained_checkpoint), "--out", str(out)]) == 0
    names = {form.file(name) for form in FORMS.values() for name in ("ulde.onnx", "ulde_float.tflite", "parity.json", "parity.md")}
    assert {p.name for p in out.iterdir()} == names | {"manifest.json"}
    manifest = json.loads((out / "manifest.json").read_text())
    for form in FORMS.values():
        section = form_section(manifest, form)
        assert "micro" not in section and "int8" not in section["converters"] and "int8_loss_db" not in section["parity"]
        report = json.loads((out / form.file("parity.json")).read_text())
        assert report["int8"] is False and report["passed"]
        for row in report["groups"].values():
            assert "tflite_int8" not in row and row["tflite_float_vs_torch_max_abs_error_mv"] < 0.05
        assert "Float-only export" in (out / form.file("parity.md")).read_text()
        contract = read_contract(out / form.file("ulde_float.tflite"))
        assert contract.input_tensor.dtype == "float32" and contract.low_latency == bool(form.kept_start)
    assert "float only" in capsys.readouterr().out


def test_the_c_array_without_int8_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--c-array", "--out", str(tmp_path / "x")])
    assert exit_info.value.code == 2 and "--c-array needs --int8" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_export_succeeds_and_writes_every_artefact_and_nothing_else(exported):
    assert exported.exit_code == 0
    assert {p.name for p in exported.out.iterdir()} == ARTEFACTS | {"manifest.json"}
    assert not list(exported.out.parent.glob(".*partial*")), "staging folder left behind"


@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS)
def test_onnx_passes_the_full_checker_with_fixed_named_io(exported, form):
    model = onnx.load(str(exported.out / form.file("ulde.onnx")))
    onnx.checker.check_model(model, full_check=True)
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [18]
    for values, name in ((model.graph.input, "noisy_ecg"), (model.graph.output, "noise_estimate")):
        assert [v.name for v in values] == [name]
        assert [d.dim_value for d in values[0].type.tensor_type.shape.dim] == [1, 1, form.window]
    assert not list(exported.out.glob("*.data")), "weights must live inside the .onnx file"


@pytest.mark.parametrize("name", INT8_FORMS)
@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS)
def test_int8_model_has_no_float_tensor_anywhere(exported, form, name):
    data = (exported.out / form.file(name)).read_bytes()
    assert tflite_graph.float_operators(data) == []
    model = tflite_graph.read_model(data)
    dtypes = {tflite_graph.tensor_dtype(t) for sg in model.subgraphs for t in sg.tensors}
    assert dtypes <= {"int8", "int32"}, dtypes
    # the same through an interpreter without the XNNPACK delegate (which would hide the real ops)
    interpreter = Interpreter(model_path=str(exported.out / form.file(name)),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    assert {d["dtype"] for d in interpreter.get_tensor_details()} <= {np.int8, np.int32}


@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS)
def test_tflite_models_keep_the_window_layout_and_transpose_only_to_upsample(exported, form):
    for name in ("ulde_float.tflite", *INT8_FORMS):
        data = (exported.out / form.file(name)).read_bytes()
        io = tflite_graph.io_tensors(data)
        assert io["input"]["shape"] == io["output"]["shape"] == [1, 1, form.window]
        assert (io["input"]["name"], io["output"]["name"]) == ("noisy_ecg", "noise_estimate")
        operators = tflite_graph.operator_counts(data)
        # the time interleave of each ShuffleUpsample (and onnx2tf's layout pair around it); nothing else.
        # The int8 forms do each interleave with one RESHAPE (export/graph_forms.py)
        assert operators.get("TRANSPOSE", 0) <= (0 if name in INT8_FORMS else 3 * NETWORK_LEVELS)
        assert "TRANSPOSE_CONV" not in operators
        # every activation is fused into its conv or add; the identity adds and the local-extrema module
        # are folded into convs (model/fusion.py), and the residual subtraction is the runtime's
        assert not {"RELU", "RELU6", "MINIMUM", "MAXIMUM", "SUB"} & set(operators), operators
        assert operators["ADD"] == NETWORK_LEVELS  # one skip add per level
        # the head's input: features, local max, local min; the MCU graph's per half of time, + the join
        assert operators["CONCATENATION"] == (HEAD_PARTS + 1 if name == "ulde_int8.tflite" else 1)
        tflite_graph.require_aligned_buffers(data)


def test_manifest_lists_every_file_with_its_size_and_hash(exported):
    manifest = json.loads((exported.out / "manifest.json").read_text())
    assert set(manifest["artefacts"]) == ARTEFACTS
    for name, entry in manifest["artefacts"].items():
        path = exported.out / name
        assert entry["bytes"] == path.stat().st_size, name
        assert entry["sha256"] == file_sha256(path), name
    assert manifest["checkpoint"]["sha256"] == file_sha256(exported.checkpoint)
    assert manifest["checkpoint"]["config"]["name"] == "ulde-net"
    assert (manifest["sample_rate_hz"], manifest["window_samples"]) == (SAMPLE_RATE_HZ, WINDOW_SAMPLES)
    assert manifest["recommended_hop_samples"] == WINDOW_SAMPLES // 2
    assert manifest["onnx"]["opset"] == 18 and manifest["onnx"]["max_abs_error_vs_torch_mv"] < 1e-4
    assert "shipped" in manifest["calibration"]["source"] and manifest["calibration"]["windows"] > 0
    assert {"torch", "onnx", "onnx2tf", "tensorflow", "ai-edge-litert"} <= set(manifest["library_versions"])
    low_latency = manifest["low_latency"]
    assert low_latency["framing"] == LOW_LATENCY.contract_terms() and manifest["framing"] == TEN_SECOND.contract_terms()
    assert low_latency["parity"]["files"] == ["parity_low_latency.json", "parity_low_latency.md"]


def test_the_low_latency_files_state_their_framing_in_their_contract(exported):
    for name in ("ulde_low_latency.onnx", "ulde_float_low_latency.tflite", "ulde_int8_low_latency.tflite"):
        contract = read_contract(exported.out / name)
        assert contract.low_latency and contract.conditioning_span == LOW_LATENCY.conditioning_span
        assert (contract.window_samples, contract.recommended_hop_samples, contract.kept_start_samples,
                contract.latency_samples) == (LOW_LATENCY.window, LOW_LATENCY.hop, LOW_LATENCY.kept_start,
                                              LOW_LATENCY.latency_samples)
    assert not read_contract(exported.out / "ulde_int8.tflite").low_latency


@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS)
def test_manifest_quantization_matches_what_the_interpreter_reads(exported, form):
    manifest = json.loads((exported.out / "manifest.json").read_text())
    io = manifest["artefacts"][form.file("ulde_int8.tflite")]["io"]
    interpreter = Interpreter(model_path=str(exported.out / form.file("ulde_int8.tflite")))
    details = {"input": interpreter.get_input_details()[0], "output": interpreter.get_output_details()[0]}
    for role, detail in details.items():
        scale, zero_point = detail["quantization"]
        assert io[role]["dtype"] == "int8" and detail["dtype"] == np.int8
        assert io[role]["scale"] == pytest.approx(scale, rel=1e-7) and io[role]["zero_point"] == zero_point
        assert io[role]["shape"] == list(detail["shape"])


@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS)
def test_tflm_runs_the_int8_model_like_litert_reference_kernels(exported, rng, form):
    path = exported.out / form.file("ulde_int8.tflite")
    windows = 0.5 * rng.standard_normal((2, form.window))
    reference = Model(path, reference_kernels=True)
    levels = Levels(np.full((2, 1), 0.1), np.full((2, 1), 1.5)) if form.conditioning_span else None
    values = reference.encode(reference.condition(windows, levels)[0])
    litert = reference.invoke(values[:, None])[:, 0]
    tflm, report = micro.run_in_tflm(path, values)
    assert tflm.dtype == np.int8 and tflm.shape == (2, form.window)
    assert np.max(np.abs(tflm.astype(int) - litert.astype(int))) <= micro.MAX_STEP_DIFFERENCE
    manifest = json.loads((exported.out / "manifest.json").read_text())
    assert report["arena_bytes"] == form_section(manifest, form)["micro"]["arena_bytes"] > 0
    if form.kept_start:
        assert report["arena_bytes"] <= LOW_LATENCY_ARENA_MAX_BYTES
    assert micro.unsupported_operators(tflite_graph.operator_counts(path.read_bytes())) == []


@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS)
def test_c_array_holds_exactly_the_int8_model(exported, form):
    stem = form.file("ulde_model")
    source = (exported.out / f"{stem}.cc").read_text()
    model = (exported.out / form.file("ulde_int8.tflite")).read_bytes()
    assert read_c_array(source) == model
    symbol = array_name(stem)
    assert f"alignas(16) const unsigned char {symbol}[]" in source
    assert f"const unsigned int {symbol}_len = {len(model)};" in source
    header = (exported.out / f"{stem}.h").read_text()
    assert f"extern const unsigned char {symbol}[];" in header
    contract, constants = read_contract(exported.out / form.file("ulde_int8.tflite")), read_constants(header, stem)
    assert int(constants["WINDOW_SAMPLES"]) == contract.window_samples and contract.digest in header
    assert int(constants["INPUT_ZERO_POINT"]) == contract.input_tensor.zero_point
    assert (int(constants["OVERLAP_SAVE"]), int(constants["KEPT_START_SAMPLES"])) == (int(contract.low_latency), form.kept_start)
    assert (int(constants["LATENCY_SAMPLES"]), int(constants["CONDITIONING_SPAN_SAMPLES"])) == (form.latency_samples,
                                                                                              contract.conditioning_span)


def test_both_c_arrays_link_into_one_firmware(exported):
    """Distinct symbols and constant names: the two headers can be included together."""
    headers = [(exported.out / f"{form.file('ulde_model')}.h").read_text() for form in FORMS.values()]
    defined = [set(re.findall(r"^#define (\w+)", h, flags=re.MULTILINE)) for h in headers]
    assert defined[0] and defined[1] and not defined[0] & defined[1]
    assert array_name(TEN_SECOND.file("ulde_model")) != array_name(LOW_LATENCY.file("ulde_model"))


@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS)
def test_parity_report_covers_every_backend_and_group(exported, form):
    report = json.loads((exported.out / form.file("parity.json")).read_text())
    assert set(report["groups"]) == {"group1", "group2", "group3"}
    for row in report["groups"].values():
        assert set(row) >= {"torch_float", "onnx_float", "tflite_float", "tflite_int8", "int8_loss_db"}
        assert row["onnx_vs_torch_max_abs_error_mv"] < 1e-4  # the exported form (fused, equalized) is the same function
        assert row["tflite_float_vs_torch_max_abs_error_mv"] < 1e-3
        assert np.isfinite(row["int8_vs_float_output_snr_db"])
    assert report["passed"] and "PASS" in (exported.out / form.file("parity.md")).read_text()
    assert report["windows"]["framing"] == form.name


def test_tflite_route_uses_the_conv2d_twin_without_per_conv_reshapes(exported):
    manifest = json.loads((exported.out / "manifest.json").read_text())
    assert manifest["tflite_graph"]["source"].startswith("Conv2d twin")
    assert manifest["tflite_graph"]["twin_max_abs_error_vs_torch_mv"] < 1e-5
    assert manifest["inference_form"]["downsampling_outputs"].startswith("equalized per channel")
    assert manifest["inference_form"]["local_extrema"].startswith("folded into the head")
    assert manifest["artefacts"]["ulde_int8.tflite"]["contract"]["output_kind"] == "noise_estimate"
    assert "never from this manifest" in manifest["contract_rules"]["where"]
    operators = tflite_graph.operator_counts((exported.out / "ulde_float.tflite").read_bytes())
    assert operators.get("RESHAPE", 0) <= 2 + 2 * NETWORK_LEVELS  # input, output, and two per ShuffleUpsample
    forms = manifest["int8_forms"]
    assert (forms["mcu"]["file"], forms["host"]["file"]) == INT8_FORMS and forms["windows"] > 0
    assert forms["identical_to_the_converter_graph_on"] == ["LiteRT reference kernels", "LiteRT XNNPACK"]


def test_the_shipped_student_passes_the_default_int8_gate_on_the_shipped_sets(tmp_path, monkeypatch):
    """The gate the untrained fixture cannot check: the real student, default limit, shipped windows."""
    from ulde.export.parity import SHIPPED_SETS_MAX_INT8_LOSS_DB

    monkeypatch.delenv("ULDE_DATA", raising=False)
    out = tmp_path / "export"
    assert main(["--int8", "--out", str(out)]) == 0
    for form in FORMS.values():
        report = json.loads((out / form.file("parity.json")).read_text())
        assert report["passed"] and report["max_int8_loss_db"] == SHIPPED_SETS_MAX_INT8_LOSS_DB
        assert all(row["int8_loss_db"] <= SHIPPED_SETS_MAX_INT8_LOSS_DB for row in report["groups"].values())



def test_a_checkpoint_trained_at_a_device_rate_exports_models_of_that_rate(tmp_path, untrained_checkpoint, monkeypatch):
    """ulde-train --sample-rate-hz 250 records the rate; the export's contracts, windows, calibration and
    parity windows follow it, and the runtime streams 250 Hz through it without resampling."""
    monkeypatch.delenv("ULDE_DATA", raising=False)
    from ulde.model.checkpoint import load_model, save_checkpoint
    from ulde.runtime import StreamingDenoiser, denoise

    network, _ = load_model(untrained_checkpoint)
    checkpoint = tmp_path / "student_250.pt"
    save_checkpoint(checkpoint, network, {"role": "untrained test student", "settings": {"sample_rate_hz": 250}})
    out = tmp_path / "at250"
    assert main(["--ckpt", str(checkpoint), "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["sample_rate_hz"], manifest["window_samples"], manifest["recommended_hop_samples"]) == (250, 2496, 1248)
    assert manifest["calibration"]["sample_rate_hz"] == manifest["parity"]["sample_rate_hz"] == 250
    assert manifest["calibration"]["window_samples"] == 2496
    ten_second, low_latency = (read_contract(out / form.file("ulde_float.tflite")) for form in FORMS.values())
    assert (ten_second.sample_rate_hz, ten_second.window_samples) == (250.0, 2496)
    assert (low_latency.sample_rate_hz, low_latency.window_samples, low_latency.conditioning_span) == (250.0, LOW_LATENCY.window, 2496)
    stream = StreamingDenoiser(out / "ulde_float.tflite", sample_rate_hz=250)
    assert stream.latency_seconds == pytest.approx(2495 / 250)  # the model's own framing: no resampler in the path
    x = np.random.default_rng(0).normal(scale=0.3, size=30 * 250).astype(np.float32)
    assert denoise(x, out / "ulde_float.tflite", sample_rate_hz=250).shape == x.shape


def test_a_checkpoint_with_a_malformed_training_rate_is_refused(tmp_path, untrained_checkpoint, capsys):
    from ulde.model.checkpoint import load_model, save_checkpoint

    network, _ = load_model(untrained_checkpoint)
    checkpoint = tmp_path / "odd.pt"
    save_checkpoint(checkpoint, network, {"role": "student", "settings": {"sample_rate_hz": "fast"}})
    assert main(["--ckpt", str(checkpoint), "--out", str(tmp_path / "x")]) == 1
    assert "settings.sample_rate_hz must be a whole number of Hz in 100..1000, got 'fast'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
