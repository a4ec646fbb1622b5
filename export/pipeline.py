"""The export, step by step: checkpoint -> ONNX -> TFLite float / int8 -> checks -> manifest, staged.

Everything is written into a staging folder and moved into place only when every check passed; an
int8 model over the loss limit goes to ``<out>.rejected`` for inspection and the target is untouched.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ulde.export import backends, micro, parity, staging, tflite_graph
from ulde.export.c_array import write_c_array
from ulde.export.conv2d_twin import conv2d_twin
from ulde.export.calibration import calibration_windows, parity_sets
from ulde.export.manifest import RECOMMENDED_HOP_SAMPLES, build_manifest, describe_file, write_manifest
from ulde.export.onnx_contract import embed_onnx_contract
from ulde.export.onnx_export import INPUT_NAME, IO_SHAPE, OUTPUT_NAME, export_onnx
from ulde.model.checkpoint import file_sha256, load_model, read_checkpoint
from ulde.model.equalization import equalize_downsampling
from ulde.model.fusion import ExtremaHead, inference_form
from ulde.model.networks import NoiseEstimator
from ulde.model.metrics import snr_db
from ulde.runtime.contract import ModelContract
from ulde.runtime.model import Model
from ulde.runtime.model_file import read_contract
from ulde.runtime.normalization import normalize
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ, WINDOW_SAMPLES

ONNX_FILE, FLOAT_FILE, INT8_FILE = "ulde.onnx", "ulde_float.tflite", "ulde_int8.tflite"


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
    max_int8_loss_db: float = parity.DEFAULT_MAX_INT8_LOSS_DB


def run_export(options: ExportOptions) -> dict:
    """Export, check and install; return the manifest. Raises on any failure with nothing installed."""
    started = time.perf_counter()
    model, meta = load_model(options.checkpoint)  # CheckpointError for missing / corrupt / foreign / mismatched
    checkpoint = {
        "file": options.checkpoint.name, "sha256": file_sha256(options.checkpoint),
        "config": read_checkpoint(options.checkpoint)["config"], "meta": json.loads(json.dumps(meta, default=str)),
    }
    stage = staging.make_staging(options.out)
    try:
        calibration, calibration_info = calibration_windows(options.data_dir)
        sets, parity_info = parity_sets(options.data_dir)
        manifest, report = _export_into(stage, model, checkpoint, (calibration, calibration_info), (sets, parity_info), options)
        manifest["export_seconds"] = round(time.perf_counter() - started, 1)
        write_manifest(manifest, stage)
        message = parity.failure_message(report)
        if message:
            rejected = options.out.with_name(options.out.name + ".rejected")
            shutil.rmtree(rejected, ignore_errors=True)
            stage.rename(rejected)
            raise ExportError(f"{message}; artefacts left in {rejected} (--max-int8-loss-db changes the limit)")
        staging.install(stage, options.out)
    finally:
        staging.discard(stage)  # no-op once installed or rejected
    return manifest


def _export_into(stage: Path, model, checkpoint: dict, calibration: tuple, parity_data: tuple, options: ExportOptions):
    """Write every artefact into ``stage``; return (manifest without export time, parity report)."""
    work = stage / ".work"
    work.mkdir()
    mode = model.config.input_normalization
    network_calibration = normalize(calibration[0], mode)[0]  # what the network itself sees
    form = inference_form(model)  # the exported graph; parity's torch route runs `model`
    if options.equalize:
        form = equalize_downsampling(form, torch.from_numpy(network_calibration)[:, None])
    onnx_info = export_onnx(NoiseEstimator(form).eval(), stage / ONNX_FILE)
    tflite_source, source_info = _tflite_source(form, stage / ONNX_FILE, work, network_calibration, options.conv2d_twin)
    from ulde.export.tflite_convert import convert  # TensorFlow is imported only now

    float_bytes, int8_bytes, converters = convert(tflite_source, work, network_calibration)
    tflite_graph.require_full_integer(int8_bytes)
    for name, data in ((FLOAT_FILE, float_bytes), (INT8_FILE, int8_bytes)):
        trimmed = tflite_graph.trim(data, INPUT_NAME, OUTPUT_NAME)
        (stage / name).write_bytes(tflite_graph.embed_contract(trimmed, model_contract(mode, tflite_graph.io_tensors(trimmed))))
    embed_onnx_contract(stage / ONNX_FILE, model_contract(mode, _onnx_io()))
    shutil.rmtree(work)
    tflite_graph.require_full_integer((stage / INT8_FILE).read_bytes())
    sets, parity_info = parity_data
    outputs = {name: {} for name in parity.BACKENDS}
    for group, _, noisy, _ in sets:
        for name, denoised in backends.denoise_all_routes(model, stage / ONNX_FILE, stage / FLOAT_FILE, stage / INT8_FILE, noisy).items():
            outputs[name][group] = denoised
    report = parity.parity_report(sets, outputs, options.max_int8_loss_db)
    micro_info = _check_micro(stage / INT8_FILE, sets)
    extra_files = parity.write_parity(report, parity_info, stage)
    contract = read_contract(stage / INT8_FILE)
    if options.c_array:
        note = f"{INT8_FILE} sha256 {file_sha256(stage / INT8_FILE)}, its model contract {contract.digest}"
        extra_files += write_c_array((stage / INT8_FILE).read_bytes(), stage, contract, micro_info["arena_bytes"], note=note)
    artefacts = _describe_artefacts(stage, extra_files, onnx_info)
    onnx_info["max_abs_error_vs_torch_mv"] = max(r["onnx_vs_torch_max_abs_error_mv"] for r in report["groups"].values())
    sections = {
        "onnx": onnx_info, "tflite_graph": source_info, "inference_form": _inference_form(form, options.equalize),
        "contract_rules": {**contract.rules(), "where": "each model file carries its contract (artefacts.*.contract); "
                           "the runtime reads it from the file, never from this manifest"},
        "converters": {**converters, "int8": "full integer, per-channel weights, int8 I/O"},
        "calibration": calibration[1], "micro": micro_info,
        "parity": {"files": ["parity.json", "parity.md"], "passed": report["passed"],
                   "max_int8_loss_db": options.max_int8_loss_db,
                   "int8_loss_db": {g: r["int8_loss_db"] for g, r in report["groups"].items()}, **parity_info},
    }
    return build_manifest(checkpoint, artefacts, sections), report


def model_contract(mode: str, io: dict) -> ModelContract:
    """The contract of an exported file: ulde's signal terms, the network's conditioning ``mode``, a noise
    estimate as output, and the file's I/O encoding (``io``: tflite_graph.io_tensors' form); not yet sealed."""
    encodings = tflite_graph.io_encodings(io)
    return ModelContract(sample_rate_hz=SAMPLE_RATE_HZ, window_samples=WINDOW_SAMPLES,
                         recommended_hop_samples=RECOMMENDED_HOP_SAMPLES, input_conditioning=mode,
                         output_kind="noise_estimate", input_tensor=encodings["input"], output_tensor=encodings["output"])


def _inference_form(form, equalized: bool) -> dict:
    """How the exported graph rewrites the checkpoint's network: the same function in float."""
    extrema = ("folded into the head conv (model/fusion.py)" if isinstance(form.head, ExtremaHead)
               else "as trained (its mix has a bias)" if form.config.extrema_kernel else "none")
    return {"identity_connections": "folded into the convs (model/fusion.py)", "local_extrema": extrema,
            "downsampling_outputs": ("equalized per channel over the calibration windows (model/equalization.py)"
                                     if equalized else "as trained (--no-equalization)")}


