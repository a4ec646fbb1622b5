"""ECG files ulde-denoise reads and writes: WFDB records, CSV and .npy (EDF/BDF: ulde/edf.py).

Every format is a ``Record``: one or more ``Stream``s (leads that share a sample rate), read in chunks
in mV, and an ``Output`` that takes the denoised chunks in order and writes the files of the same
format into a folder. .npy (and EDF) are read and written chunk by chunk, so a 24 h record never sits
in memory; WFDB and CSV are read whole (wfdb writes a record in one call, and a CSV's time column is
known only once every row is read).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

UNIT_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3}
"""Physical units converted to and from the model's mV (case-insensitive)."""

INPUT_SUFFIXES = {".hea": "wfdb", ".csv": "csv", ".npy": "npy", ".edf": "edf", ".bdf": "edf"}
"""File name endings of the inputs a directory scan picks up, and their kind."""

WFDB_DIGITAL_RANGE = {"16": (-32768, 32767), "212": (-2048, 2047), "80": (-128, 127), "24": (-2**23, 2**23 - 1),
                      "32": (-2**31, 2**31 - 1), "61": (-32768, 32767), "160": (-32768, 32767)}
"""Digital sample range of the WFDB formats whose gains and baselines the output can keep."""


def mv_factor(unit: str, channel: str) -> float:
    """The factor from ``unit`` to mV, or ValueError naming the channel."""
    factor = UNIT_TO_MV.get(unit.strip().lower())
    if factor is None:
        raise ValueError(f"channel {channel!r} is in {unit!r}; expected one of mV, uV, V")
    return factor


@dataclass(frozen=True)
class Stream:
    """Leads of one record that share a sample rate: denoised by one ``StreamingDenoiser``."""

    fs: float
    samples: int
    leads: int


def file_kind(path: Path) -> str:
    """'wfdb', 'csv', 'npy' or 'edf' from the file name (a WFDB record with or without its .hea)."""
    suffix = path.suffix.lower()
    if suffix in INPUT_SUFFIXES:
        return INPUT_SUFFIXES[suffix]
    if path.with_name(path.name + ".hea").is_file() or suffix == "":
        return "wfdb"
    raise ValueError(f"{path}: unknown input type {suffix!r}; expected a WFDB record (.hea), .csv, .npy, .edf or .bdf")


def record_base(path: Path) -> Path:
    return path.with_suffix("") if path.suffix.lower() == ".hea" else path


def output_files(kind: str, out: Path) -> list[Path]:
    """The files an output of ``kind`` at ``out`` consists of, the one written last (and so the proof
    that the output is complete) last: a WFDB record's .dat, then its .hea."""
    if kind == "wfdb":
        base = record_base(out)
        return [base.with_name(base.name + ".dat"), base.with_name(base.name + ".hea")]
    return [out]


def check_output_name(kind: str, out: Path) -> None:
    wanted = {"wfdb": ("", ".hea"), "csv": (".csv",), "npy": (".npy",), "edf": (".edf", ".bdf")}[kind]
    if out.suffix.lower() not in wanted:
        raise ValueError(f"output {out} must be the input's format ({kind}: {' or '.join(s or 'no suffix' for s in wanted)})")


