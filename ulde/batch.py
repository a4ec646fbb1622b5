"""Denoise many ECG files: one function per file, run in this process, a local process pool, or on a
Dask cluster.

    from ulde.batch import Job, Settings, denoise_files
    results = denoise_files([Job(Path("a.edf"), Path("out/a.edf"))], Settings(), workers=2)
    results = denoise_files(jobs, Settings(), client=dask.distributed.Client(...))

``denoise_file`` never raises for a bad file: it returns a ``FileResult`` that says why it failed, so
one corrupt record never stops the others. Each output is written into a staging folder beside its
target and moved into place only once complete (the file that marks it complete last), so an
interrupted run leaves the previous output, or none; a complete output is skipped unless
``Settings.overwrite``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterable

from ulde.allocator import keep_freed_memory
from ulde.formats import Record, check_output_name, file_kind, open_record, output_files, record_base

CHUNK_SECONDS = 60  # one StreamingDenoiser.process() call per minute of signal, at the stream's rate
PROGRESS_MIN_SECONDS = 600  # a single record shorter than 10 min finishes before a bar is useful
STAGING_PREFIX = ".ulde-denoise-"  # staging folders beside the outputs; archive scans skip them


@dataclass(frozen=True)
class Settings:
    """How every file of a run is denoised: the model (None: the shipped int8 model), the frame hop,
    the rate of CSV/.npy inputs (None: 360 Hz, with a note), CSV columns, EDF channels, and whether a
    complete output is replaced."""

    model: str | None = None
    hop: int | None = None
    fs: float | None = None
    columns: tuple[int, ...] | None = None
    channels: tuple[str, ...] | None = None
    overwrite: bool = False


@dataclass(frozen=True)
class Job:
    source: Path
    target: Path


@dataclass
class FileResult:
    job: Job
    status: str  # "done", "skipped" or "failed"
    reason: str = ""
    samples: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    rate_hz: float = 0.0
    leads: int = 0


def open_input(path: Path, settings: Settings) -> Record:
    """The record at ``path`` read as ``settings`` say (CSV/.npy rate, CSV columns, EDF channels)."""
    return open_record(path, settings.fs, settings.columns, settings.channels)


def refuse_overwriting_input(inputs: list[Path], outputs: list[Path]) -> None:
    """ValueError if any output file is, or links to, an input file."""
    for out in outputs:
        for source in inputs:
            if out.exists() and source.exists() and os.path.samefile(out, source):
                raise ValueError(f"output {out} is the input file {source}; choose another output path")


def denoise_file(job: Job, settings: Settings, progress: bool = False) -> FileResult:
    """Denoise one file into ``job.target`` (its folder is created); any failure becomes the result's
    reason. ``progress`` draws a per-minute bar for a long record (single-file runs)."""
    started = time.perf_counter()
    try:
        result = _denoise(job, settings, progress)
    except KeyboardInterrupt:
        raise
    except (ValueError, TypeError, OSError, ImportError) as exc:
        result = FileResult(job, "failed", str(exc))
    except Exception as exc:  # a file must never stop the archive: any library error is this file's failure
        result = FileResult(job, "failed", f"{type(exc).__name__}: {exc}")
    result.seconds = time.perf_counter() - started
    return result


def _denoise(job: Job, settings: Settings, progress: bool) -> FileResult:
    kind = file_kind(job.source)
    check_output_name(kind, job.target)
    finals = output_files(kind, job.target)
    record = open_input(job.source, settings)
    try:
        refuse_overwriting_input(record.files, finals)
        if finals[-1].exists() and not settings.overwrite:
            return FileResult(job, "skipped", f"{finals[-1]} exists (--overwrite replaces it)")
        finals[-1].parent.mkdir(parents=True, exist_ok=True)
        model_name = Path(settings.model).name if settings.model else "shipped int8 model"
        written, notes = _write_atomically(record, record_base(job.target) if kind == "wfdb" else job.target,
                                           settings, model_name, progress)
        stream = record.streams[0]
        return FileResult(job, "done", samples=sum(s.samples * s.leads for s in record.streams),
                          notes=list(record.notes) + notes, written=written, rate_hz=stream.fs,
                          leads=sum(s.leads for s in record.streams))
    finally:
        record.close()


def _write_atomically(record: Record, final: Path, settings: Settings, model_name: str,
                      progress: bool) -> tuple[list[Path], list[str]]:
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=final.parent))
    try:
        output = record.output(staging, final.name, model_name)
        try:
            for index, stream in enumerate(record.streams):
                _stream_through(record, index, output, settings, progress)
            notes = output.finish()
        finally:
            output.close()
        written = []
        for staged in sorted(staging.iterdir(), key=lambda f: f.suffix == ".hea"):  # a WFDB header last
            target = final.parent / staged.name
            os.replace(staged, target)
            written.append(target)
        return written, notes
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _stream_through(record: Record, index: int, output, settings: Settings, progress: bool) -> None:
    from ulde.runtime import StreamingDenoiser

    stream = record.streams[index]
    denoiser = StreamingDenoiser(settings.model, hop=settings.hop, sample_rate_hz=stream.fs)
    step = max(1, int(CHUNK_SECONDS * stream.fs))
    starts: Iterable[int] = range(0, stream.samples, step)
    if progress and stream.samples >= PROGRESS_MIN_SECONDS * stream.fs:
        try:
            from tqdm import tqdm

            starts = tqdm(starts, desc="denoising", unit="min", file=sys.stderr)
        except ImportError:
            pass  # the bar is a nicety: pip install tqdm for it
    for start in starts:
        output.append(index, denoiser.process(record.read(index, start, min(start + step, stream.samples))))
    output.append(index, denoiser.flush())


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def denoise_files(jobs: list[Job], settings: Settings, *, workers: int | None = None, client=None,
                  on_result: Callable[[FileResult], None] | None = None) -> list[FileResult]:
    """Denoise every job; results in the jobs' order. With a ``dask.distributed.Client`` the files run
    on its workers; else on ``workers`` local processes (default: the usable cores; 1 runs here).
    ``on_result`` sees each result as it arrives (a progress bar)."""
    on_result = on_result or (lambda result: None)
    if client is not None:
        from distributed import as_completed as dask_completed

        futures = client.map(denoise_file, jobs, [settings] * len(jobs), pure=False)
        index = {future.key: i for i, future in enumerate(futures)}
        return _gather(len(jobs), ((index[f.key], f.result()) for f in dask_completed(futures)), on_result)
    workers = min(workers or default_workers(), max(1, len(jobs)))
    if workers == 1:
        return _gather(len(jobs), ((i, denoise_file(job, settings)) for i, job in enumerate(jobs)), on_result)
    # spawn: a worker starts clean, whatever threads this process (a progress bar, a caller) runs; it is
    # ulde's own process, so it keeps freed memory for reuse (ulde/allocator.py)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=keep_freed_memory) as pool:
        futures = {pool.submit(denoise_file, job, settings): i for i, job in enumerate(jobs)}
        return _gather(len(jobs), ((futures[f], f.result()) for f in as_completed(futures)), on_result)


def _gather(count: int, arrivals, on_result) -> list[FileResult]:
    results: list[FileResult | None] = [None] * count
    for i, result in arrivals:
        results[i] = result
        on_result(result)
    return results  # type: ignore[return-value]


__all__ = ["Job", "Settings", "FileResult", "denoise_file", "denoise_files", "default_workers"]
