"""The runtime's default streaming stays close to one model call per window on the real test split."""

from __future__ import annotations

import pytest

from benchmarks.streaming_quality import measure


@pytest.mark.full_data
@pytest.mark.slow
def test_default_streaming_loses_under_half_a_db_against_offline_windows(full_data):
    from tests.runtime_fixtures import shipped_file

    model = shipped_file("ulde.onnx")
    result = measure(model, full_data, configs=(("hann", 0.5),))
    for name, row in result["groups"].items():
        loss = row["offline_db"] - row[next(k for k in row if k.startswith("hann/"))]["stream_db"]
        assert loss < 0.5, f"{name}: streaming loses {loss:.2f} dB against one window at a time"
