"""The signal contract shared by training, export and the runtime (torch-free).

Every other module takes these numbers from here: no bare 360 or 3600 elsewhere.
"""

SAMPLE_RATE_HZ = 360
"""Sampling rate of every signal the network sees (MIT-BIH / NSTDB native rate), in Hz."""

NETWORK_LEVELS = 4
"""Number of stride-2 downsamplings in the U-net encoder."""

TOTAL_STRIDE = 2**NETWORK_LEVELS  # 16: input lengths must be multiples of this

WINDOW_SECONDS = 10


def window_samples_at(rate_hz: float) -> int:
    """A model window at ``rate_hz``: WINDOW_SECONDS of samples, rounded down to a multiple of the
    total stride (3600 at 360 Hz; 2496 at 250 Hz, for a model trained at a device's own rate)."""
    return int(rate_hz * WINDOW_SECONDS) // TOTAL_STRIDE * TOTAL_STRIDE


WINDOW_SAMPLES = window_samples_at(SAMPLE_RATE_HZ)  # 3600 samples per model call
if WINDOW_SAMPLES != SAMPLE_RATE_HZ * WINDOW_SECONDS:
    raise ImportError(f"{WINDOW_SECONDS} s at {SAMPLE_RATE_HZ} Hz is not a multiple of the total stride {TOTAL_STRIDE}")

LOW_LATENCY_WINDOW_SAMPLES = 496
LOW_LATENCY_HOP_SAMPLES = 64
LOW_LATENCY_KEPT_START = 228
"""The low-latency (overlap-save) framing: frames of 496 samples (31 times the total stride) every 64
samples, each keeping only its outputs 228 .. 291, whose receptive field (the shipped student's reaches
219 samples back and 204 ahead, docs/runtime.md) lies inside the frame. Latency T - 1 - 228 = 267
samples; model samples run per output sample 496 / 64, against 3600 / 1800 in the 10 s mode."""

LOW_LATENCY_CONDITIONING_SPAN_SAMPLES = WINDOW_SAMPLES
"""The low-latency frames' offset and peak are those of the stream's last 3600 samples up to the frame's
end, not of the 496-sample frame (runtime/normalization.py says why)."""

if LOW_LATENCY_WINDOW_SAMPLES % TOTAL_STRIDE or LOW_LATENCY_HOP_SAMPLES % TOTAL_STRIDE:
    raise ImportError("the low-latency window and hop must be multiples of the total stride")
