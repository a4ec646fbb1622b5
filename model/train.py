"""Training loop: teacher, student, and student distilled from the teacher.

Loss (per window, averaged over the batch) is the log error power, 10*log10(sum((x - x_hat)^2) + floor),
which is minus the output SNR up to a constant per window: minimising it maximises mean SNR
improvement, the headline metric. The floor is the target's power ``snr_ceiling_db`` below it, so a
window already reconstructed that well (a clean window passed through) stops pulling on the weights
instead of dominating the batch (the log's gradient grows as the error shrinks). Optional terms, each the same log error power of another view:
- distillation: lambda times the loss against the teacher's output (a teacher trained at another rate
  than the student's windows sees them resampled to its rate, model/inference.py); with ``kd_where_teacher_helps``
  only over the windows whose teacher output is closer to the clean target than the conditioned input
  itself (a noise-free window, or one the teacher harms, is taught by the target alone);
- low band (weight nu): the error below LOW_BAND_HZ alone, which holds the isoelectric level and the
  ST segment in place (a shift there is a small part of the full-band error but what a clinician reads);
- parity (with fake quantization, weight mu): the rounded network's output against the float network's
  on the same batch, training the float model that ships as the reference to agree with its int8 export.
With ``partial_span_fraction`` > 0 that share of each batch's windows is conditioned as a low-latency
stream conditions its frames during its first 10 s, when its conditioning span holds less than a window
(runtime/normalization.py): the offset removed is the mean of a random part of the window only
(``partial_span_levels``), so the network learns to leave out the rest of the offset, which it would
otherwise pass through as a baseline shift.
Each epoch is a fixed number of freshly mixed batches (split over torchrun's processes and over
``micro_batches`` forward passes, model/distributed.py), then validation on fixed windows: the mean SNR
improvement over the noisy validation sets, less any shortfall of the clean validation windows' median
output SNR below CLEAN_SNR_TARGET_DB (harm on clean ECG is charged decibel for decibel).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ulde.model.checkpoint import load_model, read_checkpoint, save_checkpoint
from ulde.model.complexity import complexity
from ulde.model.datasets import EvalSet
from ulde.model.distributed import barrier, from_main, ranks_from_env, shares, wrap
from ulde.model.mixtures import TrainingMixtures
from ulde.model.fake_quant import FakeQuant
from ulde.model.inference import predict, predict_at_rate
from ulde.model.metrics import snr_db
from ulde.model.networks import UNet1d
from ulde.runtime.normalization import Levels, normalize, span_levels
from ulde.runtime.signal_spec import LOW_LATENCY_WINDOW_SAMPLES, SAMPLE_RATE_HZ

LOSS_EPS = 1e-6  # mV^2 summed over a window: keeps the log finite for an all-zero target
LOW_BAND_HZ = 2.0
CLEAN_SNR_TARGET_DB = 30.0


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 60
    steps_per_epoch: int = 100
    batch_size: int = 32
    learning_rate: float = 3e-3
    kd_weight: float = 0.0  # lambda; 0 trains without distillation
    kd_where_teacher_helps: bool = False  # distil only the windows the teacher improves (module docstring)
    patience: int = 12  # epochs without validation gain before stopping
    max_minutes: float = 0.0  # wall-clock budget; 0 = none
    seed: int = 0
    fake_quant: bool = False  # quantization-aware fine-tuning (model/fake_quant.py)
    parity_weight: float = 0.0  # mu: rounded-vs-float output term, needs fake_quant
    low_band_weight: float = 0.0  # nu: error below LOW_BAND_HZ
    snr_ceiling_db: float = 40.0  # output SNR beyond which a window's loss stops falling
    micro_batches: int = 1  # forward passes per process and step, each on its share of the batch
    sample_rate_hz: int = SAMPLE_RATE_HZ  # the rate of the training windows (and of the model trained)
    teacher_rate_hz: int = SAMPLE_RATE_HZ  # the rate the teacher was trained at: it sees the windows resampled to it
    partial_span_fraction: float = 0.0  # share of windows whose offset is the mean of a part of them (module docstring)


def _log_power(error_power: torch.Tensor, target: torch.Tensor, ceiling_db: float,
               windows: torch.Tensor | None = None) -> torch.Tensor:
    """Mean log error power over the batch's windows, or over those where ``windows`` (same shape as
    ``error_power``) is true, normalised by the batch size (so a term over fewer windows weighs less)."""
    floor = (target.detach() ** 2).sum(dim=-1) * 10.0 ** (-ceiling_db / 10.0) + LOSS_EPS
    per_window = 10.0 * torch.log10(error_power + floor)
    return per_window.mean() if windows is None else (per_window * windows).sum() / per_window.numel()


def log_error_loss(estimate: torch.Tensor, target: torch.Tensor, ceiling_db: float = TrainSettings.snr_ceiling_db,
                   windows: torch.Tensor | None = None) -> torch.Tensor:
    return _log_power(((estimate - target) ** 2).sum(dim=-1), target, ceiling_db, windows)


def teacher_helps(taught: np.ndarray, network_input: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(n, 1) bool: the teacher's output is nearer the target than the network input is (all (n, T), in
    the same normalised units): distillation can only add to these windows."""
    return (snr_db(target, taught) > snr_db(target, network_input))[:, None]


