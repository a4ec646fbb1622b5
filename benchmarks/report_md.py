"""latest.md: the results document as Markdown tables, with the environment it was measured in."""

from __future__ import annotations

from benchmarks.collector import figure
from benchmarks.contenders import LABELS

KIB = 1024
GROWTH_LABELS = {"rss_mib": "RSS", "peak_mib": "peak RSS"}
QUALITY_ROUTES = ("bandpass", "torch_float", "onnx_float", "tflite_float", "tflite_int8")


def _environment(env: dict) -> list[str]:
    machine, libs = env["machine"], env["libraries"]
    return [
        f"- date (UTC): {env['date_utc']}; commit: `{env['commit']}`",
        f"- machine: {machine['cpu']} (flags: {', '.join(machine.get('cpu_flags', [])) or 'not read'}), "
        f"{machine['logical_cpus']} logical CPUs, {machine['platform']}; "
        f"load average at start {machine['load_average_start']}, at end {machine['load_average_end']}",
        "- threads: " + ", ".join(f"{k} {v}" for k, v in env["threads"].items()),
        "- libraries: " + ", ".join(f"{k} {v}" for k, v in libs.items()),
        "- models: " + ", ".join(f"{k}: {v}" for k, v in env["models"].items()),
    ]


def _timing_table(section: dict, unit: str) -> list[str]:
    lines = [f"| contender | median ({unit}) | p95 ({unit}) | min ({unit}) | CPU median ({unit}) | CPU p95 ({unit}) | runs |",
             "|---|---|---|---|---|---|---|"]
    for name, t in section["contenders"].items():
        lines.append(f"| {LABELS.get(name, name)} | {t['median_ms']:.3f} | {t['p95_ms']:.3f} | {t['min_ms']:.3f} | "
                     f"{t['cpu_median_ms']:.3f} | {t['cpu_p95_ms']:.3f} | {t['runs']} |")
    return lines


