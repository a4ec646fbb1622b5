"""ULde-net and teacher: shapes, budget, int8-friendly ops."""

from __future__ import annotations

import pytest
import torch

from ulde.model.complexity import complexity
from ulde.model.networks import STUDENT, STUDENT_ABLATIONS, TEACHER, UNetConfig, build, with_config
from ulde.runtime.signal_spec import TOTAL_STRIDE, WINDOW_SAMPLES

PAPER_PARAMS, PAPER_MACS = 6_900, 6_600_000


@pytest.mark.parametrize("length", [TOTAL_STRIDE, 5 * TOTAL_STRIDE, WINDOW_SAMPLES, 2 * WINDOW_SAMPLES + TOTAL_STRIDE])
def test_student_preserves_length_for_multiples_of_the_stride(length):
    with torch.no_grad():
        out = build(STUDENT).eval()(torch.randn(3, 1, length))
    assert out.shape == (3, 1, length) and torch.isfinite(out).all()


@pytest.mark.parametrize("shape", [(1, 1, WINDOW_SAMPLES - 1), (1, 2, WINDOW_SAMPLES), (WINDOW_SAMPLES,)])
def test_bad_shapes_raise_a_clear_error(shape):
    with pytest.raises(ValueError, match=f"multiple of {TOTAL_STRIDE}, got"):
        build(STUDENT)(torch.randn(*shape))


def test_student_within_the_papers_budget():
    counts = complexity(build(STUDENT))
    assert counts["params"] <= PAPER_PARAMS
    assert counts["macs"] <= PAPER_MACS
    assert counts["flops"] == 2 * counts["macs"]
    assert counts["params_folded"] < counts["params"]


def test_teacher_is_10_to_50_times_the_student():
    ratio = complexity(build(TEACHER))["params"] / complexity(build(STUDENT))["params"]
    assert 10 <= ratio <= 50


def test_student_uses_grouped_and_depthwise_strided_convs_and_no_neg():
    model = build(STUDENT)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv1d)]
    assert any(1 < m.groups < m.in_channels for m in convs)  # grouped
    assert any(m.groups == m.in_channels > 1 and m.stride == (2,) for m in convs)  # depthwise, strided
    graph = torch.fx.symbolic_trace(model.extrema)
    assert not any(node.target in (torch.neg, torch.Tensor.neg, "neg") for node in graph.graph.nodes)


def test_config_round_trips_and_validates():
    assert UNetConfig.from_dict(STUDENT.to_dict()) == STUDENT
    with pytest.raises(ValueError, match="channels needs 5 entries"):
        UNetConfig("x", (4, 8), (3, 3, 3, 3, 3), (1, 1, 1, 1, 1))
    with pytest.raises(ValueError, match="not divisible by groups"):
        UNetConfig("x", (6, 8, 8, 8, 8), (3, 3, 3, 3, 3), (4, 1, 1, 1, 1))
    with pytest.raises(ValueError, match="downsampling 'avgpool'"):
        UNetConfig.from_dict({**STUDENT.to_dict(), "downsampling": "avgpool"})
    with pytest.raises(ValueError, match="skip_merge 'sum'"):
        UNetConfig.from_dict({**STUDENT.to_dict(), "skip_merge": "sum"})
    older = {k: v for k, v in STUDENT.to_dict().items() if k not in ("identity_connections", "downsampling", "skip_merge")}
    assert UNetConfig.from_dict(older) == STUDENT  # checkpoints written before these fields existed


def test_ablations_undo_one_design_choice_each():
    """no-identity: no residual add inside a block; maxpool-down: weightless max-pool halving time;
    concat-skips: each decoder reads its upsampled input and its skip side by side."""
    x = torch.randn(1, 1, WINDOW_SAMPLES)
    plain = build(STUDENT_ABLATIONS["no-identity"]).eval()
    assert not any(block.identity for block in [*plain.encoders, *plain.decoders])
    pooled = build(STUDENT_ABLATIONS["maxpool-down"]).eval()
    assert all(isinstance(down.conv, torch.nn.MaxPool1d) for down in pooled.downs)
    assert complexity(pooled)["params"] < complexity(build(STUDENT))["params"] == complexity(plain)["params"]
    stacked = build(STUDENT_ABLATIONS["concat-skips"]).eval()
    assert [d.grouped[0].in_channels for d in stacked.decoders] == [2 * c for c in STUDENT.channels[:-1]]
    with torch.no_grad():
        assert pooled(x).shape == plain(x).shape == stacked(x).shape == x.shape


def test_with_config_keeps_the_weights_and_bounds_the_activations():
    torch.manual_seed(0)
    net = build(STUDENT).eval()
    bounded = with_config(net, activation="relu6").eval()
    assert bounded.config.activation == "relu6" and net.config.activation == "relu"
    assert sum(isinstance(m, torch.nn.ReLU6) for m in bounded.modules()) == 1 + 9 + 4  # stem, one per block (used twice), one per upsampling
    small, large = torch.randn(2, 1, 3600) * 1e-3, torch.randn(2, 1, 3600) * 1e3
    with torch.no_grad():
        assert torch.allclose(bounded(small), net(small), atol=1e-6)  # nothing reaches 6: same function
        assert not torch.allclose(bounded(large), net(large))
    with pytest.raises(ValueError, match="activation 'gelu'"):
        UNetConfig.from_dict({**STUDENT.to_dict(), "activation": "gelu"})
    assert with_config(net, input_normalization="peak").config.input_normalization == "peak"
    with pytest.raises(ValueError, match="without new weights"):
        with_config(net, channels=(8, 8, 8, 8, 8))


def test_the_low_latency_kept_span_sees_only_samples_inside_its_frame():
    """The overlap-save framing's premise: the shipped student's outputs kept_start .. kept_start + H - 1 of
    a low-latency frame equal the same outputs of the network run on a longer signal around it (any
    frame start on the stride grid), so nothing outside the frame reaches them."""
    from ulde.model.checkpoint import load_model, shipped_checkpoint
    from ulde.model.inference import kept_outputs
    from ulde.runtime.signal_spec import LOW_LATENCY_HOP_SAMPLES, LOW_LATENCY_KEPT_START, LOW_LATENCY_WINDOW_SAMPLES

    network = load_model(shipped_checkpoint())[0].eval()
    torch.manual_seed(3)
    long = torch.randn(1, 1, 2 * WINDOW_SAMPLES)
    with torch.no_grad():
        whole = network(long)
        for start in (0, TOTAL_STRIDE, 37 * TOTAL_STRIDE, 2 * WINDOW_SAMPLES - LOW_LATENCY_WINDOW_SAMPLES):
            frame = network(long[..., start : start + LOW_LATENCY_WINDOW_SAMPLES])
            kept = start + LOW_LATENCY_KEPT_START
            torch.testing.assert_close(kept_outputs(frame), whole[..., kept : kept + LOW_LATENCY_HOP_SAMPLES],
                                       rtol=0, atol=1e-5)
        # the hop before the kept span reaches past the frame's start: there the frame's edge shows
        start = 37 * TOTAL_STRIDE
        frame = network(long[..., start : start + LOW_LATENCY_WINDOW_SAMPLES])
        early = slice(LOW_LATENCY_KEPT_START - LOW_LATENCY_HOP_SAMPLES, LOW_LATENCY_KEPT_START)
        gap = (frame[..., early] - whole[..., start + early.start : start + early.stop]).abs().max()
    assert gap > 1e-3
