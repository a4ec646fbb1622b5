"""Training loop: teacher, student, and student distilled from the teacher.

Loss (per window, averaged over the batch) is the log error power, 10*log10(sum((x - x_hat)^2) + eps),
which is minus the output SNR up to a constant per window: minimising it maximises mean SNR
improvement, the headline metric. Distillation adds lambda times the same loss against the teacher's
output. Each epoch is a fixed number of freshly mixed batches, then validation on fixed windows.
With fake quantization, a parity term (weight mu) adds mu times the same loss between the rounded
network's output and the float network's on the same batch: it trains the float model that ships as
the reference to agree with its int8 export, not only each to approach the target.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ulde.model.checkpoint import load_model, read_checkpoint, save_checkpoint
from ulde.model.complexity import complexity
from ulde.model.datasets import EvalSet, TrainingMixtures
from ulde.model.fake_quant import FakeQuant
from ulde.model.inference import predict
from ulde.model.metrics import snr_db
from ulde.model.networks import UNet1d
from ulde.runtime.normalization import normalize

LOSS_EPS = 1e-6  # mV^2 summed over a window: far below any real residual


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 60
    steps_per_epoch: int = 100
    batch_size: int = 32
    learning_rate: float = 3e-3
    kd_weight: float = 0.0  # lambda; 0 trains without distillation
    patience: int = 12  # epochs without validation gain before stopping
    max_minutes: float = 0.0  # wall-clock budget; 0 = none
    seed: int = 0
    fake_quant: bool = False  # quantization-aware fine-tuning (model/fake_quant.py)
    parity_weight: float = 0.0  # mu: rounded-vs-float output term, needs fake_quant


def log_error_loss(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (10.0 * torch.log10(((estimate - target) ** 2).sum(dim=-1) + LOSS_EPS)).mean()


def validation_snr_improvement(model: UNet1d, sets: list[EvalSet]) -> float:
    """Mean SNR improvement (dB) over every window of the validation sets."""
    gains = [snr_db(s.clean, predict(model, s.noisy)) - snr_db(s.clean, s.noisy) for s in sets]
    return float(np.mean(np.concatenate(gains)))


def train(
    model: UNet1d,
    mixtures: TrainingMixtures,
    val_sets: list[EvalSet],
    out_dir: Path,
    settings: TrainSettings,
    meta: dict,
    teacher: UNet1d | None = None,
) -> dict:
    """Train with best-checkpoint keeping, early stopping and resume from ``out_dir/last.pt``.

    Writes ``best.pt``, ``last.pt`` and ``train_log.jsonl`` in ``out_dir``; returns the best epoch's record.
    """
    if settings.kd_weight > 0 and teacher is None:
        raise ValueError("distillation (kd_weight > 0) needs a teacher")
    if settings.parity_weight > 0 and not settings.fake_quant:
        raise ValueError("the parity term (parity_weight > 0) compares the rounded network with the float one: it needs fake_quant")
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(settings.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=settings.epochs, eta_min=settings.learning_rate / 30)
    rng = np.random.default_rng(settings.seed)
    state = {"epoch": 0, "best_val": -math.inf, "best_epoch": 0, "elapsed_s": 0.0}
    last, log_path = out_dir / "last.pt", out_dir / "train_log.jsonl"
    if last.is_file():  # resume exactly where the interrupted run stopped
        payload = read_checkpoint(last)
        model.load_state_dict(payload["state_dict"])
        optimizer.load_state_dict(payload["optimizer"])
        schedule.load_state_dict(payload["schedule"])
        rng.bit_generator.state = json.loads(payload["rng"])
        torch.set_rng_state(payload["torch_rng"])
        state = payload["progress"]
    if teacher is not None:
        teacher.eval().requires_grad_(False)
    fake_quant = FakeQuant(model) if settings.fake_quant else None
    started = time.monotonic() - state["elapsed_s"]
    while state["epoch"] < settings.epochs:
        model.train()
        losses = []
        for _ in tqdm(range(settings.steps_per_epoch), desc=f"epoch {state['epoch'] + 1}/{settings.epochs}", leave=False):
            noisy, clean = mixtures.batch(rng, settings.batch_size)
            normalized, scale = normalize(noisy, model.config.input_normalization)  # what the network works on
            estimate = model(torch.from_numpy(normalized)[:, None])
            loss = log_error_loss(estimate, torch.from_numpy(clean / scale)[:, None])
            if teacher is not None and settings.kd_weight > 0:
                target = predict(teacher, noisy) / scale
                loss = loss + settings.kd_weight * log_error_loss(estimate, torch.from_numpy(target)[:, None])
            if settings.parity_weight > 0:
                with fake_quant.bypassed():
                    float_estimate = model(torch.from_numpy(normalized)[:, None])
                loss = loss + settings.parity_weight * log_error_loss(estimate, float_estimate)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        schedule.step()
        state["epoch"] += 1
        val = validation_snr_improvement(model, val_sets)
        state["elapsed_s"] = time.monotonic() - started
        record = {"epoch": state["epoch"], "train_loss": float(np.mean(losses)), "val_snr_improvement_db": val,
                  "lr": optimizer.param_groups[0]["lr"], "elapsed_s": round(state["elapsed_s"], 1)}
        if val > state["best_val"]:
            state["best_val"], state["best_epoch"] = val, state["epoch"]
            save_checkpoint(out_dir / "best.pt", model, {**meta, "settings": asdict(settings), "best_epoch": state["epoch"],
                                                         "val_snr_improvement_db": val, "complexity": complexity(model)})
        with log_path.open("a") as log:
            log.write(json.dumps(record) + "\n")
        tqdm.write(json.dumps(record))
        save_checkpoint(last, model, meta, extra={
            "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(), "progress": state,
            "rng": json.dumps(rng.bit_generator.state), "torch_rng": torch.get_rng_state()})
        out_of_time = settings.max_minutes and state["elapsed_s"] > 60 * settings.max_minutes
        if state["epoch"] - state["best_epoch"] >= settings.patience or out_of_time:
            break
    if fake_quant is not None:
        fake_quant.remove()
    best, _ = load_model(out_dir / "best.pt")
    model.load_state_dict(best.state_dict())
    return {"best_epoch": state["best_epoch"], "best_val_snr_improvement_db": state["best_val"], "epochs_run": state["epoch"]}
