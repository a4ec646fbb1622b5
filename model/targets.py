"""The fidelity issue's targets for one denoiser, read from an ``ulde-eval`` results.json: met or not.

    python -m ulde.model.targets docs/results.json --denoiser "ulde_int8.tflite (ulde.runtime)" \
        --float-denoiser "student.pt: ulde-net, student-kd, int8-aware fine-tuning" --parity runtime/models/parity.json

Prints a Markdown table, one row per target, with the measured figure and whether it meets the target.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ulde.model.report import PAPER_STUDENT

GROUPS = ("group1", "group2", "group3")
MITDB_TARGET = {"group1": 7.0, "group2": 9.0, "group3": 9.5}
CLEAN_SNR_MEDIAN_DB, CLEAN_SNR_P5_DB = 30.0, 20.0
ST_MEDIAN_UV, ST_P90_UV, ST_BIAS_UV = 10.0, 30.0, 5.0
OFFSET_TOLERANCE_UV = 1.0
BUDGET_PARAMS, BUDGET_MACS = 6900, 6.6e6
INT8_LOSS_DB = 0.1
FIDELITY_DATABASES = {"cpsc_test": "CPSC test", "mitdb_test": "MIT-BIH test", "ptbxl": "PTB-XL"}


def _above_baseline_band_note(section: dict, clean: dict) -> str:
    """The same two figures counting only the change above the baseline band, where the results have them."""
    if "snr_change_above_baseline_band_p5_db" not in clean:
        return ""
    return (f" (change above {section['baseline_band_hz']:g} Hz only: {clean['snr_change_above_baseline_band_median_db']:.1f}"
            f" / {clean['snr_change_above_baseline_band_p5_db']:.1f} dB)")


def _skipped(reason) -> str:
    return f"not measured ({str(reason).split('. ')[0]})"


def _row(target: str, measured: str, met: bool) -> str:
    return f"| {target} | {measured} | {'met' if met else '**not met**'} |"


def _groups(section: dict, name: str) -> list[float]:
    return [section["scores"][name][g]["snr_improvement_db"]["mean"] for g in GROUPS]


def target_rows(results: dict, name: str, float_name: str, parity: dict | None) -> list[str]:
    rows = ["| target | measured | |", "|---|---|---|"]
    cpsc = _groups(results["cpsc_test"], name)
    rows.append(_row("CPSC test groups 1/2/3 ≥ the paper's " + " / ".join(f"{PAPER_STUDENT[g]:+.2f}" for g in GROUPS),
                     " / ".join(f"{v:+.2f}" for v in cpsc), all(v >= PAPER_STUDENT[g] for v, g in zip(cpsc, GROUPS))))
    mit = _groups(results["mitdb_test"], float_name)
    rows.append(_row("MIT-BIH test groups 1/2/3 (float) ≥ +7.0 / +9.0 / +9.5", " / ".join(f"{v:+.2f}" for v in mit),
                     all(v >= MITDB_TARGET[g] for v, g in zip(mit, GROUPS))))
    for key, title in FIDELITY_DATABASES.items():
        section = results["fidelity"].get(key)
        if not isinstance(section, dict):
            rows.append(_row(f"{title}: clean input and ST", _skipped(section), False))
            continue
        clean = section["clean_input"][name]
        rows.append(_row(f"{title}, clean input: output SNR vs input ≥ 30 dB median, ≥ 20 dB p5",
                         f"{clean['snr_median_db']:.1f} / {clean['snr_p5_db']:.1f} dB{_above_baseline_band_note(section, clean)}",
                         clean["snr_median_db"] >= CLEAN_SNR_MEDIAN_DB and clean["snr_p5_db"] >= CLEAN_SNR_P5_DB))
        st = clean["beat_change"]["st_j60"]
        rows.append(_row(f"{title}, clean input: ST change ≤ 10 µV median, ≤ 30 µV p90, |bias| ≤ 5 µV",
                         f"{st['median_abs_uv']:.1f} / {st['p90_abs_uv']:.1f} / {st['median_bias_uv']:+.1f} µV",
                         st["median_abs_uv"] <= ST_MEDIAN_UV and st["p90_abs_uv"] <= ST_P90_UV and abs(st["median_bias_uv"]) <= ST_BIAS_UV))
        errors = section["noisy_error"]
        ours = [errors[g][name]["st_j60"]["median_abs_uv"] for g in GROUPS]
        raw = [errors[g]["raw noisy input"]["st_j60"]["median_abs_uv"] for g in GROUPS]
        rows.append(_row(f"{title}, ST error under groups 1/2/3 ≤ half the raw input's",
                         " / ".join(f"{o:.0f} (raw {r:.0f})" for o, r in zip(ours, raw)) + " µV",
                         all(o <= r / 2 for o, r in zip(ours, raw))))
    robustness = results["robustness"][name]
    at24 = {kind: robustness[kind]["24"] for kind in robustness}
    at30 = {kind: robustness[kind]["30"] for kind in robustness}
    rows.append(_row("SNR improvement at 24 dB input ≥ 0 dB, every noise type", ", ".join(f"{k} {v:+.2f}" for k, v in at24.items()),
                     min(at24.values()) >= 0))
    rows.append(_row("SNR improvement at 30 dB input ≥ −0.5 dB, every noise type", ", ".join(f"{k} {v:+.2f}" for k, v in at30.items()),
                     min(at30.values()) >= -0.5))
    qrs = results.get("qrs")
    if isinstance(qrs, dict):
        for levels, margin, label in ((("24 dB", "18 dB", "12 dB"), -0.002, "≥ raw − 0.002"), (("0 dB", "-6 dB"), 0.05, "≥ raw + 0.05")):
            ours = [qrs[level][name]["f1"] for level in levels]
            raw = [qrs[level]["raw input"]["f1"] for level in levels]
            rows.append(_row(f"XQRS F1 at {' / '.join(levels)} {label}", " / ".join(f"{o:.3f} (raw {r:.3f})" for o, r in zip(ours, raw)),
                             all(o >= r + margin for o, r in zip(ours, raw))))
    else:
        rows.append(_row("XQRS F1 on NSTDB 118e*/119e*", _skipped(qrs), False))
    worst = max(v["max_abs_diff_uv"] for v in results["dc_offsets"][name].values())
    rows.append(_row("DC offsets up to ±300 mV: invariant within 1 µV", f"largest difference {worst:.3f} µV", worst <= OFFSET_TOLERANCE_UV))
    complexity = results["checkpoints"][float_name]["complexity"]
    rows.append(_row("params / MACs per window ≤ 6.9 K / 6.6 M", f"{complexity['params']:,} / {complexity['macs'] / 1e6:.2f} M",
                     complexity["params"] <= BUDGET_PARAMS and complexity["macs"] <= BUDGET_MACS))
    if parity is not None:
        losses = [parity["groups"][g]["int8_loss_db"] for g in GROUPS]
        rows.append(_row("int8 loss of SNR improvement ≤ 0.1 dB, every group", " / ".join(f"{v:.3f}" for v in losses) + " dB",
                         max(losses) <= INT8_LOSS_DB))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ulde.model.targets", description=__doc__.splitlines()[0])
    p.add_argument("results", type=Path, help="results.json written by ulde-eval")
    p.add_argument("--denoiser", required=True, help="the row to judge (as named in results.json)")
    p.add_argument("--float-denoiser", required=True, help="its float checkpoint's row (MIT-BIH float target, complexity)")
    p.add_argument("--parity", type=Path, default=None, help="the export's parity.json (int8 loss target)")
    args = p.parse_args(argv)
    try:
        results = json.loads(args.results.read_text())
        parity = json.loads(args.parity.read_text()) if args.parity else None
        rows = target_rows(results, args.denoiser, args.float_denoiser, parity)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"targets: error: cannot read the targets from {args.results} ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
