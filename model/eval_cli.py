"""``ulde-eval``: score checkpoints and classical baselines on the same windows; writes JSON + Markdown."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from ulde.model.baselines import bandpass, classical_denoisers
from ulde.model.checkpoint import CheckpointError, file_sha256, load_model, shipped_checkpoint
from ulde.model.datadir import DataDirError, resolve_data_dir
from ulde.model.evaluate import group_sets, robustness, score, stress_sets
from ulde.model.inference import predict
from ulde.model.records import RecordError
from ulde.model.report import render
from ulde.model.splits import load_splits


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="ulde-eval", description=__doc__)
    p.add_argument("--ckpt", type=Path, action="append", help="checkpoint to score (repeatable; default: the shipped student)")
    p.add_argument("--data-dir", type=Path, default=None, help="PhysioNet data folder (default: $ULDE_DATA)")
    p.add_argument("--splits", type=Path, default=None, help="split file (default: the committed one)")
    p.add_argument("--out", type=Path, default=Path("ulde-eval"), help="folder for results.json and results.md")
    p.add_argument("--no-neurokit", action="store_true", help="skip the NeuroKit2 baselines (the slowest part)")
    return p.parse_args(argv)


def network_denoisers(paths: list[Path]) -> tuple[dict, dict]:
    """(name -> denoiser, name -> checkpoint facts); a name is the file name, network and training role."""
    denoisers, facts = {}, {}
    for path in paths:
        model, meta = load_model(path)
        fine_tuning = ", int8-aware fine-tuning" if (meta.get("settings") or {}).get("fake_quant") else ""
        name = f"{path.name}: {model.config.name}, {meta.get('role', 'network')}{fine_tuning}"
        denoisers[name] = lambda w, m=model: predict(m, w)
        facts[name] = {"path": str(path), "sha256": file_sha256(path), "complexity": meta.get("complexity") or {},
                       "val_snr_improvement_db": meta.get("val_snr_improvement_db")}
    return denoisers, facts


def evaluate(args: argparse.Namespace) -> dict:
    data_dir = resolve_data_dir(args.data_dir)
    splits = load_splits(args.splits)["clean"]
    networks, facts = network_denoisers(args.ckpt or [shipped_checkpoint()])
    results = {"command": shlex.join(["ulde-eval"] + (sys.argv[1:] if args.argv is None else args.argv)), "checkpoints": facts}
    results["cpsc_test"] = score({**networks, **classical_denoisers(not args.no_neurokit)},
                                 group_sets(data_dir, "cpsc2018", splits["cpsc2018"]["test"]))
    baselines = {"band-pass 0.5-40 Hz": bandpass}
    results["mitdb_test"] = score({**networks, **baselines}, group_sets(data_dir, "mitdb", splits["mitdb"]["test"]))
    results["robustness"] = robustness(data_dir, splits["cpsc2018"]["test"], {**networks, **baselines})
    try:
        results["stress"] = score({**networks, **baselines}, stress_sets(data_dir))
    except DataDirError as exc:
        results["stress"] = f"skipped, {exc}"
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.argv = argv
    try:
        results = evaluate(args)
    except (DataDirError, RecordError, CheckpointError, ValueError) as exc:
        print(f"ulde-eval: error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    markdown = render(results)
    (args.out / "results.md").write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
