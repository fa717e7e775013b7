"""What else the machine was doing while a benchmark ran, to print beside its figures.

Machines are shared: a test suite running at the same time takes CPUs and database time
from both sides of a ratio, and from an absolute target only one side.
"""
import os
from pathlib import Path


def load_note(when):
    """'<when>: load average 2.10 on 2 CPUs; also running: pytest (2 processes)'."""
    load = os.getloadavg()[0]
    note = f"{when}: load average {load:.2f} on {os.cpu_count()} CPUs"
    others = other_test_runs()
    if others:
        note += f"; also running: pytest ({others} process{'es' if others > 1 else ''})"
    return note


def other_test_runs():
    """Processes running pytest, which are never a benchmark's own."""
    count = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part == b"pytest" or part.endswith(b"/pytest") for part in argv):
            count += 1
    return count
