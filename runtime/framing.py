"""Frame a stream: window, hop, taper, the summed-taper normalisation and the stream's ends.

Two framings, one arithmetic. **Overlap-add** (the 10 s models): every output of a frame is weighted by
a taper spanning the whole window and frames overlap. **Overlap-save** (the low-latency models): each
frame keeps only its outputs ``kept_start .. kept_start + H - 1`` (a taper of ones there and zeros
elsewhere), frames tile the stream without overlap, and the kept outputs are those whose receptive
field lies inside the frame. In both, the taper's support is [s0, s1) (s0 = 0, s1 = T for overlap-add;
s0 = kept_start, s1 = kept_start + H for overlap-save) and the formulas below hold with P = s1 - H.

A stream x[0..n) is framed on a virtual padded axis p = [mirror(P), x, mirror(...)] with P = T - H
(T window, H hop, both in samples). Frame k covers p[kH : kH + T]; its output is multiplied by the
taper w and added into an accumulator. Every padded position q >= P, i.e. every real sample, is
covered by the same set of taper offsets {(q - kH)}, so dividing the accumulated sum by
``coverage[q mod H] = sum_m w[q mod H + m*H]`` weights the overlapping frames to sum to exactly one,
including the first and last real samples (the padding supplies the missing frame content).

The padding mirrors the signal at its ends (``mirror_pad``, numpy's "symmetric" mode): the network
then sees ECG-like context on both sides of every frame instead of a step to zeros. On the validation
split (docs/runtime.md) this halves what an isolated 10 s window loses against one model call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TAPERS = ("hann", "rect")
OVERLAP_ADD, OVERLAP_SAVE = "overlap-add", "overlap-save"
FRAMINGS = (OVERLAP_ADD, OVERLAP_SAVE)
DEFAULT_TAPER = "hann"
DEFAULT_HOP_DIVISOR = 2
"""Default hop = window // 2 = 1800 samples (5 s), used when the manifest gives none: 2 interpreter
calls per window, with a Hann taper; why, measured: docs/model.md, "Measurements behind the export's design".
The manifest's ``recommended_hop_samples`` overrides this default per model."""


def make_taper(name: str, window: int) -> np.ndarray:
    """Taper of ``window`` samples, float32.

    ``hann``: w[n] = sin^2(pi (n + 1/2) / T), a half-sample-shifted periodic Hann with no zero weight,
    whose copies shifted by T/2 (or T/4, ...) already sum to one. ``rect``: all ones (plain averaging).
    """
    if name == "hann":
        n = np.arange(window, dtype=np.float64)
        return (np.sin(np.pi * (n + 0.5) / window) ** 2).astype(np.float32)
    if name == "rect":
        return np.ones(window, dtype=np.float32)
    raise ValueError(f"unknown taper {name!r}; expected one of {TAPERS}")


def coverage(taper: np.ndarray, hop: int) -> np.ndarray:
    """Summed taper weight of each position modulo the hop, (hop,) float32 (summed in float64)."""
    window = taper.shape[0]
    padded = np.zeros(-(-window // hop) * hop, dtype=np.float64)
    padded[:window] = taper
    return padded.reshape(-1, hop).sum(axis=0).astype(np.float32)


def mirror_pad(samples: np.ndarray, before: int, after: int) -> np.ndarray:
    """(leads, n) -> (leads, before + n + after): the ends reflected, edge samples repeated (n >= 1).

    Pads longer than n reflect again (numpy "symmetric" mode), so any n >= 1 works.
    """
    return np.pad(samples, ((0, 0), (before, after)), mode="symmetric")


def framing_latency(window: int, kept_start: int) -> int:
    """Worst-case delay from a sample's arrival to its output, T - 1 - s0 samples (``Framing.latency_samples``)."""
    return window - 1 - kept_start


@dataclass(frozen=True)
class Framing:
    """Window T and hop H in samples, the taper (T,) and its coverage (H,), both float32, and the first
    output a frame weights, s0 (0 for overlap-add, the kept span's start for overlap-save)."""

    window: int
    hop: int
    taper: np.ndarray
    coverage: np.ndarray
    kept_start: int = 0

    @property
    def left_pad(self) -> int:
        """Virtual (mirrored) samples before the first sample, P = s1 - H: T - H for overlap-add, so every
        real sample has all its overlapping frames; the kept start for overlap-save, so the first real
        sample is the first frame's first kept output."""
        return self.kept_start if self.kept_start else self.window - self.hop

    @property
    def head_outputs(self) -> int:
        """Released outputs that belong to the virtual head (P - s0): dropped, never returned."""
        return self.left_pad - self.kept_start

    @property
    def latency_samples(self) -> int:
        """Worst-case delay from a sample's arrival to its output: T - 1 - s0 samples.

        After frame k (padded positions kH .. kH + T - 1) has run, positions kH + s0 .. kH + s0 + H - 1
        are final (no later frame weights them); the first of them waited for input up to kH + T - 1.
        Overlap-add: T - 1 at block starts, T - H at block ends. Overlap-save: T - 1 - s0 at block starts,
        T - s0 - H (the frame's look-ahead past its kept span) at block ends.
        """
        return framing_latency(self.window, self.kept_start)

    def frames_to_release(self, buffered: int) -> int:
        """Frames that release every one of ``buffered`` samples at the frame buffer's start."""
        return max(1, -(-(buffered - self.kept_start) // self.hop))


def overlap_save_framing(window: int, hop: int, kept_start: int) -> Framing:
    """Frames of ``window`` samples every ``hop``, each keeping outputs kept_start .. kept_start + hop - 1."""
    for name, value in (("window", window), ("hop", hop), ("kept_start", kept_start)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int number of samples, got {type(value).__name__}")
    if not (1 <= kept_start and 1 <= hop and kept_start + hop <= window):
        raise ValueError(f"an overlap-save kept span {kept_start} .. {kept_start + hop - 1} must lie inside the "
                         f"{window}-sample window and not start at 0")
    weights = np.zeros(window, dtype=np.float32)
    weights[kept_start : kept_start + hop] = 1.0
    return Framing(int(window), int(hop), weights, np.ones(hop, dtype=np.float32), int(kept_start))


def make_framing(window: int, hop: int | None = None, taper: str = DEFAULT_TAPER) -> Framing:
    """Checked framing; ``hop`` None means window // DEFAULT_HOP_DIVISOR. ValueError on a bad hop."""
    if hop is None:
        hop = max(1, window // DEFAULT_HOP_DIVISOR)
    if isinstance(hop, bool) or not isinstance(hop, (int, np.integer)):
        raise TypeError(f"hop must be an int number of samples, got {type(hop).__name__}")
    if not 1 <= hop <= window:
        raise ValueError(f"hop must be between 1 and the model window ({window} samples), got {hop}")
    weights = make_taper(taper, window)
    cover = coverage(weights, int(hop))
    if not np.all(cover > 0):
        raise ValueError(f"taper {taper!r} with hop {hop} leaves positions with zero weight")
    return Framing(window, int(hop), weights, cover)
