"""``ulde-train``: train the teacher, the student from scratch, or the student distilled from the teacher."""

from __future__ import annotations

import argparse
from dataclasses import replace
import sys
from pathlib import Path

import numpy as np
import torch

from ulde.model.checkpoint import CheckpointError, load_model, trained_rate_hz
from ulde.model.datadir import DataDirError, resolve_data_dir
from ulde.model.datasets import clean_leads, clean_windows, eval_set, noise_part
from ulde.model.distributed import process_group, ranks_from_env
from ulde.model.mixtures import DISTRIBUTIONS, TrainingMixtures
from ulde.model.noise import GROUPS
from ulde.model.networks import ACTIVATIONS, STUDENT, STUDENT_ABLATIONS, TEACHER, build, with_config
from ulde.model.provenance import provenance
from ulde.model.recipe import RecipeError, read_recipe, stage_argv
from ulde.model.records import RecordError
from ulde.model.splits import load_splits, split_hash
from ulde.model.train import TrainSettings, ValidationSets, train
from ulde.runtime.normalization import NORMALIZATION_MODES
from ulde.runtime.resampling import MAX_RATE_HZ, MIN_RATE_HZ
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ, window_samples_at

CLEAN_DATABASES = ("cpsc2018", "mitdb")
VAL_SEED = 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    defaults = TrainSettings()
    p = argparse.ArgumentParser(prog="ulde-train", description=__doc__)
    p.add_argument("role", choices=["teacher", "student"], help="which network to train")
    p.add_argument("--out", type=Path, required=True, help="run folder: best.pt, last.pt, train_log.jsonl (resumes if last.pt exists)")
    p.add_argument("--data-dir", type=Path, default=None, help="PhysioNet data folder (default: $ULDE_DATA)")
    p.add_argument("--splits", type=Path, default=None, help="split file (default: the committed model/splits/splits.json)")
    p.add_argument("--teacher", type=Path, default=None, help="teacher checkpoint: distil the student from it")
    p.add_argument("--init", type=Path, default=None, help="start from this checkpoint's weights (fine-tuning)")
    p.add_argument("--ablation", choices=sorted(STUDENT_ABLATIONS), default=None,
                   help="train the student with one design choice undone (docs/model.md)")
    p.add_argument("--activation", choices=sorted(ACTIVATIONS), default=None,
                   help="switch the network's activations (e.g. relu6 before int8 fine-tuning; default: keep)")
    p.add_argument("--input-normalization", choices=NORMALIZATION_MODES, default=None,
                   help="switch the network's input conditioning (runtime/normalization.py; default: keep)")
    p.add_argument("--distribution", choices=sorted(DISTRIBUTIONS), default="device",
                   help="how training windows are drawn (model/mixtures.py)")
    p.add_argument("--clean-fraction", type=float, default=None, help="override the distribution's share of noise-free windows")
    p.add_argument("--kind-weights", type=float, nargs=3, default=None, metavar=("GROUP", "SINGLE", "MIXTURE"),
                   help="override the distribution's weights of paper groups / single types / random mixtures")
    p.add_argument("--databases", default=",".join(CLEAN_DATABASES),
                   help="clean databases to train on, comma-separated (their training records only)")
    p.add_argument("--sample-rate-hz", type=int, default=SAMPLE_RATE_HZ,
                   help="train a model for signals at this rate: records and noise are resampled to it, windows "
                        "are 10 s of it (rounded down to the total stride); the checkpoint records it and "
                        "ulde-export writes it into the model's contract")
    p.add_argument("--partial-span-fraction", type=float, default=0.0,
                   help="share of windows whose removed offset is the mean of a random part of them, as a "
                        "low-latency stream's first 10 s are conditioned (model/train.py)")
    p.add_argument("--low-band-weight", type=float, default=0.0, help="weight of the error-below-2-Hz term (model/train.py)")
    p.add_argument("--snr-ceiling-db", type=float, default=defaults.snr_ceiling_db,
                   help="output SNR beyond which a window's loss stops falling (model/train.py)")
    p.add_argument("--micro-batches", type=int, default=1,
                   help="forward passes per step, each on its share of the batch: one process reproducing N "
                        "torchrun processes on CPU (model/distributed.py)")
    p.add_argument("--fake-quant", action="store_true", help="quantization-aware fine-tuning: simulate int8 rounding")
    p.add_argument("--parity-weight", type=float, default=0.0,
                   help="with --fake-quant: weight of the rounded-vs-float output term (model/train.py)")
    p.add_argument("--kd-weight", type=float, default=0.5, help="lambda of the distillation term (with --teacher)")
    p.add_argument("--kd-where-teacher-helps", action="store_true",
                   help="distil only the windows whose teacher output beats the input itself (model/train.py)")
    p.add_argument("--epochs", type=int, default=defaults.epochs)
    p.add_argument("--steps-per-epoch", type=int, default=defaults.steps_per_epoch)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--lr", type=float, default=defaults.learning_rate)
    p.add_argument("--patience", type=int, default=defaults.patience)
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop after this wall-clock budget (0 = none)")
    p.add_argument("--val-windows", type=int, default=256, help="validation windows per noise group")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = p.parse_args(argv)
    args.databases = [d for d in args.databases.split(",") if d]
    unknown = set(args.databases) - set(CLEAN_DATABASES)
    if unknown or not args.databases:
        p.error(f"--databases takes a comma-separated subset of {CLEAN_DATABASES}, got {args.databases}")
    if args.teacher is not None and args.role != "student":
        p.error("--teacher only applies to the student")
    if args.ablation is not None and (args.role != "student" or args.init is not None):
        p.error("--ablation trains a student variant from scratch (no --init)")
    if args.parity_weight and not args.fake_quant:
        p.error("--parity-weight needs --fake-quant")
    if not 0.0 <= args.partial_span_fraction <= 1.0:
        p.error(f"--partial-span-fraction is a share of windows in [0, 1], got {args.partial_span_fraction}")
    if not MIN_RATE_HZ <= args.sample_rate_hz <= MAX_RATE_HZ:  # the rates a device stream may have
        p.error(f"--sample-rate-hz must lie in {MIN_RATE_HZ:g}..{MAX_RATE_HZ:g} Hz, got {args.sample_rate_hz}")
    return args


