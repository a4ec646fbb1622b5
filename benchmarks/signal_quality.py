"""The runtime's signal-quality output against the true input SNR of each released block.

    python -m benchmarks.signal_quality --data-dir <data> --model runtime/models/ulde_int8.tflite --out docs/signal_quality.json

Test records of CPSC 2018 and MIT-BIH; each NSTDB noise type alone (bw, em, ma) scaled per 10 s window
to an input SNR of -6 ... 30 dB (seed 7, as ulde.model.evaluate), and no noise. Each lead's consecutive
windows are streamed as one signal with ``quality=True``; each released block (H samples) is scored:
estimate = the quality output over it; truth = 10 log10(sum clean^2 / sum noise^2) over it, both parts
about their block mean (runtime/quality.py's definition). Reported per noise type: Spearman's rho and
the mean absolute error over the noisy blocks, and the median and 5th percentile of the estimate on
clean blocks. A calibration is tried too: a monotone map from estimate to truth fitted on the
validation records (all three types pooled), its mean absolute error on the test blocks.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from benchmarks.measurement_cli import run_measurement
from benchmarks.streaming_quality import lead_runs
from ulde.model.datasets import EVAL_SEED
from ulde.runtime import StreamingDenoiser, denoise

SNRS_DB = (-6, 0, 6, 12, 18, 24, 30)
CALIBRATION_BINS = 40
DATABASES = ("cpsc2018", "mitdb")


def centred_energy(blocks: np.ndarray) -> np.ndarray:
    return np.sum((blocks - blocks.mean(axis=1, keepdims=True)) ** 2, axis=1)


def scored_blocks(model: Path, clean: np.ndarray, noisy: np.ndarray, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """(estimate, truth) per complete block of one lead signal, dB."""
    _, quality = denoise(noisy, model, quality=True)
    count = len(clean) // hop
    shape = (count, hop)
    estimate = quality[: count * hop].reshape(shape)[:, 0]
    noise = (noisy - clean)[: count * hop].reshape(shape)
    with np.errstate(divide="ignore"):
        truth = 10 * np.log10(centred_energy(clean[: count * hop].reshape(shape)) / centred_energy(noise))
    return estimate.astype(np.float64), truth


def block_pairs(model: Path, data_dir: Path, split: str, group, snr: float, databases, hop: int):
    """(estimate, truth) of every complete block of the split's lead signals, and their clean signals."""
    from ulde.model.datasets import eval_set
    from ulde.model.splits import load_splits

    pairs, cleans = [], []
    for database in databases:
        s = eval_set(data_dir, database, load_splits()["clean"][database][split], split, group, EVAL_SEED, snr_db=snr)
        for run in lead_runs(s.labels):
            cleans.append(s.clean[run].reshape(-1))
            pairs.append(scored_blocks(model, cleans[-1], s.noisy[run].reshape(-1), hop))
    return [np.concatenate(part) for part in zip(*pairs)], cleans


def fitted_calibration(estimates: np.ndarray, truths: np.ndarray, bins: int = CALIBRATION_BINS):
    """A monotone piecewise-linear map estimate -> true SNR: the median truth of each quantile bin of
    the estimate, made non-decreasing; (knots_x, knots_y)."""
    edges = np.quantile(estimates, np.linspace(0, 1, bins + 1))
    index = np.clip(np.searchsorted(edges, estimates, side="right") - 1, 0, bins - 1)
    knots_x = np.array([np.median(estimates[index == b]) for b in range(bins)])
    knots_y = np.maximum.accumulate(np.array([np.median(truths[index == b]) for b in range(bins)]))
    return knots_x, knots_y


def measure(model: Path, data_dir: Path, databases=DATABASES, snrs=SNRS_DB) -> dict:
    from scipy.stats import spearmanr

    from ulde.model.noise import SINGLE_TYPE_GROUPS

    d = StreamingDenoiser(model)
    hop = d.hop_samples
    if d.framing.left_pad % hop:
        raise ValueError("blocks align with the record only when T - H is a multiple of H")
    result = {"model": str(model), "split": "test", "seed": EVAL_SEED, "snrs_db": list(snrs), "noise_types": {}}
    pooled = {"val": ([], []), "test": {}}
    clean_estimates = []
    for group in SINGLE_TYPE_GROUPS:
        tests, per_snr = [], {}
        for snr in snrs:
            (e, t), cleans = block_pairs(model, data_dir, "test", group, snr, databases, hop)
            if not clean_estimates:
                clean_estimates = [scored_blocks(model, c, c, hop)[0] for c in cleans]
            per_snr[f"{snr:g}"] = {"median_estimate_db": float(np.median(e)), "median_truth_db": float(np.median(t)),
                                   "mae_db": float(np.mean(np.abs(e - t)))}
            tests.append((e, t))
            (ve, vt), _ = block_pairs(model, data_dir, "val", group, snr, databases, hop)
            pooled["val"][0].append(ve)
            pooled["val"][1].append(vt)
        e, t = (np.concatenate(part) for part in zip(*tests))
        pooled["test"][group.name] = (e, t)
        result["noise_types"][group.name] = {"blocks": int(len(e)), "spearman_rho": float(spearmanr(e, t)[0]),
                                             "mae_db": float(np.mean(np.abs(e - t))), "by_snr": per_snr}
    knots = fitted_calibration(*(np.concatenate(part) for part in pooled["val"]))
    result["calibration_fitted_on_val"] = {"knots_estimate_db": knots[0].tolist(), "knots_truth_db": knots[1].tolist()}
    for name, (e, t) in pooled["test"].items():
        result["noise_types"][name]["calibrated_mae_db"] = float(np.mean(np.abs(np.interp(e, *knots) - t)))
    clean = np.concatenate(clean_estimates)
    result["clean"] = {"blocks": int(len(clean)), "median_estimate_db": float(np.median(clean)),
                       "p5_estimate_db": float(np.percentile(clean, 5))}
    return result


def table(result: dict) -> str:
    snrs = result["snrs_db"]
    lines = ["| noise | blocks | Spearman rho | MAE (dB) | calibrated MAE (dB) | " +
             " | ".join(f"{s:g} dB: est / MAE" for s in snrs) + " |", "|---|---|---|---|---|" + "---|" * len(snrs)]
    for name, row in result["noise_types"].items():
        cells = [f"{row['by_snr'][f'{s:g}']['median_estimate_db']:.1f} / {row['by_snr'][f'{s:g}']['mae_db']:.1f}" for s in snrs]
        lines.append(f"| {name} | {row['blocks']} | {row['spearman_rho']:.3f} | {row['mae_db']:.2f} | "
                     f"{row['calibrated_mae_db']:.2f} | " + " | ".join(cells) + " |")
    c = result["clean"]
    lines.append(f"\nclean input: {c['blocks']} blocks, estimate median {c['median_estimate_db']:.1f} dB, "
                 f"5th percentile {c['p5_estimate_db']:.1f} dB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return run_measurement(__doc__.splitlines()[0], measure, table, argv)


if __name__ == "__main__":
    sys.exit(main())
