"""The Conv2d twin used for the TFLite route reproduces the network it was made from."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ulde.export.conv2d_twin import TWIN_TOLERANCE, Conv2dTwin, ShuffleUpsample, conv2d_twin
from ulde.model.fusion import inference_form
from ulde.model.networks import STUDENT, STUDENT_ABLATIONS, TEACHER
from ulde.runtime.signal_spec import TOTAL_STRIDE, WINDOW_SAMPLES
from tests.network_support import randomized


@pytest.mark.parametrize("config", [STUDENT, TEACHER, *STUDENT_ABLATIONS.values()], ids=lambda c: c.name)
@pytest.mark.parametrize("length", [WINDOW_SAMPLES, 4 * TOTAL_STRIDE])
@pytest.mark.parametrize("exported_form", [False, True], ids=["as-trained", "inference-form"])
def test_twin_outputs_the_networks_noise_estimate(config, length, exported_form):
    net = randomized(config)
    source = inference_form(net) if exported_form else net  # the exporter converts the inference form's twin
    x = torch.randn(3, 1, length)
    twin, gap = conv2d_twin(source, x)
    with torch.no_grad():
        noise = twin(x)
        assert noise.shape == x.shape and gap <= TWIN_TOLERANCE
        assert torch.allclose(x - noise, net(x), atol=2 * TWIN_TOLERANCE if exported_form else TWIN_TOLERANCE, rtol=0)


def test_twin_has_no_1d_layers_and_leaves_the_network_untouched():
    net = randomized(STUDENT)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    twin = Conv2dTwin(net)
    kinds = {type(m) for m in twin.modules()}
    assert not kinds & {nn.Conv1d, nn.ConvTranspose1d, nn.BatchNorm1d, nn.MaxPool1d}
    assert nn.Conv2d in kinds and ShuffleUpsample in kinds and nn.ConvTranspose2d not in kinds
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_shuffle_upsample_is_the_transposed_convolution():
    torch.manual_seed(0)
    conv = nn.ConvTranspose1d(6, 4, 2, stride=2)
    x = torch.randn(3, 6, 50)
    with torch.no_grad():
        shuffled = ShuffleUpsample(conv)(x[:, :, None, :])[:, :, 0, :]
        assert torch.allclose(shuffled, conv(x), atol=1e-6)