def low_band_error_loss(estimate: torch.Tensor, target: torch.Tensor, ceiling_db: float = TrainSettings.snr_ceiling_db,
                        sample_rate_hz: float = SAMPLE_RATE_HZ) -> torch.Tensor:
    """The log error power of the error's components below LOW_BAND_HZ (Parseval over the real FFT)."""
    n = estimate.shape[-1]
    spectrum = torch.fft.rfft(estimate - target, dim=-1)
    bins = int(LOW_BAND_HZ * n / sample_rate_hz) + 1
    weight = torch.full((bins,), 2.0, dtype=estimate.dtype)
    weight[0] = 1.0  # DC appears once in the full spectrum, every other bin twice
    low_power = (spectrum[..., :bins].abs() ** 2 * weight).sum(dim=-1) / n
    return _log_power(low_power, target, ceiling_db)


def partial_span_levels(rng: np.random.Generator, noisy: np.ndarray, fraction: float,
                        shortest: int = LOW_LATENCY_WINDOW_SAMPLES) -> Levels:
    """The "mean-peak" levels of a batch of (n, T) windows, a share ``fraction`` of them drawn as a
    low-latency stream's first 10 s conditions its frames: the offset is the mean of a random contiguous
    part of the window (``shortest`` samples, one frame, up to all T, the length and then the start
    uniform), the peak max|x - offset| over the whole window, so the network input stays within +-1 as
    in the runtime. The other windows get their own levels."""
    noisy = np.asarray(noisy, dtype=np.float64)
    levels = span_levels(noisy)
    window = noisy.shape[-1]
    for row in np.flatnonzero(rng.random(len(noisy)) < fraction):
        length = int(rng.integers(min(shortest, window), window + 1))
        start = int(rng.integers(0, window - length + 1))
        offset = noisy[row, start : start + length].mean()
        levels.offsets[row] = offset
        levels.peaks[row] = np.abs(noisy[row] - offset).max()
    return levels


@dataclass(frozen=True)
class ValidationSets:
    noisy: list[EvalSet]  # SNR improvement is averaged over their windows
    clean: np.ndarray  # (n, T) clean windows passed through as they are: the "do no harm" check


def validation_scores(model: UNet1d, sets: ValidationSets) -> dict:
    """{'val_snr_improvement_db', 'val_clean_snr_median_db', 'val_score_db'} (see the module docstring)."""
    gains = [snr_db(s.clean, predict(model, s.noisy)) - snr_db(s.clean, s.noisy) for s in sets.noisy]
    improvement = float(np.mean(np.concatenate(gains)))
    clean = float(np.median(snr_db(sets.clean, predict(model, sets.clean)))) if len(sets.clean) else CLEAN_SNR_TARGET_DB
    return {"val_snr_improvement_db": improvement, "val_clean_snr_median_db": clean,
            "val_score_db": improvement - max(0.0, CLEAN_SNR_TARGET_DB - clean)}


class TrainingForward(nn.Module):
    """One step's forward pass: the network's output and, for the parity term, its float output on
    the same input (one module call, as DistributedDataParallel requires)."""

    def __init__(self, model: UNet1d, fake_quant: FakeQuant | None, with_float: bool):
        super().__init__()
        self.model, self.fake_quant, self.with_float = model, fake_quant, with_float

    def forward(self, x):
        estimate = self.model(x)
        if not self.with_float:
            return estimate, None
        with self.fake_quant.bypassed():
            return estimate, self.model(x)


def batch_loss(forward: nn.Module, mode: str, noisy: np.ndarray, clean: np.ndarray, teacher: UNet1d | None,
               settings: TrainSettings, levels: Levels | None = None) -> torch.Tensor:
    """The training loss of one share of a batch (see the module docstring); ``levels``: the conditioning's
    offset and peak per window (``partial_span_levels``), None = each window's own."""
    normalized, scale = normalize(noisy, mode, levels)  # what the network works on
    estimate, float_estimate = forward(torch.from_numpy(normalized)[:, None])
    target = torch.from_numpy(clean / scale)[:, None]
    ceiling = settings.snr_ceiling_db
    loss = log_error_loss(estimate, target, ceiling)
    if settings.low_band_weight > 0:
        loss = loss + settings.low_band_weight * low_band_error_loss(estimate, target, ceiling, settings.sample_rate_hz)
    if teacher is not None and settings.kd_weight > 0:
        taught = predict_at_rate(teacher, noisy, settings.sample_rate_hz, settings.teacher_rate_hz) / scale
        windows = (torch.from_numpy(teacher_helps(taught, normalized, clean / scale)).to(estimate.dtype)
                   if settings.kd_where_teacher_helps else None)
        loss = loss + settings.kd_weight * log_error_loss(estimate, torch.from_numpy(taught)[:, None], ceiling, windows)
    if float_estimate is not None:
        loss = loss + settings.parity_weight * log_error_loss(estimate, float_estimate, ceiling)
    return loss


