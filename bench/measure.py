"""Timing, and what a benchmark hands back to bench/run.py to print and write."""
import statistics
import time
from dataclasses import dataclass, field


def timed(action):
    """(seconds, result) of one call."""
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


@dataclass
class Figure:
    key: str  # the key in var/bench/<name>.json
    value: float
    unit: str
    samples: list = field(default_factory=list)
    note: str = ""

    @classmethod
    def median(cls, key, samples, unit, note=""):
        return cls(key, statistics.median(samples), unit, list(samples), note)


@dataclass
class Target:
    key: str  # the key under "targets" in var/bench/<name>.json
    wanted: str  # the target, in words
    measured: str  # what was measured against it, in words
    met: bool


@dataclass
class Report:
    figures: list
    targets: list
    notes: list = field(default_factory=list)

    def figure(self, key):
        return next(f.value for f in self.figures if f.key == key)

    def as_json(self):
        data = {f.key: round(f.value, 4 if f.unit == "s" else 1) for f in self.figures}
        data["targets"] = {t.key: t.met for t in self.targets}
        return data


def _number(value, unit):
    return f"{value:.3f} {unit}" if unit == "s" else f"{value:.1f} {unit}"


def table(name, report):
    """The report as text: the figures, then each target with its ratio."""
    lines = [f"== {name} " + "=" * max(0, 72 - len(name))]
    key_width = max(len(f.key) for f in report.figures)
    for f in report.figures:
        samples = ", ".join(_number(s, "").strip() for s in f.samples) if len(f.samples) > 1 else ""
        detail = "; ".join(part for part in (f"median of {samples}" if samples else "", f.note) if part)
        lines.append(f"  {f.key:<{key_width}}  {_number(f.value, f.unit):>12}   {detail}")
    if report.targets:
        lines.append("  targets:")
        wanted_width = max(len(t.wanted) for t in report.targets)
        for t in report.targets:
            lines.append(f"    [{'met ' if t.met else 'MISS'}] {t.wanted:<{wanted_width}}  {t.measured}")
    lines.extend(f"  {note}" for note in report.notes)
    return "\n".join(lines)