def _latency(doc: dict) -> list[str]:
    out = []
    if "latency_window" in doc:
        w = doc["latency_window"]
        out += ["## Latency per 10 s window (one thread)", "", w["method"], ""] + _timing_table(w, "ms") + [""]
    if "int8_graphs" in doc:
        g = doc["int8_graphs"]
        macs = g["convolution_macs_per_window"]
        out += ["## The two int8 graphs against float (CPU-time medians above)", "",
                f"- host graph / MCU graph: {g['host_over_mcu']:.3f}x; host graph / float: {g['host_over_float']:.3f}x; "
                f"MCU graph / float: {g['mcu_over_float']:.3f}x (every contender interleaved: each call follows others' "
                "caches)",
                f"- convolution MACs executed per window: host graph {macs['tflite_int8']:,}, MCU graph {macs['tflite_int8_mcu']:,}", ""]
    if "int8_vs_float_window" in doc:
        v = doc["int8_vs_float_window"]
        out += ["## int8 host graph against float per window, the two alone (one thread)", "", v["method"], ""] + _timing_table(v, "ms")
        out += ["", f"int8 host graph / float: {v['host_over_float']:.3f}x (target {v['target']:.1f}x for {v['target_applies_to']}: "
                f"{'met' if v['target_met'] else 'not met'}; {'gated' if v['gated'] else 'recorded'}).", ""]
    if "int8_floor" in doc:
        f = doc["int8_floor"]
        out += ["## int8 against its physical floor; TFLite Micro per window (one thread)", "", f["method"], ""] + _timing_table(f, "ms")
        out += ["", f"- this core's int8 MAC rate through XNNPACK's convolution: {f['int8_macs_per_second'] / 1e9:.1f} G MAC/s; "
                f"the network's {f['network_macs_per_window']:,} MACs per window take {f['floor_ms']:.3f} ms at that rate "
                f"(the floor); the host graph's call takes {f['host_call_over_floor']:.1f}x the floor",
                f"- TFLite Micro's reference kernels, MCU graph: {f['tflm_ms_per_window']:.2f} ms per 10 s window on this host "
                "(the MCU proxy)", ""]
    if "multi_lead" in doc:
        m = doc["multi_lead"]
        out += ["## Twelve leads per interpreter call (one thread)", "", m["method"], ""] + _timing_table(m, "ms")
        out += ["", f"One call of 12 leads / 12 calls of one lead: {m['one_call_over_per_lead_calls']:.3f}x (CPU time).", ""]
    if "latency_minute" in doc:
        m = doc["latency_minute"]
        out += ["## Latency per streamed minute (one thread)", "", m["method"], ""] + _timing_table(m, "ms")
        out += ["", "Real-time factor, 60 s / median CPU time (wall clock): " + "; ".join(
            f"{LABELS.get(k, k)} {m['realtime_factor_cpu'][k]:,.0f}x ({v:,.0f}x)" for k, v in m["realtime_factor"].items()), ""]
        if "host_over_float" in m:
            out += [f"int8 host graph / float per streamed minute (CPU time): {m['host_over_float']:.3f}x "
                    f"({'gated for hosts with ' + m['dot_product'] if m['dot_product'] else 'recorded: AVX2-only host'}).", ""]
    if "streaming_overhead" in doc:
        s = doc["streaming_overhead"]
        out += ["## Streaming overhead", "", s["method"], "",
                f"- streaming: median {s['streaming']['median_ms']:.3f} ms, p95 {s['streaming']['p95_ms']:.3f} ms, "
                f"CPU median {s['streaming']['cpu_median_ms']:.3f} ms",
                f"- bare invokes ({s['interpreter_calls']} calls): median {s['bare_invokes']['median_ms']:.3f} ms, "
                f"p95 {s['bare_invokes']['p95_ms']:.3f} ms, CPU median {s['bare_invokes']['cpu_median_ms']:.3f} ms",
                f"- runtime alone (replayed interpreter): CPU median {s['runtime_alone']['cpu_median_ms']:.3f} ms, "
                f"{s['own_work_cpu_us_per_call']:.1f} µs per interpreter call",
                f"- added CPU time per interpreter call {s['added_cpu_us_per_call']:.1f} µs (own work "
                f"{s['own_work_cpu_us_per_call']:.1f} µs + cache effect {s['cache_effect_cpu_us_per_call']:.1f} µs); "
                f"ratio of CPU medians {s['ratio_of_cpu_medians']:.3f}x; wall clock: ratio of medians "
                f"{s['ratio_of_medians']:.3f}x, median of per-round ratios {s['median_of_round_ratios']:.3f}x", ""]
    if "low_latency" in doc:
        low = doc["low_latency"]
        out += ["## Low-latency mode against the 10 s mode (one thread)", "", low["method"], "",
                "| mode | window / hop (samples) | latency (s) | calls per second | MACs per second | CPU ms per minute (wall) "
                "| real-time factor (CPU) | TFLM arena (B) |",
                "|---|---|---|---|---|---|---|---|"]
        for name, m in low["modes"].items():
            out.append(f"| {name} | {m['window_samples']} / {m['hop_samples']} | {m['latency_seconds']:.3f} | "
                       f"{m['calls_per_second']:.3f} | {m['macs_per_second'] / 1e6:.2f} M | "
                       f"{m['cpu_ms_per_minute']:.2f} ({m['wall_ms_per_minute']:.2f}) | {m['realtime_factor_cpu']:,.0f}x | "
                       f"{m['tflm_arena_bytes']:,} |")
        r = low["low_latency_over_10_s"]
        out += ["", f"Low-latency / 10 s: calls {r['calls_per_second']:.2f}x, MACs {r['macs_per_second']:.3f}x, "
                f"CPU time {r['cpu_ms_per_minute']:.2f}x.", ""]
    return out


