"""Evaluation sections of ``ulde-eval``: each returns plain data (JSON-ready) for the report.

1. CPSC 2018 test split, noise groups 1-3 (the paper's protocol);
2. MIT-BIH test records (cross-database);
3. controlled input SNRs per single noise type (robustness);
4. NSTDB's own noisy records 118e*/119e* against MIT-BIH 118/119.
Every window is denoised on its own (one 3600-sample window per call), as in the paper.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ulde.model.datadir import require_records
from ulde.model.datasets import EVAL_SEED, EvalSet, eval_set
from ulde.model.metrics import snr_db, summarize, window_metrics
from ulde.model.noise import CONTROLLED_SNRS_DB, GROUPS, SINGLE_TYPE_GROUPS
from ulde.model.records import load_clean_leads, read_record
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ, WINDOW_SAMPLES

Denoiser = Callable[[np.ndarray], np.ndarray]

STRESS_RECORDS = ("118", "119")
STRESS_SNR_TAGS = ("24", "18", "12", "06", "00", "_6")
STRESS_NOISE_ON_MINUTES = (5, 9, 13, 17, 21, 25)  # NSTDB: noise on for 2 min from each of these
STRESS_ON_SECONDS = 120


def score(denoisers: dict[str, Denoiser], sets: dict[str, EvalSet]) -> dict:
    """{'input_snr_db': {set: summary}, 'scores': {denoiser: {set: {metric: summary}}}}."""
    return {
        "input_snr_db": {name: summarize({"snr": snr_db(s.clean, s.noisy)})["snr"] for name, s in sets.items()},
        "scores": {
            name: {set_name: summarize(window_metrics(s.clean, s.noisy, denoise(s.noisy))) for set_name, s in sets.items()}
            for name, denoise in denoisers.items()
        },
    }


def group_sets(data_dir: Path, database: str, records: list[str]) -> dict[str, EvalSet]:
    return {g.name: eval_set(data_dir, database, records, "test", g, EVAL_SEED) for g in GROUPS}


def robustness(data_dir: Path, records: list[str], denoisers: dict[str, Denoiser]) -> dict:
    """SNR improvement (mean dB) per single noise type and controlled input SNR; under "clean", the
    mean output SNR (dB) of the noise-free windows against themselves (no improvement is defined)."""
    table = {}
    clean = None
    for group in SINGLE_TYPE_GROUPS:
        for snr in CONTROLLED_SNRS_DB:
            s = eval_set(data_dir, "cpsc2018", records, "test", group, EVAL_SEED, snr_db=snr)
            clean = s.clean
            for name, denoise in denoisers.items():
                gain = snr_db(s.clean, denoise(s.noisy)) - snr_db(s.clean, s.noisy)
                table.setdefault(name, {}).setdefault(group.name, {})[f"{snr:g}"] = float(np.mean(gain))
    for name, denoise in denoisers.items():
        passed = float(np.mean(snr_db(clean, denoise(clean))))
        for group in SINGLE_TYPE_GROUPS:
            table[name][group.name]["clean"] = passed
    return table


def stress_sets(data_dir: Path) -> dict[str, EvalSet]:
    """Windows of NSTDB's noisy records inside the noise-on periods, against the clean MIT-BIH record.

    NSTDB stores each noisy record 1024 adu (5.12 mV) below MIT-BIH's; that constant is measured over
    the noise-free first 5 minutes and removed. The noise NSTDB added (noisy - clean, both as
    published) is then laid on the baseline-corrected reference used everywhere else, so the input
    differs from the reference by exactly PhysioNet's calibrated noise.
    """
    require_records(data_dir / "nstdb", [f"{r}e{t}" for r in STRESS_RECORDS for t in STRESS_SNR_TAGS])
    require_records(data_dir / "mitdb", list(STRESS_RECORDS))
    starts = [m * 60 * SAMPLE_RATE_HZ + k * WINDOW_SAMPLES for m in STRESS_NOISE_ON_MINUTES
              for k in range(STRESS_ON_SECONDS * SAMPLE_RATE_HZ // WINDOW_SAMPLES)]
    index = np.array(starts)[:, None] + np.arange(WINDOW_SAMPLES)
    quiet = slice(0, STRESS_NOISE_ON_MINUTES[0] * 60 * SAMPLE_RATE_HZ)
    sets = {}
    for tag in STRESS_SNR_TAGS:
        clean_parts, noisy_parts = [], []
        for record in STRESS_RECORDS:
            raw = read_record(data_dir / "mitdb" / record)[0]
            reference = np.stack([lead.signal for lead in load_clean_leads(data_dir / "mitdb", record, SAMPLE_RATE_HZ)], axis=1)
            added = read_record(data_dir / "nstdb" / f"{record}e{tag}")[0] - raw
            added -= added[quiet].mean(axis=0)  # the storage offset, measured where no noise was added
            clean_parts += [reference[index, c] for c in range(reference.shape[1])]
            noisy_parts += [(reference + added)[index, c].astype(np.float32) for c in range(reference.shape[1])]
        sets[f"{tag.replace('_', '-')} dB"] = EvalSet(np.concatenate(clean_parts), np.concatenate(noisy_parts), [])
    return sets
