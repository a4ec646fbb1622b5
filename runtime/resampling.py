"""Streaming rational resampling in numpy: a polyphase Kaiser-windowed-sinc FIR that keeps its own state.

A device rate f_in becomes f_out = f_in * up / down (up, down coprime integers). Output sample k, at
time k / f_out, is

    y[k] = sum_j h_p[j] * x[n0 - j],   q = k * down + HALF,   p = q mod up,   n0 = q // up,

the zero-stuffed input filtered at f_in * up by a linear-phase low-pass h of 2 * HALF + 1 taps
(HALF = HALF_TAPS_PER_FACTOR * max(up, down); cutoff min(f_in, f_out) / 2; Kaiser window, beta
KAISER_BETA: the design of scipy.signal.resample_poly) split into its ``up`` phases h_p. The filter is
centred: y[k] is aligned to x's time, so output k waits for input n0, HALF / up input samples ahead
(``latency_seconds``). Each phase is scaled to sum to exactly one, so a constant input (a DC offset)
comes out as the same constant, with no ripple at the phase pattern.

The signal is taken as extended by its first sample before it and, at ``flush``, by its last sample
after it; the outputs cover times before the input's end: ceil(n * up / down) samples for n inputs.
Every output is one dot product over the same samples whatever the chunking, so streaming equals the
one-call result bit for bit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

MIN_RATE_HZ, MAX_RATE_HZ = 100.0, 1000.0
"""Device rates the runtime resamples from and to."""
MAX_FACTOR = 1000
"""Largest up or down factor: a rate whose ratio to the model's does not reduce below it is refused."""
HALF_TAPS_PER_FACTOR = 10
KAISER_BETA = 5.0
OUTPUTS_PER_BLOCK = 4096
"""Outputs computed together: bounds a long chunk's gather to leads * 4096 * taps-per-phase floats."""


def resampling_ratio(from_hz: float, to_hz: float) -> tuple[int, int]:
    """(up, down), coprime, with to_hz = from_hz * up / down; ValueError for a rate out of range or
    a ratio that does not reduce to factors <= MAX_FACTOR."""
    for name, rate in (("sample rate", from_hz), ("model rate", to_hz)):
        if not (isinstance(rate, (int, float, np.integer, np.floating)) and not isinstance(rate, bool)
                and np.isfinite(rate) and MIN_RATE_HZ <= rate <= MAX_RATE_HZ):
            raise ValueError(f"{name} {rate!r} Hz is outside the {MIN_RATE_HZ:g}-{MAX_RATE_HZ:g} Hz the runtime resamples")
    from fractions import Fraction  # here, not at import: a 360 Hz stream keeps fractions and decimal out of memory

    ratio = (Fraction(float(to_hz)) / Fraction(float(from_hz))).limit_denominator(MAX_FACTOR)
    if ratio.numerator > MAX_FACTOR or abs(float(ratio) * from_hz - to_hz) > 1e-9 * to_hz:
        raise ValueError(f"{from_hz} Hz to {to_hz} Hz is not a ratio of integers up to {MAX_FACTOR} (e.g. 250 -> 360 "
                         f"is 36/25); resample to a rate that is first")
    return ratio.numerator, ratio.denominator


