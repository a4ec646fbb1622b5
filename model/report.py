"""Markdown rendering of ``ulde-eval`` results."""

from __future__ import annotations

PAPER_STUDENT = {"group1": 10.30, "group2": 12.16, "group3": 12.61}
"""Qiu et al. 2022, ULde-net student, SNR improvement in dB (their data and splits, not re-measured)."""

METRICS = (("snr_improvement_db", "SNR imp. (dB)"), ("rmse_decrease", "RMSE dec. (mV)"), ("pearson_increase", "Pearson inc."))


def fmt(summary: dict) -> str:
    return f"{summary['mean']:.2f} ± {summary['sd']:.2f}"


def scores_table(section: dict, with_paper: bool) -> list[str]:
    set_names = list(section["input_snr_db"])
    header = "| denoiser | " + " | ".join(f"{s}: {label}" for s in set_names for _, label in METRICS) + " |"
    lines = [header, "|" + "---|" * (1 + len(set_names) * len(METRICS))]
    for name, per_set in section["scores"].items():
        cells = [fmt(per_set[s][key]) for s in set_names for key, _ in METRICS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if with_paper:
        cells = [f"{PAPER_STUDENT[s]:.2f}" if key == "snr_improvement_db" else "—" for s in set_names for key, _ in METRICS]
        lines.append("| Qiu et al. 2022 student (published) | " + " | ".join(cells) + " |")
    inputs = ", ".join(f"{s}: {fmt(v)} dB (n = {v['n']})" for s, v in section["input_snr_db"].items())
    return lines + ["", f"Input SNR, mean ± sd: {inputs}."]


def robustness_table(table: dict) -> list[str]:
    names = list(table)
    kinds = list(table[names[0]])
    snrs = list(table[names[0]][kinds[0]])
    lines = ["| denoiser | noise | " + " | ".join(s if s == "clean" else f"{s} dB" for s in snrs) + " |", "|" + "---|" * (2 + len(snrs))]
    for name in names:
        for kind in kinds:
            lines.append(f"| {name} | {kind} | " + " | ".join(f"{table[name][kind][s]:.2f}" for s in snrs) + " |")
    return lines


def fidelity_tables(section: dict) -> list[str]:
    """Clean input passed through (output SNR vs input, beat-measure change), then the error under noise."""
    measures = ("st_j60", "r_amplitude", "t_amplitude")
    lines = [f"{section['windows']} clean windows, {section['beats']} measured beats.", "",
             "| denoiser | clean: SNR vs input, median (dB) | p5 (dB) | "
             f"counting only the change above {section['baseline_band_hz']:g} Hz: median / p5 (dB) | "
             + " | ".join(f"{m}: median abs / p90 abs / bias (µV)" for m in measures) + " |",
             "|" + "---|" * (4 + len(measures))]
    for name, row in section["clean_input"].items():
        cells = [f"{row['snr_median_db']:.1f}", f"{row['snr_p5_db']:.1f}",
                 f"{row['snr_change_above_baseline_band_median_db']:.1f} / {row['snr_change_above_baseline_band_p5_db']:.1f}"]
        cells += [f"{c['median_abs_uv']:.0f} / {c['p90_abs_uv']:.0f} / {c['median_bias_uv']:+.0f}"
                  for c in (row["beat_change"][m] for m in measures)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    groups = list(section["noisy_error"])
    lines += ["", "Error under noise, median |Δ| against the clean reference (µV), ST at J + 60 ms / R / T:", "",
              "| denoiser | " + " | ".join(groups) + " |", "|" + "---|" * (1 + len(groups))]
    for name in section["noisy_error"][groups[0]]:
        cells = [" / ".join(f"{section['noisy_error'][g][name][m]['median_abs_uv']:.0f}" for m in measures) for g in groups]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def offset_table(table: dict) -> list[str]:
    offsets = list(next(iter(table.values())))
    lines = ["| denoiser | " + " | ".join(f"{o} mV" for o in offsets) + " |", "|" + "---|" * (1 + len(offsets))]
    for name, row in table.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[o]['snr_median_db']:.0f} dB, max {row[o]['max_abs_diff_uv']:.2f} µV" for o in offsets) + " |")
    return lines


def qrs_table(table: dict) -> list[str]:
    levels = list(table)
    names = list(table[levels[0]])
    lines = ["| detector input | " + " | ".join(levels) + " |", "|" + "---|" * (1 + len(levels))]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(f"{table[level][name]['f1']:.3f}" for level in levels) + " |")
    return lines


FIDELITY_TITLES = {"cpsc_test": "CPSC 2018 test split", "mitdb_test": "MIT-BIH test records",
                   "ptbxl": "PTB-XL (never trained or validated on)"}


def render(results: dict) -> str:
    lines = ["# ulde evaluation", "", f"Reproduce: `{results['command']}`", ""]
    lines += ["Checkpoints:", ""] + [f"- {name}: `{c['path']}` (sha256 {c['sha256'][:12]}…, {c['complexity']['params']} params, "
                                      f"{c['complexity']['macs'] / 1e6:.2f} M MACs)" for name, c in results["checkpoints"].items()]
    titles = {
        "cpsc_test": ("1. CPSC 2018 test split, NSTDB noise groups (mean ± sd per window)", True),
        "mitdb_test": ("2. Cross-database: MIT-BIH test records, same groups", False),
        "stress": ("4. NSTDB noisy records 118e*/119e* against MIT-BIH 118/119", False),
    }
    for key, (title, paper) in titles.items():
        section = results.get(key)
        lines += ["", f"## {title}", ""]
        if isinstance(section, dict) and "scores" in section:
            lines += scores_table(section, paper)
        else:
            lines.append(f"Not measured: {section}")
        if key == "mitdb_test":
            lines += ["", "## 3. Robustness: SNR improvement (dB) at controlled input SNR, CPSC test split", ""]
            lines += robustness_table(results["robustness"])
        if key == "stress":
            lines += ["", "Input: the baseline-corrected MIT-BIH 118/119 reference plus the noise NSTDB added (noisy "
                      "record minus clean record, after removing NSTDB's 5.12 mV storage offset), both channels, "
                      "inside the noise-on minutes. NSTDB's SNR labels are its own (measured on QRS amplitude); "
                      "the input SNR above is ulde's per-window SNR. The em noise of these records spans every "
                      "time part of NSTDB's em record, including the parts ulde trains on: this is not a clean "
                      "held-out test."]
    lines += ["", "## 5. Fidelity: clean input passed through, and beat measures (model/fidelity.py)", ""]
    for key, title in FIDELITY_TITLES.items():
        section = results.get("fidelity", {}).get(key, "not measured")
        lines += [f"### {title}", ""] + (fidelity_tables(section) if isinstance(section, dict) else [f"Not measured: {section}"]) + [""]
    lines += ["## 6. DC offsets: output SNR against the offset-free output (median), largest difference", "",
              "CPSC 2018 test split, group 1 windows and their clean references."
              " 200 dB means identical.", ""] + offset_table(results["dc_offsets"])
    lines += ["", "## 7. XQRS F1 on NSTDB 118e*/119e* as recorded (offset included), first 5 min skipped, 150 ms match", ""]
    qrs = results.get("qrs", "not measured")
    lines += qrs_table(qrs) if isinstance(qrs, dict) else [f"Not measured: {qrs}"]
    return "\n".join(lines) + "\n"