def _tflite_source(model, onnx_path: Path, work: Path, calibration: np.ndarray, twin: bool) -> tuple[Path, dict]:
    """The ONNX file the TFLite converter starts from: ulde.onnx itself, or the checked Conv2d twin's."""
    if not twin:
        return onnx_path, {"source": "ulde.onnx (Conv1d graph: a RESHAPE around every convolution)"}
    probe = torch.from_numpy(np.ascontiguousarray(calibration[:8], dtype=np.float32))[:, None, :]
    network, gap = conv2d_twin(model, probe)
    twin_path = work / "conv2d_twin.onnx"
    export_onnx(network, twin_path)
    return twin_path, {"source": "Conv2d twin of the network ((1, k) kernels, same weights), ONNX opset 18",
                       "twin_max_abs_error_vs_torch_mv": gap}


def _check_micro(int8_path: Path, sets: list) -> dict:
    """Run the int8 model in TFLM on every parity window; its outputs must match LiteRT's reference
    kernels within the bound. Inputs and reference outputs come from ``ulde.runtime.Model``."""
    operators = tflite_graph.operator_counts(int8_path.read_bytes())
    missing = micro.unsupported_operators(operators)
    if missing:
        raise micro.MicroError(f"operators without a TFLite Micro kernel: {', '.join(missing)}")
    optimized, reference = Model(int8_path), Model(int8_path, reference_kernels=True)
    noisy = np.concatenate([s[2] for s in sets]).astype(np.float64)
    values = optimized.encode(optimized.condition(noisy)[0])  # (n, T) int8, as the runtime feeds the model
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


def _describe_artefacts(stage: Path, extra_files: list[Path], onnx_info: dict) -> dict:
    artefacts = {ONNX_FILE: describe_file(stage / ONNX_FILE, kind="onnx", operators=onnx_info["operators"],
                                          io=_onnx_io(), opset=onnx_info["opset"], contract=_contract_entry(stage / ONNX_FILE))}
    for name, kind in ((FLOAT_FILE, "tflite_float32"), (INT8_FILE, "tflite_int8")):
        data = (stage / name).read_bytes()
        artefacts[name] = describe_file(stage / name, kind=kind, operators=tflite_graph.operator_counts(data),
                                        io=tflite_graph.io_tensors(data), contract=_contract_entry(stage / name))
    for path in extra_files:
        artefacts[path.name] = describe_file(path, kind=path.suffix.lstrip("."))
    return artefacts


def _contract_entry(path: Path) -> dict:
    return json.loads(read_contract(path).to_json())


def _onnx_io() -> dict:
    tensor = {"shape": list(IO_SHAPE), "dtype": "float32", "scale": None, "zero_point": None}
    return {"input": {"name": INPUT_NAME, **tensor}, "output": {"name": OUTPUT_NAME, **tensor}}
