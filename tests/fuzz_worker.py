"""Open model files one by one in this process and report each outcome on stdout (tests/test_model_fuzz.py).

    python -m tests.fuzz_worker FOLDER START [CONTRACT_JSON]

Opens FOLDER/000000.bin, 000001.bin, ... from index START, each with ``ulde.runtime.Model`` (with the
contract in CONTRACT_JSON, if given, for files that carry none) and, if it opens, denoises one window.
Prints ``start i`` before and ``refused i TYPE`` / ``ran i`` / ``error i TYPE`` after each, flushed:
a file that kills the process is the one whose ``start`` has no outcome.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def main(folder: str, start: str, contract_json: str | None = None) -> None:
    from ulde.runtime import Model, ModelFileError
    from ulde.runtime.contract import contract_from_json

    contract = None if contract_json is None else contract_from_json(Path(contract_json).read_text())
    files = sorted(Path(folder).glob("*.bin"))
    for i in range(int(start), len(files)):
        print(f"start {i}", flush=True)
        try:
            model = Model(files[i], contract=contract)
            model.denoise_windows(np.zeros((1, model.window_samples)))
        except ModelFileError as exc:
            print(f"refused {i} {type(exc).__name__}", flush=True)
        except Exception as exc:  # anything else is a finding, reported by type
            print(f"error {i} {type(exc).__name__}: {str(exc)[:200]!r}", flush=True)
        else:
            print(f"ran {i}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
