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
    lines = ["| denoiser | noise | " + " | ".join(f"{s} dB" for s in snrs) + " |", "|" + "---|" * (2 + len(snrs))]
    for name in names:
        for kind in kinds:
            lines.append(f"| {name} | {kind} | " + " | ".join(f"{table[name][kind][s]:.2f}" for s in snrs) + " |")
    return lines


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
    return "\n".join(lines) + "\n"
