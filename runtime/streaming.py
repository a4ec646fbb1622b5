"""StreamingDenoiser: chunk-in, chunk-out overlap-add denoising with O(window) memory."""

from __future__ import annotations

import os

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ulde.runtime.backends import LeadRunner, open_backend
from ulde.runtime.chunks import Layout, as_samples
from ulde.runtime.framing import DEFAULT_TAPER, make_framing, mirror_pad
from ulde.runtime.model_files import read_manifest, resolve_model
from ulde.runtime.normalization import normalize
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

FRAMES_PER_BATCH = 16
"""Frames whose numpy work runs together (each still one interpreter call): bounds a long chunk's
transient memory to a few times 16 * leads * T * 4 bytes."""
RESAMPLE_HINT = (
    "resample first, e.g. scipy.signal.resample_poly(x, up, down, axis=0) with "
    "up/down = {model}/{given} reduced by their gcd (ulde-denoise does this for files)"
)


class StreamingDenoiser:
    """Denoise an unbounded ECG stream chunk by chunk; any chunking gives the offline result exactly.

    Args:
        model: path of a ``.tflite`` (LiteRT) or ``.onnx`` (onnxruntime) model; None = the shipped
            fully-int8 ``ulde_int8.tflite``. Window T (samples), I/O dtypes and int8 scale/zero point
            are read from the model; its sample rate and recommended hop from ``manifest.json`` beside it.
        hop: frame hop H in samples (1..T); None = the manifest's recommended hop, else T // 2.
        sample_rate_hz: rate of the samples you will pass, in Hz; must equal the model's (360 Hz).
        taper: "hann" (default) or "rect" overlap-add weights.
        num_threads: interpreter threads (1 keeps a wearable-like, deterministic single core).

    ``process(chunk)`` takes (n,) or (n, leads) float32/float64 samples in mV, any n >= 0, and returns
    the float32 samples that became final, in the same layout; ``flush()`` returns the rest and resets.
    Across one stream the outputs concatenate to exactly the input's length, output i matching input i.
    Leads are denoised independently (identical to streaming each lead alone).

    Latency: ``latency_samples`` = T - 1 = 3599 samples, ``latency_seconds`` = 3599 / 360 Hz = 9.997 s
    for the shipped model (T = 3600, H = 1800): output is released in blocks of H samples, one block per H input samples,
    and the newest sample of a block waits T - H samples, the oldest T - 1. Cost: one interpreter call
    per lead per H input samples (``calls_per_second`` per lead). Memory: two (leads, T) buffers (the
input frame in float64, so that the conditioning removes an offset without rounding; the accumulator in float32),
    whatever the stream's length; nothing of past chunks is kept (a chunk that completes many frames
    handles them FRAMES_PER_BATCH at a time).

    Each frame is conditioned as the manifest's ``input_normalization`` says (``runtime/normalization.py``):
    for ulde's models, the frame's mean removed and the rest divided by its peak, the output multiplied
    back; a constant offset of the input therefore never reaches the output.

    The first and last samples get full taper weight: the stream is framed as if preceded by T - H
    samples and, at ``flush()``, followed by samples up to the end of the last frame, both mirrored
    from the stream's own ends (see ``framing``). The head's mirror uses only the first frame's samples,
    so it adds no delay.
    """

    def __init__(self, model: str | os.PathLike | None = None, *, hop: int | None = None,
                 sample_rate_hz: float = SAMPLE_RATE_HZ, taper: str = DEFAULT_TAPER, num_threads: int = 1):
        self.model_path = resolve_model(model)
        manifest = read_manifest(self.model_path)
        if sample_rate_hz != manifest.sample_rate_hz:
            hint = RESAMPLE_HINT.format(model=manifest.sample_rate_hz, given=sample_rate_hz)
            raise ValueError(f"the model expects {manifest.sample_rate_hz} Hz samples, got sample_rate_hz="
                             f"{sample_rate_hz}; {hint}")
        self.sample_rate_hz = manifest.sample_rate_hz
        self._backend = open_backend(self.model_path, num_threads)
        if manifest.window_samples is not None and manifest.window_samples != self._backend.window:
            raise ValueError(f"manifest says window_samples={manifest.window_samples} but model "
                             f"{self.model_path} has a {self._backend.window}-sample input")
        self.input_normalization = manifest.input_normalization
        self.framing = make_framing(self._backend.window, manifest.recommended_hop_samples if hop is None else hop, taper)
        self._runner = LeadRunner(self._backend)
        self.reset()

    @property
    def window_samples(self) -> int:
        """Model window T in samples (read from the model)."""
        return self.framing.window

    @property
    def hop_samples(self) -> int:
        """Hop H in samples between consecutive frames."""
        return self.framing.hop

    @property
    def latency_samples(self) -> int:
        """Worst-case algorithmic delay in samples, T - 1 (see the class docstring)."""
        return self.framing.latency_samples

    @property
    def latency_seconds(self) -> float:
        """``latency_samples`` in seconds at ``sample_rate_hz``."""
        return self.latency_samples / self.sample_rate_hz

    @property
    def calls_per_second(self) -> float:
        """Interpreter calls per second of signal, per lead (sample rate / hop)."""
        return self.sample_rate_hz / self.hop_samples

    @property
    def backend(self) -> str:
        """Name of the interpreter: "litert" or "onnxruntime"."""
        return self._backend.name

    def reset(self) -> None:
        """Forget the stream: empty buffers, next chunk starts a new stream (possibly another layout)."""
        self._layout: Layout | None = None
        self._frame = self._acc = None  # (leads, T) float64 input, float32 output, allocated by the first chunk
        self._fill = self.framing.left_pad  # samples in the frame buffer, counting the virtual head
        self._skip = self.framing.left_pad  # leading outputs that belong to the virtual head
        self._head_written = self.framing.left_pad == 0  # the virtual head is mirrored in once, see _write_head
        self._n_in = self._n_out = 0  # real samples accepted / returned

    def buffer_nbytes(self) -> int:
        """Bytes held by the stream buffers: constant (leads * T * (8 + 4)) whatever the stream's length."""
        return 0 if self._frame is None else self._frame.nbytes + self._acc.nbytes

    def process(self, chunk) -> np.ndarray:
        """Accept a chunk, return the newly final denoised samples ((m,) or (m, leads) float32 mV).

        Raises TypeError/ValueError for a bad chunk without changing any state.
        """
        samples, layout = as_samples(chunk, self._layout)
        if self._layout is None:
            self._layout = layout
            self._frame = np.zeros((layout.leads, self.window_samples), dtype=np.float64)
            self._acc = np.zeros(self._frame.shape, dtype=np.float32)
        self._n_in += samples.shape[1]
        return self._shaped(self._consume(samples))

    def flush(self) -> np.ndarray:
        """Return the remaining samples (frames completed by mirroring the stream's end) and reset for a new stream."""
        if self._layout is None:
            return np.zeros(0, dtype=np.float32)
        frames = np.zeros((0,) + self._frame.shape, dtype=np.float64)
        if self._n_out < self._n_in:
            if not self._head_written:
                self._write_head()
            window, hop, fill = self.window_samples, self.hop_samples, self._fill
            count = -(-fill // hop)  # frames until every buffered position has been released
            tail = mirror_pad(self._frame[:, :fill], 0, (count - 1) * hop + window - fill)
            frames = sliding_window_view(tail, window, axis=1)[:, ::hop].transpose(1, 0, 2)  # (count, leads, T) view
        out = self._shaped(self._overlap_add(frames, limit=self._n_in - self._n_out))
        self.reset()
        return out

    def _write_head(self) -> None:
        """Mirror the first real samples into the P virtual positions before them (once per stream)."""
        head = self.framing.left_pad
        self._frame[:, :head] = mirror_pad(self._frame[:, head : self._fill], head, 0)[:, :head]
        self._head_written = True

    def _consume(self, samples: np.ndarray) -> np.ndarray:
        """Buffer the samples; the frames they complete are copied out and run FRAMES_PER_BATCH at a time."""
        blocks, pos, n, count = [], 0, samples.shape[1], 0
        window, hop = self.window_samples, self.hop_samples
        completes = 0 if self._fill + n < window else (self._fill + n - window) // hop + 1  # frames this chunk completes
        batch = np.empty((min(completes, FRAMES_PER_BATCH),) + self._frame.shape, dtype=np.float64)
        while pos < n:
            take = min(window - self._fill, n - pos)
            self._frame[:, self._fill : self._fill + take] = samples[:, pos : pos + take]
            self._fill += take
            pos += take
            if self._fill == window:
                if not self._head_written:
                    self._write_head()
                batch[count] = self._frame
                count += 1
                self._frame[:, :-hop] = self._frame[:, hop:]
                self._fill -= hop
                if count == len(batch):  # bounds the copies a long chunk holds at once
                    blocks.append(self._overlap_add(batch))
                    count = 0
        blocks.append(self._overlap_add(batch[:count]))
        return self._joined(blocks)

    def _overlap_add(self, frames: np.ndarray, limit: int | None = None) -> np.ndarray:
        """Denoise consecutive frames (k, leads, T), add each into the accumulator and pop its H final
        samples; (leads, m) with m <= k * H, at most ``limit`` (the rest of a flushed stream).

        The per-frame normalisation and (de)quantization run once over all the frames: element by
        element the same operations as frame by frame, so any chunking gives the same output.
        """
        hop, blocks = self.hop_samples, []
        for start in range(0, len(frames), FRAMES_PER_BATCH):
            part = frames[start : start + FRAMES_PER_BATCH]  # (k, leads, T)
            normalized, scale = normalize(part, self.input_normalization)  # scale (k, leads, 1): per frame
            denoised = self._runner.run_frames(normalized)  # a fresh array: updated in place
            denoised *= scale
            denoised *= self.framing.taper
            for contribution in denoised:
                self._acc += contribution
                block = self._acc[:, :hop] / self.framing.coverage
                self._acc[:, :-hop] = self._acc[:, hop:]
                self._acc[:, -hop:] = 0.0
                drop = min(self._skip, hop)
                self._skip -= drop
                blocks.append(block[:, drop:])
        out = self._joined(blocks)
        out = out if limit is None else out[:, :limit]
        self._n_out += out.shape[1]
        return out

    def _joined(self, blocks: list) -> np.ndarray:
        """(leads, m) blocks side by side: (leads, sum of m)."""
        if not blocks:
            return np.zeros((self._layout.leads, 0), dtype=np.float32)
        return blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=1)

    def _shaped(self, out: np.ndarray) -> np.ndarray:
        return out[0].copy() if self._layout.ndim == 1 else np.ascontiguousarray(out.T)
