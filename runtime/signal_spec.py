"""The signal contract shared by training, export and the runtime (torch-free).

Every other module takes these numbers from here: no bare 360 or 3600 elsewhere.
"""

SAMPLE_RATE_HZ = 360
"""Sampling rate of every signal the network sees (MIT-BIH / NSTDB native rate), in Hz."""

WINDOW_SECONDS = 10
WINDOW_SAMPLES = SAMPLE_RATE_HZ * WINDOW_SECONDS  # 3600 samples per model call

NETWORK_LEVELS = 4
"""Number of stride-2 downsamplings in the U-net encoder."""

TOTAL_STRIDE = 2**NETWORK_LEVELS  # 16: input lengths must be multiples of this

if WINDOW_SAMPLES % TOTAL_STRIDE:
    raise ImportError(f"window {WINDOW_SAMPLES} is not a multiple of the total stride {TOTAL_STRIDE}")
