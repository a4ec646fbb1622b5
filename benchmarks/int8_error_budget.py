"""Where the int8 model's output error comes from: each rounded tensor, and the weights, one at a time.

The measurement behind the int8 sections of docs/model.md. The network is put in its exported form
(identity connections folded, downsampling outputs equalized unless ``--no-equalization``); every
tensor the int8 graph stores is rounded alone (model/fake_quant.py's rounding points, min/max ranges
over the exporter's calibration windows), then all of them together, then the conv weights alone
(per output channel, symmetric, as the converter stores them). Each row is the int8-vs-float output
SNR (dB, mean over windows) per noise group on the validation split: a simulation of the rounding,
not LiteRT's arithmetic (the real int8 model, from ``ulde-export``, scores lower). Needs the full data:

    python -m benchmarks.int8_error_budget --ckpt model/checkpoints/student.pt --data-dir "$ULDE_DATA"
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ulde.export.calibration import calibration_from_data
from ulde.model.checkpoint import load_model
from ulde.model.datasets import EVAL_SEED, eval_set
from ulde.model.equalization import equalize_downsampling
from ulde.model.fake_quant import FakeQuant
from ulde.model.fusion import inference_form
from ulde.model.inference import predict
from ulde.model.metrics import snr_db
from ulde.model.noise import GROUPS
from ulde.model.splits import load_splits
from ulde.runtime.normalization import normalize

WINDOWS_PER_GROUP = 150


def weights_rounded(network: nn.Module) -> nn.Module:
    """A copy with every BatchNorm folded and every conv weight rounded to int8 per output channel."""
    rounded = copy.deepcopy(network)
    for parent in rounded.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.Sequential) and len(child) == 2 and isinstance(child[1], nn.BatchNorm1d):
                setattr(parent, name, fuse_conv_bn_eval(child[0].eval(), child[1].eval()))
    with torch.no_grad():
        for module in rounded.modules():
            if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
                axis = 1 if isinstance(module, nn.ConvTranspose1d) else 0  # the output-channel axis
                dims = tuple(d for d in range(module.weight.ndim) if d != axis)
                step = module.weight.abs().amax(dim=dims, keepdim=True).clamp_min(1e-12) / 127
                module.weight.copy_(torch.round(module.weight / step) * step)
    return rounded


def budget(checkpoint: Path, data_dir: Path, equalize: bool) -> list[tuple[str, list[float], str]]:
    """(row name, int8-vs-float SNR per group, note) rows, the worst single tensors first."""
    network = load_model(checkpoint)[0].eval()
    calibration = calibration_from_data(data_dir)  # mV; predict applies the network's input normalization
    form = inference_form(network)
    if equalize:
        network_input = normalize(calibration, network.config.input_normalization)[0]
        form = equalize_downsampling(form, torch.from_numpy(network_input)[:, None])
    records = load_splits()["clean"]["cpsc2018"]["val"]
    windows = [eval_set(data_dir, "cpsc2018", records, "val", g, EVAL_SEED).noisy[:WINDOWS_PER_GROUP] for g in GROUPS]
    exact = [predict(form, w) for w in windows]

    def score(net: nn.Module) -> list[float]:
        return [float(np.mean(snr_db(e, predict(net, w)))) for e, w in zip(exact, windows)]

    fake_quant = FakeQuant(form, momentum=0.0, equalized=equalize)
    fake_quant.observing, fake_quant.rounded = True, set()
    predict(form, calibration)
    fake_quant.observing = False
    rows = []
    for key, tracker in list(fake_quant.ranges.items()):
        fake_quant.rounded = {key}
        low, high = float(tracker.low.min()), float(tracker.high.max())
        rows.append((f"{key[0]}#{key[1]}", score(form), f"range {low:.2f}..{high:.2f}"))
    rows.sort(key=lambda row: min(row[1]))
    fake_quant.rounded = None
    rows.insert(0, ("every rounded tensor", score(form), ""))
    fake_quant.remove()
    rows.insert(1, ("conv weights only", score(weights_rounded(form)), "per output channel"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--no-equalization", action="store_true", help="the exported form without equalization (ulde-export --no-equalization)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = budget(args.ckpt, args.data_dir, equalize=not args.no_equalization)
    print("| rounded | " + " | ".join(g.name for g in GROUPS) + " | |\n|---|---|---|---|---|")
    for name, snrs, note in rows:
        print(f"| {name} | " + " | ".join(f"{s:.1f}" for s in snrs) + f" | {note} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