def network_config(args: argparse.Namespace):
    if args.role == "teacher":
        return TEACHER
    return STUDENT_ABLATIONS[args.ablation] if args.ablation else STUDENT


def _subset(n: int, size: int) -> np.ndarray:
    return np.sort(np.random.default_rng(VAL_SEED).permutation(n)[:size])


def validation_sets(data_dir: Path, val_records: dict[str, list[str]], per_group: int,
                    rate_hz: int = SAMPLE_RATE_HZ) -> ValidationSets:
    """Fixed validation windows at ``rate_hz`` of every database with validation records: per noise group
    a deterministic subset of ``per_group`` windows, and as many clean windows passed through as they are."""
    noisy, clean = [], []
    for database, records in val_records.items():
        if not records:
            continue
        for group in GROUPS:
            full = eval_set(data_dir, database, records, "val", group, VAL_SEED, rate_hz=rate_hz)
            keep = _subset(len(full.clean), per_group)
            noisy.append(type(full)(full.clean[keep], full.noisy[keep], [full.labels[i] for i in keep]))
        windows = clean_windows(clean_leads(data_dir, database, records, rate_hz), window_samples_at(rate_hz))[0]
        clean.append(windows[_subset(len(windows), per_group)])
    if not noisy:
        raise ValueError(f"no validation records in {sorted(val_records)}")
    return ValidationSets(noisy, np.concatenate(clean))


