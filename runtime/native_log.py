"""What native libraries write to file descriptor 2, caught and filtered.

Native loggers (LiteRT's, TensorFlow's, absl's) write to descriptor 2 directly, past Python's
``sys.stderr``. ``native_stderr(keep)`` points descriptor 2 at a scratch file inside its block and
writes back ``keep(what it caught)`` afterwards. LiteRT prints "INFO: Created TensorFlow Lite XNNPACK
delegate for CPU." for every interpreter it builds, and its Python API cannot silence it (only the C++
API's ``tflite::LoggerOptions``): ``quiet_routine_log`` drops that line and passes everything else on.
"""

from __future__ import annotations

import io
import os
import sys
from contextlib import contextmanager
from typing import Callable

ROUTINE_LINES = ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",)


def without_routine_lines(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if line.rstrip("\r\n") not in ROUTINE_LINES)


def quiet_routine_log():
    """Pass on all that native code writes to descriptor 2 inside the block but ROUTINE_LINES."""
    return native_stderr(without_routine_lines)


@contextmanager
def native_stderr(keep: Callable[[str], str]):
    """Catch what is written to descriptor 2 inside the block; afterwards write back ``keep`` of it."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no descriptor 2 (a detached process): nothing to keep quiet
        yield
        return
    with _scratch_file() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            rest = keep(caught.read().decode(errors="replace"))
            if rest:
                os.write(2, rest.encode())


def _scratch_file() -> io.BufferedRandom:
    """An anonymous file in memory where the system has one (Linux's memfd), else a temporary file:
    tempfile and what it imports would stay resident in a streaming process that needs nothing else of
    them (the runtime's resident-memory bound, docs/runtime.md)."""
    if hasattr(os, "memfd_create"):
        try:
            return open(os.memfd_create("ulde-native-stderr"), "w+b")
        except OSError:  # a kernel or sandbox without memfd
            pass
    import tempfile

    return tempfile.TemporaryFile()
