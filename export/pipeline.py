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
from ulde.export.manifest import build_manifest, describe_file, write_manifest
from ulde.export.onnx_export import INPUT_NAME, IO_SHAPE, OUTPUT_NAME, export_onnx
from ulde.model.checkpoint import file_sha256, load_model, read_checkpoint
from ulde.model.equalization import equalize_downsampling
from ulde.model.fusion import ExtremaHead, inference_form
from ulde.model.networks import NoiseEstimator
from ulde.model.metrics import snr_db
from ulde.runtime.normalization import NORMALIZATION_RULES, PEAK_FLOOR_MV, normalize
from ulde.runtime.quantization import check_quantization, quantize

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
    (stage / FLOAT_FILE).write_bytes(tflite_graph.trim(float_bytes, INPUT_NAME, OUTPUT_NAME))
    (stage / INT8_FILE).write_bytes(tflite_graph.trim(int8_bytes, INPUT_NAME, OUTPUT_NAME))
    shutil.rmtree(work)
    tflite_graph.require_full_integer((stage / INT8_FILE).read_bytes())
    sets, parity_info = parity_data
    outputs, raw_int8 = {name: {} for name in parity.BACKENDS}, {}
    for group, _, noisy, _ in sets:
        routes, raw_int8[group] = backends.denoise_all_routes(model, stage / ONNX_FILE, stage / FLOAT_FILE, stage / INT8_FILE, noisy)
        for name, denoised in routes.items():
            outputs[name][group] = denoised
    report = parity.parity_report(sets, outputs, options.max_int8_loss_db)
    micro_info = _check_micro(stage / INT8_FILE, sets, raw_int8, mode)
    extra_files = parity.write_parity(report, parity_info, stage)
    if options.c_array:
        note = (f"{INT8_FILE} sha256 {file_sha256(stage / INT8_FILE)}; its output is the noise estimate: "
                "denoised = input - output, outside the model (manifest.json, model_output)")
        extra_files += write_c_array((stage / INT8_FILE).read_bytes(), stage, note=note)
    artefacts = _describe_artefacts(stage, extra_files, onnx_info)
    onnx_info["max_abs_error_vs_torch_mv"] = max(r["onnx_vs_torch_max_abs_error_mv"] for r in report["groups"].values())
    sections = {
        "onnx": onnx_info, "tflite_graph": source_info, "inference_form": _inference_form(form, options.equalize),
        "model_output": {"quantity": "noise estimate", "tensor": OUTPUT_NAME,
                         "rule": "denoised = network input - model output (then * s, see input_normalization), "
                                 "computed outside the model at the input's own precision"},
        "converters": {**converters, "int8": "full integer, per-channel weights, int8 I/O"},
        "calibration": calibration[1], "micro": micro_info,
        "input_normalization": {"mode": mode, "peak_floor_mv": PEAK_FLOOR_MV, "rule": NORMALIZATION_RULES[mode]},
        "parity": {"files": ["parity.json", "parity.md"], "passed": report["passed"],
                   "max_int8_loss_db": options.max_int8_loss_db,
                   "int8_loss_db": {g: r["int8_loss_db"] for g, r in report["groups"].items()}, **parity_info},
    }
    return build_manifest(checkpoint, artefacts, sections), report


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


def _check_micro(int8_path: Path, sets: list, raw_int8: dict, mode: str) -> dict:
    """Run the int8 model in TFLM on every parity window; its outputs must match LiteRT's within the bound."""
    model_bytes = int8_path.read_bytes()
    operators = tflite_graph.operator_counts(model_bytes)
    missing = micro.unsupported_operators(operators)
    if missing:
        raise micro.MicroError(f"operators without a TFLite Micro kernel: {', '.join(missing)}")
    io = tflite_graph.io_tensors(model_bytes)["input"]
    noisy = np.concatenate([s[2] for s in sets])
    noisy = normalize(noisy, mode)[0]
    input_quant = check_quantization(np.int8, (io["scale"], io["zero_point"]), f"{int8_path} input")
    got, report = micro.run_in_tflm(int8_path, quantize(noisy, *input_quant, np.int8))
    reference = backends.tflite_denoise(int8_path, noisy, reference_kernels=True)[1]
    steps = int(np.max(np.abs(got.astype(np.int32) - reference.astype(np.int32))))
    if steps > micro.MAX_STEP_DIFFERENCE:
        raise micro.MicroError(f"TFLM output differs from LiteRT's reference kernels by {steps} int8 steps "
                               f"(bound {micro.MAX_STEP_DIFFERENCE})")
    optimized = np.concatenate([raw_int8[s[0]] for s in sets]).astype(np.float64)
    return {
        "interpreter": "tflite_micro.runtime (host build, 64-bit: a 32-bit MCU needs slightly less arena)",
        **report, "windows": int(len(noisy)), "max_step_difference_vs_litert_reference_kernels": steps,
        "max_step_difference_vs_litert_optimized_kernels": int(np.max(np.abs(got - optimized))),
        "output_snr_db_vs_litert_optimized_kernels": float(np.mean(snr_db(optimized, got))),
        "step_difference_bound": micro.MAX_STEP_DIFFERENCE, "operators_checked_against_tflm": sorted(operators),
    }


def _describe_artefacts(stage: Path, extra_files: list[Path], onnx_info: dict) -> dict:
    artefacts = {ONNX_FILE: describe_file(stage / ONNX_FILE, kind="onnx", operators=onnx_info["operators"],
                                          io=_onnx_io(), opset=onnx_info["opset"])}
    for name, kind in ((FLOAT_FILE, "tflite_float32"), (INT8_FILE, "tflite_int8")):
        data = (stage / name).read_bytes()
        artefacts[name] = describe_file(stage / name, kind=kind, operators=tflite_graph.operator_counts(data),
                                        io=tflite_graph.io_tensors(data))
    for path in extra_files:
        artefacts[path.name] = describe_file(path, kind=path.suffix.lstrip("."))
    return artefacts


def _onnx_io() -> dict:
    tensor = {"shape": list(IO_SHAPE), "dtype": "float32", "scale": None, "zero_point": None}
    return {"input": {"name": INPUT_NAME, **tensor}, "output": {"name": OUTPUT_NAME, **tensor}}
