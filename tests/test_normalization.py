"""Per-window input normalization: one rule for training, export and the runtime."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ulde.model.inference import predict
from ulde.model.networks import STUDENT, TEACHER, build
from ulde.runtime.errors import ModelFileError
from ulde.runtime.normalization import PEAK_FLOOR_MV, normalize, window_scale


def test_peak_scale_is_the_window_peak_with_a_floor():
    windows = np.array([[0.5, -2.0, 1.0], [0.01, -0.02, 0.0]], dtype=np.float32)
    assert np.array_equal(window_scale(windows, "peak"), np.array([[2.0], [PEAK_FLOOR_MV]], dtype=np.float32))
    assert np.array_equal(window_scale(windows, "none"), np.ones((2, 1), dtype=np.float32))
    with pytest.raises(ValueError, match="unknown input normalization 'rms'"):
        window_scale(windows, "rms")


def test_normalize_gives_the_network_input_and_the_scale_to_multiply_back():
    windows = np.array([[0.5, -2.0, 1.0], [0.01, -0.02, 0.0]], dtype=np.float32)
    network_input, scale = normalize(windows, "peak")
    assert np.array_equal(scale, window_scale(windows, "peak")) and network_input.dtype == np.float32
    assert np.array_equal(network_input, windows / scale) and np.abs(network_input).max() == 1.0


def test_conditioned_network_is_scale_equivariant_above_the_floor_and_ignores_offsets(rng):
    torch.manual_seed(0)
    model = build(STUDENT)
    assert model.config.input_normalization == TEACHER.input_normalization == "mean-peak"
    windows = rng.normal(0, 0.5, (2, 3600)).astype(np.float32)
    assert np.allclose(predict(model, 3 * windows), 3 * predict(model, windows), rtol=1e-4, atol=1e-5)
    assert np.allclose(predict(model, windows - 50.0), predict(model, windows), rtol=0, atol=1e-4)
