"""``ulde-denoise``: denoise an ECG file (WFDB record, CSV or .npy) with the torch-free runtime.

Signals are converted to mV, streamed through ``ulde.runtime.StreamingDenoiser`` at the file's own
sample rate (all leads, independently; the runtime resamples to the model's 360 Hz and back, 100-1000
Hz) and written in the input's format: WFDB keeps the header's fs, units and signal names.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ulde.runtime import StreamingDenoiser
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

CHUNK_SECONDS = 60  # one process() call per minute of signal at the model's rate
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


def read_wfdb(path: Path, fs: float | None) -> Signal:
    import wfdb

    base = record_base(path)
    if not base.with_name(base.name + ".hea").is_file():
        raise FileNotFoundError(f"WFDB header {base}.hea does not exist")
    record = wfdb.rdrecord(str(base))
    if fs is not None and fs != record.fs:
        raise ValueError(f"--fs {fs} disagrees with the header's {record.fs} Hz; leave --fs out for WFDB records")
    units = list(record.units)
    factors = []
    for name, unit in zip(record.sig_name, units):
        if unit.strip().lower() not in UNIT_TO_MV:
            raise ValueError(f"channel {name!r} is in {unit!r}; expected one of mV, uV, V")
        factors.append(UNIT_TO_MV[unit.strip().lower()])
    samples = record.p_signal * np.array(factors)
    meta = {"units": units, "sig_name": list(record.sig_name), "factors": np.array(factors),
            "fmt": list(record.fmt), "comments": list(record.comments or [])}
    return Signal("wfdb", samples, float(record.fs), meta)


def read_csv(path: Path, fs: float) -> Signal:
    with path.open() as f:
        first = f.readline()
    try:
        [float(v) for v in first.strip().split(",")]
        header = None
    except ValueError:
        header = first.strip()
    samples = np.loadtxt(path, delimiter=",", skiprows=0 if header is None else 1, ndmin=2, dtype=np.float64)
    return Signal("csv", samples, fs, {"header": header})


def read_npy(path: Path, fs: float) -> Signal:
    array = np.load(path, allow_pickle=False)
    if array.ndim not in (1, 2) or not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{path}: expected a float (n,) or (n, leads) array in mV, got {array.dtype} {array.shape}")
    return Signal("npy", array.reshape(array.shape[0], -1).astype(np.float64), fs, {"ndim": array.ndim})


def read_signal(path: Path, fs: float | None) -> Signal:
    kind = file_kind(path)
    if kind == "wfdb":
        return read_wfdb(path, fs)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    if fs is None:
        print(f"ulde-denoise: no --fs given for {path.name}: assuming {SAMPLE_RATE_HZ} Hz", file=sys.stderr)
        fs = float(SAMPLE_RATE_HZ)
    return read_csv(path, fs) if kind == "csv" else read_npy(path, fs)


def write_signal(signal: Signal, denoised: np.ndarray, out: Path, model: str) -> None:
    """Write ``denoised`` ((n, leads) mV) to ``out`` in the input's format."""
    if signal.kind == "wfdb":
        import wfdb

        base = record_base(out)
        wfdb.wrsamp(base.name, fs=signal.fs, units=signal.meta["units"], sig_name=signal.meta["sig_name"],
                    p_signal=denoised / signal.meta["factors"], fmt=signal.meta["fmt"],
                    comments=signal.meta["comments"] + [f"denoised by ulde-denoise ({model})"],
                    write_dir=str(base.parent))
    elif signal.kind == "csv":
        header = signal.meta["header"]
        np.savetxt(out, denoised, delimiter=",", fmt="%.7g", header=header or "", comments="")
    else:
        np.save(out, (denoised[:, 0] if signal.meta["ndim"] == 1 else denoised).astype(np.float32))


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


def plot(path: Path, signal: Signal, denoised: np.ndarray, start_s: float, seconds: float) -> None:
    """PNG of raw vs denoised, one panel per lead, over [start_s, start_s + seconds) seconds."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("--plot needs matplotlib: pip install 'ulde[plot]'") from exc
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
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        kind = file_kind(args.input)
        check_output(kind, args.output)
        signal = read_signal(args.input, args.fs)
        model = None if args.model is None else str(args.model)
        denoised = run_denoiser(signal.samples, signal.fs, model, args.hop, not args.no_progress).astype(np.float64)
        write_signal(signal, denoised, args.output, args.model.name if args.model else "shipped int8 model")
        if args.plot is not None:
            plot(args.plot, signal, denoised, args.plot_start, args.plot_seconds)
    except (ValueError, TypeError, OSError, ImportError) as exc:
        print(f"ulde-denoise: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