class Record:
    """A readable ECG file. Subclasses set ``kind``, ``streams`` and ``files`` (every input file)."""

    kind: str
    streams: list[Stream]
    files: list[Path]
    notes: tuple[str, ...] = ()

    def read(self, stream: int, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop) of ``stream``: (stop - start, leads) float64 mV."""
        raise NotImplementedError

    def output(self, folder: Path, name: str, model: str) -> Output:
        raise NotImplementedError

    def close(self) -> None:
        pass


class Output:
    """Takes the denoised chunks of each stream in order; ``finish`` writes the files into the folder and
    returns notes for the user."""

    def append(self, stream: int, denoised: np.ndarray) -> None:
        raise NotImplementedError

    def finish(self) -> list[str]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class LoadedRecord(Record):
    """A record read whole: one stream of (n, leads) mV."""

    def __init__(self, samples: np.ndarray, fs: float):
        self.samples = samples
        self.streams = [Stream(fs, len(samples), samples.shape[1])]

    def read(self, stream: int, start: int, stop: int) -> np.ndarray:
        return self.samples[start:stop]


class CollectingOutput(Output):
    """Gathers the denoised stream and hands it to ``write(denoised)`` at the end."""

    def __init__(self, shape: tuple[int, int], write):
        self.denoised = np.empty(shape)
        self.filled = 0
        self.write = write

    def append(self, stream: int, denoised: np.ndarray) -> None:
        self.denoised[self.filled : self.filled + len(denoised)] = denoised
        self.filled += len(denoised)

    def finish(self) -> list[str]:
        return self.write(self.denoised) or []


def wfdb_module():
    """The wfdb package, or ImportError naming the extra that provides it."""
    try:
        import wfdb
    except ImportError as exc:
        raise ImportError("WFDB records need wfdb: pip install 'ulde[files]'") from exc
    return wfdb


def check_header_rate(header: Path) -> None:
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


class WfdbRecord(LoadedRecord):
    """A WFDB record; its output keeps the header's fs, units, names, ADC gains, baselines and format
    (where the denoised values fit), base date and time, and gets copies of the annotation files."""

    kind = "wfdb"

    def __init__(self, path: Path, fs: float | None):
        wfdb = wfdb_module()
        base = record_base(path)
        header = base.with_name(base.name + ".hea")
        if not header.is_file():
            raise FileNotFoundError(f"WFDB header {header} does not exist")
        check_header_rate(header)
        try:
            record = wfdb.rdrecord(str(base))
        except Exception as exc:  # wfdb raises IndexError, ValueError, ... on a malformed record
            raise ValueError(f"cannot read WFDB record {base}: {type(exc).__name__}: {exc}") from None
        self.factors = np.array([mv_factor(unit, name) for name, unit in zip(record.sig_name, record.units)])
        super().__init__(record.p_signal * self.factors, float(record.fs))
        self.record = record
        signal_files = sorted({base.parent / name for name in record.file_name})
        self.annotations = sorted(f for f in base.parent.glob(base.name + ".*")
                                  if f.is_file() and f != header and f not in signal_files)
        self.files = [header] + signal_files + self.annotations
        if fs is not None and fs != record.fs:
            self.notes = (f"--fs {fs:g} is for CSV/.npy inputs: {base.name} is read at its header's {record.fs:g} Hz",)

    def output(self, folder: Path, name: str, model: str) -> Output:
        return CollectingOutput(self.samples.shape, lambda denoised: self._write(folder, name, model, denoised))

    def _write(self, folder: Path, name: str, model: str, denoised: np.ndarray) -> list[str]:
        wfdb, record, notes = wfdb_module(), self.record, []
        physical = denoised / self.factors
        common = {"fs": record.fs, "units": list(record.units), "sig_name": list(record.sig_name),
                  "fmt": list(record.fmt), "comments": list(record.comments or []) + [f"denoised by ulde-denoise ({model})"],
                  "base_date": record.base_date, "base_time": record.base_time, "write_dir": str(folder)}
        digital = np.rint(physical * np.array(record.adc_gain) + np.array(record.baseline))
        ranges = [WFDB_DIGITAL_RANGE.get(f) for f in record.fmt]
        if all(r is not None and r[0] < digital[:, i].min() and digital[:, i].max() <= r[1] for i, r in enumerate(ranges)):
            wfdb.wrsamp(name, d_signal=digital.astype(np.int64), adc_gain=list(record.adc_gain),
                        baseline=list(record.baseline), **common)
        else:
            notes.append("the denoised values do not fit the input's ADC gains and format: written with new gains")
            wfdb.wrsamp(name, p_signal=physical, **common)
        for annotation in self.annotations:
            shutil.copyfile(annotation, folder / (name + annotation.suffix))
        return notes


class CsvRecord(LoadedRecord):
    """CSV of samples in mV, one row per sample (a header line allowed). A first column that rises
    strictly on every row is a time column: written back unchanged, never denoised; ``columns`` picks
    the signal columns explicitly instead."""

    kind = "csv"

    def __init__(self, path: Path, fs: float, columns: list[int] | None):
        lines = [line for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
        if not lines:
            raise ValueError(f"{path} holds no samples")
        self.header = None
        try:
            [float(v) for v in lines[0].split(",")]
        except ValueError:
            self.header, lines = lines[0].strip(), lines[1:]
        if not lines:
            raise ValueError(f"{path} holds a header line and no samples")
        rows = [line.split(",") for line in lines]
        width = len(rows[0])
        for i, row in enumerate(rows):
            if len(row) != width:
                raise ValueError(f"{path}: row {i + 1 + (self.header is not None)} has {len(row)} value(s), the first "
                                 f"{width}; expected comma-separated columns of equal length")
        try:
            self.table = np.array(rows, dtype=np.float64)
        except ValueError as exc:
            raise ValueError(f"{path}: a value is not a number ({exc}); expected comma-separated samples in mV") from None
        if columns is None:
            rising = width > 1 and len(self.table) > 1 and bool(np.all(np.diff(self.table[:, 0]) > 0))
            columns = list(range(1 if rising else 0, width))
        elif any(c < 0 or c >= width for c in columns):
            raise ValueError(f"--columns {columns} is out of range for {path}'s {width} column(s)")
        self.columns = columns
        self.files = [path]
        super().__init__(self.table[:, columns], fs)

    def output(self, folder: Path, name: str, model: str) -> Output:
        return CollectingOutput(self.samples.shape, lambda denoised: self._write(folder / name, denoised))

    def _write(self, target: Path, denoised: np.ndarray) -> None:
        table = self.table.copy()
        table[:, self.columns] = denoised
        np.savetxt(target, table, delimiter=",", fmt="%.7g", header=self.header or "", comments="")


class NpyRecord(Record):
    """A float (n,) or (n, leads) .npy array in mV, read chunk by chunk from the file; the output is
    float32 of the same shape, written chunk by chunk."""

    kind = "npy"

    def __init__(self, path: Path, fs: float):
        self.path, self.files = path, [path]
        try:
            with open(path, "rb") as f:
                version = np.lib.format.read_magic(f)
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, fortran, dtype = read_header(f)
                self.data_offset = f.tell()
        except (ValueError, EOFError, OSError) as exc:
            raise ValueError(f"{path} is not a readable .npy array ({type(exc).__name__}: {exc})") from None
        if len(shape) not in (1, 2) or not np.issubdtype(dtype, np.floating) or dtype.hasobject:
            raise ValueError(f"{path}: expected a float (n,) or (n, leads) array in mV, got {dtype} {shape}")
        leads = shape[1] if len(shape) == 2 else 1
        expected_bytes = self.data_offset + shape[0] * leads * dtype.itemsize
        if os.path.getsize(path) < expected_bytes:
            raise ValueError(f"{path} is truncated: its header declares {shape} {dtype}, "
                             f"{expected_bytes} bytes, the file holds {os.path.getsize(path)}")
        self.shape, self.dtype, self.leads = shape, dtype, leads
        self.fortran = fortran and len(shape) == 2 and leads > 1
        self.whole = np.load(path, mmap_mode="r") if self.fortran else None  # columns are not contiguous rows
        self.streams = [Stream(fs, shape[0], leads)]

    def read(self, stream: int, start: int, stop: int) -> np.ndarray:
        if self.whole is not None:
            return np.asarray(self.whole[start:stop], dtype=np.float64).reshape(-1, self.leads)
        with open(self.path, "rb") as f:
            f.seek(self.data_offset + start * self.leads * self.dtype.itemsize)
            chunk = np.fromfile(f, dtype=self.dtype, count=(stop - start) * self.leads)
        return chunk.astype(np.float64).reshape(-1, self.leads)

    def output(self, folder: Path, name: str, model: str) -> Output:
        return NpyOutput(folder / name, self.shape)


class NpyOutput(Output):
    def __init__(self, target: Path, shape: tuple):
        self.file = open(target, "wb")
        np.lib.format.write_array_header_1_0(self.file, {"descr": "<f4", "fortran_order": False, "shape": shape})

    def append(self, stream: int, denoised: np.ndarray) -> None:
        self.file.write(np.ascontiguousarray(denoised, dtype="<f4").tobytes())

    def finish(self) -> list[str]:
        self.file.close()
        return []

    def close(self) -> None:
        self.file.close()


def open_record(path: Path, fs: float | None, columns: Sequence[int] | None, channels: Sequence[str] | None) -> Record:
    """The record at ``path``; ``fs`` is the rate of a CSV/.npy (WFDB and EDF carry theirs: a different
    ``fs`` is a note, so one rate can be given for an archive of mixed formats), ``columns``
    the CSV signal columns, ``channels`` the EDF channels to denoise (labels or 0-based numbers)."""
    kind = file_kind(path)
    if columns is not None and kind != "csv":
        raise ValueError("--columns applies to CSV input only")
    if channels is not None and kind != "edf":
        raise ValueError("--channels applies to EDF/BDF input only")
    if kind == "wfdb":
        return WfdbRecord(path, fs)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    if kind == "edf":
        from ulde.edf import EdfRecord

        record = EdfRecord(path, None if channels is None else list(channels))
        if fs is not None:
            record.notes = (f"--fs {fs:g} is for CSV/.npy inputs: {path.name}'s channels are read at their own rates",)
        return record
    assumed = fs is None
    fs = float(SAMPLE_RATE_HZ) if assumed else fs
    record = CsvRecord(path, fs, None if columns is None else list(columns)) if kind == "csv" else NpyRecord(path, fs)
    if assumed:
        record.notes = (f"no --fs given for {path.name}: assuming {SAMPLE_RATE_HZ} Hz",)
    return record