def train(
    model: UNet1d,
    mixtures: TrainingMixtures,
    val_sets: ValidationSets,
    out_dir: Path,
    settings: TrainSettings,
    meta: dict,
    teacher: UNet1d | None = None,
) -> dict:
    """Train with best-checkpoint keeping, early stopping and resume from ``out_dir/last.pt``.

    Writes ``best.pt``, ``last.pt`` and ``train_log.jsonl`` in ``out_dir`` (the first process, under
    torchrun); returns the best epoch's record.
    """
    ranks = ranks_from_env()
    if settings.kd_weight > 0 and teacher is None:
        raise ValueError("distillation (kd_weight > 0) needs a teacher")
    if settings.parity_weight > 0 and not settings.fake_quant:
        raise ValueError("the parity term (parity_weight > 0) compares the rounded network with the float one: it needs fake_quant")
    if not 0.0 <= settings.partial_span_fraction <= 1.0:
        raise ValueError(f"partial_span_fraction is a share of windows in [0, 1], not {settings.partial_span_fraction}")
    if settings.partial_span_fraction > 0 and model.config.input_normalization != "mean-peak":
        raise ValueError("partial_span_fraction draws the offset of the 'mean-peak' conditioning: the network has "
                         f"{model.config.input_normalization!r}")
    parts = shares(settings.batch_size, ranks, settings.micro_batches)
    if ranks.world > 1 and settings.micro_batches > 1:
        raise ValueError("micro_batches reproduces several processes in one: use one or the other")
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(settings.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=settings.epochs, eta_min=settings.learning_rate / 30)
    rng = np.random.default_rng(settings.seed)
    state = {"epoch": 0, "best_val": -math.inf, "best_epoch": 0, "elapsed_s": 0.0}
    last = out_dir / "last.pt"
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
    forward = wrap(TrainingForward(model, fake_quant, settings.parity_weight > 0), ranks)
    started = time.monotonic() - state["elapsed_s"]
    stop = False
    while state["epoch"] < settings.epochs and not stop:
        model.train()
        losses = []
        for _ in tqdm(range(settings.steps_per_epoch), desc=f"epoch {state['epoch'] + 1}/{settings.epochs}", leave=False,
                      disable=not ranks.main):
            noisy, clean = mixtures.batch(rng, settings.batch_size)  # the same global batch in every process
            levels = (partial_span_levels(rng, noisy, settings.partial_span_fraction)
                      if settings.partial_span_fraction > 0 else None)  # no draw otherwise: earlier runs replay exactly
            optimizer.zero_grad()
            step_loss = 0.0
            for rows in parts:
                loss = batch_loss(forward, model.config.input_normalization, noisy[rows], clean[rows], teacher, settings,
                                  None if levels is None else levels.select(rows)) / len(parts)
                loss.backward()
                step_loss += loss.item()
            optimizer.step()
            losses.append(step_loss)
        schedule.step()
        state["epoch"] += 1
        if ranks.main:
            state, stop = _end_epoch(model, val_sets, out_dir, settings, meta, state, started, losses, optimizer, schedule, rng)
        state, stop = from_main((state, stop), ranks)
    barrier(ranks)  # best.pt is written
    if fake_quant is not None:
        fake_quant.remove()
    best, _ = load_model(out_dir / "best.pt")
    model.load_state_dict(best.state_dict())
    return {"best_epoch": state["best_epoch"], "best_val_score_db": state["best_val"], "epochs_run": state["epoch"]}


def _end_epoch(model, val_sets, out_dir, settings, meta, state, started, losses, optimizer, schedule, rng) -> tuple[dict, bool]:
    """Validate, keep the best checkpoint, log, write ``last.pt``; (state, whether to stop)."""
    scores = validation_scores(model, val_sets)
    val = scores["val_score_db"]
    state["elapsed_s"] = time.monotonic() - started
    record = {"epoch": state["epoch"], "train_loss": float(np.mean(losses)), **scores,
              "lr": optimizer.param_groups[0]["lr"], "elapsed_s": round(state["elapsed_s"], 1)}
    if val > state["best_val"]:
        state["best_val"], state["best_epoch"] = val, state["epoch"]
        save_checkpoint(out_dir / "best.pt", model, {**meta, "settings": asdict(settings), "best_epoch": state["epoch"],
                                                     **scores, "complexity": complexity(model)})
    with (out_dir / "train_log.jsonl").open("a") as log:
        log.write(json.dumps(record) + "\n")
    tqdm.write(json.dumps(record))
    save_checkpoint(out_dir / "last.pt", model, meta, extra={
        "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(), "progress": state,
        "rng": json.dumps(rng.bit_generator.state), "torch_rng": torch.get_rng_state()})
    out_of_time = bool(settings.max_minutes) and state["elapsed_s"] > 60 * settings.max_minutes
    return state, state["epoch"] - state["best_epoch"] >= settings.patience or out_of_time
