"""The inference form of a trained network: each ConvBlock's identity connection folded into its conv.

A ConvBlock computes ``act(bn(conv(h)) + h)``. With BatchNorm folded into the conv, adding ``h`` is
adding 1 to the centre tap of the conv's diagonal, so the block becomes ``act(conv'(h))``: the same
function (up to float rounding), one op fewer, and, for the int8 model, one rounded tensor fewer per
block. That tensor, the conv output before the residual add, has a wide signed range, and rounding it
was the largest single source of int8 error (docs/model.md). The identity connection stays in the
trained network, where it helps optimisation (as in RepVGG); only the exported graph is fused.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ulde.model.networks import ConvBlock, UNet1d


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


def fuse_identity_connections(network: UNet1d) -> UNet1d:
    """A copy of ``network`` in eval mode with every ConvBlock fused; ``network`` is left untouched."""
    fused = copy.deepcopy(network).eval()
    for blocks in (fused.encoders, fused.decoders):
        for i, block in enumerate(blocks):
            blocks[i] = FusedConvBlock(block)
    return fused
