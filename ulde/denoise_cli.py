"""``ulde-denoise``: denoise an ECG file (WFDB record, CSV or .npy) with the torch-free runtime.

Signals are converted to mV, streamed through ``ulde.runtime.StreamingDenoiser`` at the file's own
sample rate (all leads, independently; the runtime resamples to the model's 360 Hz and back, 100-1000
Hz) and written in the input's format: WFDB keeps the header's fs, units, signal names, ADC gains,
baselines and format (where the denoised values fit), base date and time, and gets copies of the
record's annotation files. Nothing is written over the input, and every output file is staged beside
its target and moved into place only once complete.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from ulde.runtime import StreamingDenoiser
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

CHUNK_SECONDS = 60  # one process() call per minute of signal, at the file's rate
PROGRESS_MIN_SECONDS = 600  # records shorter than 10 min finish before a bar is useful
UNIT_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3}
"""Physical units the CLI converts to and from the model's mV (WFDB header units, case-insensitive)."""


class Signal:
    """A loaded file: samples (n, leads) float64 in mV, rate in Hz, and what is needed to write it back."""

    def __init__(self, kind: str, samples: np.ndarray, fs: float, meta: dict):
        self.kind, self.samples, self.fs, self.meta = kind, samples, fs, meta


def file_kind(path: Path) -> str:
    """'wfdb', 'csv' or 'npy' from the file name (a WFDB record may be given with or without .hea)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".npy"):
        return suffix[1:]
    if suffix == ".hea" or path.with_name(path.name + ".hea").is_file() or suffix == "":
        return "wfdb"
    raise ValueError(f"{path}: unknown input type {suffix!r}; expected a WFDB record (.hea), .csv or .npy")


def record_base(path: Path) -> Path:
    return path.with_suffix("") if path.suffix.lower() == ".hea" else path


WFDB_DIGITAL_RANGE = {"16": (-32768, 32767), "212": (-2048, 2047), "80": (-128, 127), "24": (-2**23, 2**23 - 1),
                      "32": (-2**31, 2**31 - 1), "61": (-32768, 32767), "160": (-32768, 32767)}
"""Digital sample range of the WFDB formats whose gains and baselines the output can keep."""


def wfdb_module():
    """The wfdb package, or ImportError naming the extra that provides it."""
    try:
        import wfdb
    except ImportError as exc:
        raise ImportError("WFDB records need wfdb: pip install 'ulde[files]'") from exc
    return wfdb


def header_rate(header: Path) -> None:
    """Refuse a header whose sampling frequency field is not a number (wfdb would read 250 Hz)."""
    fields = next((line.split() for line in header.read_text(errors="replace").splitlines()
                   if line.strip() and not line.startswith("#")), [])
    if len(fields) < 2:
        raise ValueError(f"WFDB header {header} has no record line (name, signal count, ...)")
    if len(fields) > 2:
        rate = fields[2].split("/")[0].split("(")[0]
        try:
            float(rate)
        except ValueError:
            raise ValueError(f"WFDB header {header}: sampling frequency {fields[2]!r} is not a number") from None


def read_wfdb(path: Path, fs: float | None) -> Signal:
    wfdb = wfdb_module()

    base = record_base(path)
    header = base.with_name(base.name + ".hea")
    if not header.is_file():
        raise FileNotFoundError(f"WFDB header {header} does not exist")
    header_rate(header)
    try:
        record = wfdb.rdrecord(str(base))
    except Exception as exc:  # wfdb raises IndexError, ValueError, ... on a malformed record
        raise ValueError(f"cannot read WFDB record {base}: {type(exc).__name__}: {exc}") from None
    if fs is not None and fs != record.fs:
        raise ValueError(f"--fs {fs} disagrees with the header's {record.fs} Hz; leave --fs out for WFDB records")
    units = list(record.units)
    factors = []
    for name, unit in zip(record.sig_name, units):
        if unit.strip().lower() not in UNIT_TO_MV:
            raise ValueError(f"channel {name!r} is in {unit!r}; expected one of mV, uV, V")
        factors.append(UNIT_TO_MV[unit.strip().lower()])
    samples = record.p_signal * np.array(factors)
    signal_files = sorted({base.parent / name for name in record.file_name})
    annotations = sorted(f for f in base.parent.glob(base.name + ".*")
                         if f.is_file() and f != header and f not in signal_files)
    meta = {"units": units, "sig_name": list(record.sig_name), "factors": np.array(factors),
            "fmt": list(record.fmt), "adc_gain": list(record.adc_gain), "baseline": list(record.baseline),
            "base_date": record.base_date, "base_time": record.base_time, "comments": list(record.comments or []),
            "files": [header] + signal_files, "annotations": annotations}
    return Signal("wfdb", samples, float(record.fs), meta)


def read_csv(path: Path, fs: float, columns: list[int] | None) -> Signal:
    """CSV of samples in mV, one row per sample (a header line allowed). A first column that rises
    strictly on every row is a time column: written back unchanged, never denoised; ``columns`` picks
    the signal columns explicitly instead."""
    lines = [line for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"{path} holds no samples")
    header = None
    try:
        [float(v) for v in lines[0].split(",")]
    except ValueError:
        header, lines = lines[0].strip(), lines[1:]
    if not lines:
        raise ValueError(f"{path} holds a header line and no samples")
    rows = [line.split(",") for line in lines]
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"{path}: row {i + 1 + (header is not None)} has {len(row)} value(s), the first "
                             f"{width}; expected comma-separated columns of equal length")
    try:
        table = np.array(rows, dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{path}: a value is not a number ({exc}); expected comma-separated samples in mV") from None
    if columns is None:
        rising = width > 1 and len(table) > 1 and bool(np.all(np.diff(table[:, 0]) > 0))
        columns = list(range(1 if rising else 0, width))
    elif any(c < 0 or c >= width for c in columns):
        raise ValueError(f"--columns {columns} is out of range for {path}'s {width} column(s)")
    return Signal("csv", table[:, columns], fs, {"header": header, "table": table, "columns": columns})


def read_npy(path: Path, fs: float) -> Signal:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        raise ValueError(f"{path} is not a readable .npy array ({type(exc).__name__}: {exc})") from None
    if array.ndim not in (1, 2) or not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{path}: expected a float (n,) or (n, leads) array in mV, got {array.dtype} {array.shape}")
    return Signal("npy", array.reshape(array.shape[0], -1).astype(np.float64), fs, {"ndim": array.ndim})


def read_signal(path: Path, fs: float | None, columns: list[int] | None = None) -> Signal:
    kind = file_kind(path)
    if kind == "wfdb":
        return read_wfdb(path, fs)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    if fs is None:
        print(f"ulde-denoise: no --fs given for {path.name}: assuming {SAMPLE_RATE_HZ} Hz", file=sys.stderr)
        fs = float(SAMPLE_RATE_HZ)
    return read_csv(path, fs, columns) if kind == "csv" else read_npy(path, fs)


def output_files(kind: str, out: Path) -> list[Path]:
    """The files an output of ``kind`` at ``out`` consists of (a WFDB record: its .hea and .dat)."""
    if kind == "wfdb":
        base = record_base(out)
        return [base.with_name(base.name + ".hea"), base.with_name(base.name + ".dat")]
    return [out]


def input_files(signal: Signal, path: Path) -> list[Path]:
    return signal.meta["files"] + signal.meta["annotations"] if signal.kind == "wfdb" else [path]


def refuse_overwriting_input(inputs: list[Path], outputs: list[Path]) -> None:
    """ValueError if any output file is, or links to, an input file."""
    for out in outputs:
        for source in inputs:
            if out.exists() and source.exists() and os.path.samefile(out, source):
                raise ValueError(f"output {out} is the input file {source}; choose another output path")


def write_signal(signal: Signal, denoised: np.ndarray, out: Path, model: str) -> tuple[list[Path], list[str]]:
    """Write ``denoised`` ((n, leads) mV) to ``out`` in the input's format, atomically: every file is
    written into a temporary folder beside the target and moved into place (os.replace) only once all
    are complete, so an interrupted run leaves the previous output, or none. Returns the files written
    and notes for the user."""
    final = record_base(out) if signal.kind == "wfdb" else out
    staging = Path(tempfile.mkdtemp(prefix=".ulde-denoise-", dir=final.parent))
    try:
        notes = _write_into(staging, final.name, signal, denoised, model)
        written = []
        for staged in sorted(staging.iterdir(), key=lambda f: f.suffix == ".hea"):  # a header last
            target = final.parent / staged.name
            os.replace(staged, target)
            written.append(target)
        return written, notes
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_into(folder: Path, name: str, signal: Signal, denoised: np.ndarray, model: str) -> list[str]:
    notes = []
    if signal.kind == "wfdb":
        wfdb = wfdb_module()
        meta = signal.meta
        physical = denoised / meta["factors"]
        common = {"fs": signal.fs, "units": meta["units"], "sig_name": meta["sig_name"], "fmt": meta["fmt"],
                  "comments": meta["comments"] + [f"denoised by ulde-denoise ({model})"],
                  "base_date": meta["base_date"], "base_time": meta["base_time"], "write_dir": str(folder)}
        digital = np.rint(physical * np.array(meta["adc_gain"]) + np.array(meta["baseline"]))
        ranges = [WFDB_DIGITAL_RANGE.get(f) for f in meta["fmt"]]
        if all(r is not None and r[0] < digital[:, i].min() and digital[:, i].max() <= r[1] for i, r in enumerate(ranges)):
            wfdb.wrsamp(name, d_signal=digital.astype(np.int64), adc_gain=meta["adc_gain"], baseline=meta["baseline"], **common)
        else:
            notes.append("the denoised values do not fit the input's ADC gains and format: written with new gains")
            wfdb.wrsamp(name, p_signal=physical, **common)
        for annotation in meta["annotations"]:
            shutil.copyfile(annotation, folder / (name + annotation.suffix))
    elif signal.kind == "csv":
        table = signal.meta["table"].copy()
        table[:, signal.meta["columns"]] = denoised
        np.savetxt(folder / name, table, delimiter=",", fmt="%.7g", header=signal.meta["header"] or "", comments="")
    else:
        np.save(folder / name, (denoised[:, 0] if signal.meta["ndim"] == 1 else denoised).astype(np.float32))
    return notes


def check_output(kind: str, out: Path) -> None:
    wanted = {"wfdb": ("", ".hea"), "csv": (".csv",), "npy": (".npy",)}[kind]
    if out.suffix.lower() not in wanted:
        raise ValueError(f"output {out} must be the input's format ({kind}: {' or '.join(s or 'no suffix' for s in wanted)})")
    if not record_base(out).parent.is_dir():
        raise FileNotFoundError(f"output folder {record_base(out).parent} does not exist")


def run_denoiser(x: np.ndarray, fs: float, model: str | None, hop: int | None, progress: bool) -> np.ndarray:
    """Stream (n, leads) mV at ``fs`` through the runtime, minute by minute: (n, leads) float32 mV."""
    denoiser = StreamingDenoiser(model, hop=hop, sample_rate_hz=fs)
    step = max(1, int(CHUNK_SECONDS * fs))
    starts = range(0, len(x), step)
    if progress and len(x) >= PROGRESS_MIN_SECONDS * fs:
        try:
            from tqdm import tqdm

            starts = tqdm(starts, desc="denoising", unit="min", file=sys.stderr)
        except ImportError:
            pass  # the bar is a nicety: pip install tqdm for it
    blocks = [denoiser.process(x[s : s + step]) for s in starts]
    return np.concatenate(blocks + [denoiser.flush()], axis=0)


def pyplot():
    """matplotlib's pyplot on the Agg backend, or ImportError naming the extra."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("--plot needs matplotlib: pip install 'ulde[plot]'") from exc
    return plt


