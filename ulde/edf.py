"""EDF, EDF+, BDF and BDF+ records through pyEDFlib (the ``[edf]`` extra).

Each ECG channel is its own stream at its own sample rate; the output has the input's file type,
header, data-record duration, channel labels, units, rates and digital ranges, and its annotations.
Channels that are not denoised are copied. A denoised channel's physical range becomes symmetric
around zero with the input range's width on each side (the denoised ECG lies around a zero baseline,
wherever the input's offset put it); a denoised value outside it fails the file instead of being
clipped. Everything is read and written a block of data records at a time.
"""

from __future__ import annotations

import re
import tempfile
import warnings
from pathlib import Path

import numpy as np

from ulde.formats import Output, Record, Stream, mv_factor

ECG_LABEL = re.compile(r"\b(ECG|EKG)\b|^(I|II|III|AVR|AVL|AVF|V[1-6]|ML ?I{1,3}|MLII)$", re.IGNORECASE)
"""A channel label that names an ECG lead ('ECG II', 'EKG', 'V5', 'MLII', ...)."""

BLOCK_SECONDS = 60  # data records are read and written a minute (or one record, if longer) at a time


def pyedflib_module():
    try:
        import pyedflib
    except ImportError as exc:
        raise ImportError("EDF/BDF files need pyEDFlib: pip install 'ulde[edf]'") from exc
    return pyedflib


def chosen_channels(labels: list[str], dimensions: list[str], channels: list[str] | None) -> list[int]:
    """The channel numbers to denoise: those named in ``channels`` (labels or 0-based numbers), else
    every channel whose label names an ECG lead and whose unit is a voltage."""
    if channels is None:
        picked = [i for i, (label, unit) in enumerate(zip(labels, dimensions))
                  if ECG_LABEL.search(label.strip()) and unit.strip().lower() in ("mv", "uv", "µv", "μv", "v")]
        if not picked:
            raise ValueError(f"no ECG channel among {labels} (by label and voltage unit); name them with --channels")
        return picked
    picked = []
    for name in channels:
        if name in labels:
            picked.append(labels.index(name))
        elif name.isdigit() and int(name) < len(labels):
            picked.append(int(name))
        else:
            raise ValueError(f"--channels {name!r} is neither a label of {labels} nor a channel number")
    return sorted(set(picked))


class EdfRecord(Record):
    kind = "edf"

    def __init__(self, path: Path, channels: list[str] | None):
        pyedflib = pyedflib_module()
        self.path, self.files = path, [path]
        try:
            self.reader = pyedflib.EdfReader(str(path))
        except OSError as exc:
            raise ValueError(f"{path} is not a readable EDF/BDF file ({exc})") from None
        try:
            reader = self.reader
            self.headers = reader.getSignalHeaders()
            labels = [h["label"] for h in self.headers]
            self.channels = chosen_channels(labels, [h["dimension"] for h in self.headers], channels)
            self.factors = [mv_factor(self.headers[i]["dimension"], labels[i]) for i in self.channels]
            self.lengths = [int(n) for n in reader.getNSamples()]
            self.streams = [Stream(float(self.headers[i]["sample_frequency"]), self.lengths[i], 1) for i in self.channels]
        except Exception:
            self.reader.close()
            raise

    def read(self, stream: int, start: int, stop: int) -> np.ndarray:
        channel = self.channels[stream]
        values = self.reader.readSignal(channel, start, stop - start)
        return (values * self.factors[stream]).reshape(-1, 1)

    def output(self, folder: Path, name: str, model: str) -> Output:
        return EdfOutput(self, folder / name)

    def close(self) -> None:
        self.reader.close()


class EdfOutput(Output):
    """Spills each denoised stream to a raw float64 file in the staging folder, then writes the EDF a
    block of data records at a time."""

    def __init__(self, record: EdfRecord, target: Path):
        self.record, self.target = record, target
        self.spills = [tempfile.TemporaryFile(dir=target.parent) for _ in record.channels]

    def append(self, stream: int, denoised: np.ndarray) -> None:
        values = denoised[:, 0].astype(np.float64) / self.record.factors[stream]
        self.spills[stream].write(values.tobytes())

    def finish(self) -> list[str]:
        pyedflib = pyedflib_module()
        record, reader = self.record, self.record.reader
        headers = [dict(h) for h in record.headers]
        for stream, channel in enumerate(record.channels):
            width = headers[channel]["physical_max"] - headers[channel]["physical_min"]
            headers[channel]["physical_min"], headers[channel]["physical_max"] = -width, width
        writer = pyedflib.EdfWriter(str(self.target), len(headers), file_type=reader.filetype)
        try:
            writer.setHeader(reader.getHeader())
            writer.setSignalHeaders(headers)
            with warnings.catch_warnings():  # it warns that forcing a duration may alter rates: it keeps the input's
                warnings.simplefilter("ignore", UserWarning)
                writer.setDatarecordDuration(reader.datarecord_duration)
            per_record = [round(h["sample_frequency"] * reader.datarecord_duration) for h in headers]
            records = reader.datarecords_in_file
            step = max(1, int(BLOCK_SECONDS // reader.datarecord_duration)) if reader.datarecord_duration else 1
            for first in range(0, records, step):
                count = min(step, records - first)
                writer.writeSamples([self._block(channel, first * n, count * n, headers[channel])
                                     for channel, n in enumerate(per_record)])
            for onset, duration, text in zip(*reader.readAnnotations()):
                writer.writeAnnotation(onset, duration, text)
        finally:
            writer.close()
        return []

    def _block(self, channel: int, start: int, count: int, header: dict) -> np.ndarray:
        record = self.record
        if channel not in record.channels:
            return record.reader.readSignal(channel, start, count)
        spill = self.spills[record.channels.index(channel)]
        spill.seek(start * 8)
        values = np.frombuffer(spill.read(count * 8), dtype=np.float64)
        low, high = header["physical_min"], header["physical_max"]
        if values.size and (values.min() < low or values.max() > high):
            raise ValueError(f"channel {header['label']!r}: a denoised value lies outside the output's physical range "
                             f"[{low:g}, {high:g}] {header['dimension']}; nothing is clipped, so the file is not written")
        return values

    def close(self) -> None:
        for spill in self.spills:
            spill.close()
