"""``ulde-denoise``: denoise ECG files (WFDB records, CSV, .npy, EDF/BDF) with the torch-free runtime.

One input and an output file path denoise that file; several inputs, a directory or a glob pattern
and an output directory denoise each file into the directory, mirroring the inputs' layout, on
``--jobs`` processes (ulde/archive.py, ulde/batch.py). Signals are converted to mV, streamed through
``ulde.runtime.StreamingDenoiser`` at the file's own sample rate (all leads, independently; the runtime
resamples to the model's 360 Hz and back, 100-1000 Hz) and written in the input's format
(ulde/formats.py, ulde/edf.py). Nothing is written over an input, a complete output is skipped unless
``--overwrite``, and every output appears only once complete.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from ulde import __version__
from ulde.allocator import keep_freed_memory
from ulde.archive import is_pattern, plan_jobs
from ulde.batch import FileResult, Job, Settings, default_workers, denoise_file, denoise_files, open_input
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ


def pyplot():
    """matplotlib's pyplot on the Agg backend, or ImportError naming the extra."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("--plot needs matplotlib: pip install 'ulde[plot]'") from exc
    return plt


def check_plot_span(job: Job, settings: Settings, start_s: float) -> None:
    """ValueError if the plotted span would start past the end of the record (or the record is unreadable)."""
    record = open_input(job.source, settings)
    try:
        stream = record.streams[0]
        if start_s * stream.fs >= stream.samples:
            raise ValueError(f"--plot-start {start_s} s is past the end of the record ({stream.samples / stream.fs:.1f} s)")
    finally:
        record.close()


def plot(png: Path, job: Job, settings: Settings, start_s: float, seconds: float) -> None:
    """PNG of raw vs denoised (the written output), one panel per lead of the first stream, over
    [start_s, start_s + seconds) seconds."""
    plt = pyplot()
    raw_record, out_record = open_input(job.source, settings), open_input(job.target, settings)  # the output: same format and rate
    try:
        stream = raw_record.streams[0]
        a = max(0, int(start_s * stream.fs))  # before the run, check_plot_span made sure a < samples
        b = min(stream.samples, a + max(1, int(seconds * stream.fs)))
        raw, denoised = raw_record.read(0, a, b), out_record.read(0, a, b)
    finally:
        raw_record.close()
        out_record.close()
    t = np.arange(a, b) / stream.fs
    fig, axes = plt.subplots(stream.leads, 1, figsize=(12, 2.2 * stream.leads), sharex=True, squeeze=False)
    for i, ax in enumerate(axes[:, 0]):
        ax.plot(t, raw[:, i], lw=0.7, color="0.6", label="raw")
        ax.plot(t, denoised[:, i], lw=0.9, color="C0", label="denoised")
        ax.set_ylabel(f"lead {i} (mV)")
    axes[0, 0].legend(loc="upper right")
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def column_list(text: str) -> list[int]:
    try:
        columns = [int(c) for c in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated column numbers, got {text!r}") from None
    if not columns or len(set(columns)) != len(columns):
        raise argparse.ArgumentTypeError(f"expected distinct column numbers, got {text!r}")
    return columns


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="ulde-denoise", description=__doc__.splitlines()[0])
    p.add_argument("inputs", nargs="+", metavar="input",
                   help="WFDB record (path without extension, or its .hea), .csv, .npy, .edf or .bdf; "
                        "several, a directory or a quoted glob pattern ('bank/**/*.edf') with -o a directory")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="output file (one input file) or directory (created if absent), same format as the input")
    p.add_argument("--model", type=Path, default=None, help=".tflite or .onnx model (default: shipped int8 TFLite)")
    p.add_argument("--fs", type=positive_float, default=None,
                   help=f"sample rate of CSV/.npy inputs in Hz (default {SAMPLE_RATE_HZ}); WFDB and EDF carry theirs")
    p.add_argument("--hop", type=int, default=None, help="frame hop in samples at 360 Hz (default: the model's)")
    p.add_argument("--columns", type=column_list, default=None,
                   help="CSV only: comma-separated 0-based signal columns (default: every column but a rising "
                        "first one, taken as time); the others are written back unchanged")
    p.add_argument("--channels", type=lambda text: [c.strip() for c in text.split(",") if c.strip()], default=None,
                   help="EDF/BDF only: comma-separated channel labels or 0-based numbers to denoise (default: every "
                        "channel labelled as an ECG lead, in a voltage unit); the others are copied")
    p.add_argument("-j", "--jobs", type=positive_int, default=None,
                   help=f"files denoised at once, one process each (default: the usable cores, {default_workers()} here)")
    p.add_argument("--overwrite", action="store_true", help="replace complete outputs (default: skip them)")
    p.add_argument("--plot", type=Path, default=None, help="one input only: also draw raw vs denoised into this PNG")
    p.add_argument("--plot-start", type=float, default=0.0, help="start of the plotted span in seconds (default 0)")
    p.add_argument("--plot-seconds", type=positive_float, default=10.0, help="length of the plotted span (default 10 s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-q", "--quiet", action="store_true", help="no success line or summary (errors still print)")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(model=None if args.model is None else str(args.model), hop=args.hop, fs=args.fs,
                    columns=None if args.columns is None else tuple(args.columns),
                    channels=None if args.channels is None else tuple(args.channels), overwrite=args.overwrite)


