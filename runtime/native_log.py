"""LiteRT's one routine log line, kept off the caller's stderr.

LiteRT's C++ logger prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." to file
descriptor 2 for every interpreter it builds, and its Python API has no way to silence it (only the
C++ API's ``tflite::LoggerOptions``). ``quiet_routine_log`` points descriptor 2 at a temporary file
while an interpreter is built and writes back everything it caught but that line, so warnings and
errors still reach stderr, in order.
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager

ROUTINE_LINES = ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",)


def without_routine_lines(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if line.rstrip("\r\n") not in ROUTINE_LINES)


@contextmanager
def quiet_routine_log():
    """Catch what native code writes to descriptor 2 inside the block; pass on all but ROUTINE_LINES."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no descriptor 2 (a detached process): nothing to keep quiet
        yield
        return
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            rest = without_routine_lines(caught.read().decode(errors="replace"))
            if rest:
                os.write(2, rest.encode())
