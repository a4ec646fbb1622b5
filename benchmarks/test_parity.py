"""Quality on the CPSC 2018 test split of every noise group: int8 vs float, and streaming vs one window.

int8 vs float: the exporter's own parity report (``ulde.export.parity.parity_report``) over the four
exported routes (torch, ONNX float, TFLite float, TFLite int8), each window denoised by one model call;
the int8 TFLite model must lose <= 0.3 dB SNR improvement and <= 0.005 Pearson r against the TFLite
float model per group, with an int8-vs-float output SNR >= 25 dB (bounds for the full test split; the
fixture's are in benchmarks/bounds.py).

Streaming vs one window: each test window (10 s) denoised by the runtime as a signal of its own,
``denoise(window)`` with the int8 model (hop 1800, hann taper: three overlapping frames, the window
mirrored at both ends to fill them), against one int8 model call on exactly that window. Both go through the
runtime's LiteRT backend, so only the framing differs; the mean SNR improvement may drop <= 0.1 dB.
The steady state of a long stream (the windows end to end through ``denoise``) is recorded beside it.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.collector import require
from ulde.export.backends import denoise_all_routes
from ulde.export.variants import TEN_SECOND
from ulde.export.parity import BACKENDS, parity_report
from ulde.model.baselines import bandpass
from ulde.model.metrics import window_metrics
from ulde.runtime import StreamingDenoiser, denoise, denoise_windows


def snr_improvement(s, denoised: np.ndarray) -> float:
    return float(np.mean(window_metrics(s.clean, s.noisy, denoised)["snr_improvement_db"]))


@pytest.fixture(scope="module")
def int8_parity(artefacts, network, eval_data, results) -> dict:
    """The parity report of every route on every group, recorded once in the results file."""
    sets = [(name, s.clean, s.noisy, s.labels) for name, s in eval_data.sets.items()]
    outputs = {backend: {} for backend in BACKENDS}
    for name, _, noisy, _ in sets:
        routes = denoise_all_routes(TEN_SECOND, network, artefacts.float_onnx, artefacts.float_tflite, artefacts.int8_tflite, noisy)
        for route, denoised in routes.items():
            outputs[route][name] = denoised
    report = parity_report(sets, outputs, eval_data.bounds.int8_loss_db)
    for name, row in report["groups"].items():
        s = eval_data.sets[name]
        row["bandpass"] = {"snr_improvement_db": snr_improvement(s, bandpass(s.noisy))}
        row["int8_pearson_loss"] = row["tflite_float"]["pearson_out"] - row["tflite_int8"]["pearson_out"]
    results.record("parity", {
        "method": "Each test window denoised by one call of each route (torch eager, ONNX float with onnxruntime, "
                  "TFLite float and int8 with LiteRT, one thread), scored by ulde.export.parity.parity_report; "
                  "int8 losses are TFLite float minus TFLite int8. Band-pass 0.5-40 Hz shown for reference.",
        "data": eval_data.describe(), "bounds": eval_data.bounds.__dict__, "groups": report["groups"],
    })
    return report


def test_int8_loses_little_denoising_on_every_noise_group(int8_parity, eval_data, results):
    """int8 TFLite vs TFLite float per group: losses of SNR improvement and of Pearson r."""
    bounds, gates = eval_data.bounds, []
    for name, row in int8_parity["groups"].items():
        gates += [
            results.gate(f"{name}: int8 loss of SNR improvement vs TFLite float", row["int8_loss_db"], "<=",
                         bounds.int8_loss_db, "dB"),
            results.gate(f"{name}: int8 loss of Pearson r vs TFLite float", row["int8_pearson_loss"], "<=",
                         bounds.int8_pearson_loss, ""),
        ]
    require(*gates)


def test_int8_output_stays_close_to_the_float_output(int8_parity, eval_data, results):
    """int8-vs-float output SNR per group (the output error itself, not its effect on denoising)."""
    require(*[results.gate(f"{name}: int8-vs-float output SNR", row["int8_vs_float_output_snr_db"], ">=",
                           eval_data.bounds.int8_vs_float_snr_db_min, "dB")
              for name, row in int8_parity["groups"].items()])


def test_streaming_matches_one_window_on_every_noise_group(artefacts, eval_data, results):
    """denoise(window) (streaming framing, mirrored ends) loses <= 0.1 dB against one model call per window."""
    bounds, model = eval_data.bounds, artefacts.int8_tflite
    stream = StreamingDenoiser(model, num_threads=1)
    groups, gates = {}, []
    for name, s in eval_data.sets.items():
        one_call = denoise_windows(s.noisy, model)
        # process + flush on one denoiser is denoise(window) without re-loading the model for every window
        streamed = np.stack([np.concatenate([stream.process(window), stream.flush()]) for window in s.noisy])
        assert np.array_equal(streamed[0], denoise(s.noisy[0], model)), "process + flush differs from denoise()"
        row = {"windows": int(len(s.clean)), "one_window_db": snr_improvement(s, one_call),
               "streamed_db": snr_improvement(s, streamed)}
        row["loss_db"] = row["one_window_db"] - row["streamed_db"]
        # for information: the group's windows end to end as one long stream (steady-state overlap-add)
        row["long_signal_db"] = snr_improvement(s, denoise(s.noisy.reshape(-1), model).reshape(s.noisy.shape))
        row["long_signal_loss_db"] = row["one_window_db"] - row["long_signal_db"]
        groups[name] = row
        gates.append(results.gate(f"{name}: denoise(window) loss vs one model call", row["loss_db"], "<=",
                                  bounds.streaming_loss_db, "dB"))
    results.record("streaming_parity", {
        "method": f"{model.name}: each test window denoised as a 10 s signal of its own by the runtime "
                  f"(denoise(window): hop {stream.hop_samples}, hann taper, ends mirrored, "
                  f"{(stream.window_samples + stream.window_samples - stream.hop_samples) // stream.hop_samples} "
                  "interpreter calls) vs one call of the same model on that window; mean SNR improvement in dB, "
                  "loss = one call minus streamed. For information (no bound): the group's windows end to end as "
                  "one long signal through denoise() (each window boundary is a jump in the noise, so this is "
                  "conservative for a real stream).",
        "model": model.name, "data": eval_data.describe(), "groups": groups,
    })
    require(*gates)