def plot(path: Path, signal: Signal, denoised: np.ndarray, start_s: float, seconds: float) -> None:
    """PNG of raw vs denoised, one panel per lead, over [start_s, start_s + seconds) seconds."""
    plt = pyplot()
    a = max(0, int(start_s * signal.fs))
    b = min(len(denoised), a + max(1, int(seconds * signal.fs)))
    if a >= len(denoised):
        raise ValueError(f"--plot-start {start_s} s is past the end of the record ({len(denoised) / signal.fs:.1f} s)")
    t = np.arange(a, b) / signal.fs
    leads = denoised.shape[1]
    fig, axes = plt.subplots(leads, 1, figsize=(12, 2.2 * leads), sharex=True, squeeze=False)
    names = signal.meta.get("sig_name") or [f"lead {i}" for i in range(leads)]
    for i, ax in enumerate(axes[:, 0]):
        ax.plot(t, signal.samples[a:b, i], lw=0.7, color="0.6", label="raw")
        ax.plot(t, denoised[a:b, i], lw=0.9, color="C0", label="denoised")
        ax.set_ylabel(f"{names[i]} (mV)")
    axes[0, 0].legend(loc="upper right")
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="ulde-denoise", description=__doc__.splitlines()[0])
    p.add_argument("input", type=Path, help="WFDB record (path without extension, or its .hea), .csv or .npy")
    p.add_argument("-o", "--output", type=Path, required=True, help="output path, same format as the input")
    p.add_argument("--model", type=Path, default=None, help=".tflite or .onnx model (default: shipped int8 TFLite)")
    p.add_argument("--fs", type=positive_float, default=None,
                   help=f"sample rate of a CSV/.npy input in Hz (default {SAMPLE_RATE_HZ}); WFDB uses its header")
    p.add_argument("--hop", type=int, default=None, help="frame hop in samples at 360 Hz (default: the model's)")
    p.add_argument("--plot", type=Path, default=None, help="also draw raw vs denoised into this PNG")
    p.add_argument("--plot-start", type=float, default=0.0, help="start of the plotted span in seconds (default 0)")
    p.add_argument("--plot-seconds", type=positive_float, default=10.0, help="length of the plotted span (default 10 s)")
    p.add_argument("--columns", type=column_list, default=None,
                   help="CSV only: comma-separated 0-based signal columns (default: every column but a rising "
                        "first one, taken as time); the others are written back unchanged")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-q", "--quiet", action="store_true", help="no success line")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        kind = file_kind(args.input)
        check_output(kind, args.output)
        if args.columns is not None and kind != "csv":
            raise ValueError("--columns applies to CSV input only")
        if args.plot is not None:
            pyplot()  # before anything is written: a run that cannot plot changes nothing
        signal = read_signal(args.input, args.fs, args.columns)
        refuse_overwriting_input(input_files(signal, args.input), output_files(kind, args.output))
        model = None if args.model is None else str(args.model)
        denoised = run_denoiser(signal.samples, signal.fs, model, args.hop, not args.no_progress).astype(np.float64)
        written, notes = write_signal(signal, denoised, args.output, args.model.name if args.model else "shipped int8 model")
        if args.plot is not None:
            plot(args.plot, signal, denoised, args.plot_start, args.plot_seconds)
    except KeyboardInterrupt:
        print(f"ulde-denoise: interrupted; {args.output} is as it was before this run", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, ImportError) as exc:
        print(f"ulde-denoise: error: {exc}", file=sys.stderr)
        return 1
    for note in notes:
        print(f"ulde-denoise: note: {note}", file=sys.stderr)
    if not args.quiet:
        n, leads = denoised.shape
        print(f"ulde-denoise: wrote {', '.join(str(f) for f in written)} ({n} samples x {leads} lead(s) at "
              f"{signal.fs:g} Hz)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
