"""StreamingDenoiser: chunk-in, chunk-out overlap-add (or, for a low-latency model, overlap-save)
denoising with O(window) memory."""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from ulde.runtime.chunks import Layout, as_samples
from ulde.runtime.contract import ModelContract
from ulde.runtime.framing import DEFAULT_TAPER, Framing, make_framing, mirror_pad, overlap_save_framing
from ulde.runtime.model import Model, ModelBusyError
from ulde.runtime.model_file import LOW_LATENCY_MODEL, shipped_model
from ulde.runtime.normalization import Levels, trailing_levels
from ulde.runtime.quality import QualityTrack, at_device_rate, block_snr_db
from ulde.runtime.resampling import Resampler, ResamplerState
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

FRAMES_PER_BATCH = 16
"""Frames whose numpy work runs together (each still one interpreter call): bounds a long chunk's
transient memory to a few times 16 * leads * T * 4 bytes."""


@dataclass
class _Stream:
    """Everything a stream carries from one chunk to the next; copied per call, so a failed call leaves
    the stream as it was."""

    layout: Layout
    frame: np.ndarray  # (leads, T) input frame buffer, float32 until a float64 chunk arrives
    acc: np.ndarray  # (leads, T) float32 overlap-add accumulator
    fill: int  # samples in the frame buffer, counting the virtual head
    skip: int  # leading outputs that belong to the virtual head
    head_written: bool  # the virtual head is mirrored in once, see _write_head
    n_in: int = 0  # real samples accepted (at the model's rate)
    n_out: int = 0  # real samples returned (at the model's rate)
    to_model: ResamplerState | None = None  # device rate -> model rate, where they differ
    from_model: ResamplerState | None = None  # and back
    quality_track: QualityTrack | None = None  # model-rate quality awaiting its device-rate outputs
    history: np.ndarray | None = None  # (leads, <= span - T) float64 padded samples before the frame buffer,
    # for a contract whose conditioning span is longer than its window (runtime/normalization.py)

    def copy(self) -> _Stream:
        owned = ("to_model", "from_model", "quality_track", "history")
        copied = {name: None if getattr(self, name) is None else getattr(self, name).copy() for name in owned}
        return replace(self, frame=self.frame.copy(), acc=self.acc.copy(), **copied)

    def hold(self, dtype: np.dtype) -> None:
        """Make the frame buffer able to hold ``dtype`` samples exactly (float32 widens to float64 once)."""
        if self.frame.dtype != np.result_type(self.frame.dtype, dtype):
            self.frame = self.frame.astype(np.float64)


def _framing(terms: ModelContract, hop: int | None, taper: str | None) -> Framing:
    """The contract's framing; ``hop`` and ``taper`` may change an overlap-add one, never an overlap-save one."""
    if not terms.low_latency:
        return make_framing(terms.window_samples, terms.recommended_hop_samples if hop is None else hop,
                            DEFAULT_TAPER if taper is None else taper)
    if taper is not None or (hop is not None and hop != terms.recommended_hop_samples):
        raise ValueError(f"a low-latency (overlap-save) model's framing is fixed by its contract: hop "
                         f"{terms.recommended_hop_samples}, no taper; pass neither hop= nor taper=")
    return overlap_save_framing(terms.window_samples, terms.recommended_hop_samples, terms.kept_start_samples)


def _strided_frames(samples: np.ndarray, window: int, hop: int, count: int) -> np.ndarray:
    """(count, leads, T) read-only view of frames k*H .. k*H + T of C-contiguous (leads, n) samples."""
    frames = np.ndarray((count, samples.shape[0], window), dtype=samples.dtype, buffer=samples,
                        strides=(hop * samples.itemsize, samples.strides[0], samples.itemsize))
    frames.flags.writeable = False
    return frames