@functools.lru_cache(maxsize=32)
def _phases(up: int, down: int) -> np.ndarray:
    """(up, J) float64: phase p's taps in the order they meet x[n0 - J + 1 .. n0], each row summing to one."""
    half = HALF_TAPS_PER_FACTOR * max(up, down)
    cutoff = 1.0 / max(up, down)  # of the upsampled rate's Nyquist
    taps = np.arange(-half, half + 1, dtype=np.float64)
    h = cutoff * np.sinc(cutoff * taps) * np.kaiser(2 * half + 1, KAISER_BETA)
    per_phase = -(-h.size // up)
    padded = np.zeros(up * per_phase)
    padded[: h.size] = h
    phases = padded.reshape(per_phase, up).T  # phases[p, j] = h[p + j * up]
    phases = phases / phases.sum(axis=1, keepdims=True)
    phases = np.ascontiguousarray(phases[:, ::-1])  # tap j meets x[n0 - j]: reversed, it meets x in time order
    phases.flags.writeable = False
    return phases


@dataclass
class ResamplerState:
    """One stream's resampling state: the input samples still needed and where the stream is."""

    history: np.ndarray  # (leads, h) float64: inputs from global index ``first`` on
    first: int  # global input index of history[:, 0] (negative while it holds the head's extension)
    seen: int = 0  # real inputs accepted
    emitted: int = 0  # outputs returned

    def copy(self) -> ResamplerState:
        return replace(self, history=self.history.copy())


class Resampler:
    """f_in -> f_out for one stream layout; the state lives in a ResamplerState (the caller copies it
    per call, which makes a call all or nothing)."""

    def __init__(self, from_hz: float, to_hz: float):
        self.from_hz, self.to_hz = float(from_hz), float(to_hz)
        self.up, self.down = resampling_ratio(from_hz, to_hz)
        self.phases = _phases(self.up, self.down)
        self.half = HALF_TAPS_PER_FACTOR * max(self.up, self.down)

    @property
    def taps_per_phase(self) -> int:
        return self.phases.shape[1]

    @property
    def latency_seconds(self) -> float:
        """Longest wait of an output for the input it needs: HALF / up input samples, at most."""
        return self.half / self.up / self.from_hz

    def new_state(self, leads: int) -> ResamplerState:
        return ResamplerState(np.zeros((leads, 0)), first=0)

    def total_outputs(self, inputs: int) -> int:
        """Outputs for ``inputs`` input samples: those at times before the input's end."""
        return -(-inputs * self.up // self.down)

    def process(self, state: ResamplerState, samples: np.ndarray) -> np.ndarray:
        """Accept (leads, n) samples; return the (leads, m) float64 outputs they make final."""
        if samples.shape[1] and state.seen == 0:  # extend the stream before its first sample
            head = self.taps_per_phase - 1
            state.history, state.first = np.repeat(samples[:, :1].astype(np.float64), head, axis=1), -head
        state.history = np.concatenate((state.history, samples), axis=1)
        state.seen += samples.shape[1]
        ready = self._ready(state.seen)
        return self._emit(state, ready)

    def flush(self, state: ResamplerState) -> np.ndarray:
        """The outputs left, the input extended by its last sample as far as they need."""
        total = self.total_outputs(state.seen)
        if total <= state.emitted:
            return np.zeros((state.history.shape[0], 0))
        needed = (self._source(total - 1) + 1) - (state.first + state.history.shape[1])
        if needed > 0:
            tail = np.repeat(state.history[:, -1:], needed, axis=1)
            state.history = np.concatenate((state.history, tail), axis=1)
        return self._emit(state, total)

    def _source(self, k: int) -> int:
        """n0: the newest input output k needs."""
        return (k * self.down + self.half) // self.up

    def _ready(self, seen: int) -> int:
        """Outputs whose newest input has arrived (n0 <= seen - 1), never past the input's end."""
        if seen == 0:
            return 0
        ready = ((seen - 1) * self.up + self.up - 1 - self.half) // self.down + 1
        return max(0, min(ready, self.total_outputs(seen)))

    def _emit(self, state: ResamplerState, end: int) -> np.ndarray:
        leads, width = state.history.shape[0], self.taps_per_phase
        blocks = []
        for start in range(state.emitted, end, OUTPUTS_PER_BLOCK):
            k = np.arange(start, min(end, start + OUTPUTS_PER_BLOCK))
            q = k * self.down + self.half
            offsets = q // self.up - (width - 1) - state.first  # history index of each output's oldest input
            gathered = state.history[:, offsets[:, None] + np.arange(width)]  # (leads, K, J)
            blocks.append(np.multiply(gathered, self.phases[q % self.up]).sum(axis=-1))
        state.emitted = max(state.emitted, end)
        keep_from = self._source(state.emitted) - (width - 1) - state.first  # the next output's oldest input
        if keep_from > 0:
            state.history, state.first = state.history[:, keep_from:], state.first + keep_from
        return np.concatenate(blocks, axis=1) if blocks else np.zeros((leads, 0))
