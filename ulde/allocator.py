"""Keep freed memory in the process for the length of a denoising job (glibc's malloc only).

Streaming a record a minute at a time allocates and frees arrays of a few hundred kB per call. glibc
serves a block of that size with a fresh ``mmap`` and unmaps it when freed (or trims the top of its heap
back to the system), so every call page-faults its arrays in again: kernel time that grows with the
number of processes on a virtual machine. Raising both thresholds keeps those blocks for reuse instead:
the same peak memory, fewer page faults (docs/archives.md measures both). The setting is process-wide,
so ulde applies it only in the processes that it owns: the ``ulde-denoise`` command and the worker
processes that ``ulde.batch.denoise_files`` starts, never in a caller's process that imports the library.
"""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD = -1  # glibc's malloc.h
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 2**20
"""Blocks below this come from the heap: glibc's largest allowed value on 64-bit hosts."""
TRIM_THRESHOLD_BYTES = 2 * MMAP_THRESHOLD_BYTES
"""Free memory at the top of the heap kept before any is returned to the system."""


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds for this process; False (nothing changed) where the C
    library is not glibc or refuses the values."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # musl, or another C library
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return (bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
            and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)))
