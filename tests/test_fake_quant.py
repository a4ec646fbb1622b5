"""Quantization-aware fine-tuning hooks."""

from __future__ import annotations

from dataclasses import replace

import torch

from ulde.model.equalization import equalize_downsampling
from ulde.model.fake_quant import FakeQuant, RunningRange, fake_quantize
from ulde.model.fusion import inference_form
from ulde.model.networks import STUDENT, build


def test_fake_quantize_rounds_to_256_levels_with_a_straight_through_gradient():
    x = torch.linspace(-1, 1, 1001, requires_grad=True)
    y = fake_quantize(x, -1.0, 1.0)
    assert len(torch.unique(y.detach())) <= 256
    assert torch.max(torch.abs(y - x)) <= 1 / 255 + 1e-6
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


ROUNDED_TENSORS = 1 + 1 + 2 * 9 + 4 + 8 + 1
"""The student's int8 tensors: input, stem, two per ConvBlock, four downsampling, two per up, head."""


def student_and_windows(train: bool = False, windows: int = 4) -> tuple[torch.nn.Module, torch.Tensor]:
    """A freshly built student (seed 0) in train or eval mode and ``windows`` random (n, 1, 3600) inputs."""
    torch.manual_seed(0)
    return build(STUDENT).train(train), torch.randn(windows, 1, 3600) * 0.3


def test_hooks_round_the_graphs_tensors_and_come_off_cleanly():
    model, x = student_and_windows()
    with torch.no_grad():
        exact = model(x)
        fake_quant = FakeQuant(model, momentum=0.0)
        rounded = model(x)
        # input, ReLUs (a shared ReLU once per call), the strided convs, ups, head (extrema folded into it)
        assert len(fake_quant.ranges) == ROUNDED_TENSORS
        # the conv before a block's identity add is folded with it in the export (model/fusion.py): not rounded
        assert not any(name.endswith("mix.1") for name, _ in fake_quant.ranges)
        assert not torch.equal(rounded, exact)
        assert torch.allclose(rounded, exact, atol=0.2)
        fake_quant.remove()
        assert torch.equal(model(x), exact)


def test_bypassed_runs_the_float_network_without_touching_the_ranges():
    model, x = student_and_windows(train=True)
    with torch.no_grad():
        fake_quant = FakeQuant(model)
        rounded = model(x)
        before = {key: (r.low, r.high) for key, r in fake_quant.ranges.items()}
        with fake_quant.bypassed():
            exact = model(x * 5)  # far outside the ranges: a live hook would widen them
        assert {key: (r.low, r.high) for key, r in fake_quant.ranges.items()} == before
        fake_quant.remove()
        assert torch.allclose(exact, model(x * 5)) and not torch.equal(rounded, model(x))


def test_equalized_rounding_gives_a_narrow_channel_the_resolution_the_exporter_gives_it():
    """A downsampling output is rounded as exported (model/equalization.py): per-channel scaled, rounded, scaled back."""
    x = torch.stack([torch.linspace(-12, 4, 3600), torch.linspace(0.9, 4.1, 3600)])[None]  # (1, 2, T): wide, narrow
    per_tensor, equalized = RunningRange(), RunningRange(per_channel=True)
    per_tensor.observe(x, 0.0)
    equalized.observe(x, 0.0)
    plain_error = (per_tensor.round(x) - x).abs().amax(dim=(0, 2))
    equalized_error = (equalized.round(x) - x).abs().amax(dim=(0, 2))
    assert torch.allclose(plain_error, torch.full((2,), 16 / 255 / 2), rtol=0.05)  # one step for both channels
    assert equalized_error[1] < plain_error[1] / 2.5  # the narrow channel, stretched 12 / 4.1 times
    assert equalized_error[0] <= plain_error[0] * 1.05


def test_a_calibration_pass_then_one_tensor_rounded_alone():
    """The error-budget measurement (benchmarks/int8_error_budget.py): ranges from an eval-mode pass,
    then only the selected tensors rounded."""
    model, x = student_and_windows()
    with torch.no_grad():
        exact = model(x)
        fake_quant = FakeQuant(model, momentum=0.0)
        fake_quant.observing, fake_quant.rounded = True, set()
        assert torch.equal(model(x), exact) and len(fake_quant.ranges) == ROUNDED_TENSORS
        fake_quant.observing, fake_quant.rounded = False, {("input", 0)}
        one = model(x)
        fake_quant.rounded = None
        every = model(x)
    assert 0 < float((one - exact).pow(2).sum()) < float((every - exact).pow(2).sum())


def test_the_exported_form_has_the_training_networks_rounding_points():
    """Fusing the identity connections and equalizing (BatchNorm folded into the strided convs) keep every
    rounded tensor, the downsampling outputs included."""
    model, x = student_and_windows(windows=2)
    exported = equalize_downsampling(inference_form(model), x)
    keys = []
    for network in (model, exported):
        fake_quant = FakeQuant(network)
        with torch.no_grad():
            network(x)
        keys.append(set(fake_quant.ranges))
        fake_quant.remove()
    assert keys[0] == keys[1] and {("downs.0", 0), ("downs.3", 0)} <= keys[0]


def test_a_local_extrema_module_with_a_mix_bias_keeps_its_two_rounded_tensors():
    """Such a module is not folded into the head at export (model/fusion.py), so its outputs stay int8 tensors."""
    torch.manual_seed(0)
    model, x = build(replace(STUDENT, extrema_bias=True)).eval(), torch.randn(2, 1, 3600) * 0.3
    fake_quant = FakeQuant(model)
    with torch.no_grad():
        model(x)
    assert {("extrema", 0), ("extrema.mix", 0)} <= set(fake_quant.ranges)
    assert len(fake_quant.ranges) == ROUNDED_TENSORS + 2


def test_the_input_is_rounded_for_the_convolutions_but_the_residual_takes_it_unrounded():
    """The runtime subtracts the model's noise estimate from its float input (runtime/model.py, the contract's output rule)."""
    model, x = student_and_windows(windows=2)
    with torch.no_grad():
        fake_quant = FakeQuant(model, momentum=0.0)
        fake_quant.rounded = {("input", 0)}
        rounded = model(x)
        with fake_quant.bypassed():
            x_rounded = fake_quant.ranges[("input", 0)].round(x)
            noise = model.noise_unchecked(x_rounded)
    assert torch.allclose(rounded, x - noise, atol=1e-6)
    assert not torch.allclose(rounded, x_rounded - noise, atol=1e-6)

