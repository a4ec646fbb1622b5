"""The int8 model's two forms (export/graph_forms.py): the shipped MCU graph (TFLite Micro, the C array)
and host graph (XNNPACK) must compute the same integers, and the runtime must run the host graph."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.runtime_fixtures import int8_tflite, shipped_file
from ulde.export import tflite_graph
from ulde.export.graph_forms import EARLY_SKIP_DEPTHS, HEAD_PARTS, host_graph, mcu_graph
from ulde.export.shipped_data import PARITY_FILE, load
from ulde.runtime import Model, StreamingDenoiser
from ulde.runtime.model_file import DEFAULT_MODEL, LOW_LATENCY_MODEL

PAIRS = [("ulde_int8.tflite", DEFAULT_MODEL), ("ulde_int8_low_latency.tflite", LOW_LATENCY_MODEL)]


def int8_inputs(model: Model, count: int) -> np.ndarray:
    """(2 count, 1, T) int8 inputs: real ECG windows of the shipped parity set cut to the model's window,
    zero-mean and scaled to the input's full range, then random int8 values (every code, both signs)."""
    window = model.contract.window_samples
    ecg = load(PARITY_FILE)["noisy_group2"][:count, :window].astype(np.float64)
    ecg = ecg - ecg.mean(axis=1, keepdims=True)
    real = model.encode(ecg / np.abs(ecg).max(axis=1, keepdims=True))
    noise = np.random.default_rng(0).integers(-128, 128, size=(count, window)).astype(np.int8)
    return np.concatenate([real, noise])[:, None]


@pytest.mark.parametrize("mcu_name, host_name", PAIRS)
@pytest.mark.parametrize("reference_kernels", [True, False], ids=["reference-kernels", "xnnpack"])
def test_shipped_host_graph_gives_the_mcu_graphs_integers(mcu_name, host_name, reference_kernels):
    mcu = Model(shipped_file(mcu_name), reference_kernels=reference_kernels)
    host = Model(shipped_file(host_name), reference_kernels=reference_kernels)
    values = int8_inputs(mcu, count=4)
    expected = mcu.invoke(values)
    assert int(expected.max()) - int(expected.min()) > 64, "the inputs should drive the output over much of its int8 range"
    np.testing.assert_array_equal(host.invoke(values), expected)
    assert replace(host.contract, digest=None) == replace(mcu.contract, digest=None), "one contract, two files"


@pytest.mark.parametrize("mcu_name, host_name", PAIRS)
def test_shipped_forms_have_their_rewrites(mcu_name, host_name):
    """MCU: no TRANSPOSE, the head in two halves of time (STRIDED_SLICE), the finest skips reshaped (two
    RESHAPEs for each instead of one), grouped convs kept. Host: dense
    convolutions only, every downsampling's PAD folded into its conv over sample pairs, more MACs than
    the MCU graph."""
    mcu, host = (shipped_file(name).read_bytes() for name in (mcu_name, host_name))
    mcu_ops, host_ops = tflite_graph.operator_counts(mcu), tflite_graph.operator_counts(host)
    assert "TRANSPOSE" not in mcu_ops and "TRANSPOSE" not in host_ops
    assert mcu_ops["STRIDED_SLICE"] == 4 and mcu_ops["CONCATENATION"] == 3 and mcu_ops["DEPTHWISE_CONV_2D"] == 1
    assert mcu_ops["RESHAPE"] == 2 + 4 + len(EARLY_SKIP_DEPTHS), "input, output, 4 upsamplings, +1 per early skip"
    assert "DEPTHWISE_CONV_2D" not in host_ops and "PAD" not in host_ops and mcu_ops["PAD"] == 4
    assert host_ops["CONV_2D"] == mcu_ops["CONV_2D"] - (HEAD_PARTS - 1) + mcu_ops["DEPTHWISE_CONV_2D"]
    assert tflite_graph.convolution_macs(host) > 1.5 * tflite_graph.convolution_macs(mcu)


def test_the_mcu_rewrite_of_a_rewritten_graph_is_refused():
    """The rewrites start from the converter's graph: a head already split is not a head to split."""
    mcu = tflite_graph.strip_contract(shipped_file("ulde_int8.tflite").read_bytes())
    with pytest.raises(tflite_graph.TFLiteGraphError, match="CONCATENATION"):
        mcu_graph(mcu)


