"""Quantization-aware fine-tuning: simulate the int8 model's per-tensor rounding during training.

The int8 TFLite model rounds every tensor it stores to 256 levels over that tensor's calibrated range.
With fake quantization attached, the same tensors are rounded in the forward pass, over ranges
tracked per tensor, with a straight-through gradient; fine-tuning then teaches the float network to
tolerate int8 rounding. The rounding points follow the converted graph: the network input (as the
convolutions see it: the runtime subtracts the model's noise estimate from the unrounded input,
runtime/model.py, the contract's output rule); every ReLU or ReLU6 output (a conv, or an add, with its activation fused);
the strided depthwise conv's output (no activation follows it); the output of the upsampling (after
its skip add); the head's output, which is the model's. Weights stay float and nothing of this is
saved. The graph rounded is the exported one (model/fusion.py): each ConvBlock's identity
connection is folded into its conv, so the conv output before that add is not a rounding point, and
a bias-free local-extrema module is folded into the head, so neither its mix output nor its own is
(with a mix bias both are). A module called twice in one forward pass (a shared activation) gets one range per
call. The exporter equalizes the downsampling outputs per channel (model/equalization.py), so those
are rounded per channel, as exported (``RunningRange``).
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from ulde.model.equalization import channel_factors
from ulde.model.fusion import absorbs_extrema
from ulde.model.networks import Down, LocalExtrema, UNet1d, Up

INT8_LEVELS = 255
RANGE_MOMENTUM = 0.01  # running min/max update per batch, as torch's MovingAverageMinMaxObserver


class RunningRange:
    """Min/max of a (B, C, T) tensor, per tensor and always including 0 (int8 zero points must represent
    zero exactly), or per channel (``per_channel``) for a tensor the exporter equalizes, which is then
    rounded as exported: each channel scaled by its equalization factor, rounded over the scaled
    tensor's range (0 included), scaled back.

    The converter calibrates each range as the min/max over all calibration windows, so a batch that
    reaches further widens the range at once; narrower batches shrink it only slowly (``momentum``),
    letting the range follow the weights as they change."""

    def __init__(self, per_channel: bool = False):
        self.per_channel = per_channel
        self.low = self.high = None

    def observe(self, x: torch.Tensor, momentum: float) -> None:
        if self.per_channel:
            low, high = x.amin(dim=(0, 2)), x.amax(dim=(0, 2))
        else:
            low, high = x.min().clamp(max=0.0), x.max().clamp(min=0.0)
        if self.low is None:
            self.low, self.high = low, high
        else:
            self.low = torch.minimum(low, self.low + momentum * (low - self.low))
            self.high = torch.maximum(high, self.high + momentum * (high - self.high))

    def round(self, x: torch.Tensor) -> torch.Tensor:
        if not self.per_channel:
            return fake_quantize(x, float(self.low), float(self.high))
        factors = channel_factors(self.low, self.high)
        ends = torch.stack([self.low * factors, self.high * factors])
        low, high = min(ends.min().item(), 0.0), max(ends.max().item(), 0.0)
        return fake_quantize(x * factors[:, None], low, high) / factors[:, None]


def fake_quantize(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Round ``x`` to 256 levels over [low, high]; gradient passes straight through."""
    scale = max(high - low, 1e-8) / INT8_LEVELS
    zero_point = round(-128 - low / scale)
    rounded = (torch.clamp(torch.round(x / scale) + zero_point, -128, 127) - zero_point) * scale
    return x + (rounded - x).detach()


class FakeQuant:
    """Hooks that round the chosen tensors of one network; ranges update while the network trains."""

    def __init__(self, model: UNet1d, momentum: float = RANGE_MOMENTUM, equalized: bool = True):
        self.momentum = momentum
        self.equalized = equalized  # the export equalizes the downsampling outputs (its default, see above)
        self.enabled = True
        self.observing = False  # update the ranges in eval mode too (a calibration pass)
        self.rounded: set[tuple[str, int]] | None = None  # round only these (name, call) tensors; None: all
        self.ranges: dict[tuple[str, int], RunningRange] = {}
        self.calls: dict[str, int] = {}
        self.handles = [model.register_forward_pre_hook(self._start), model.stem.register_forward_pre_hook(self._round_input)]
        extrema_folded = absorbs_extrema(model.extrema)
        self.per_channel_names: set[str] = set()  # the export equalizes these outputs per channel
        for name, module in model.named_modules():
            if quantized_output(model, module, extrema_folded):
                self.handles.append(module.register_forward_hook(self._rounder(name)))
                if self.equalized and isinstance(module, Down):
                    self.per_channel_names.add(name)

    def _start(self, model, inputs):
        self.calls.clear()

    def _round_input(self, stem, inputs):
        return (self._round("input", stem.training, inputs[0]),) if self.enabled else None

    def _rounder(self, name: str):
        return lambda module, inputs, output: self._round(name, module.training, output) if self.enabled else None

    @contextmanager
    def bypassed(self):
        """Run the float network inside this block: nothing is rounded and no range moves."""
        self.enabled = False
        try:
            yield
        finally:
            self.enabled = True

    def _round(self, name: str, training: bool, x: torch.Tensor) -> torch.Tensor:
        call = self.calls.get(name, 0)
        self.calls[name] = call + 1
        tracker = self.ranges.setdefault((name, call), RunningRange(per_channel=name in self.per_channel_names))
        if training or self.observing or tracker.low is None:
            tracker.observe(x.detach(), self.momentum)
        return tracker.round(x) if self.rounded is None or (name, call) in self.rounded else x

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def quantized_output(model: UNet1d, module: nn.Module, extrema_folded: bool) -> bool:
    """Whether the converted int8 graph stores ``module``'s output (``module`` one of ``model``'s) as its
    own tensor; with ``extrema_folded`` the export folds the local-extrema module into the head
    (model/fusion.py)."""
    if isinstance(module, (nn.ReLU, nn.ReLU6, Up)):
        return True
    if isinstance(module, Down):  # no activation follows the strided depthwise conv (BatchNorm folded or not);
        return not isinstance(module.conv, nn.MaxPool1d)  # a max-pool only picks values already rounded
    extrema = model.extrema
    if isinstance(extrema, LocalExtrema) and (module is extrema or module is extrema.mix):
        return not extrema_folded
    return module is model.head
