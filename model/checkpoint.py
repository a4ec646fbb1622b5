"""Checkpoints: ``{"config": dict, "state_dict": ..., "meta": dict}``, loaded with weights_only=True.

Every tool rebuilds the network from the checkpoint alone, never from command-line flags.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import zipfile
from importlib import resources
from pathlib import Path

import torch

from ulde.model.networks import UNet1d, UNetConfig, build

SHIPPED_STUDENT = "student.pt"


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
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, OSError) as exc:
        raise CheckpointError(f"checkpoint {path} is corrupt or not a torch file ({type(exc).__name__})") from exc
    if not isinstance(payload, dict) or payload.get("format") != "ulde-checkpoint/1":
        raise CheckpointError(f"checkpoint {path} is not a ulde checkpoint (no 'format': 'ulde-checkpoint/1' entry)")
    missing = {"config", "state_dict", "meta"} - payload.keys()
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {sorted(missing)}")
    return payload


def load_model(path: Path) -> tuple[UNet1d, dict]:
    """(network in eval mode, meta) rebuilt from the checkpoint's own config."""
    payload = read_checkpoint(path)
    try:
        model = build(UNetConfig.from_dict(payload["config"]))
        model.load_state_dict(payload["state_dict"])
    except (TypeError, ValueError, RuntimeError) as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise CheckpointError(f"checkpoint {path}: weights do not match its config ({first_line})") from exc
    return model.eval(), payload["meta"]


def shipped_checkpoint() -> Path:
    """The distilled student that ships with the package."""
    return Path(str(resources.files("ulde.model") / "checkpoints" / SHIPPED_STUDENT))


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