def _footprint(doc: dict) -> list[str]:
    out = []
    if "footprint" in doc:
        f = doc["footprint"]
        out += ["## Footprint", "", "| figure | value |", "|---|---|"]
        out += [f"| {name} | {entry['bytes']:,} bytes ({entry['bytes'] / KIB:.1f} KiB) |" for name, entry in f["files"].items()]
        arena = f["tflm_arena_bytes"]
        out += [f"| TFLM arena (export manifest) | {arena:,} bytes ({arena / KIB:.1f} KiB) |",
                f"| parameters (trainable / BatchNorm folded) | {f['params']:,} / {f['params_folded']:,} |",
                f"| MACs per 10 s window | {f['macs_per_window']:,} |", ""]
        if "byte_budget" in f:
            names = list(f["byte_budget"])
            parts = list(f["byte_budget"][names[0]])
            out += ["Bytes of each int8 file by part (`ulde.export.tflite_graph.byte_budget`):", "",
                    "| part | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
            out += [f"| {part} | " + " | ".join(f"{f['byte_budget'][n][part]:,}" for n in names) + " |" for part in parts]
            arena = f["tflm_arena"]
            out += ["", f"TFLM arena of {names[0]}: {arena.get('arena_bytes', 0):,} B = "
                    f"{arena.get('arena_head_bytes', 0):,} B of activations (head) + {arena.get('arena_tail_bytes', 0):,} B "
                    "persistent (tail).", ""]
    if "memory" in doc:
        m = doc["memory"]
        out += ["## Memory (fresh process, int8 TFLite)", "", m["method"], "",
                "| point | RSS (MiB) | peak RSS (MiB) |", "|---|---|---|"]
        points = [("after imports", m["after_import"]), ("after loading the model", m["after_load"])]
        points += [(f"after {k} min", v) for k, v in m["minutes"].items()]
        for label, p in points:
            rss = "n/a" if p["rss_mib"] is None else f"{p['rss_mib']:.1f}"
            out.append(f"| {label} | {rss} | {p['peak_mib']:.1f} |")
        growth = ", ".join(f"{GROWTH_LABELS.get(k, k)} {100 * v:+.3f} %" for k, v in m["growth"].items())
        out += ["", f"Growth from minute {m['from_minute']} to {m['to_minute']}: {growth}.", ""]
    if "archive" in doc:
        a = doc["archive"]
        out += ["## Archives (ulde.batch, ulde-denoise)", "", a["method"], "",
                "| workers | wall clock (s) | samples per second |", "|---|---|---|"]
        out += [f"| {k} | {a['wall_seconds'][k]:.2f} | {v:,.0f} |" for k, v in a["samples_per_second"].items()]
        out += ["", f"2 workers over 1: {a['speedup_2_over_1']:.2f}x on {a['usable_cores']} usable core(s); "
                f"{a['samples_per_second_per_core']:,.0f} samples per second per core.", ""]
        if "day_record" in a:
            d = a["day_record"]
            out += [d["method"], "", "| record | peak RSS (MiB) | wall clock (s) |", "|---|---|---|"]
            out += [f"| {name} | {f['peak_rss_mib']:.1f} | {f['wall_seconds']:.1f} |"
                    for name, f in d.items() if isinstance(f, dict)]
            out.append("")
    return out


def _quality(doc: dict) -> list[str]:
    out = []
    if "parity" in doc:
        p = doc["parity"]
        out += ["## Denoising quality and int8 parity per noise group", "", p["method"], "",
                "| group | windows | input SNR (dB) | band-pass | torch | ONNX float | TFLite float | TFLite int8 | "
                "int8 loss (dB) | int8 Pearson loss | int8-vs-float output SNR (dB) |", "|---" * 11 + "|"]
        for g, r in p["groups"].items():
            snri = [r[b]["snr_improvement_db"] for b in QUALITY_ROUTES]
            out.append(f"| {g} | {r['windows']} | {r['snr_in_db']:.2f} | " + " | ".join(f"{v:.2f}" for v in snri)
                       + f" | {r['int8_loss_db']:.3f} | {r['int8_pearson_loss']:.4f} | {r['int8_vs_float_output_snr_db']:.1f} |")
        out += ["", "SNR improvement in dB, mean over windows.", ""]
    if "streaming_parity" in doc:
        s = doc["streaming_parity"]
        out += ["## Streaming vs one window", "", s["method"], "",
                "| group | one call per window (dB) | denoise(window) (dB) | loss (dB) | windows end to end (dB) | loss (dB) |",
                "|---" * 6 + "|"]
        out += [f"| {g} | {r['one_window_db']:.3f} | {r['streamed_db']:.3f} | {r['loss_db']:+.3f} | "
                f"{r['long_signal_db']:.3f} | {r['long_signal_loss_db']:+.3f} |" for g, r in s["groups"].items()]
        out.append("")
    return out


def render(doc: dict) -> str:
    lines = ["# ulde benchmarks", "", "Written by `python -m pytest benchmarks/` (do not edit by hand).", ""]
    lines += _environment(doc["environment"]) + [""]
    if not doc["complete"]:
        lines += ["**Partial run**: some benchmarks did not run.", ""]
    lines += _footprint(doc) + _latency(doc) + _quality(doc)
    lines += ["## Gates", "", "| gate | figure | bound | result |", "|---|---|---|---|"]
    for g in doc["gates"]:
        unit = f" {g['unit']}" if g["unit"] else ""
        lines.append(f"| {g['name']} | {figure(g['value'])}{unit} | {g['op']} {figure(g['bound'])}{unit} | "
                     f"{'pass' if g['passed'] else '**FAIL**'} |")
    lines += ["", f"All gates passed: {'yes' if doc['all_gates_passed'] else '**no**'}.", ""]
    return "\n".join(lines)
