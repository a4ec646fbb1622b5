"""Checkpoints: ``{"config": dict, "state_dict": ..., "meta": dict}``, loaded with weights_only=True.

Every tool rebuilds the network from the checkpoint alone, never from command-line flags.
"""

from __future__ import annotations

import hashlib
import os
from importlib import resources
from pathlib import Path

import torch

from ulde.model.networks import UNet1d, UNetConfig, build
from ulde.runtime.errors import first_line
from ulde.runtime.resampling import MAX_RATE_HZ, MIN_RATE_HZ
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

SHIPPED_STUDENT = "student.pt"
MAX_PARAMETERS = 10_000_000
"""Largest network a checkpoint may ask for (the teacher has 0.11 M): checked on the config before any
weight is allocated, so a tiny file cannot make a tool allocate gigabytes."""


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, foreign or does not match its own config."""


def save_checkpoint(path: Path, model: UNet1d, meta: dict, extra: dict | None = None) -> None:
    """Write atomically (temporary file, then rename) so an interruption never leaves half a file."""
    payload = {"format": "ulde-checkpoint/1", "config": model.config.to_dict(), "state_dict": model.state_dict(), "meta": meta}
    payload.update(extra or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: Path) -> dict:
    """The raw checkpoint dictionary, checked to be a ulde checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # arbitrary bytes make torch.load raise KeyError, IndexError, UnpicklingError, ...
        raise CheckpointError(f"checkpoint {path} is corrupt or not a torch file ({type(exc).__name__})") from exc
    if not isinstance(payload, dict) or payload.get("format") != "ulde-checkpoint/1":
        raise CheckpointError(f"checkpoint {path} is not a ulde checkpoint (no 'format': 'ulde-checkpoint/1' entry)")
    missing = {"config", "state_dict", "meta"} - payload.keys()
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {sorted(missing)}")
    wrong = [key for key in ("config", "state_dict", "meta") if not isinstance(payload[key], dict)]
    if wrong:
        raise CheckpointError(f"checkpoint {path}: {', '.join(wrong)} must be a dictionary, found "
                              f"{', '.join(type(payload[k]).__name__ for k in wrong)}")
    return payload


def load_model(path: Path) -> tuple[UNet1d, dict]:
    """(network in eval mode, meta) rebuilt from the checkpoint's own config."""
    payload = read_checkpoint(path)
    try:
        config = UNetConfig.from_dict(payload["config"])
        with torch.device("meta"):  # shapes only: nothing is allocated until the config is known to fit
            shapes = {key: tuple(value.shape) for key, value in build(config).state_dict().items()}
    except (TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint {path}: its config is not a valid network ({first_line(exc)})") from exc
    parameters = sum(int(torch.Size(shape).numel()) for shape in shapes.values())
    if parameters > MAX_PARAMETERS:
        raise CheckpointError(f"checkpoint {path}: its config asks for {parameters:,} weights, more than the "
                              f"{MAX_PARAMETERS:,} any ulde network has")
    weights = payload["state_dict"]
    found = {key: tuple(value.shape) for key, value in weights.items() if isinstance(value, torch.Tensor)}
    if found != shapes:
        differing = sorted(set(found) ^ set(shapes) | {k for k in set(found) & set(shapes) if found[k] != shapes[k]})
        raise CheckpointError(f"checkpoint {path}: weights do not match its config ({len(differing)} tensor(s) "
                              f"missing, extra or of another shape, first {differing[0]!r})")
    model = build(config)
    model.load_state_dict(weights)
    return model.eval(), payload["meta"]


def trained_rate_hz(meta: dict) -> int:
    """The sample rate a checkpoint's network was trained at (``ulde-train --sample-rate-hz``; checkpoints
    from before that setting were all trained at 360 Hz)."""
    settings = meta.get("settings")
    rate = settings.get("sample_rate_hz", SAMPLE_RATE_HZ) if isinstance(settings, dict) else SAMPLE_RATE_HZ
    if isinstance(rate, bool) or not isinstance(rate, int) or not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        raise CheckpointError(f"checkpoint meta: settings.sample_rate_hz must be a whole number of Hz in "
                              f"{MIN_RATE_HZ:g}..{MAX_RATE_HZ:g}, got {rate!r}")
    return rate


def shipped_checkpoint() -> Path:
    """The distilled student that ships with the package."""
    return Path(str(resources.files("ulde.model") / "checkpoints" / SHIPPED_STUDENT))


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
