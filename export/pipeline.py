"""The export, step by step: checkpoint -> ONNX -> TFLite float / int8 -> checks -> manifest, staged, for
each form of the network (export/variants.py: the 10 s model and the low-latency one).

Everything is written into a staging folder and moved into place only when every check passed; an
int8 model over the loss limit goes to ``<out>.rejected`` for inspection and the target is untouched.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ulde.export import backends, micro, parity, staging, tflite_graph
from ulde.export.c_array import write_c_array
from ulde.export.conv2d_twin import conv2d_twin
from ulde.export.graph_forms import host_graph, mcu_graph
from ulde.export.calibration import calibration_windows, parity_sets
from ulde.export.manifest import build_manifest, describe_file, write_manifest
from ulde.export.onnx_contract import embed_onnx_contract
from ulde.export.onnx_export import INPUT_NAME, OUTPUT_NAME, export_onnx, io_shape
from ulde.export.variants import Variant, variants_at
from ulde.model.checkpoint import CheckpointError, file_sha256, load_model, read_checkpoint, trained_rate_hz
from ulde.model.equalization import equalize_downsampling
from ulde.model.fusion import ExtremaHead, inference_form
from ulde.model.networks import NoiseEstimator
from ulde.model.metrics import snr_db
from ulde.runtime.contract import ModelContract
from ulde.runtime.model import Model
from ulde.runtime.model_file import read_contract
from ulde.runtime.normalization import Levels, normalize

ONNX_FILE, FLOAT_FILE, INT8_FILE = "ulde.onnx", "ulde_float.tflite", "ulde_int8.tflite"
HOST_INT8_FILE = "ulde_int8_host.tflite"
"""The int8 model's two forms (export/graph_forms.py): INT8_FILE the MCU graph (TFLite Micro, the C
array), HOST_INT8_FILE the host graph (XNNPACK, the runtime's default); the same integers."""
C_ARRAY_STEM = "ulde_model"
"""Each form's files: these names, with the variant's suffix (variants.py) for the low-latency form."""


class ExportError(RuntimeError):
    """An export that ran but whose result fails a check (int8 loss over the limit)."""


@dataclass(frozen=True)
class ExportOptions:
    checkpoint: Path
    out: Path
    data_dir: Path | None = None  # None: the small real sets shipped in the package
    c_array: bool = False
    conv2d_twin: bool = True  # convert the (1, k) Conv2d twin to TFLite: no RESHAPE per conv, smaller, faster
    equalize: bool = True  # equalize the downsampling outputs per channel (model/equalization.py)
    max_int8_loss_db: float | None = None  # None: parity.default_max_int8_loss_db(data_dir)
    int8: bool = True  # also the full-integer model, its int8 parity gate, its TFLM run (and the C array)
    allow_teacher: bool = False  # export a checkpoint whose meta says it is a teacher

    def __post_init__(self):
        if self.c_array and not self.int8:
            raise ValueError("the C array holds the int8 model: --c-array needs --int8")


def run_export(options: ExportOptions) -> dict:
    """Export, check and install both forms of the checkpoint's network (variants.py); return the
    manifest. Raises on any failure with nothing installed."""
    started = time.perf_counter()
    if options.max_int8_loss_db is None:
        options = replace(options, max_int8_loss_db=parity.default_max_int8_loss_db(options.data_dir))
    model, checkpoint = _checkpoint(options.checkpoint)  # CheckpointError for missing / corrupt / foreign / mismatched
    if checkpoint["meta"].get("role") == "teacher" and not options.allow_teacher:
        raise CheckpointError(f"{options.checkpoint} is a teacher ({model.config.name}, meta role 'teacher'), not a "
                              "student for devices; --allow-teacher exports it anyway")
    rate = trained_rate_hz(checkpoint["meta"])  # the contract's rate: the one the network was trained at
    ten_second, low_latency = variants_at(rate)
    stage = staging.make_staging(options.out)
    try:
        calibration = calibration_windows(options.data_dir, rate)
        parity_data = parity_sets(options.data_dir, rate)
        sections, artefacts, reports = {}, {}, []
        for variant in (ten_second, low_latency):
            section, files, report = _export_variant(stage, variant, model, calibration[0], parity_data, options, rate)
            sections[variant] = section
            artefacts.update(files)
            reports.append((variant, report))
        manifest = build_manifest(checkpoint, artefacts, rate, ten_second, {
            **sections[ten_second], "calibration": calibration[1], "low_latency": sections[low_latency]})
        manifest["export_seconds"] = round(time.perf_counter() - started, 1)
        write_manifest(manifest, stage)
        messages = [f"{variant.name} model: {m}" for variant, report in reports if (m := parity.failure_message(report))]
        if messages:
            rejected = options.out.with_name(options.out.name + ".rejected")
            shutil.rmtree(rejected, ignore_errors=True)
            stage.rename(rejected)
            raise ExportError(f"{'; '.join(messages)}; artefacts left in {rejected} (--max-int8-loss-db changes the limit)")
        staging.install(stage, options.out)
    finally:
        staging.discard(stage)  # no-op once installed or rejected
    return manifest


def _checkpoint(path: Path) -> tuple:
    """(network, the manifest's entry for its checkpoint: file, sha256, config, meta)."""
    model, meta = load_model(path)
    return model, {"file": path.name, "sha256": file_sha256(path), "config": read_checkpoint(path)["config"],
                   "meta": json.loads(json.dumps(meta, default=str))}


def _export_variant(stage: Path, variant: Variant, model, calibration: np.ndarray, parity_data: tuple,
                    options: ExportOptions, rate_hz: int) -> tuple[dict, dict, dict]:
    """Write one form's files into ``stage``: (its manifest sections, its artefact entries, its parity report)."""
    work = stage / f".work{variant.suffix}"
    work.mkdir()
    onnx_path, float_path, int8_path, host_path = (stage / variant.file(name) for name in (ONNX_FILE, FLOAT_FILE, INT8_FILE, HOST_INT8_FILE))
    mode = model.config.input_normalization
    calibration_frames, calibration_levels = variant.inputs(calibration, subsample=True)
    network_calibration = normalize(calibration_frames, mode, calibration_levels)[0]  # what the network itself sees
    form = inference_form(model)  # the exported graph; parity's torch route runs `model`
    if options.equalize:
        form = equalize_downsampling(form, torch.from_numpy(network_calibration)[:, None])
    onnx_info = export_onnx(NoiseEstimator(form).eval(), onnx_path, variant.window)
    tflite_source, source_info = _tflite_source(form, onnx_path, work, network_calibration, options.conv2d_twin, variant.window)
    from ulde.export.tflite_convert import convert  # TensorFlow is imported only now

    float_bytes, int8_bytes, converters = convert(tflite_source, work, network_calibration if options.int8 else None)
    float_trimmed = tflite_graph.trim(float_bytes, INPUT_NAME, OUTPUT_NAME)
    contract_terms = model_contract(mode, tflite_graph.io_tensors(float_trimmed), variant, rate_hz)
    float_path.write_bytes(tflite_graph.embed_contract(float_trimmed, contract_terms))
    if options.int8:
        tflite_graph.require_full_integer(int8_bytes)
        converter_graph = tflite_graph.trim(int8_bytes, INPUT_NAME, OUTPUT_NAME)
        int8_terms = model_contract(mode, tflite_graph.io_tensors(converter_graph), variant, rate_hz)
        converted_path = work / "converter_int8.tflite"  # what the two forms are checked against
        forms = ((converted_path, converter_graph), (int8_path, mcu_graph(converter_graph)), (host_path, host_graph(converter_graph)))
        for path, data in forms:
            path.write_bytes(tflite_graph.embed_contract(data, int8_terms))
    else:
        int8_path = host_path = None
    embed_onnx_contract(onnx_path, model_contract(mode, _onnx_io(variant.window), variant, rate_hz))
    sets, parity_info = parity_data
    outputs: dict[str, dict] = {}
    for group, _, noisy, _ in sets:
        for name, denoised in backends.denoise_all_routes(variant, model, onnx_path, float_path, host_path, noisy).items():
            outputs.setdefault(name, {})[group] = denoised
    report = parity.parity_report(sets, outputs, options.max_int8_loss_db)
    extra_files = parity.write_parity(report, {**parity_info, "framing": variant.name}, stage, variant.file("parity"))
    contract = read_contract(int8_path or float_path)
    int8_sections = {}
    if options.int8:
        for path in (int8_path, host_path):
            tflite_graph.require_full_integer(path.read_bytes())
        inputs = variant.inputs(np.concatenate([s[2] for s in sets]), subsample=True)
        micro_info = _check_micro(int8_path, inputs)
        forms = check_int8_forms(converted_path, int8_path, host_path, inputs)
        int8_sections = {"micro": micro_info, "int8_forms": forms}
    shutil.rmtree(work)
    if options.c_array:
        note = f"{int8_path.name} sha256 {file_sha256(int8_path)}, its model contract {contract.digest}"
        extra_files += write_c_array(int8_path.read_bytes(), stage, contract, micro_info["arena_bytes"],
                                     stem=variant.file(C_ARRAY_STEM), note=note)
    artefacts = _describe_artefacts((onnx_path, float_path, int8_path, host_path), extra_files, onnx_info, variant.window)
    converted = {**converters, **({"int8": "full integer, per-channel weights, int8 I/O"} if options.int8 else {})}
    onnx_info["max_abs_error_vs_torch_mv"] = max(r["onnx_vs_torch_max_abs_error_mv"] for r in report["groups"].values())
    sections = {
        "framing": variant.contract_terms(), "onnx": onnx_info, "tflite_graph": source_info,
        "inference_form": _inference_form(form, options.equalize),
        "contract_rules": {**contract.rules(), "where": "each model file carries its contract (artefacts.*.contract); "
                           "the runtime reads it from the file, never from this manifest"},
        "converters": converted, "calibration_inputs": int(len(network_calibration)), **int8_sections,
        "parity": {"files": [p.name for p in extra_files[:2]], "passed": report["passed"], **parity_info,
                   **({"max_int8_loss_db": options.max_int8_loss_db,
                       "int8_loss_db": {g: r["int8_loss_db"] for g, r in report["groups"].items()}} if options.int8 else {})},
    }
    return sections, artefacts, report


def model_contract(mode: str, io: dict, variant: Variant, rate_hz: int) -> ModelContract:
    """The contract of an exported file: the network's sample rate, the variant's window and framing, its
    conditioning ``mode``, a noise estimate as output, and the file's I/O encoding (``io``:
    tflite_graph.io_tensors' form); not yet sealed."""
    encodings = tflite_graph.io_encodings(io)
    return ModelContract(sample_rate_hz=rate_hz, **variant.contract_terms(), input_conditioning=mode,
                         output_kind="noise_estimate", input_tensor=encodings["input"], output_tensor=encodings["output"])


def _inference_form(form, equalized: bool) -> dict:
    """How the exported graph rewrites the checkpoint's network: the same function in float."""
    extrema = ("folded into the head conv (model/fusion.py)" if isinstance(form.head, ExtremaHead)
               else "as trained (its mix has a bias)" if form.config.extrema_kernel else "none")
    return {"identity_connections": "folded into the convs (model/fusion.py)", "local_extrema": extrema,
            "downsampling_outputs": ("equalized per channel over the calibration windows (model/equalization.py)"
                                     if equalized else "as trained (--no-equalization)")}


def _tflite_source(model, onnx_path: Path, work: Path, calibration: np.ndarray, twin: bool, window: int) -> tuple[Path, dict]:
    """The ONNX file the TFLite converter starts from: the variant's ONNX file itself, or the checked Conv2d twin's."""
    if not twin:
        return onnx_path, {"source": f"{onnx_path.name} (Conv1d graph: a RESHAPE around every convolution)"}
    probe = torch.from_numpy(np.ascontiguousarray(calibration[:8], dtype=np.float32))[:, None, :]
    network, gap = conv2d_twin(model, probe)
    twin_path = work / "conv2d_twin.onnx"
    export_onnx(network, twin_path, window)
    return twin_path, {"source": "Conv2d twin of the network ((1, k) kernels, same weights), ONNX opset 18",
                       "twin_max_abs_error_vs_torch_mv": gap}


def _check_micro(int8_path: Path, inputs: tuple[np.ndarray, Levels | None]) -> dict:
    """Run the int8 model in TFLM on every one of the (n, T) parity inputs (with their levels, variants.py);
    its outputs must match LiteRT's reference kernels within the bound. Inputs and reference outputs come
    from ``ulde.runtime.Model``."""
    noisy, levels = inputs
    operators = tflite_graph.operator_counts(int8_path.read_bytes())
    missing = micro.unsupported_operators(operators)
    if missing:
        raise micro.MicroError(f"operators without a TFLite Micro kernel: {', '.join(missing)}")
    optimized, reference = Model(int8_path), Model(int8_path, reference_kernels=True)
    values = optimized.encode(optimized.condition(noisy.astype(np.float64), levels)[0])  # (n, T) int8, as the runtime feeds the model
    got, report = micro.run_in_tflm(int8_path, values)
    expected = reference.invoke(values[:, None])[:, 0]
    steps = int(np.max(np.abs(got.astype(np.int32) - expected.astype(np.int32))))
    if steps > micro.MAX_STEP_DIFFERENCE:
        raise micro.MicroError(f"TFLM output differs from LiteRT's reference kernels by {steps} int8 steps "
                               f"(bound {micro.MAX_STEP_DIFFERENCE})")
    xnnpack = optimized.invoke(values[:, None])[:, 0].astype(np.float64)
    return {
        "interpreter": "tflite_micro.runtime (host build, 64-bit: a 32-bit MCU needs slightly less arena)",
        **report, "windows": int(len(noisy)), "max_step_difference_vs_litert_reference_kernels": steps,
        "max_step_difference_vs_litert_optimized_kernels": int(np.max(np.abs(got - xnnpack))),
        "output_snr_db_vs_litert_optimized_kernels": float(np.mean(snr_db(xnnpack, got))),
        "step_difference_bound": micro.MAX_STEP_DIFFERENCE, "operators_checked_against_tflm": sorted(operators),
    }


def check_int8_forms(converted: Path, mcu: Path, host: Path, inputs: tuple[np.ndarray, Levels | None]) -> dict:
    """The MCU and host graphs must give the converter's int8 outputs exactly, for every one of the (n, T)
    inputs, on LiteRT's reference kernels and on XNNPACK (export/graph_forms.py)."""
    noisy, levels = inputs
    model = Model(converted)
    values = model.encode(model.condition(noisy.astype(np.float64), levels)[0])[:, None]
    for reference_kernels in (True, False):
        expected = Model(converted, reference_kernels=reference_kernels).invoke(values)
        for path in (mcu, host):
            got = Model(path, reference_kernels=reference_kernels).invoke(values)
            if not np.array_equal(got, expected):
                kernels = "reference kernels" if reference_kernels else "XNNPACK"
                raise tflite_graph.TFLiteGraphError(
                    f"{path.name} differs from the converter's int8 graph on LiteRT's {kernels} in "
                    f"{int(np.count_nonzero(got != expected))} of {got.size} outputs")
    return {
        "mcu": {"file": mcu.name, "rewrites": "one RESHAPE per upsampling; the head in halves of time",
                "runs_in": "TFLite Micro, the C array"},
        "host": {"file": host.name, "rewrites": "dense convolutions; one RESHAPE per upsampling; sample pairs at "
                 "every level but the deepest", "runs_in": "LiteRT / XNNPACK: the runtime's default"},
        "identical_to_the_converter_graph_on": ["LiteRT reference kernels", "LiteRT XNNPACK"],
        "windows": int(len(noisy)), "where": "export/graph_forms.py",
    }


def _describe_artefacts(paths: tuple[Path, Path, Path | None, Path | None], extra_files: list[Path], onnx_info: dict,
                        window: int) -> dict:
    onnx_path, float_path, int8_path, host_path = paths
    artefacts = {onnx_path.name: describe_file(onnx_path, kind="onnx", operators=onnx_info["operators"], io=_onnx_io(window),
                                               opset=onnx_info["opset"], contract=_contract_entry(onnx_path))}
    for path, kind in ((float_path, "tflite_float32"), (int8_path, "tflite_int8"), (host_path, "tflite_int8_host")):
        if path is None:
            continue
        data = path.read_bytes()
        artefacts[path.name] = describe_file(path, kind=kind, operators=tflite_graph.operator_counts(data),
                                             io=tflite_graph.io_tensors(data), contract=_contract_entry(path))
    for path in extra_files:
        artefacts[path.name] = describe_file(path, kind=path.suffix.lstrip("."))
    return artefacts


def _contract_entry(path: Path) -> dict:
    return json.loads(read_contract(path).to_json())


def _onnx_io(window: int) -> dict:
    tensor = {"shape": list(io_shape(window)), "dtype": "float32", "scale": None, "zero_point": None}
    return {"input": {"name": INPUT_NAME, **tensor}, "output": {"name": OUTPUT_NAME, **tensor}}
