"""One results document for the whole benchmark session: sections recorded by tests, gates, and the files.

Each test records its figures (``record``) and checks its gates (``gate``) before asserting, so a run
whose gates fail still leaves every figure behind. The session fixture writes the files once, at the end.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS_FORMAT = "ulde-benchmarks/1"
SECTIONS = ("footprint", "latency_window", "int8_graphs", "int8_vs_float_window", "int8_floor", "multi_lead", "latency_minute", "streaming_overhead", "low_latency", "memory", "parity",
            "streaming_parity", "archive")
"""Every section a complete run records (the README block is only rewritten from a complete run)."""


@dataclass(frozen=True)
class Gate:
    """One figure against its bound: passed when ``value op bound`` holds (op is "<=" or ">=")."""

    name: str
    value: float
    op: str
    bound: float
    unit: str

    @property
    def passed(self) -> bool:
        if not math.isfinite(self.value):
            return False
        return self.value <= self.bound if self.op == "<=" else self.value >= self.bound

    @property
    def message(self) -> str:
        verdict = "ok" if self.passed else "FAILED"
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.name}: {figure(self.value)}{unit} (bound {self.op} {figure(self.bound)}{unit}) {verdict}"


def figure(value: float) -> str:
    """A figure for messages and tables: 4 significant digits, thousands separated above 10,000."""
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"


class Results:
    """Sections of figures (JSON-ready dicts) and gates, collected over one pytest session."""

    def __init__(self):
        self.sections: dict[str, dict] = {}
        self.gates: list[Gate] = []

    def record(self, section: str, figures: dict) -> None:
        if section not in SECTIONS:
            raise ValueError(f"unknown results section {section!r}; expected one of {SECTIONS}")
        self.sections.setdefault(section, {}).update(figures)

    def gate(self, name: str, value: float, op: str, bound: float, unit: str) -> Gate:
        if op not in ("<=", ">="):
            raise ValueError(f"gate operator must be '<=' or '>=', got {op!r}")
        checked = Gate(name, float(value), op, float(bound), unit)
        self.gates.append(checked)
        return checked

    @property
    def complete(self) -> bool:
        return all(s in self.sections for s in SECTIONS)

    def document(self, environment: dict) -> dict:
        return {
            "format": RESULTS_FORMAT, "complete": self.complete, "environment": environment,
            **{s: self.sections[s] for s in SECTIONS if s in self.sections},
            "gates": [{**asdict(g), "passed": g.passed} for g in self.gates],
            "all_gates_passed": all(g.passed for g in self.gates),
        }


def failed(gates: list[Gate]) -> str | None:
    """One message listing every failing gate with its figure and bound, or None when all pass."""
    bad = [g.message for g in gates if not g.passed]
    return "; ".join(bad) if bad else None


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")  # *.tmp is git-ignored
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json(document: dict, path: Path) -> None:
    write_atomically(path, json.dumps(document, indent=2) + "\n")


def require(*gates: Gate) -> None:
    """Fail the calling test with every failing gate's figure and bound (after all were recorded)."""
    message = failed(list(gates))
    if message:
        import pytest

        pytest.fail(message, pytrace=False)
