"""The things the latency tables time, each a zero-argument callable doing one unit of work on one thread.

Per 10 s window: one call of each exported model through ``ulde.runtime.Model`` (mV in and out: the
contract's conditioning, int8 (de)quantization and output rule included), one torch eager forward, one
band-pass filtering.
Per streamed minute: ``StreamingDenoiser.process`` of one minute on a stream already running (steady
state: minute / hop interpreter calls plus the overlap-add); torch eager runs the same number of single
window forwards (no overlap-add); the band-pass filters the minute in one zero-phase call.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.artefacts import Artefacts
from ulde.runtime import Model, StreamingDenoiser

LABELS = {
    "tflite_int8": "TFLite int8 host graph, LiteRT (the runtime's default)",
    "tflite_int8_mcu": "TFLite int8 MCU graph, LiteRT",
    "tflite_float": "TFLite float32, LiteRT",
    "onnx_float": "ONNX float32, onnxruntime",
    "onnx_int8": "ONNX int8, onnxruntime",
    "torch_eager": "torch eager float32 (reference)",
    "bandpass": "band-pass 0.5-40 Hz, scipy (baseline)",
}


def exported_models(artefacts: Artefacts) -> dict[str, Path]:
    """Contender name -> model file, the int8 ONNX model only where it was exported."""
    models = {"tflite_int8": artefacts.int8_tflite, "tflite_int8_mcu": artefacts.mcu_int8_tflite,
              "tflite_float": artefacts.float_tflite, "onnx_float": artefacts.float_onnx}
    if artefacts.int8_onnx is not None:
        models["onnx_int8"] = artefacts.int8_onnx
    return models


def model_window_calls(models: dict[str, Path], window: np.ndarray) -> dict[str, Callable[[], object]]:
    """One 10 s window (T,) float32 mV through ``Model.denoise_frames`` of each named model file."""
    frames = np.ascontiguousarray(window, dtype=np.float32)[None, None]  # (1 frame, 1 lead, T), as a stream hands them
    return {name: (lambda m=Model(path): m.denoise_frames(frames)) for name, path in models.items()}


def window_contenders(artefacts: Artefacts, network, window: np.ndarray) -> dict[str, Callable[[], object]]:
    """One 10 s window (T,) float32 mV through each contender."""
    from ulde.model.baselines import bandpass
    from ulde.model.inference import predict

    frame = np.ascontiguousarray(window, dtype=np.float32)[None]  # (1, T)
    calls = model_window_calls(exported_models(artefacts), window)
    calls["torch_eager"] = lambda: predict(network, frame, batch_size=1)
    calls["bandpass"] = lambda: bandpass(frame)
    return calls


def stream_frames(signal: np.ndarray, window: int, hop: int, count: int) -> np.ndarray:
    """(count, window) frames of ``signal`` at a ``hop``-sample stride, as a stream frames it."""
    return np.stack([signal[k * hop : k * hop + window] for k in range(count)]).astype(np.float32)


def minute_contenders(artefacts: Artefacts, network, signal: np.ndarray, minute: int) -> dict[str, Callable[[], object]]:
    """One minute (``minute`` samples of ``signal``) through each contender; ``signal`` must hold a minute + a window."""
    from ulde.model.baselines import bandpass
    from ulde.model.inference import predict

    chunk = np.ascontiguousarray(signal[:minute], dtype=np.float32)
    streams = {name: StreamingDenoiser(path, num_threads=1) for name, path in exported_models(artefacts).items()}
    calls = {}
    for name, stream in streams.items():
        stream.process(chunk)  # steady state from the first timed call on
        calls[name] = lambda d=stream: d.process(chunk)
    int8 = streams["tflite_int8"]
    frames = stream_frames(signal, int8.window_samples, int8.hop_samples, calls_per_minute(int8, minute))
    calls["torch_eager"] = lambda: predict(network, frames, batch_size=1)
    calls["bandpass"] = lambda: bandpass(chunk[None])
    return calls


def calls_per_minute(stream: StreamingDenoiser, minute: int) -> int:
    """Interpreter calls a steady stream makes per ``minute`` samples; ValueError unless a whole number."""
    calls, rest = divmod(minute, stream.hop_samples)
    if rest:
        raise ValueError(f"a minute of {minute} samples is not a whole number of {stream.hop_samples}-sample hops")
    return calls


class _ReplayedInterpreter:
    """Stands in for a Model's interpreter: returns the output values the real one gave for the same
    rows, at the cost of one copy, so that what is timed is the runtime's own work alone."""

    def __init__(self, real):
        self.real, self._replies, self.misses = real, {}, 0

    def __getattr__(self, name):
        return getattr(self.real, name)

    def invoke_rows(self, values: np.ndarray) -> np.ndarray:
        key = values.tobytes()
        if key not in self._replies:
            self.misses += 1
            self._replies[key] = self.real.invoke_rows(values)
        return self._replies[key].copy()


def streaming_and_bare(model: Path, signal: np.ndarray, minute: int) -> tuple[dict[str, Callable[[], object]], int, _ReplayedInterpreter]:
    """The streaming-overhead contenders on one model, one minute each. ``streaming``: through
    ``StreamingDenoiser``; ``bare_invokes``: the same number of bare ``set_tensor`` + ``invoke`` +
    ``get_tensor`` calls on a second interpreter of the same file, fed the same frames already in the
    model's input dtype (what the runtime adds is everything else: chunk checks, buffering,
    (de)quantization, taper and overlap-add); ``runtime_alone``: the same minute through a second
    stream whose interpreter replays the outputs the real one gave (the runtime's own work; timed apart
    from the others, no interpreter call evicts its data from the caches). Returns (calls, interpreter calls
    per minute, the replay: its ``misses`` count the real calls it made, one per distinct batch of rows)."""
    chunk = np.ascontiguousarray(signal[:minute], dtype=np.float32)
    stream, alone = StreamingDenoiser(model, num_threads=1), StreamingDenoiser(model, num_threads=1)
    replay = alone.model._interpreter = _ReplayedInterpreter(alone.model._interpreter)  # a benchmark's stand-in, see above
    for running in (stream, alone, alone):  # the replay learns the steady state's rows on its second minute
        running.process(chunk)
    count = calls_per_minute(stream, minute)
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model), num_threads=1)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    frames = stream.model.encode(stream_frames(signal, stream.window_samples, stream.hop_samples, count))
    frames = [f.reshape(inp["shape"]) for f in frames]

    def bare():
        for frame in frames:
            interpreter.set_tensor(inp["index"], frame)
            interpreter.invoke()
            interpreter.get_tensor(out["index"])

    return {"streaming": lambda: stream.process(chunk), "bare_invokes": bare,
            "runtime_alone": lambda: alone.process(chunk)}, count, replay