def run_recipe(argv: list[str]) -> int:
    """``ulde-train --recipe FILE --out DIR [--data-dir D]``: every stage of the recipe, in order."""
    p = argparse.ArgumentParser(prog="ulde-train --recipe", description=run_recipe.__doc__)
    p.add_argument("--recipe", type=Path, required=True, help="TOML recipe (model/recipe.py), e.g. model/recipes/student.toml")
    p.add_argument("--out", type=Path, required=True, help="folder of the recipe run: one sub-folder per stage")
    p.add_argument("--data-dir", type=Path, default=None, help="PhysioNet data folder (default: $ULDE_DATA)")
    args = p.parse_args(argv)
    try:
        stages = read_recipe(args.recipe)
    except RecipeError as exc:
        print(f"ulde-train: error: {exc}", file=sys.stderr)
        return 1
    for stage in stages:
        print(f"ulde-train --recipe: stage {stage.name}", flush=True)
        code = main(stage_argv(stage, args.out, args.data_dir))
        if code:
            return code
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(a == "--recipe" or a.startswith("--recipe=") for a in argv):
        return run_recipe(argv)
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        data_dir = resolve_data_dir(args.data_dir)
        splits = load_splits(args.splits)["clean"]
        teacher, teacher_meta = load_model(args.teacher) if args.teacher else (None, {})
        teacher_rate = trained_rate_hz(teacher_meta)  # a teacher at another rate sees resampled windows
        torch.manual_seed(args.seed)  # a fresh network's initial weights follow the seed too
        model, init_meta = load_model(args.init) if args.init else (build(network_config(args)), {})
        changes = {k: v for k, v in (("activation", args.activation), ("input_normalization", args.input_normalization)) if v}
        model = with_config(model, **changes)
        overrides = {k: v for k, v in (("clean_fraction", args.clean_fraction),
                                       ("kind_weights", args.kind_weights and tuple(args.kind_weights))) if v is not None}
        distribution = replace(DISTRIBUTIONS[args.distribution], **overrides)
        rate = args.sample_rate_hz
        leads = {db: clean_leads(data_dir, db, splits[db]["train"], rate) for db in args.databases}
        mixtures = TrainingMixtures(leads, noise_part(data_dir, "train", rate), distribution, window_samples_at(rate))
        val_sets = validation_sets(data_dir, {db: splits[db]["val"] for db in args.databases}, args.val_windows, rate)
    except (DataDirError, RecordError, CheckpointError, ValueError) as exc:
        print(f"ulde-train: error: {exc}", file=sys.stderr)
        return 1
    settings = TrainSettings(epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, batch_size=args.batch_size,
                             learning_rate=args.lr, kd_weight=args.kd_weight if teacher else 0.0,
                             kd_where_teacher_helps=args.kd_where_teacher_helps,
                             patience=args.patience, max_minutes=args.max_minutes, seed=args.seed,
                             fake_quant=args.fake_quant, parity_weight=args.parity_weight,
                             low_band_weight=args.low_band_weight, snr_ceiling_db=args.snr_ceiling_db,
                             micro_batches=args.micro_batches, sample_rate_hz=args.sample_rate_hz,
                             teacher_rate_hz=teacher_rate, partial_span_fraction=args.partial_span_fraction)
    role = "teacher" if args.role == "teacher" else ("student-kd" if teacher or init_meta.get("role") == "student-kd" else "student")
    meta = {"role": role, "split_sha256": split_hash(args.splits), "train_databases": args.databases,
            "distribution": distribution.to_dict(), **provenance(),
            "teacher": str(args.teacher) if teacher else init_meta.get("teacher"),
            "init": str(args.init) if args.init else None}
    ranks = ranks_from_env()
    try:
        with process_group(ranks):
            result = train(model, mixtures, val_sets, args.out, settings, meta, teacher)
    except ValueError as exc:  # settings that cannot train (a batch that does not split)
        print(f"ulde-train: error: {exc}", file=sys.stderr)
        return 1
    if ranks.main:
        print(f"best epoch {result['best_epoch']}: validation score {result['best_val_score_db']:.2f} dB -> {args.out / 'best.pt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
