"""Issue 16's memory gate on the bare install, run by .ci/runtime-only (numpy and LiteRT at the versions
pip resolves, no torch or TensorFlow):

    python -m benchmarks.bare_install_memory

A fresh ``python -m benchmarks.stream_rss`` child loads the runtime's default model and streams 60 min
of the shipped parity windows (real noisy ECG); its peak resident memory must stay within
``BARE_INSTALL_PEAK_RSS_MAX_MIB``. Prints one JSON line with the child's report and the verdict; exits 1
when the gate fails.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.bounds import BARE_INSTALL_PEAK_RSS_MAX_MIB
from benchmarks.stream_rss import run_child
from ulde.export.shipped_data import PARITY_FILE, load
from ulde.runtime.model_file import shipped_model
from ulde.runtime.signal_spec import SAMPLE_RATE_HZ

MINUTES = 60


def main() -> int:
    ecg = load(PARITY_FILE)["noisy_group2"].astype(np.float32).reshape(-1)
    with tempfile.TemporaryDirectory(prefix="ulde-rss-") as tmp:
        signal = Path(tmp) / "ecg.npy"
        np.save(signal, ecg[: ecg.size // SAMPLE_RATE_HZ * SAMPLE_RATE_HZ])  # whole seconds, as the child needs
        try:
            report = run_child(shipped_model(), signal, MINUTES)
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 1
    peak = report["end"]["peak_mib"]
    passed = peak <= BARE_INSTALL_PEAK_RSS_MAX_MIB
    print(json.dumps({"gate": f"peak RSS of a fresh streaming process on this install <= {BARE_INSTALL_PEAK_RSS_MAX_MIB} MiB",
                      "peak_mib": round(peak, 1), "passed": passed, "model": shipped_model().name, **report}))
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
