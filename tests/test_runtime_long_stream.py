"""Unbounded streams keep O(window) memory, and the runtime runs where torch/tensorflow cannot import."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

from tests.runtime_fixtures import int8_tflite, tiny_onnx, tiny_model  # noqa: F401
from ulde.runtime import StreamingDenoiser
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

HOURS = 24
CHUNK_SAMPLES = 36_000  # 100 s of signal per process() call
CHUNK_DTYPE = np.float32


def lazy_stream(hours: float, chunk: int):
    """Deterministic chunks of a sine + noise in mV, generated on demand (never held whole)."""
    rng = np.random.default_rng(0)
    total = int(hours * 3600 * SAMPLE_RATE_HZ)
    for start in range(0, total, chunk):
        n = min(chunk, total - start)
        t = (start + np.arange(n)) / SAMPLE_RATE_HZ
        yield (np.sin(2 * np.pi * 1.2 * t) + 0.05 * rng.standard_normal(n)).astype(CHUNK_DTYPE)


@pytest.mark.slow
def test_a_24_hour_stream_runs_in_constant_memory(tiny_model):
    """24 h at 360 Hz (31.1 M samples, 17,280 interpreter calls at hop 1800) through the 3-tap ONNX model
    (the student would take ~3 ms a call on a busy core): buffers constant, no traced growth, every
    sample returned once."""
    d = StreamingDenoiser(tiny_model)
    fed = returned = 0
    checkpoints = {}
    tracemalloc.start()
    try:
        for i, chunk in enumerate(lazy_stream(HOURS, CHUNK_SAMPLES)):
            out = d.process(chunk)
            fed, returned = fed + len(chunk), returned + len(out)
            if i in (36, 863):  # after 1 h and at the end of the 24 h
                checkpoints[i] = (tracemalloc.get_traced_memory()[0], d.buffer_nbytes())
        returned += len(d.flush())
    finally:
        tracemalloc.stop()
    assert fed == returned == HOURS * 3600 * SAMPLE_RATE_HZ
    (mem_1h, buf_1h), (mem_24h, buf_24h) = checkpoints[36], checkpoints[863]
    itemsize = np.dtype(CHUNK_DTYPE).itemsize
    assert buf_1h == buf_24h == d.window_samples * (itemsize + 4)  # input frame in the chunks' dtype, float32 accumulator
    assert mem_24h - mem_1h < 256 * 1024  # one chunk is 144 KB: 23 h more must not add even two


BLOCKER = textwrap.dedent("""
    import importlib.abc, sys
    BLOCKED = ("torch", "tensorflow", "scipy", "ulde.model", "ulde.export", "tf_keras", "keras")
    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if any(name == b or name.startswith(b + ".") for b in BLOCKED):
                raise ImportError(f"{name} is blocked in this test")
    sys.meta_path.insert(0, Blocker())
""")

STREAM = textwrap.dedent("""
    import json, sys
    import numpy as np
    from ulde.runtime import StreamingDenoiser, denoise
    d = StreamingDenoiser(sys.argv[1])
    x = np.sin(np.arange(9000) / 30.0).astype(np.float32)
    out = np.concatenate([d.process(x[:5000]), d.process(x[5000:]), d.flush()])
    assert out.shape == x.shape and np.array_equal(out, denoise(x, sys.argv[1]))
    print(json.dumps(sorted(m.split(".")[0] for m in sys.modules)))
""")


@pytest.mark.parametrize("make_model, backend, other", [
    (int8_tflite, "ai_edge_litert", "onnxruntime"),
    (tiny_onnx, "onnxruntime", "ai_edge_litert"),
])
def test_the_runtime_streams_without_torch_tensorflow_or_scipy(make_model, backend, other):
    """A fresh interpreter with torch, tensorflow and scipy made unimportable streams a model, and
    imports exactly one interpreter package."""
    path = make_model()
    result = subprocess.run([sys.executable, "-c", BLOCKER + STREAM, str(path)], capture_output=True, text=True,
                            timeout=120, cwd="/")
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert not loaded & {"torch", "tensorflow", "scipy", "keras", "tf_keras"}
    assert backend in loaded and other not in loaded
