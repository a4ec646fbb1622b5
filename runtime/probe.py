"""Open a model file in a child process first, for files no contract digest vouches for.

A file that carries a ulde contract is run only if its digest matches (runtime/model_file.py): it is
byte for byte what ulde-export checked. A file opened under a contract passed by hand has only the
structural check (runtime/file_structure.py), which cannot foresee every operator's reading of its
parameters: such a file is first loaded and run once on zeros in a child process
(``python -m ulde.runtime.probe FORMAT PATH``), and refused if that child dies.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from ulde.runtime.errors import ModelFileError

PROBE_TIMEOUT_S = 120.0


def probe(path: Path, file_format: str) -> None:
    """Raise ModelFileError if loading and running ``path`` once kills (or hangs) a child interpreter."""
    import subprocess  # here, not at import: only files without a contract digest are probed

    command = [sys.executable, "-m", "ulde.runtime.probe", file_format, str(path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ModelFileError(f"model {path} did not finish loading within {PROBE_TIMEOUT_S:g} s in a probe process") from None
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name if -done.returncode in signal.valid_signals() else str(-done.returncode)
        raise ModelFileError(f"model {path} crashed the interpreter in a probe process ({name}): the file is malformed")


def _child(file_format: str, path: str) -> None:
    """Load the file and run one window of zeros; Python-level errors are left to the parent's own load."""
    import numpy as np

    from ulde.runtime.interpreters import INTERPRETERS

    try:
        interpreter = INTERPRETERS[file_format](Path(path).read_bytes(), path)
        dtype = np.float32 if interpreter.input.dtype == "float32" else np.dtype(interpreter.input.dtype)
        interpreter.invoke_rows(np.zeros((1, interpreter.window), dtype=dtype))
    except Exception:  # a clean error: the parent's load raises it again with its own message
        pass


if __name__ == "__main__":
    _child(*sys.argv[1:3])