def is_single_file(args: argparse.Namespace) -> bool:
    """One input that names one file, written to a file path (not an existing directory)."""
    [text] = args.inputs if len(args.inputs) == 1 else [None]
    return text is not None and not is_pattern(text) and not Path(text).is_dir() and not args.output.is_dir()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = settings_from(args)
    keep_freed_memory()  # this command's own process (ulde/allocator.py)
    try:
        return run_one(args, settings) if is_single_file(args) else run_many(args, settings)
    except KeyboardInterrupt:
        print(f"ulde-denoise: interrupted; every output in {args.output} is complete or as it was before this run",
              file=sys.stderr)
        return 130


def run_one(args: argparse.Namespace, settings: Settings) -> int:
    job = Job(Path(args.inputs[0]), args.output)
    if args.plot is not None:
        try:  # before anything is written: a run that cannot plot changes nothing
            pyplot()
            check_plot_span(job, settings, args.plot_start)
        except (ImportError, ValueError, OSError) as exc:
            return error(exc)
    if not args.output.parent.is_dir():
        return error(f"output folder {args.output.parent} does not exist")
    result = denoise_file(job, settings, progress=not args.no_progress)
    if result.status == "failed":
        return error(result.reason)
    for note in result.notes:
        print(f"ulde-denoise: note: {note}", file=sys.stderr)
    if result.status == "skipped":
        print(f"ulde-denoise: skipped {job.source}: {result.reason}", file=sys.stderr)
        return 0
    if args.plot is not None:
        try:
            plot(args.plot, job, settings, args.plot_start, args.plot_seconds)
        except (ValueError, OSError) as exc:
            return error(f"{exc} (the denoised output is written)")
    if not args.quiet:
        print(f"ulde-denoise: wrote {', '.join(str(f) for f in result.written)} "
              f"({result.samples // result.leads} samples x {result.leads} lead(s) at {result.rate_hz:g} Hz)")
    return 0


def run_many(args: argparse.Namespace, settings: Settings) -> int:
    if args.plot is not None:
        return error("--plot takes one input file and an output file")
    if args.output.exists() and not args.output.is_dir():
        return error(f"with several inputs, a directory or a pattern, -o must be a directory; {args.output} is a file")
    try:
        jobs = plan_jobs(args.inputs, args.output)
    except (ValueError, OSError) as exc:
        return error(exc)
    started = time.perf_counter()
    bar = progress_bar(len(jobs), disabled=args.no_progress or args.quiet)
    samples = 0

    def arrived(result: FileResult) -> None:
        nonlocal samples
        samples += result.samples
        if bar is not None:
            bar.set_postfix(samples=f"{samples:,}", refresh=False)
            bar.update(1)

    try:
        results = denoise_files(jobs, settings, workers=args.jobs, on_result=arrived)
    finally:
        if bar is not None:
            bar.close()
    if not args.quiet:
        for r in results:
            for note in r.notes:
                print(f"ulde-denoise: note: {r.job.source}: {note}", file=sys.stderr)
    failed = [r for r in results if r.status == "failed"]
    for r in failed:
        print(f"ulde-denoise: failed: {r.job.source}: {r.reason}", file=sys.stderr)
    if not args.quiet:
        print(summary(results, time.perf_counter() - started))
    return 1 if failed else 0


def summary(results: list[FileResult], seconds: float) -> str:
    count = {status: sum(r.status == status for r in results) for status in ("done", "skipped", "failed")}
    return (f"ulde-denoise: {len(results)} file(s): {count['done']} done, {count['skipped']} skipped (complete "
            f"outputs; --overwrite replaces them), {count['failed']} failed; "
            f"{sum(r.samples for r in results):,} samples in {seconds:.1f} s")


def progress_bar(files: int, disabled: bool):
    """A tqdm bar over files (samples in its postfix), or None without tqdm or when disabled."""
    if disabled or files < 2:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=files, desc="denoising", unit="file", file=sys.stderr)


def error(message) -> int:
    print(f"ulde-denoise: error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
