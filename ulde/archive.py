"""Which files an ``ulde-denoise`` run takes, and where each output goes.

Inputs are files (a WFDB record with or without its .hea), directories (searched recursively for
.hea, .csv, .npy, .edf and .bdf; hidden entries skipped) and glob patterns (``**`` recursive). Each
input has a root: a directory is its own root, a file's is its folder, a pattern's is its folder part
before the first wildcard. Outputs mirror each file's path relative to its root under the output
directory, so ``ulde-denoise bank/ -o clean/`` writes ``bank/2024/p1.edf`` to ``clean/2024/p1.edf``.
"""

from __future__ import annotations

import glob
from pathlib import Path

from ulde.batch import Job
from ulde.formats import INPUT_SUFFIXES, record_base

WILDCARDS = set("*?[")


def is_pattern(text: str) -> bool:
    return bool(WILDCARDS & set(text))


def _pattern_root(pattern: str) -> Path:
    parts = Path(pattern).parts
    fixed = parts[: next(i for i, p in enumerate(parts) if is_pattern(p))]
    return Path(*fixed) if fixed else Path(".")


def _is_input_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in INPUT_SUFFIXES and not path.name.startswith(".")


def _scan(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not _is_input_file(path):
            continue
        found.append(record_base(path))
    return found


def find_inputs(inputs: list[str]) -> list[tuple[Path, Path]]:
    """(file, root) for every input file, in the order given (each directory or pattern sorted);
    ValueError naming an input that matches nothing."""
    found: list[tuple[Path, Path]] = []
    for text in inputs:
        if is_pattern(text):
            root = _pattern_root(text)
            matches = [Path(m) for m in sorted(glob.glob(text, recursive=True))]
            files = [record_base(m) for m in matches if _is_input_file(m)]
            if not files:
                raise ValueError(f"{text!r} matches no ECG file ({', '.join(sorted(INPUT_SUFFIXES))})")
            found += [(f, root) for f in files]
        elif Path(text).is_dir():
            files = _scan(Path(text))
            if not files:
                raise ValueError(f"directory {text} holds no ECG file ({', '.join(sorted(INPUT_SUFFIXES))})")
            found += [(f, Path(text)) for f in files]
        else:
            found.append((Path(text), Path(text).parent))
    return found


def plan_jobs(inputs: list[str], out_dir: Path) -> list[Job]:
    """One job per input file, its output under ``out_dir`` at the file's path relative to its root;
    ValueError if two inputs would write the same output. A record met twice is done once."""
    jobs: dict[Path, Job] = {}
    for source, root in find_inputs(inputs):
        target = out_dir / source.relative_to(root)
        key = record_base(target)
        if key in jobs and jobs[key].source.resolve() != source.resolve():
            raise ValueError(f"{jobs[key].source} and {source} would both be written to {target}")
        jobs.setdefault(key, Job(source, target))
    return list(jobs.values())
