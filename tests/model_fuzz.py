"""Seeded mutants of a model file, opened in child processes that may crash (tests/test_model_fuzz.py).

Mutants: bit flips (1-8 random bits), byte overwrites (a run of 1-16 random bytes), truncations (a
random prefix), a third each, every one different from the original. ``open_all`` writes them to a
folder and runs ``tests/fuzz_worker.py`` over them; a child killed by a signal (or past its timeout)
marks the mutant it was opening as a crash and a fresh child carries on from the next one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
KINDS = ("bit_flip", "overwrite", "truncate")


def mutants(data: bytes, count: int, seed: int) -> list[tuple[str, bytes]]:
    """``count`` (kind, mutated bytes) pairs of ``data``, reproducible from ``seed``."""
    rng, found = np.random.default_rng(seed), []
    while len(found) < count:
        kind = KINDS[len(found) % len(KINDS)]
        mutated = bytearray(data)
        if kind == "bit_flip":
            for position in rng.integers(0, len(data) * 8, size=int(rng.integers(1, 9))):
                mutated[position // 8] ^= 1 << int(position % 8)
        elif kind == "overwrite":
            size = int(rng.integers(1, 17))
            start = int(rng.integers(0, len(data) - size))
            mutated[start : start + size] = rng.integers(0, 256, size=size, dtype=np.uint8).tobytes()
        else:
            mutated = mutated[: int(rng.integers(0, len(data)))]
        if bytes(mutated) != data:
            found.append((kind, bytes(mutated)))
    return found


def open_all(data: bytes, count: int, seed: int, folder: Path, contract_json: Path | None = None,
             timeout_s: float = 300.0) -> dict[int, str]:
    """{mutant index: outcome} where outcome is "refused", "ran", "error ..." or "crash ..."."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, (_, mutated) in enumerate(mutants(data, count, seed)):
        (folder / f"{i:06d}.bin").write_bytes(mutated)
    outcomes: dict[int, str] = {}
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY), "TF_CPP_MIN_LOG_LEVEL": "3"}
    while len(outcomes) < count:
        command = [sys.executable, "-m", "tests.fuzz_worker", str(folder), str(len(outcomes))]
        command += [str(contract_json)] if contract_json is not None else []
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=env, cwd=REPOSITORY)
            lines, ending, stderr = done.stdout.splitlines(), f"crash (exit {done.returncode})", done.stderr
        except subprocess.TimeoutExpired as exc:
            stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            lines, ending, stderr = stdout.splitlines(), "crash (timeout)", ""
        current = None
        for line in lines:
            word, _, rest = line.partition(" ")
            index, _, detail = rest.partition(" ")
            if word == "start":
                current = int(index)
            elif word in ("refused", "ran", "error"):
                outcomes[int(index)] = word if word != "error" else f"error {detail}"
                current = None
        if current is not None:  # the child died while opening this mutant
            outcomes[current] = ending
        elif len(outcomes) < count:
            raise RuntimeError(f"fuzz worker stopped between files ({ending}): {stderr[-2000:]}")
    return outcomes


def summary(outcomes: dict[int, str]) -> Counter:
    return Counter(outcome.split(" ")[0] for outcome in outcomes.values())
