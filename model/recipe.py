"""Training recipes: the stages that make a shipped checkpoint, in one committed TOML file.

A recipe is a list of ``[[stage]]`` tables, each a ``name`` and the ``args`` of one ``ulde-train`` call
(without ``--out`` and ``--data-dir``, which the recipe run supplies: stage ``name`` trains into
``OUT/name``). ``{out}`` in an argument is the recipe's output folder, ``{checkpoints}`` the package's
checkpoint folder. Stages run in order; each resumes from its own ``last.pt``, so an interrupted
recipe re-run continues where it stopped and a finished stage costs only its reload.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


class RecipeError(ValueError):
    """A recipe file that cannot be read or does not describe stages."""


@dataclass(frozen=True)
class Stage:
    name: str
    args: tuple[str, ...]


def checkpoints_folder() -> Path:
    return Path(str(resources.files("ulde.model") / "checkpoints"))


def read_recipe(path: Path) -> list[Stage]:
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RecipeError(f"recipe {path} cannot be read as TOML ({exc})") from exc
    stages = data.get("stage")
    if not isinstance(stages, list) or not stages:
        raise RecipeError(f"recipe {path} has no [[stage]] tables")
    parsed, seen = [], set()
    for i, stage in enumerate(stages):
        name, args = stage.get("name"), stage.get("args")
        if not isinstance(name, str) or not name or "/" in name or name in seen:
            raise RecipeError(f"recipe {path}: stage {i + 1} needs a unique plain 'name', got {name!r}")
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args) or not args:
            raise RecipeError(f"recipe {path}: stage {name!r} needs 'args', a list of strings")
        if {"--out", "--data-dir"} & set(args):
            raise RecipeError(f"recipe {path}: stage {name!r} must not set --out or --data-dir (the recipe run does)")
        seen.add(name)
        parsed.append(Stage(name, tuple(args)))
    return parsed


def stage_argv(stage: Stage, out: Path, data_dir: Path | None) -> list[str]:
    """The ``ulde-train`` argument list of one stage."""
    fill = {"out": str(out), "checkpoints": str(checkpoints_folder())}
    argv = [a.format(**fill) for a in stage.args] + ["--out", str(out / stage.name)]
    return argv + (["--data-dir", str(data_dir)] if data_dir is not None else [])
