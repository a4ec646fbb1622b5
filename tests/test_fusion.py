"""The exported inference form: identity connections folded into convs, same function."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from ulde.model.fusion import ExtremaHead, FusedConvBlock, inference_form, identity_folded
from ulde.model.networks import STUDENT, STUDENT_ABLATIONS, ConvBlock, LocalExtrema, without_extrema_bias
from tests.network_support import randomized


WITH_EXTREMA_BIAS = replace(STUDENT, name="ulde-net-extrema-bias", extrema_bias=True)


@pytest.mark.parametrize("config", [STUDENT, WITH_EXTREMA_BIAS, *STUDENT_ABLATIONS.values()], ids=lambda c: c.name)
def test_fused_network_computes_the_same_function_with_no_residual_add_left_in_its_blocks(config):
    network = randomized(config)
    fused = inference_form(network)
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


def test_a_bias_free_local_extrema_module_is_folded_into_the_head_and_one_with_a_bias_is_kept():
    folded, kept = inference_form(randomized(STUDENT)), inference_form(randomized(WITH_EXTREMA_BIAS))
    assert isinstance(folded.head, ExtremaHead) and isinstance(folded.extrema, nn.Identity)
    assert isinstance(kept.head, nn.Conv1d) and isinstance(kept.extrema, LocalExtrema)
    with pytest.raises(ValueError, match="bias"):
        ExtremaHead(randomized(WITH_EXTREMA_BIAS).extrema, kept.head)


def test_moving_the_extrema_bias_into_the_head_keeps_the_function_but_at_the_window_edges():
    network = randomized(WITH_EXTREMA_BIAS).eval()
    with torch.no_grad():
        network.extrema.mix.bias.fill_(0.3)
    converted = without_extrema_bias(network)
    assert converted.config.extrema_bias is False and converted.extrema.mix.bias is None
    x = torch.randn(2, 1, 3600)
    with torch.no_grad():
        gap = (converted(x) - network(x)).abs()
    assert gap[..., 1:-1].max() < 1e-5  # the head's zero padding hid the bias only at the two edge samples
    assert gap[..., 0].min() > 0 or gap[..., -1].min() > 0
    assert without_extrema_bias(converted) is converted

