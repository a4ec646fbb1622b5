"""The exported inference form: identity connections folded into convs, same function."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ulde.model.fusion import FusedConvBlock, fuse_identity_connections, identity_folded
from ulde.model.networks import STUDENT, STUDENT_ABLATIONS, ConvBlock
from tests.network_support import randomized


@pytest.mark.parametrize("config", [STUDENT, *STUDENT_ABLATIONS.values()], ids=lambda c: c.name)
def test_fused_network_computes_the_same_function_with_no_residual_add_left_in_its_blocks(config):
    network = randomized(config)
    fused = fuse_identity_connections(network)
    x = torch.randn(3, 1, 3600)
    with torch.no_grad():
        assert torch.allclose(fused(x), network(x), atol=2e-5)
    blocks = [*fused.encoders, *fused.decoders]
    assert blocks and all(isinstance(b, FusedConvBlock) for b in blocks)
    assert all(isinstance(b, ConvBlock) for b in [*network.encoders, *network.decoders])  # original untouched
    params = sum(p.numel() for p in fused.parameters())
    assert params < sum(p.numel() for p in network.parameters())  # the mix BatchNorms are gone


def test_identity_folding_refuses_a_conv_that_cannot_hold_an_identity():
    grouped = nn.Conv1d(4, 4, 3, padding=1, groups=2)
    with pytest.raises(ValueError, match="identity"):
        identity_folded(grouped, nn.BatchNorm1d(4))
    widening = nn.Conv1d(4, 8, 3, padding=1)
    with pytest.raises(ValueError, match="identity"):
        identity_folded(widening, nn.BatchNorm1d(8))
