"""``ulde-train``: train the teacher, the student from scratch, or the student distilled from the teacher."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from ulde.model.checkpoint import CheckpointError, load_model
from ulde.model.datadir import DataDirError, resolve_data_dir
from ulde.model.datasets import clean_leads, eval_set, noise_part, TrainingMixtures
from ulde.model.noise import GROUPS
from ulde.model.networks import ACTIVATIONS, STUDENT, STUDENT_ABLATIONS, TEACHER, build, with_activation
from ulde.model.provenance import provenance
from ulde.model.records import RecordError
from ulde.model.splits import load_splits, split_hash
from ulde.model.train import TrainSettings, train

TRAIN_DATABASE = "cpsc2018"
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
    p.add_argument("--fake-quant", action="store_true", help="quantization-aware fine-tuning: simulate int8 rounding")
    p.add_argument("--parity-weight", type=float, default=0.0,
                   help="with --fake-quant: weight of the rounded-vs-float output term (model/train.py)")
    p.add_argument("--kd-weight", type=float, default=0.5, help="lambda of the distillation term (with --teacher)")
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
    if args.teacher is not None and args.role != "student":
        p.error("--teacher only applies to the student")
    if args.ablation is not None and (args.role != "student" or args.init is not None):
        p.error("--ablation trains a student variant from scratch (no --init)")
    if args.parity_weight and not args.fake_quant:
        p.error("--parity-weight needs --fake-quant")
    return args


def network_config(args: argparse.Namespace):
    if args.role == "teacher":
        return TEACHER
    return STUDENT_ABLATIONS[args.ablation] if args.ablation else STUDENT


def validation_sets(data_dir: Path, records: list[str], per_group: int) -> list:
    """Fixed validation windows per group, a deterministic subset of ``per_group`` windows each."""
    sets = []
    for group in GROUPS:
        full = eval_set(data_dir, TRAIN_DATABASE, records, "val", group, VAL_SEED)
        keep = np.sort(np.random.default_rng(VAL_SEED).permutation(len(full.clean))[:per_group])
        sets.append(type(full)(full.clean[keep], full.noisy[keep], [full.labels[i] for i in keep]))
    return sets


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        data_dir = resolve_data_dir(args.data_dir)
        splits = load_splits(args.splits)["clean"][TRAIN_DATABASE]
        teacher = load_model(args.teacher)[0] if args.teacher else None
        model, init_meta = load_model(args.init) if args.init else (build(network_config(args)), {})
        if args.activation:
            model = with_activation(model, args.activation)
        mixtures = TrainingMixtures(clean_leads(data_dir, TRAIN_DATABASE, splits["train"]), noise_part(data_dir, "train"), GROUPS)
        val_sets = validation_sets(data_dir, splits["val"], args.val_windows)
    except (DataDirError, RecordError, CheckpointError, ValueError) as exc:
        print(f"ulde-train: error: {exc}", file=sys.stderr)
        return 2
    settings = TrainSettings(epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, batch_size=args.batch_size,
                             learning_rate=args.lr, kd_weight=args.kd_weight if teacher else 0.0,
                             patience=args.patience, max_minutes=args.max_minutes, seed=args.seed,
                             fake_quant=args.fake_quant, parity_weight=args.parity_weight)
    role = "teacher" if args.role == "teacher" else ("student-kd" if teacher or init_meta.get("role") == "student-kd" else "student")
    meta = {"role": role, "split_sha256": split_hash(args.splits), "train_database": TRAIN_DATABASE, **provenance(),
            "teacher": str(args.teacher) if teacher else init_meta.get("teacher"),
            "init": str(args.init) if args.init else None}
    result = train(model, mixtures, val_sets, args.out, settings, meta, teacher)
    print(f"best epoch {result['best_epoch']}: validation SNR improvement {result['best_val_snr_improvement_db']:.2f} dB -> {args.out / 'best.pt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
