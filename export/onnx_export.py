"""torch -> one self-contained, checked and simplified ONNX file with a fixed [1, 1, window] I/O."""

from __future__ import annotations

import io
import logging
import warnings
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path

import onnx
import torch
from onnxsim import simplify

from ulde.runtime.signal_spec import WINDOW_SAMPLES

OPSET = 18
INPUT_NAME = "noisy_ecg"
OUTPUT_NAME = "noise_estimate"  # what the network outputs; the contract's output rule says what to do with it


def io_shape(window: int = WINDOW_SAMPLES) -> tuple[int, int, int]:
    """The I/O shape of an exported file: one window per call (firmware and the streaming runtime never batch)."""
    return (1, 1, window)


class OnnxExportError(RuntimeError):
    """The ONNX exporter, checker or simplifier failed."""


def export_onnx(model: torch.nn.Module, path: Path, window: int = WINDOW_SAMPLES) -> dict:
    """Export ``model`` (eval mode) to ``path`` with a ``window``-sample I/O; return the opset and the
    operator counts.

    dynamo export folds BatchNorm into the convolutions; ``external_data=False`` keeps the weights in
    the one file; onnxsim drops the ~400 metadata entries dynamo adds and folds constants. The full
    checker runs before and after simplification.
    """
    example = torch.zeros(io_shape(window))
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # torchvision-missing notices are noise here
    try:
        with redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch-internal pytree deprecation notices
            torch.onnx.export(
                model, (example,), str(path), dynamo=True, opset_version=OPSET, external_data=False,
                input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], verbose=False,
            )
        exported = onnx.load(str(path))
        onnx.checker.check_model(exported, full_check=True)
        simplified, ok = simplify(exported)
    except Exception as exc:  # the exporter raises many types; one line names the failure
        raise OnnxExportError(f"ONNX export failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}") from exc
    if not ok:
        raise OnnxExportError("onnxsim could not validate the simplified ONNX model")
    simplified.producer_name, simplified.doc_string = "ulde-export", "ULde-net ECG denoiser, one window per call"
    onnx.checker.check_model(simplified, full_check=True)
    onnx.save(simplified, str(path))
    _require_fixed_io(simplified, io_shape(window))
    return {"opset": _default_opset(simplified), "operators": onnx_operator_counts(simplified)}


def _default_opset(model: onnx.ModelProto) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def _require_fixed_io(model: onnx.ModelProto, shape: tuple[int, int, int]) -> None:
    for role, values, name in (("input", model.graph.input, INPUT_NAME), ("output", model.graph.output, OUTPUT_NAME)):
        if len(values) != 1 or values[0].name != name:
            raise OnnxExportError(f"ONNX {role} is {[v.name for v in values]}, expected [{name!r}]")
        dims = [d.dim_value for d in values[0].type.tensor_type.shape.dim]
        if tuple(dims) != shape:
            raise OnnxExportError(f"ONNX {role} shape is {dims}, expected {list(shape)}")


def onnx_operator_counts(model: onnx.ModelProto) -> dict[str, int]:
    return dict(sorted(Counter(node.op_type for node in model.graph.node).items()))