@pytest.mark.parametrize("rows", [(1,), (4, 2), (8, 1, 4)], ids=str)
@pytest.mark.parametrize("reference_kernels", [True, False], ids=["reference-kernels", "xnnpack"])
def test_host_graph_of_another_network_gives_its_integers(tmp_path, reference_kernels, rows):
    """The rewrites are not tied to the shipped network: the toy int8 fixture (other kernels, no head),
    in rows of 1, 4 or 8 samples."""
    toy = int8_tflite()
    rewritten = tmp_path / "toy_host.tflite"
    data = toy.read_bytes()
    rewritten.write_bytes(tflite_graph.embed_contract(host_graph(tflite_graph.strip_contract(data), rows),
                                                      Model(toy).contract))
    expected, got = (Model(path, reference_kernels=reference_kernels) for path in (toy, rewritten))
    values = int8_inputs(expected, count=4)
    np.testing.assert_array_equal(got.invoke(values), expected.invoke(values))


@pytest.mark.parametrize("rows", [(1,), (4, 2, 1, 2), (2, 4, 2, 1), (8, 4, 4, 2, 1)], ids=str)
def test_rows_of_any_size_at_any_level_give_the_same_integers(tmp_path, rows):
    """The host rewrite of the shipped MCU graph (grouped and depthwise convs, PAD + stride-2
    downsampling, upsampling RESHAPEs, the head's slices and joins) in other rows per level than the
    shipped ones: convolutions then read and write rows of every ratio (1:2, 2:1, 4:1, 1:8, ...), and
    RESHAPEs are kept or folded. Reference kernels, the shipped windows and random int8 inputs."""
    mcu = shipped_file("ulde_int8.tflite")
    rewritten = tmp_path / "rows.tflite"
    rewritten.write_bytes(tflite_graph.embed_contract(host_graph(tflite_graph.strip_contract(mcu.read_bytes()), rows),
                                                      Model(mcu).contract))
    expected, got = (Model(path, reference_kernels=True) for path in (mcu, rewritten))
    values = int8_inputs(expected, count=2)
    np.testing.assert_array_equal(got.invoke(values), expected.invoke(values))


def test_the_runtime_runs_the_host_graph_by_default():
    host, low_latency = shipped_file(DEFAULT_MODEL), shipped_file(LOW_LATENCY_MODEL)
    assert Model().path == host
    assert StreamingDenoiser().model.path == host
    assert StreamingDenoiser(low_latency=True).model.path == low_latency
    assert "DEPTHWISE_CONV_2D" not in tflite_graph.operator_counts(Model().file.data)


def test_the_export_refuses_a_form_whose_integers_differ(tmp_path):
    """The exporter's check (export/pipeline.py): one weight changed in the host graph fails the export."""
    from ulde.export.pipeline import check_int8_forms

    mcu = shipped_file("ulde_int8.tflite")
    model = tflite_graph.read_model(tflite_graph.strip_contract(shipped_file(DEFAULT_MODEL).read_bytes()))
    graph = model.subgraphs[0]
    conv = next(op for op in graph.operators if tflite_graph.operator_name(model, op.opcodeIndex) == "CONV_2D")
    weights = model.buffers[graph.tensors[conv.inputs[1]].buffer]
    weights.data = [int(v) ^ 1 if k == 0 else int(v) for k, v in enumerate(weights.data)]
    tampered = tmp_path / "ulde_int8_host.tflite"
    tampered.write_bytes(tflite_graph.embed_contract(tflite_graph.pack_model(model, 1 << 15), Model(mcu).contract))
    windows = load(PARITY_FILE)["noisy_group1"][:2].astype(np.float64)
    with pytest.raises(tflite_graph.TFLiteGraphError, match="ulde_int8_host.tflite differs from the converter's int8 graph"):
        check_int8_forms(mcu, mcu, tampered, (windows, None))
    assert check_int8_forms(mcu, mcu, shipped_file(DEFAULT_MODEL), (windows, None))["windows"] == 2


@pytest.mark.parametrize("name", [name for pair in PAIRS for name in pair])
def test_shipped_int8_forms_run_twelve_leads_in_one_exact_call(name):
    """Every RESHAPE takes any batch and every STRIDED_SLICE the whole batch: 12 leads, one call."""
    model = Model(shipped_file(name))
    frames = int8_inputs(model, count=6).reshape(1, 12, -1)  # one window of 12 leads: 6 of ECG, 6 random
    one_call = model.invoke(frames)
    assert model.batched(12) is True
    np.testing.assert_array_equal(one_call, np.concatenate([model.invoke(frames[:, k : k + 1]) for k in range(12)], axis=1))
