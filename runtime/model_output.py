"""What a model's output tensor holds, read from its name, and how the runtime turns it into ECG.

ulde's exports output the noise estimate, tensor ``noise_estimate``: the runtime subtracts it from the
float32 network input, so the denoised signal keeps the input's precision instead of passing through
the int8 model's 256 output levels (on the int8 student this is +1 dB of int8-vs-float output SNR,
docs/model.md). Firmware does the same subtraction at its ADC's resolution. A model whose output has
any other name is taken to output the denoised signal itself.
"""

from __future__ import annotations

import numpy as np

NOISE_OUTPUT_NAME = "noise_estimate"


def outputs_noise(output_name: str) -> bool:
    """Whether a model output tensor of this name is a noise estimate (see the module docstring)."""
    return output_name == NOISE_OUTPUT_NAME


def denoised(network_input: np.ndarray, output: np.ndarray, is_noise: bool) -> np.ndarray:
    """The denoised frames (same shape, float32) from the model's input and its (dequantized) output;
    ``output`` is updated in place and returned."""
    if is_noise:
        np.subtract(network_input, output, out=output)
    return output
