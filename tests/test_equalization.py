"""Per-channel equalization of the downsampling outputs: same function, every channel stretched to the widest."""

from __future__ import annotations

import pytest
import torch

from ulde.model.equalization import channel_factors, equalize_downsampling
from ulde.model.fusion import inference_form
from ulde.model.networks import STUDENT, STUDENT_ABLATIONS
from tests.network_support import randomized


def downsampling_ranges(network, x):
    """Per level: (per-channel min, per-channel max) of the downsampling output on x."""
    seen = []
    handles = [d.register_forward_hook(lambda m, i, o: seen.append((o.amin(dim=(0, 2)), o.amax(dim=(0, 2)))))
               for d in network.downs]
    with torch.no_grad():
        network(x)
    for handle in handles:
        handle.remove()
    return seen


@pytest.mark.parametrize("config", [STUDENT, STUDENT_ABLATIONS["no-extrema"], STUDENT_ABLATIONS["conventional"]],
                         ids=lambda c: c.name)
def test_equalized_network_computes_the_same_function(config):
    network = inference_form(randomized(config))
    calibration, probe = torch.randn(8, 1, 3600), torch.randn(3, 1, 3600) * 2
    equalized = equalize_downsampling(network, calibration)
    with torch.no_grad():
        assert torch.allclose(equalized(probe), network(probe), atol=2e-5)


def test_every_channel_reaches_the_widest_extent_on_its_positive_side():
    network = inference_form(randomized(STUDENT))
    calibration = torch.randn(8, 1, 3600)
    before = downsampling_ranges(network, calibration)
    after = downsampling_ranges(equalize_downsampling(network, calibration), calibration)
    for (lo0, hi0), (lo, hi) in zip(before, after):
        widest = torch.maximum(hi0, -lo0).max()
        assert torch.allclose(hi, torch.full_like(hi, float(widest)), rtol=1e-5)  # wider side positive, stretched
        assert torch.all(-lo <= hi * (1 + 1e-5))


def test_the_network_is_left_untouched_and_maxpool_levels_are_skipped():
    network = inference_form(randomized(STUDENT))
    state = {k: v.clone() for k, v in network.state_dict().items()}
    equalize_downsampling(network, torch.randn(4, 1, 3600))
    assert all(torch.equal(v, network.state_dict()[k]) for k, v in state.items())
    pooled = inference_form(randomized(STUDENT_ABLATIONS["maxpool-down"]))
    assert equalize_downsampling(pooled, torch.randn(4, 1, 3600)) is pooled


def test_channel_factors_flip_negative_channels_and_keep_dead_ones():
    factors = channel_factors(torch.tensor([-1.0, -8.0, 0.0, 0.5]), torch.tensor([4.0, 2.0, 0.0, 2.0]))
    assert torch.allclose(factors, torch.tensor([2.0, -1.0, 1.0, 4.0]))
