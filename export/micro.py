"""MCU readiness: run the int8 model in the TensorFlow Lite Micro interpreter and measure its arena.

TFLM prints its allocation report from C++, bypassing Python's sys.stdout, so the interpreter runs in a
child process (``python -m ulde.export.micro``) whose output is captured and parsed.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

PROBE_ARENA_BYTES = 1 << 20  # generous first allocation; the real need is read from the report
MAX_STEP_DIFFERENCE = 1
"""Bound on |TFLM - LiteRT reference kernels| per output sample, in int8 steps. Both implement TFLite's
reference int8 arithmetic. LiteRT's default optimized kernels (XNNPACK) round intermediate
requantizations differently; that difference accumulates over the layers (several steps on a trained
model) and is reported as an output SNR, not bounded in steps."""

TFLM_BUILTIN_KERNELS = frozenset("""
ABS ADD ADD_N ARG_MAX ARG_MIN ASSIGN_VARIABLE AVERAGE_POOL_2D BATCH_MATMUL BATCH_TO_SPACE_ND BROADCAST_ARGS
BROADCAST_TO CALL_ONCE CAST CEIL CONCATENATION CONV_2D COS CUMSUM DEPTH_TO_SPACE DEPTHWISE_CONV_2D DEQUANTIZE
DIV ELU EMBEDDING_LOOKUP EQUAL EXP EXPAND_DIMS FILL FLOOR FLOOR_DIV FLOOR_MOD FULLY_CONNECTED GATHER GATHER_ND
GREATER GREATER_EQUAL HARD_SWISH IF L2_NORMALIZATION L2_POOL_2D LEAKY_RELU LESS LESS_EQUAL LOG LOGICAL_AND
LOGICAL_NOT LOGICAL_OR LOGISTIC LOG_SOFTMAX MAXIMUM MAX_POOL_2D MEAN MINIMUM MIRROR_PAD MUL NEG NOT_EQUAL PACK
PAD PADV2 PRELU QUANTIZE READ_VARIABLE REDUCE_MAX RELU RELU6 RESHAPE RESIZE_BILINEAR RESIZE_NEAREST_NEIGHBOR
RSQRT SELECT_V2 SHAPE SIN SLICE SOFTMAX SPACE_TO_BATCH_ND SPACE_TO_DEPTH SPLIT SPLIT_V SQRT SQUARE
SQUARED_DIFFERENCE SQUEEZE STRIDED_SLICE SUB SUM SVDF TANH TRANSPOSE TRANSPOSE_CONV UNIDIRECTIONAL_SEQUENCE_LSTM
UNPACK VAR_HANDLE WHILE ZEROS_LIKE
""".split())
"""Builtin operators with a TFLM kernel, copied by hand from MicroMutableOpResolver's Add* methods; the
run in the TFLM interpreter (which fails on a missing kernel) is the authoritative check."""


class MicroError(RuntimeError):
    """The int8 model does not run in TFLM, or its outputs disagree with LiteRT's."""


def unsupported_operators(operators: dict[str, int]) -> list[str]:
    return sorted(op for op in operators if op not in TFLM_BUILTIN_KERNELS)


def run_in_tflm(model_path: Path, inputs: np.ndarray) -> tuple[np.ndarray, dict]:
    """(int8 outputs (n, T), arena report) for int8 ``inputs`` (n, T) run through TFLM.

    The first child process runs every window in a generous arena and prints the allocation report;
    a second one reruns the first window in an arena of exactly the reported total, proving it suffices.
    """
    with tempfile.TemporaryDirectory(prefix="ulde-tflm-") as tmp:
        inp, out = Path(tmp) / "in.npy", Path(tmp) / "out.npy"
        np.save(inp, np.asarray(inputs, dtype=np.int8))
        report = _parse_report(_spawn(model_path, inp, out, PROBE_ARENA_BYTES))
        outputs = np.load(out)
        np.save(inp, np.asarray(inputs[:1], dtype=np.int8))
        _spawn(model_path, inp, out, report["arena_bytes"])
        if not np.array_equal(np.load(out), outputs[:1]):
            raise MicroError(f"TFLM output changed when the arena shrank to {report['arena_bytes']} bytes")
    report["arena_verified_bytes"] = report["arena_bytes"]
    return outputs, report


def _spawn(model_path: Path, inputs: Path, outputs: Path, arena_bytes: int) -> str:
    command = [sys.executable, "-m", "ulde.export.micro", str(model_path), str(inputs), str(outputs), str(arena_bytes)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise MicroError(f"TFLM interpreter failed on {model_path.name} with a {arena_bytes}-byte arena: {last}")
    return done.stdout + done.stderr  # the report lands on either, depending on how fd 1 is buffered


def _parse_report(stdout: str) -> dict:
    """Arena total / head / tail in bytes from TFLM's RecordingMicroAllocator report."""
    found = {key: re.search(rf"Arena allocation {key} (\d+) bytes", stdout) for key in ("total", "head", "tail")}
    if found["total"] is None:
        raise MicroError("TFLM child process printed no arena allocation report")
    return {f"arena_{k}_bytes" if k != "total" else "arena_bytes": int(m.group(1)) for k, m in found.items() if m}


def _child(model_path: str, inputs_path: str, outputs_path: str, arena_bytes: str) -> None:
    """Run every window, save the outputs and print the allocation report (C++, to fd 1)."""
    from tflite_micro import runtime

    interpreter = runtime.Interpreter.from_file(model_path, arena_size=int(arena_bytes))
    outputs = []
    for window in np.load(inputs_path):
        interpreter.set_input(window.reshape(1, 1, -1), 0)
        interpreter.invoke()
        outputs.append(np.array(interpreter.get_output(0)).reshape(-1))
    np.save(outputs_path, np.stack(outputs))
    sys.stdout.flush()
    interpreter.print_allocations()


if __name__ == "__main__":
    _child(*sys.argv[1:5])
