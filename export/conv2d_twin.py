"""The network rewritten with 2-D layers over a (B, C, 1, T) image, for the TFLite route only.

TFLite has no 1-D convolutions: onnx2tf wraps every Conv1d in RESHAPE ops (25 in ULde-net). The twin
uses Conv2d / ConvTranspose2d / MaxPool2d with (1, k) kernels and the very same weights, so the
converter emits native CONV_2D / DEPTHWISE_CONV_2D on one 4-D layout and only two RESHAPEs at the I/O.
Transposed convolutions become ``ShuffleUpsample`` (1x1 conv + time interleave), which TFLite Micro
plans in a smaller arena. What each rewrite measured: docs/model.md, "Measurements behind the export's
design". ulde.onnx stays the plain 1-D export.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ulde.model.networks import NoiseEstimator, UNet1d

TWIN_TOLERANCE = 1e-5  # mV: the twin computes the same sums in the same order; any gap means a bad rewrite


class TwinMismatchError(RuntimeError):
    """The Conv2d twin does not reproduce the network."""


def _conv2d(conv: nn.Conv1d) -> nn.Conv2d:
    twin = nn.Conv2d(conv.in_channels, conv.out_channels, (1, conv.kernel_size[0]), (1, conv.stride[0]),
                     (0, conv.padding[0]), dilation=(1, conv.dilation[0]), groups=conv.groups, bias=conv.bias is not None)
    twin.weight.data = conv.weight.data[:, :, None, :].clone()  # (out, in/groups, k) -> (out, in/groups, 1, k)
    if conv.bias is not None:
        twin.bias.data = conv.bias.data.clone()
    return twin


class ShuffleUpsample(nn.Module):
    """A stride-k, kernel-k transposed convolution rewritten as a 1x1 conv to k * C_out channels followed
    by interleaving them in time (a 1-D pixel shuffle): the same arithmetic, but TFLite Micro's
    TRANSPOSE_CONV keeps an int32 accumulator of its whole output (57.6 KB at full resolution), which
    set the model's peak RAM; CONV_2D + RESHAPE + TRANSPOSE need no such scratch."""

    def __init__(self, conv: nn.ConvTranspose1d):
        super().__init__()
        k = conv.kernel_size[0]
        if conv.stride[0] != k or conv.padding[0] or conv.groups != 1 or conv.output_padding[0]:
            raise TwinMismatchError("only kernel == stride transposed convolutions have a shuffle twin")
        self.factor, self.out_channels = k, conv.out_channels
        self.conv = nn.Conv2d(conv.in_channels, k * conv.out_channels, 1, bias=conv.bias is not None)
        # (C_in, C_out, k) -> (C_out * k, C_in, 1, 1), output channel o * k + phase
        self.conv.weight.data = conv.weight.data.permute(1, 2, 0).reshape(-1, conv.in_channels)[:, :, None, None].clone()
        if conv.bias is not None:
            self.conv.bias.data = conv.bias.data.repeat_interleave(k).clone()

    def forward(self, x):  # (B, C_in, 1, T) -> (B, C_out, 1, k T)
        b, _, _, t = x.shape
        y = self.conv(x).reshape(b, self.out_channels, self.factor, t)
        return y.permute(0, 1, 3, 2).reshape(b, self.out_channels, 1, t * self.factor)


def _batchnorm2d(norm: nn.BatchNorm1d) -> nn.BatchNorm2d:
    twin = nn.BatchNorm2d(norm.num_features, eps=norm.eps, momentum=norm.momentum)
    twin.load_state_dict(norm.state_dict())
    return twin


def _maxpool2d(pool: nn.MaxPool1d) -> nn.MaxPool2d:
    if pool.dilation != 1 or pool.ceil_mode:
        raise TwinMismatchError("MaxPool1d with dilation or ceil_mode has no Conv2d twin here")
    return nn.MaxPool2d((1, pool.kernel_size), (1, pool.stride), (0, pool.padding))


_REWRITES = ((nn.Conv1d, _conv2d), (nn.ConvTranspose1d, ShuffleUpsample), (nn.BatchNorm1d, _batchnorm2d),
             (nn.MaxPool1d, _maxpool2d))


def _to_2d(module: nn.Module) -> nn.Module:
    """Replace every 1-D layer below ``module`` in place by its (1, k) 2-D twin."""
    for name, child in list(module.named_children()):
        rewrite = next((fn for kind, fn in _REWRITES if type(child) is kind), None)
        if rewrite is not None:
            setattr(module, name, rewrite(child))
        elif any(isinstance(child, kind) for kind in (nn.Conv2d, nn.Conv3d, nn.AvgPool1d, nn.Upsample)):
            raise TwinMismatchError(f"no Conv2d twin for layer {name} ({type(child).__name__})")
        else:
            _to_2d(child)
    return module


class Conv2dTwin(nn.Module):
    """(B, 1, T) -> (B, 1, T) noise estimate through the 2-D layers: the network's own on a (B, 1, 1, T) image."""

    def __init__(self, network: UNet1d):
        super().__init__()
        self.net = _to_2d(copy.deepcopy(network)).eval()

    def forward(self, x):
        image = x.reshape(x.shape[0], 1, 1, x.shape[-1])
        return self.net.noise_unchecked(image).reshape(x.shape)


def conv2d_twin(network: UNet1d, probe: torch.Tensor) -> tuple[Conv2dTwin, float]:
    """(twin in eval mode, max |twin - network noise estimate| on ``probe``); raises TwinMismatchError over tolerance."""
    twin = Conv2dTwin(network).eval()
    with torch.no_grad():
        gap = float((twin(probe) - NoiseEstimator(network)(probe)).abs().max())
    if not gap <= TWIN_TOLERANCE:
        raise TwinMismatchError(f"Conv2d twin differs from the network by {gap:.3g} mV (tolerance {TWIN_TOLERANCE:g})")
    return twin, gap
