"""Rewrite the README's numbers block (between the two markers) from benchmarks/results/latest.json.

    python -m benchmarks.readme_numbers            # after python -m pytest benchmarks/

The benchmark session runs this itself after a complete run on the shipped models; only the block
between ``<!-- numbers:start -->`` and ``<!-- numbers:end -->`` is replaced.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.collector import write_atomically

REPO_ROOT = Path(__file__).resolve().parent.parent
README = REPO_ROOT / "README.md"
LATEST = Path(__file__).resolve().parent / "results" / "latest.json"
START, END = "<!-- numbers:start -->", "<!-- numbers:end -->"
KIB = 1024


def render_block(doc: dict) -> str:
    """The Markdown table of the headline figures (without the markers)."""
    f, env = doc["footprint"], doc["environment"]
    int8, mcu, floats = (doc["latency_window"]["contenders"][k] for k in ("tflite_int8", "tflite_int8_mcu", "tflite_float"))
    minute, low = doc["latency_minute"], doc["low_latency"]
    archive = doc["archive"]
    day = archive["day_record"]
    sizes = f["files"]
    lines = [
        "| figure | value |", "|---|---|",
        f"| model size, int8 TFLite MCU graph (host graph, float TFLite, ONNX) | {sizes['ulde_int8.tflite']['bytes'] / KIB:.1f} KiB "
        f"({sizes['ulde_int8_host.tflite']['bytes'] / KIB:.1f} KiB, {sizes['ulde_float.tflite']['bytes'] / KIB:.1f} KiB, "
        f"{sizes['ulde.onnx']['bytes'] / KIB:.1f} KiB) |",
        f"| parameters, trained (after BatchNorm folding) | {f['params']:,} ({f['params_folded']:,}) |",
        f"| MACs per 10 s window | {f['macs_per_window'] / 1e6:.2f} M |",
        f"| TFLite Micro arena | {f['tflm_arena_bytes'] / KIB:.1f} KiB |",
        f"| latency per 10 s window, 1 thread, LiteRT: int8 host graph (MCU graph; float) | {int8['median_ms']:.2f} ms median, "
        f"{int8['p95_ms']:.2f} ms p95 ({mcu['median_ms']:.2f} ms, {mcu['p95_ms']:.2f} ms; "
        f"{floats['median_ms']:.2f} ms, {floats['p95_ms']:.2f} ms) |",
        f"| real-time factor, int8 streaming, 1 thread | {minute['realtime_factor_cpu']['tflite_int8']:,.0f}x "
        f"(CPU time), {minute['realtime_factor']['tflite_int8']:,.0f}x (wall clock) |",
        f"| low-latency mode: latency; MACs (CPU time) per second of signal vs the 10 s mode | "
        f"{low['modes']['low-latency']['latency_seconds']:.2f} s; {low['low_latency_over_10_s']['macs_per_second']:.2f}x "
        f"({low['low_latency_over_10_s']['cpu_ms_per_minute']:.2f}x) |",
        f"| peak memory, fresh process streaming 1 h | {doc['memory']['peak_mib']:.1f} MiB |",
        f"| archive throughput, 1 worker (2 workers over 1) | {archive['samples_per_second_per_core'] / 1e6:.2f} M samples/s "
        f"({archive['speedup_2_over_1']:.2f}x) |",
        f"| peak memory, ulde-denoise on a 24 h .npy (EDF+) | {day['day.npy']['peak_rss_mib']:.1f} MiB "
        f"({day['day.edf']['peak_rss_mib']:.1f} MiB) |",
        "",
        "| noise group | input SNR (dB) | SNR improvement, float (dB) | SNR improvement, int8 (dB) | band-pass (dB) |",
        "|---|---|---|---|---|",
    ]
    for group, r in doc["parity"]["groups"].items():
        lines.append(f"| {group} | {r['snr_in_db']:.2f} | {r['tflite_float']['snr_improvement_db']:.2f} | "
                     f"{r['tflite_int8']['snr_improvement_db']:.2f} | {r['bandpass']['snr_improvement_db']:.2f} |")
    data = doc["parity"]["data"]
    windows = sum(data["windows_per_group"].values())
    lines += ["", f"SNR improvement: mean over the CPSC 2018 {data['split']} split ({windows} windows), "
              f"{env['machine']['cpu']} ({', '.join(env['machine'].get('cpu_flags', [])) or 'flags not read'}), {env['date_utc'][:10]}, commit `{env['commit'][:12]}`; "
              "full tables in `benchmarks/results/latest.md`."]
    return "\n".join(lines)


def rewrite(readme_text: str, block: str) -> str:
    """``readme_text`` with everything between the markers replaced by ``block``; ValueError without markers."""
    start, end = readme_text.find(START), readme_text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README has no '{START}' ... '{END}' block to rewrite")
    return readme_text[: start + len(START)] + "\n" + block + "\n" + readme_text[end:]


def update_readme(doc: dict, readme: Path = README) -> None:
    write_atomically(readme, rewrite(readme.read_text(), render_block(doc)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=LATEST)
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    doc = json.loads(args.results.read_text())
    if not doc.get("complete"):
        print(f"{args.results} is from a partial run; run `python -m pytest benchmarks/` first", file=sys.stderr)
        return 1
    update_readme(doc, args.readme)
    print(f"rewrote the numbers block of {args.readme} from {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
