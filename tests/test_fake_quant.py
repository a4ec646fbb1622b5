"""Quantization-aware fine-tuning hooks."""

from __future__ import annotations

import torch

from ulde.model.fake_quant import FakeQuant, fake_quantize
from ulde.model.networks import STUDENT, build


def test_fake_quantize_rounds_to_256_levels_with_a_straight_through_gradient():
    x = torch.linspace(-1, 1, 1001, requires_grad=True)
    y = fake_quantize(x, -1.0, 1.0)
    assert len(torch.unique(y.detach())) <= 256
    assert torch.max(torch.abs(y - x)) <= 1 / 255 + 1e-6
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_hooks_round_the_graphs_tensors_and_come_off_cleanly():
    torch.manual_seed(0)
    model = build(STUDENT).eval()
    x = torch.randn(4, 1, 3600) * 0.3
    with torch.no_grad():
        exact = model(x)
        fake_quant = FakeQuant(model, momentum=0.0)
        rounded = model(x)
        # input, output, ReLUs (a shared ReLU once per call), the strided convs, ups, extrema, its mix, head
        assert len(fake_quant.ranges) == 2 + 1 + 2 * 9 + 4 + 8 + 3
        # the conv before a block's identity add is folded with it in the export (model/fusion.py): not rounded
        assert not any(name.endswith("mix.1") for name, _ in fake_quant.ranges)
        assert not torch.equal(rounded, exact)
        assert torch.allclose(rounded, exact, atol=0.2)
        fake_quant.remove()
        assert torch.equal(model(x), exact)
