"""Quantization-aware fine-tuning: simulate the int8 model's per-tensor rounding during training.

The int8 TFLite model quantizes every activation tensor to 256 levels over its calibrated range. With
fake quantization attached, each such tensor (network input and output, every BatchNorm, ReLU,
transposed-conv, max-pool and 1x1-mix output) is rounded the same way in the forward pass, over a
running min/max range, with a straight-through gradient. Fine-tuning a float network this way teaches
it to tolerate the rounding, so the exported int8 model loses less against the float one. The weights
stay float; nothing of this is saved in the checkpoint.
"""

from __future__ import annotations

import torch
from torch import nn

from ulde.model.networks import UNet1d

INT8_LEVELS = 255
RANGE_MOMENTUM = 0.01  # running min/max update per batch, as torch's MovingAverageMinMaxObserver
QUANTIZED_MODULES = (nn.BatchNorm1d, nn.ReLU, nn.ConvTranspose1d, nn.MaxPool1d)


class RunningRange:
    """Per-tensor min/max, always including 0 (int8 zero points must represent zero exactly)."""

    def __init__(self):
        self.low = self.high = None

    def update(self, x: torch.Tensor) -> tuple[float, float]:
        low, high = min(x.min().item(), 0.0), max(x.max().item(), 0.0)
        if self.low is None:
            self.low, self.high = low, high
        else:
            self.low += RANGE_MOMENTUM * (low - self.low)
            self.high += RANGE_MOMENTUM * (high - self.high)
        return self.low, self.high


def fake_quantize(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Round ``x`` to 256 levels over [low, high]; gradient passes straight through."""
    scale = max(high - low, 1e-8) / INT8_LEVELS
    zero_point = round(-128 - low / scale)
    rounded = (torch.clamp(torch.round(x / scale) + zero_point, -128, 127) - zero_point) * scale
    return x + (rounded - x).detach()


def _hook(tracker: RunningRange):
    def quantize_output(module, inputs, output):
        low, high = tracker.update(output.detach()) if module.training or tracker.low is None else (tracker.low, tracker.high)
        return fake_quantize(output, low, high)

    return quantize_output


def _input_hook(tracker: RunningRange):
    def quantize_input(module, inputs):
        x = inputs[0]
        low, high = tracker.update(x.detach()) if module.training or tracker.low is None else (tracker.low, tracker.high)
        return (fake_quantize(x, low, high),)

    return quantize_input


def attach_fake_quant(model: UNet1d) -> list:
    """Attach fake quantization to ``model`` in place; returns the hook handles (``.remove()`` them)."""
    handles = [model.register_forward_pre_hook(_input_hook(RunningRange())), model.register_forward_hook(_hook(RunningRange()))]
    for name, module in model.named_modules():
        is_mix = isinstance(module, nn.Conv1d) and (name == "head" or name.endswith("extrema.mix"))
        if isinstance(module, QUANTIZED_MODULES) or is_mix:
            handles.append(module.register_forward_hook(_hook(RunningRange())))
    return handles
