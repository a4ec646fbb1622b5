"""torchrun with two CPU processes (DistributedDataParallel over gloo) takes the steps of one process.

On CPU each process's BatchNorm normalizes over its half of the global batch (SyncBatchNorm is
GPU-only), which one process reproduces with --micro-batches 2: the same halves, one forward pass
each, gradients averaged. The weights after training must then agree to float rounding.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import torch

from tests.support import FIXTURE_DATA, FIXTURE_SPLITS, REPO_ROOT
from ulde.model.checkpoint import read_checkpoint
from ulde.model.networks import STUDENT, build

ARGS = ["student", "--data-dir", str(FIXTURE_DATA), "--splits", str(FIXTURE_SPLITS), "--epochs", "2",
        "--steps-per-epoch", "3", "--batch-size", "8", "--val-windows", "2", "--low-band-weight", "1.0", "--threads", "1"]


def run(command: list[str]) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


@pytest.mark.slow
def test_two_torchrun_processes_match_one_process_with_the_same_global_batch(tmp_path):
    torchrun = shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun is not on PATH (it ships with torch)")
    run([torchrun, "--standalone", "--nproc_per_node=2", "-m", "ulde.model.train_cli", *ARGS, "--out", str(tmp_path / "ddp")])
    run([sys.executable, "-m", "ulde.model.train_cli", *ARGS, "--micro-batches", "2", "--out", str(tmp_path / "one")])
    ddp, one = (read_checkpoint(tmp_path / name / "last.pt")["state_dict"] for name in ("ddp", "one"))
    weights = [k for k in one if k.endswith("weight") or k.endswith("bias")]
    assert read_checkpoint(tmp_path / "one" / "best.pt")["meta"]["settings"]["micro_batches"] == 2
    torch.manual_seed(0)  # the seed both runs started from (--seed default)
    initial = build(STUDENT).state_dict()
    assert not torch.allclose(one["stem.0.0.weight"], initial["stem.0.0.weight"])  # training moved the weights
    for key in weights:
        assert torch.allclose(ddp[key], one[key], rtol=1e-4, atol=1e-6), key
    logs = [(tmp_path / name / "train_log.jsonl").read_text().splitlines() for name in ("ddp", "one")]
    assert len(logs[0]) == len(logs[1]) == 2  # one log line per epoch, written once (by the first process)


def test_a_batch_that_does_not_split_is_one_line(tmp_path, capsys):
    from ulde.model.train_cli import main

    code = main([*ARGS[:-2], "--batch-size", "7", "--micro-batches", "2", "--out", str(tmp_path / "r")])
    assert code == 1 and "must be a multiple of processes x micro-batches" in capsys.readouterr().err
