"""QRS detection behind a denoiser: wfdb's XQRS on NSTDB's noisy records 118e*/119e* as recorded.

"As recorded" means the records' physical signal exactly as PhysioNet stores it, storage offset (about
-5 mV) included: no correction by the evaluation, which is what a denoiser meets on real files. XQRS
runs on the first channel (MLII) of the raw record and of each denoiser's output; detections are
matched to the records' beat annotations within MATCH_MS (wfdb's ``compare_annotations``), the first
SKIP_SECONDS (noise-free, and XQRS's own learning period) left out of the count.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import wfdb
from wfdb import processing

from ulde.model.datadir import require_records
from ulde.model.evaluate import STRESS_RECORDS, STRESS_SNR_TAGS
from ulde.model.records import read_record
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

RecordDenoiser = Callable[[np.ndarray], np.ndarray]
"""(n,) float mV of a whole record -> (n,) float mV."""

SKIP_SECONDS = 300
MATCH_MS = 150
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")
"""WFDB annotation codes that mark a beat (rhythm, noise and comment codes are not beats)."""


def beat_samples(record_path: Path) -> np.ndarray:
    annotation = wfdb.rdann(str(record_path), "atr")
    return np.array([s for s, sym in zip(annotation.sample, annotation.symbol) if sym in BEAT_SYMBOLS], dtype=int)


def xqrs_counts(signal: np.ndarray, beats: np.ndarray) -> dict:
    """{'tp', 'beats', 'detections'} of XQRS on ``signal`` against ``beats``, both after SKIP_SECONDS."""
    skip = SKIP_SECONDS * SAMPLE_RATE_HZ
    detected = np.asarray(processing.xqrs_detect(np.asarray(signal, np.float64), fs=SAMPLE_RATE_HZ, verbose=False), dtype=int)
    reference, test = beats[beats >= skip], detected[detected >= skip]
    comparison = processing.compare_annotations(reference, test, int(MATCH_MS * SAMPLE_RATE_HZ / 1000))
    return {"tp": int(comparison.tp), "beats": int(len(reference)), "detections": int(len(test))}


def scores(counts: list[dict]) -> dict:
    """F1, sensitivity and PPV from counts summed over records."""
    tp, beats, detections = (sum(c[k] for c in counts) for k in ("tp", "beats", "detections"))
    sensitivity, ppv = tp / max(beats, 1), tp / max(detections, 1)
    f1 = 2 * tp / max(beats + detections, 1)
    return {"f1": float(f1), "sensitivity": float(sensitivity), "ppv": float(ppv), "beats": int(beats)}


def stress_qrs(data_dir: Path, denoisers: dict[str, RecordDenoiser]) -> dict:
    """{SNR label: {'raw input' | denoiser: XQRS scores pooled over 118 and 119}}."""
    folder = data_dir / "nstdb"
    require_records(folder, [f"{r}e{t}" for r in STRESS_RECORDS for t in STRESS_SNR_TAGS])
    table = {}
    for tag in STRESS_SNR_TAGS:
        counts: dict[str, list] = {}
        for record in STRESS_RECORDS:
            path = folder / f"{record}e{tag}"
            signal = read_record(path)[0][:, 0]
            beats = beat_samples(path)
            for name, denoise in {"raw input": lambda x: x, **denoisers}.items():
                counts.setdefault(name, []).append(xqrs_counts(denoise(signal), beats))
        table[f"{int(tag.replace('_', '-'))} dB"] = {name: scores(parts) for name, parts in counts.items()}
    return table
