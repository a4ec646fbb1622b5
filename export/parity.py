"""Parity of the exported models with torch on real windows: denoising metrics per backend and group.

The int8 loss of a group is the mean SNR improvement of the TFLite float model minus that of the int8
model, in dB; an export fails when any group loses more than the limit. A float-only export (no int8
model) reports the float routes against torch and has no int8 gate.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ulde.model.metrics import snr_db, window_metrics

BACKENDS = ("torch_float", "onnx_float", "tflite_float", "tflite_int8")
METRICS = ("snr_improvement_db", "rmse_out", "pearson_out")
SHIPPED_SETS_MAX_INT8_LOSS_DB = 0.5
"""The int8 gate on the shipped parity sets (8 windows per group): a mean of few windows moves with
single windows, so the bound is wider than on the full split."""
TEST_SPLIT_MAX_INT8_LOSS_DB = 0.3
"""The int8 gate on a data directory's full test split: the same measurement the benchmarks gate
(benchmarks/bounds.py takes it from here)."""


def default_max_int8_loss_db(data_dir) -> float:
    """The gate for the parity set an export uses: the full test split with a data directory, else the shipped sets."""
    return SHIPPED_SETS_MAX_INT8_LOSS_DB if data_dir is None else TEST_SPLIT_MAX_INT8_LOSS_DB


def parity_report(sets: list, outputs: dict[str, dict[str, np.ndarray]], max_int8_loss_db: float) -> dict:
    """``sets``: (group, clean, noisy, labels) tuples; ``outputs``: backend -> group -> denoised (n, T), every
    backend of BACKENDS, or all but tflite_int8 for a float-only export."""
    int8 = "tflite_int8" in outputs
    groups = {}
    for name, clean, noisy, _ in sets:
        row = {"windows": int(len(clean)), "snr_in_db": float(np.mean(snr_db(clean, noisy)))}
        for backend in (b for b in BACKENDS if b in outputs):
            per_window = window_metrics(clean, noisy, outputs[backend][name])
            row[backend] = {metric: float(np.mean(per_window[metric])) for metric in METRICS}
        row["onnx_vs_torch_max_abs_error_mv"] = _max_abs(outputs["onnx_float"][name], outputs["torch_float"][name])
        row["tflite_float_vs_torch_max_abs_error_mv"] = _max_abs(outputs["tflite_float"][name], outputs["torch_float"][name])
        if int8:
            reference, quantized = outputs["tflite_float"][name], outputs["tflite_int8"][name]
            row["int8_vs_float_output_snr_db"] = float(np.mean(snr_db(reference, quantized)))
            row["int8_vs_float_max_abs_error_mv"] = float(np.max(np.abs(reference - quantized)))
            row["int8_loss_db"] = row["tflite_float"]["snr_improvement_db"] - row["tflite_int8"]["snr_improvement_db"]
        groups[name] = row
    if not int8:
        return {"int8": False, "groups": groups, "failing_groups": [], "passed": True}
    failing = [g for g, row in groups.items() if row["int8_loss_db"] > max_int8_loss_db]
    return {"int8": True, "max_int8_loss_db": max_int8_loss_db, "groups": groups, "failing_groups": failing,
            "passed": not failing}


def _max_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def failure_message(report: dict) -> str | None:
    """One line naming every group whose int8 loss is over the limit, or None when all pass."""
    if report["passed"]:
        return None
    worst = ", ".join(f"{g} {report['groups'][g]['int8_loss_db']:.2f} dB" for g in report["failing_groups"])
    return f"int8 model loses more SNR improvement than the {report['max_int8_loss_db']:g} dB limit: {worst}"


def to_markdown(report: dict, description: dict) -> str:
    lines = [
        "# ulde-export parity", "",
        f"Windows: {description['source']}, {description['windows_per_group']} per group (noise seed {description['seed']}).",
        "Mean over windows; SNR improvement in dB, RMSE in mV. int8 loss = TFLite float minus TFLite int8 SNR improvement.",
        "", "| group | backend | SNR improvement (dB) | RMSE (mV) | Pearson r |", "|---|---|---|---|---|",
    ]
    for group, row in report["groups"].items():
        for backend in (b for b in BACKENDS if b in row):
            m = row[backend]
            lines.append(f"| {group} | {backend} | {m['snr_improvement_db']:.3f} | {m['rmse_out']:.4f} | {m['pearson_out']:.4f} |")
    if not report["int8"]:
        lines += ["", "| group | ONNX-vs-torch max abs error (mV) | TFLite-float-vs-torch max abs error (mV) |", "|---|---|---|"]
        lines += [f"| {group} | {row['onnx_vs_torch_max_abs_error_mv']:.2e} | {row['tflite_float_vs_torch_max_abs_error_mv']:.2e} |"
                  for group, row in report["groups"].items()]
        return "\n".join(lines + ["", "Float-only export (no --int8): no int8 model, no int8 gate.", ""])
    lines += ["", "| group | int8 loss (dB) | int8-vs-float output SNR (dB) | int8-vs-float max abs error (mV) | ONNX-vs-torch max abs error (mV) |",
              "|---|---|---|---|---|"]
    for group, row in report["groups"].items():
        lines.append(f"| {group} | {row['int8_loss_db']:.3f} | {row['int8_vs_float_output_snr_db']:.2f} | "
                     f"{row['int8_vs_float_max_abs_error_mv']:.4f} | {row['onnx_vs_torch_max_abs_error_mv']:.2e} |")
    verdict = "PASS" if report["passed"] else "FAIL: " + ", ".join(report["failing_groups"])
    lines += ["", f"Limit: {report['max_int8_loss_db']:g} dB of int8 loss per group. Result: {verdict}.", ""]
    return "\n".join(lines)


def write_parity(report: dict, description: dict, folder: Path, stem: str = "parity") -> list[Path]:
    paths = [folder / f"{stem}.json", folder / f"{stem}.md"]
    paths[0].write_text(json.dumps({"windows": description, **report}, indent=2) + "\n")
    paths[1].write_text(to_markdown(report, description))
    return paths
