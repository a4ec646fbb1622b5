"""``ulde-eval``: score checkpoints and classical baselines on the same windows; writes JSON + Markdown."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np

from ulde.model.baselines import bandpass, classical_denoisers
from ulde.model.checkpoint import CheckpointError, file_sha256, load_model, shipped_checkpoint, trained_rate_hz
from ulde.model.datadir import DataDirError, list_records, resolve_data_dir
from ulde.model.evaluate import group_sets, robustness, score, stress_sets
from ulde.model.fidelity import fidelity, offset_invariance
from ulde.model.inference import predict, predict_record
from ulde.model.qrs_detection import stress_qrs
from ulde.runtime import denoise, denoise_windows
from ulde.runtime.errors import ModelFileError
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ
from ulde.model.records import RecordError
from ulde.model.report import render
from ulde.model.splits import load_splits


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="ulde-eval", description=__doc__)
    p.add_argument("--ckpt", type=Path, action="append", help="checkpoint to score (repeatable; default: the shipped student)")
    p.add_argument("--data-dir", type=Path, default=None, help="PhysioNet data folder (default: $ULDE_DATA)")
    p.add_argument("--splits", type=Path, default=None, help="split file (default: the committed one)")
    p.add_argument("--out", type=Path, default=Path("ulde-eval"), help="folder for results.json and results.md")
    p.add_argument("--runtime-model", type=Path, action="append", default=[],
                   help="exported model (.tflite/.onnx) to score through ulde.runtime as well (repeatable)")
    p.add_argument("--no-neurokit", action="store_true", help="skip the NeuroKit2 baselines (the slowest part)")
    p.add_argument("--no-qrs", action="store_true", help="skip XQRS on the NSTDB records (a few minutes)")
    return p.parse_args(argv)


def network_denoisers(paths: list[Path]) -> tuple[dict, dict, dict]:
    """(name -> window denoiser, name -> record denoiser, name -> checkpoint facts); a name is the file
    name, network and training role."""
    denoisers, records, facts = {}, {}, {}
    for path in paths:
        model, meta = load_model(path)
        if (rate := trained_rate_hz(meta)) != SAMPLE_RATE_HZ:
            raise CheckpointError(f"{path} was trained at {rate} Hz; ulde-eval scores {SAMPLE_RATE_HZ} Hz models on "
                                  f"{SAMPLE_RATE_HZ} Hz windows (at a device's rate: python -m benchmarks.native_rate)")
        settings = meta.get("settings") or {}
        training = ("distilled" if settings.get("kd_weight") else "not distilled") if settings else meta.get("role", "network")
        fine_tuning = ", int8-aware" if settings.get("fake_quant") else ""
        label = path.name if not any(n.startswith(f"{path.name}:") for n in denoisers) else f"{path.parent.name}/{path.name}"
        name = f"{label}: {model.config.name}, {training}{fine_tuning}"
        denoisers[name] = lambda w, m=model: predict(m, w)
        records[name] = lambda x, m=model: predict_record(m, x)
        facts[name] = {"path": str(path), "sha256": file_sha256(path), "complexity": meta.get("complexity") or {},
                       "val_snr_improvement_db": meta.get("val_snr_improvement_db")}
    return denoisers, records, facts


def runtime_denoisers(paths: list[Path]) -> tuple[dict, dict, dict]:
    """(name -> window denoiser, name -> record denoiser, name -> file facts) for exported models run
    by ulde.runtime: one model call per window for the window tables, streaming for whole records."""
    windows, records, facts = {}, {}, {}
    for path in paths:
        name = f"{path.name} (ulde.runtime)"
        windows[name] = lambda w, p=path: denoise_windows(w, p)
        records[name] = lambda x, p=path: denoise(x, p)
        facts[name] = {"path": str(path), "sha256": file_sha256(path)}
    return windows, records, facts


def test_group_sets(data_dir: Path, splits: dict) -> dict:
    """Per test database (key as in the results), its group sets, or why it is skipped (PTB-XL is optional)."""
    tests = {"cpsc_test": group_sets(data_dir, "cpsc2018", splits["cpsc2018"]["test"]),
             "mitdb_test": group_sets(data_dir, "mitdb", splits["mitdb"]["test"])}
    try:
        tests["ptbxl"] = group_sets(data_dir, "ptbxl", list_records(data_dir / "ptbxl"))
    except DataDirError as exc:
        tests["ptbxl"] = f"skipped, {exc}"
    return tests


def fidelity_sections(tests: dict, denoisers: dict) -> dict:
    """Clean-input and beat-measure fidelity on every test database of ``tests`` (test_group_sets)."""
    return {key: sets if isinstance(sets, str) else fidelity(denoisers, next(iter(sets.values())).clean, sets)
            for key, sets in tests.items()}


def evaluate(args: argparse.Namespace) -> dict:
    data_dir = resolve_data_dir(args.data_dir)
    splits = load_splits(args.splits)["clean"]
    networks, network_records, facts = network_denoisers(args.ckpt or [shipped_checkpoint()])
    exported, exported_records, exported_facts = runtime_denoisers(args.runtime_model)
    results = {"command": shlex.join(["ulde-eval"] + (sys.argv[1:] if args.argv is None else args.argv)),
               "checkpoints": facts, "runtime_models": exported_facts}
    learned = {**networks, **exported}
    tests = test_group_sets(data_dir, splits)
    results["cpsc_test"] = score({**learned, **classical_denoisers(not args.no_neurokit)}, tests["cpsc_test"])
    baselines = {"band-pass 0.5-40 Hz": bandpass}
    compared = {**learned, **baselines}
    results["mitdb_test"] = score(compared, tests["mitdb_test"])
    results["robustness"] = robustness(data_dir, splits["cpsc2018"]["test"], compared)
    results["fidelity"] = fidelity_sections(tests, compared)
    offset_windows = tests["cpsc_test"]["group1"]
    results["dc_offsets"] = offset_invariance(compared, np.concatenate([offset_windows.clean, offset_windows.noisy]))
    try:
        results["stress"] = score(compared, stress_sets(data_dir))
    except DataDirError as exc:
        results["stress"] = f"skipped, {exc}"
    if args.no_qrs:
        results["qrs"] = "skipped, --no-qrs"
    else:
        record_denoisers = {**network_records, **exported_records, "band-pass 0.5-40 Hz": lambda x: bandpass(x[None])[0]}
        try:
            results["qrs"] = stress_qrs(data_dir, record_denoisers)
        except DataDirError as exc:
            results["qrs"] = f"skipped, {exc}"
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.argv = argv
    try:
        results = evaluate(args)
    except (DataDirError, RecordError, CheckpointError, ModelFileError, FileNotFoundError, ValueError) as exc:
        print(f"ulde-eval: error: {exc}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    markdown = render(results)
    (args.out / "results.md").write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
