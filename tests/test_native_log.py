"""LiteRT's routine "Created ... XNNPACK delegate" line stays off stderr; everything else gets through."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ulde.runtime.native_log import quiet_routine_log, without_routine_lines

TOY_INT8 = Path(__file__).parent / "fixtures" / "models" / "toy_int8.tflite"


def test_only_the_routine_line_is_dropped():
    text = "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\nWARNING: something real\nERROR: worse\n"
    assert without_routine_lines(text) == "WARNING: something real\nERROR: worse\n"


def test_a_fresh_process_running_a_tflite_model_prints_nothing_but_its_own_output():
    code = ("import numpy as np, os; from ulde.runtime import denoise; "
            f"y = denoise(np.zeros(5000), {str(TOY_INT8)!r}); "
            "from ulde.runtime.native_log import quiet_routine_log\n"
            "with quiet_routine_log(): os.write(2, b'native warning\\n')\n"
            "print(y.shape)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(5000,)"
    assert done.stderr == "native warning\n"  # caught inside the block and passed on; the INFO line is not


def test_the_block_restores_stderr_when_it_raises(capfd):
    try:
        with quiet_routine_log():
            raise KeyError("x")
    except KeyError:
        pass
    sys.stderr.write("after\n")
    sys.stderr.flush()
    assert capfd.readouterr().err.endswith("after\n")


def test_without_an_in_memory_file_a_temporary_file_catches_it(monkeypatch, capfd):
    monkeypatch.delattr(os, "memfd_create", raising=False)  # macOS, Windows, or an older kernel
    with quiet_routine_log():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\nnative warning\n")
    assert capfd.readouterr().err == "native warning\n"