class StreamingDenoiser:
    """Denoise an unbounded ECG stream chunk by chunk; any chunking gives the offline result exactly.

    Args:
        model: path of a ``.tflite`` (LiteRT) or ``.onnx`` (onnxruntime) model, or an open
            ``ulde.runtime.Model``; None = the shipped fully-int8 ``ulde_int8.tflite``. Everything needed
            to run it (window T, sample rate, hop, conditioning, I/O encoding, output rule) is read from
            the contract inside the file (runtime/contract.py).
        contract: the terms for a model file that carries none (see ``ulde.runtime.Model``).
        hop: frame hop H in samples (1..T); None = the contract's recommended hop.
        sample_rate_hz: rate of the samples you will pass and get back, in Hz: the model's (360 Hz), or
            any rate from 100 to 1000 Hz whose ratio to it reduces to integers up to 1000 (125, 128, 200,
            250, 256, 500, 512, 1000 Hz ...): resampled to the model's rate and back in the stream
            (``runtime/resampling.py``), the output at your rate, one sample per input sample.
        taper: "hann" (default) or "rect" overlap-add weights.
        low_latency: run the shipped low-latency model (``ulde_int8_low_latency.tflite``; or ``model``,
            which must then be one): short frames, each keeping only the outputs whose receptive field
            lies inside it (overlap-save, runtime/framing.py; the shipped terms are signal_spec.py's
            LOW_LATENCY_*). Its hop and framing are fixed by its contract (``hop``/``taper`` are
            refused); it conditions each frame on the stream's last ``conditioning_span`` samples up
            to the frame's end (runtime/normalization.py), so the stream also keeps that many past
            samples (less the window) per lead.
        num_threads: interpreter threads (1 keeps a wearable-like, deterministic single core).
        quality: make ``process`` and ``flush`` return ``(samples, quality)``: per sample, the estimated
            input SNR in dB of the block it was released in, from what the model removed there
            (``runtime/quality.py``; blocks of H model samples, 5 s for the shipped model).

    ``process(chunk)`` takes (n,) or (n, leads) float32/float64 samples in mV, any n >= 0, and returns
    the float32 samples that became final, in the same layout; ``flush()`` returns the rest and resets.
    Across one stream the outputs concatenate to exactly the input's length, output i matching input i.
    Leads are denoised independently (identical to streaming each lead alone).

    Latency: ``latency_samples`` = T - 1 = 3599 samples, ``latency_seconds`` = 3599 / 360 Hz = 9.997 s
    for the shipped model (T = 3600, H = 1800; at another ``sample_rate_hz`` plus the two resamplers'
    look-ahead): output is released in blocks of H samples, one block per H input samples,
    and the newest sample of a block waits T - H samples, the oldest T - 1. A low-latency model's
    (overlap-save, kept span from s0): T - 1 - s0 for the oldest, T - s0 - H for the newest. Cost: one interpreter call
    per lead per H input samples (``calls_per_second`` per lead). Memory: two (leads, T) buffers (the
    input frame in the chunks' dtype, float64 from the first float64 chunk on, so that the conditioning
    removes an offset without rounding; the accumulator in float32), whatever the stream's length; nothing of past chunks is kept (a chunk that completes many frames
    handles them FRAMES_PER_BATCH at a time).

    Each frame is conditioned as the contract's ``input_conditioning`` says (``runtime/normalization.py``):
    for ulde's models, the frame's mean removed and the rest divided by its peak, the output multiplied
    back; a constant offset of the input therefore never reaches the output.

    The first and last samples get full taper weight: the stream is framed as if preceded by T - H
    samples and, at ``flush()``, followed by samples up to the end of the last frame, both mirrored
    from the stream's own ends (see ``framing``). The head's mirror uses only the first frame's samples,
    so it adds no delay.

    Each call is all or nothing: if anything raises once a chunk has been accepted (an interpreter
    error, a KeyboardInterrupt), the stream is exactly as before the call and the chunk can be passed
    again; no sample is lost or doubled. One stream runs one call at a time: a call from a second
    thread while another runs raises ``ModelBusyError`` at once. ``copy.copy`` and ``copy.deepcopy``
    give an independent stream (its own interpreter) continuing from the same state.
    """

    def __init__(self, model: str | os.PathLike | Model | None = None, *, contract: ModelContract | None = None,
                 hop: int | None = None, sample_rate_hz: float = SAMPLE_RATE_HZ, taper: str | None = None,
                 num_threads: int = 1, quality: bool = False, low_latency: bool = False):
        if low_latency and model is None:
            model = shipped_model(LOW_LATENCY_MODEL)
        if isinstance(model, Model):
            if contract is not None:
                raise ValueError("pass contract= to Model(...), not with an open Model")
            self._model = model
        else:
            self._model = Model(model, contract=contract, num_threads=num_threads)
        terms = self._model.contract
        if low_latency and not terms.low_latency:
            raise ValueError(f"low_latency=True needs a low-latency (overlap-save) model file; {self._model.path} is a "
                             f"{terms.window_samples}-sample overlap-add model (the shipped one is {LOW_LATENCY_MODEL})")
        self.framing = _framing(terms, hop, taper)
        self._resamplers = None if sample_rate_hz == terms.sample_rate_hz else \
            (Resampler(sample_rate_hz, terms.sample_rate_hz), Resampler(terms.sample_rate_hz, sample_rate_hz))
        self._rate = float(sample_rate_hz)  # checked by Resampler unless it is the model's
        self._quality = bool(quality)
        self._busy = threading.Lock()
        self._stream: _Stream | None = None

    @property
    def model(self) -> Model:
        """The ``ulde.runtime.Model`` this stream runs."""
        return self._model

    @property
    def model_path(self):
        return self._model.path

    @property
    def contract(self) -> ModelContract:
        return self._model.contract

    @property
    def sample_rate_hz(self) -> float:
        """The rate of the samples passed and returned (the model's, or the one it resamples from)."""
        return self._rate

    @property
    def input_normalization(self) -> str:
        """The contract's input conditioning mode (runtime/normalization.py)."""
        return self._model.contract.input_conditioning

    @property
    def window_samples(self) -> int:
        """Model window T in samples (read from the model)."""
        return self.framing.window

    @property
    def hop_samples(self) -> int:
        """Hop H in samples between consecutive frames."""
        return self.framing.hop

    @property
    def latency_seconds(self) -> float:
        """Worst-case algorithmic delay in seconds: T - 1 model samples (see the class docstring), plus
        each resampler's look-ahead where the stream's rate is not the model's."""
        framing = self.framing.latency_samples / self._model.sample_rate_hz
        return framing + (0.0 if self._resamplers is None else sum(r.latency_seconds for r in self._resamplers))

    @property
    def latency_samples(self) -> int:
        """``latency_seconds`` in samples at ``sample_rate_hz`` (T - 1 at the model's rate), rounded up."""
        if self._resamplers is None:
            return self.framing.latency_samples
        return int(np.ceil(self.latency_seconds * self._rate - 1e-9))

    @property
    def calls_per_second(self) -> float:
        """Interpreter calls per second of signal, per lead (model rate / hop)."""
        return self._model.sample_rate_hz / self.hop_samples

    @property
    def backend(self) -> str:
        """Name of the interpreter: "litert" or "onnxruntime"."""
        return self._model.backend

    @contextlib.contextmanager
    def _entered(self):
        if not self._busy.acquire(blocking=False):
            raise ModelBusyError("this StreamingDenoiser is already running a call in another thread; "
                                 "use one StreamingDenoiser per thread (copy.copy(stream) forks one)")
        try:
            yield
        finally:
            self._busy.release()

    def reset(self) -> None:
        """Forget the stream: empty buffers, next chunk starts a new stream (possibly another layout)."""
        with self._entered():
            self._stream = None

    def buffer_nbytes(self) -> int:
        """Bytes held by the stream buffers: leads * T * (4 or 8, the input's float size, + 4) whatever the
        stream's length."""
        stream = self._stream
        if stream is None:
            return 0
        return stream.frame.nbytes + stream.acc.nbytes + (0 if stream.history is None else stream.history.nbytes)

    def _new_stream(self, layout: Layout) -> _Stream:
        shape, pad = (layout.leads, self.window_samples), self.framing.left_pad
        stream = _Stream(layout, np.zeros(shape, dtype=np.float32), np.zeros(shape, dtype=np.float32),
                         fill=pad, skip=self.framing.head_outputs, head_written=pad == 0)
        if self.contract.conditioning_span > self.window_samples:
            stream.history = np.zeros((layout.leads, 0), dtype=np.float64)
        if self._resamplers is not None:
            stream.to_model, stream.from_model = (r.new_state(layout.leads) for r in self._resamplers)
            if self._quality:
                stream.quality_track = QualityTrack(np.zeros((layout.leads, 0), dtype=np.float32))
        return stream

    def process(self, chunk):
        """Accept a chunk, return the newly final denoised samples ((m,) or (m, leads) float32 mV), and
        with ``quality=True`` also their quality (same shape, float32 dB: the estimated input SNR of
        each sample's block, runtime/quality.py).

        Raises TypeError/ValueError for a bad chunk, and re-raises anything raised while running it,
        without changing any state.
        """
        with self._entered():
            samples, layout = as_samples(chunk, None if self._stream is None else self._stream.layout)
            stream = self._new_stream(layout) if self._stream is None else self._stream.copy()
            if self._resamplers is None:
                released = self._consume(stream, samples)
            else:
                released = self._to_device(stream, self._consume(stream, self._resamplers[0].process(stream.to_model, samples)))
            out = self._returned(stream, released)
            self._stream = stream  # the commit: nothing above changed self
            return out

    def flush(self):
        """Return the remaining samples (frames completed by mirroring the stream's end), as ``process``
        does, and reset for a new stream."""
        with self._entered():
            if self._stream is None:
                return self._returned(None, None)
            stream = self._stream.copy()
            if self._resamplers is None:
                released = self._flush_frames(stream)
            else:
                returned = stream.from_model.emitted
                rest = self._consume(stream, self._resamplers[0].flush(stream.to_model))
                rest = Released.joined([rest, self._flush_frames(stream)], stream.layout.leads, self._quality)
                released = self._to_device(stream, rest, flushing=True)
                released = released.first(stream.to_model.seen - returned)  # one output per input sample
            out = self._returned(stream, released)
            self._stream = None
            return out

    def _to_device(self, stream: _Stream, released: Released, flushing: bool = False) -> Released:
        """Model-rate samples and quality -> the device-rate outputs they make final (all, when flushing)."""
        from_model = self._resamplers[1]
        start = stream.from_model.emitted
        samples = from_model.process(stream.from_model, released.samples)
        if flushing:
            samples = np.concatenate((samples, from_model.flush(stream.from_model)), axis=1)
        if released.quality is None:
            return Released(samples, None)
        quality = at_device_rate(stream.quality_track, released.quality, range(start, stream.from_model.emitted),
                                 from_model.up, from_model.down, stream.from_model.seen)
        return Released(samples, quality)

    def _returned(self, stream: _Stream | None, released: Released | None):
        """What process/flush return: the samples in the stream's layout, with their quality if asked."""
        if released is None:
            empty = np.zeros(0, dtype=np.float32)
            return (empty, empty.copy()) if self._quality else empty
        if not self._quality:
            return _shaped(stream.layout, released.samples)
        return tuple(_shaped(stream.layout, part) for part in released)

    def _flush_frames(self, stream: _Stream) -> Released:
        """The model-rate samples still buffered: the last frames, completed by mirroring the stream's end."""
        frames, levels = np.zeros((0,) + stream.frame.shape, dtype=stream.frame.dtype), None
        if stream.n_out < stream.n_in:
            if not stream.head_written:
                self._write_head(stream, stream.frame, stream.fill)
            window, hop, fill = self.window_samples, self.hop_samples, stream.fill
            count = self.framing.frames_to_release(fill)
            tail = mirror_pad(stream.frame[:, :fill], 0, (count - 1) * hop + window - fill)
            frames, levels = _strided_frames(tail, window, hop, count), self._levels(stream, tail, count)
        return self._overlap_add(stream, frames, levels, limit=stream.n_in - stream.n_out)

    def __copy__(self) -> StreamingDenoiser:
        """An independent stream: its own Model (interpreter) and a copy of this stream's state."""
        with self._entered():
            twin = object.__new__(type(self))
            twin._model, twin.framing = self._model.reopened(), self.framing
            twin._rate, twin._resamplers, twin._quality = self._rate, self._resamplers, self._quality
            twin._busy = threading.Lock()
            twin._stream = None if self._stream is None else self._stream.copy()
            return twin

    def __deepcopy__(self, memo) -> StreamingDenoiser:
        return self.__copy__()

    def _write_head(self, stream: _Stream, frame: np.ndarray, end: int) -> None:
        """Mirror the real samples at positions P..end of ``frame`` (the stream's first positions) into
        the P virtual positions before them; once per stream, from the first frame's samples only."""
        head = self.framing.left_pad
        frame[:, :head] = mirror_pad(frame[:, head:end], head, 0)[:, :head]
        stream.head_written = True

    def _consume(self, stream: _Stream, samples: np.ndarray) -> Released:
        """Buffer the samples; the frames they complete run FRAMES_PER_BATCH at a time, each batch framed
        as strided views of one slab (the buffered samples followed by the chunk's next ones)."""
        stream.hold(samples.dtype)
        stream.n_in += samples.shape[1]
        blocks, pos, n = [], 0, samples.shape[1]
        window, hop = self.window_samples, self.hop_samples
        while stream.fill + n - pos >= window:
            count = min((stream.fill + n - pos - window) // hop + 1, FRAMES_PER_BATCH)
            take = (count - 1) * hop + window - stream.fill
            slab = np.concatenate((stream.frame[:, : stream.fill], samples[:, pos : pos + take]), axis=1)
            pos += take
            if not stream.head_written:
                self._write_head(stream, slab, window)
            levels = self._levels(stream, slab, count)
            blocks.append(self._overlap_add(stream, _strided_frames(slab, window, hop, count), levels))
            rest = slab[:, count * hop :]  # the next frame's first T - H samples
            stream.frame[:, : rest.shape[1]] = rest
            stream.fill = rest.shape[1]
        stream.frame[:, stream.fill : stream.fill + n - pos] = samples[:, pos:]
        stream.fill += n - pos
        return Released.joined(blocks, stream.layout.leads, self._quality)

    def _levels(self, stream: _Stream, slab: np.ndarray, count: int) -> Levels | None:
        """The conditioning levels of the ``count`` frames of ``slab`` (which starts at the frame buffer's
        first position), (count, leads, 1) each, where the contract's conditioning span is longer than
        the window (else None); the history advances past the frames' first hops."""
        if stream.history is None:
            return None
        hop, window, span = self.hop_samples, self.window_samples, self.contract.conditioning_span
        stream_axis = np.concatenate((stream.history, slab[:, : (count - 1) * hop + window]), axis=1)
        before = stream.history.shape[1]
        levels = trailing_levels(stream_axis, [before + k * hop + window for k in range(count)], span)
        stream.history = stream_axis[:, max(0, before + count * hop - (span - window)) : before + count * hop].copy()
        return levels

    def _overlap_add(self, stream: _Stream, frames: np.ndarray, levels: Levels | None,
                     limit: int | None = None) -> Released:
        """Denoise consecutive frames (k, leads, T), add each into the accumulator and pop its H final
        samples; (leads, m) with m <= k * H, at most ``limit`` (the rest of a flushed stream), and
        their quality (runtime/quality.py: each H-sample block's estimated input SNR).

        The model runs the frames FRAMES_PER_BATCH at a time (runtime/model.py): element by element the
        same operations as frame by frame, and each position sums its frames' contributions in frame
        order, so any chunking gives the same output.
        """
        hop, window, leads, kept = self.hop_samples, self.window_samples, stream.layout.leads, self.framing.kept_start
        outputs, inputs, lengths = [], [], []
        for start in range(0, len(frames), FRAMES_PER_BATCH):
            batch = frames[start : start + FRAMES_PER_BATCH]
            denoised = self._model.denoise_frames(batch, None if levels is None else
                                                  levels.select(slice(start, start + FRAMES_PER_BATCH)))  # a fresh array
            denoised *= self.framing.taper
            count = len(denoised)
            summed = np.zeros((leads, (count - 1) * hop + window), dtype=np.float32)
            summed[:, :window] = stream.acc
            for index, contribution in enumerate(denoised):
                summed[:, index * hop : index * hop + window] += contribution
            final = summed[:, kept : kept + count * hop].reshape(-1, count, hop) / self.framing.coverage
            stream.acc[:, : window - hop] = summed[:, count * hop :]
            stream.acc[:, window - hop :] = 0.0
            drop = min(stream.skip, count * hop)
            stream.skip -= drop
            outputs.append(final.reshape(-1, count * hop)[:, drop:])
            if self._quality:
                inputs.append(batch[:, :, kept : kept + hop].transpose(1, 0, 2).reshape(leads, count * hop)[:, drop:])
                lengths += [hop - min(hop, max(0, drop - i * hop)) for i in range(count)]
        out = _side_by_side(outputs, leads)[:, :limit]
        stream.n_out += out.shape[1]
        if not self._quality:
            return Released(out, None)
        kept = np.diff(np.minimum(np.cumsum([0] + lengths), out.shape[1]))
        return Released(out, block_snr_db(_side_by_side(inputs, leads)[:, :limit], out, kept[kept > 0]))


class Released(NamedTuple):
    """Samples a call makes final, (leads, m) float32 mV, and their quality, (leads, m) float32 dB
    (None unless the stream was asked for it: then it costs nothing)."""

    samples: np.ndarray
    quality: np.ndarray | None

    @staticmethod
    def joined(parts: list[Released], leads: int, quality: bool) -> Released:
        samples = _side_by_side([p.samples for p in parts], leads)
        return Released(samples, _side_by_side([p.quality for p in parts], leads) if quality else None)

    def first(self, count: int) -> Released:
        return Released(self.samples[:, :count], None if self.quality is None else self.quality[:, :count])


def _side_by_side(blocks: list[np.ndarray], leads: int | None) -> np.ndarray:
    """(leads, m) blocks side by side: (leads, sum of m)."""
    if not blocks:
        return np.zeros((leads, 0), dtype=np.float32)
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=1)


def _shaped(layout: Layout, out: np.ndarray) -> np.ndarray:
    out = out.astype(np.float32, copy=False)
    return out[0].copy() if layout.ndim == 1 else np.ascontiguousarray(out.T)
