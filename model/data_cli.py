"""``ulde-data``: summarise the dataset: records and windows per split, input SNR per noise group."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ulde.model.datadir import DataDirError, resolve_data_dir
from ulde.model.datasets import CLEAN_SOURCES, EVAL_SEED, clean_leads, clean_windows, eval_set
from ulde.model.metrics import snr_db
from ulde.model.noise import GROUPS
from ulde.model.records import RecordError
from ulde.model.splits import NEVER_TRAIN, SPLIT_NAMES, load_splits
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

PERCENTILES = (5, 25, 50, 75, 95)


def snr_distribution(values: np.ndarray) -> dict[str, float]:
    stats = {f"p{p}": float(np.percentile(values, p)) for p in PERCENTILES}
    return {"mean": float(np.mean(values)), "sd": float(np.std(values)), **stats, "n": int(len(values))}


def summarise(data_dir: Path, splits: dict) -> dict:
    """Records and windows per split, input-SNR distribution per group on validation and test windows."""
    summary = {"data_dir": str(data_dir), "databases": {}, "excluded": []}
    for database in sorted(CLEAN_SOURCES):
        parts = splits["clean"][database]
        entry = {}
        for split in SPLIT_NAMES:
            records = parts[split]
            leads = clean_leads(data_dir, database, records) if records else []
            windows = clean_windows(leads)[0] if leads else np.empty((0, 0))
            entry[split] = {"records": len(records), "leads": len(leads), "windows": len(windows),
                            "hours": round(sum(len(lead.signal) for lead in leads) / SAMPLE_RATE_HZ / 3600, 3)}
            if split != "train" and records:
                entry[split]["input_snr_db"] = {
                    group.name: snr_distribution(snr_db(s.clean, s.noisy))
                    for group in GROUPS
                    for s in [eval_set(data_dir, database, records, split, group, EVAL_SEED)]
                }
        summary["databases"][database] = entry
        for record in NEVER_TRAIN.get(database, ()):
            summary["excluded"].append({"database": database, "record": record, "from": "train, val",
                                        "why": "clean source of NSTDB's noisy records 118e*/119e*: test only"})
    return summary


def render(summary: dict) -> str:
    lines = [f"data: {summary['data_dir']}", "", "| database | split | records | leads | 10 s windows | hours |", "|---|---|---|---|---|---|"]
    for database, entry in summary["databases"].items():
        for split, row in entry.items():
            lines.append(f"| {database} | {split} | {row['records']} | {row['leads']} | {row['windows']} | {row['hours']} |")
    lines += ["", "Input SNR (dB) of the fixed evaluation windows, mean ± sd [p5, p50, p95]:", ""]
    lines += ["| database | split | group | windows | input SNR |", "|---|---|---|---|---|"]
    for database, entry in summary["databases"].items():
        for split, row in entry.items():
            for group, d in row.get("input_snr_db", {}).items():
                lines.append(f"| {database} | {split} | {group} | {d['n']} | {d['mean']:.2f} ± {d['sd']:.2f} "
                             f"[{d['p5']:.1f}, {d['p50']:.1f}, {d['p95']:.1f}] |")
    lines += ["", "Excluded by design:"] + [f"- {e['database']}/{e['record']} from {e['from']}: {e['why']}" for e in summary["excluded"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="ulde-data", description=__doc__)
    p.add_argument("--data-dir", type=Path, default=None, help="PhysioNet data folder (default: $ULDE_DATA)")
    p.add_argument("--splits", type=Path, default=None, help="split file (default: the committed one)")
    p.add_argument("--json", type=Path, default=None, help="also write the summary as JSON here")
    args = p.parse_args(argv)
    try:
        summary = summarise(resolve_data_dir(args.data_dir), load_splits(args.splits))
    except (DataDirError, RecordError, ValueError) as exc:
        print(f"ulde-data: error: {exc}", file=sys.stderr)
        return 1
    print(render(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
