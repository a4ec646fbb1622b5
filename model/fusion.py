"""The inference form of a trained network: each ConvBlock's identity connection folded into its conv.

A ConvBlock computes ``act(bn(conv(h)) + h)``. With BatchNorm folded into the conv, adding ``h`` is
adding 1 to the centre tap of the conv's diagonal, so the block becomes ``act(conv'(h))``: the same
function (up to float rounding), one op fewer, and, for the int8 model, one rounded tensor fewer per
block. That tensor, the conv output before the residual add, has a wide signed range, and rounding it
was the largest single source of int8 error (docs/model.md). The identity connection stays in the
trained network, where it helps optimisation (as in RepVGG); only the exported graph is fused.

The local-extrema module and the head fold the same way when the module's mix has no bias: the head
conv of ``x + mix(cat(max, min))`` is one conv over ``cat(x, max, min)`` whose weights for the
extrema channels are the head's taps times the 1x1 mix. Two int8 tensors (the mix output and the
module's output) disappear. With a mix bias the fold is not exact (the head's zero padding would see
the bias at the first and last sample), so such a network keeps the module as trained.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ulde.model.networks import ConvBlock, LocalExtrema, UNet1d, local_max_min


class FusedConvBlock(nn.Module):
    """``act(mix(act(grouped(x))))`` where ``mix`` already contains the identity connection (if the
    block has one; otherwise just its BatchNorm)."""

    def __init__(self, block: ConvBlock):
        super().__init__()
        self.grouped, self.act = block.grouped, block.act
        self.mix = identity_folded(*block.mix) if block.identity else fuse_conv_bn_eval(*(m.eval() for m in block.mix))

    def forward(self, x):
        return self.act(self.mix(self.act(self.grouped(x))))


def identity_folded(conv: nn.Conv1d, norm: nn.BatchNorm1d) -> nn.Conv1d:
    """One conv computing ``norm(conv(h)) + h`` (eval-mode BatchNorm statistics)."""
    k = conv.kernel_size[0]
    if conv.groups != 1 or conv.in_channels != conv.out_channels or conv.stride[0] != 1 or k % 2 == 0 or conv.padding[0] != k // 2:
        raise ValueError("only a same-padded, stride-1, ungrouped square conv can absorb an identity connection")
    fused = fuse_conv_bn_eval(conv.eval(), norm.eval())
    with torch.no_grad():
        fused.weight[:, :, k // 2] += torch.eye(conv.out_channels, dtype=fused.weight.dtype)
    return fused


class ExtremaHead(nn.Module):
    """``head(x + mix(cat(local max, local min)))`` computed as one conv over ``cat(x, max, min)``."""

    def __init__(self, extrema: LocalExtrema, head: nn.Conv1d):
        super().__init__()
        if not absorbs_extrema(extrema):
            raise ValueError("a local-extrema mix with a bias cannot be folded into the head exactly")
        self.pool = extrema.pool
        mix = extrema.mix.weight[:, :, 0]  # (C, 2C)
        self.conv = nn.Conv1d(3 * head.in_channels, head.out_channels, head.kernel_size, padding=head.padding)
        with torch.no_grad():
            extrema_taps = torch.einsum("ock,cj->ojk", head.weight, mix)  # head taps through the mix
            self.conv.weight.copy_(torch.cat([head.weight, extrema_taps], dim=1))
            self.conv.bias.copy_(head.bias)

    def forward(self, x):
        return self.conv(torch.cat([x, *local_max_min(self.pool, x)], dim=1))


def absorbs_extrema(extrema: nn.Module) -> bool:
    """Whether the inference form folds this local-extrema module into the head (see the module docstring)."""
    return isinstance(extrema, LocalExtrema) and extrema.mix.bias is None


def inference_form(network: UNet1d) -> UNet1d:
    """A copy of ``network`` in eval mode as it is exported: every ConvBlock fused, and the
    local-extrema module folded into the head where that is exact; ``network`` is left untouched."""
    fused = copy.deepcopy(network).eval()
    for blocks in (fused.encoders, fused.decoders):
        for i, block in enumerate(blocks):
            blocks[i] = FusedConvBlock(block)
    if absorbs_extrema(fused.extrema):
        fused.head, fused.extrema = ExtremaHead(fused.extrema, fused.head), nn.Identity()
    return fused
