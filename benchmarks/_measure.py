"""Shared benchmark helpers: peak RSS (this process and its children), a wall-clock timer, a table printer.

Usage::

    from _measure import Timer, peak_rss_mb, print_table, machine_line
    with Timer() as t:
        work()
    rows.append({"stage": "work", "wall s": t.seconds, "peak RSS MB": peak_rss_mb(), "rows/s": n / t.seconds})
    print(machine_line()); print_table(rows)

``peak_rss_mb`` is the high-water mark since the process started (``resource.getrusage`` is monotonic), so a
table of stages run in order shows the peak reached *by the end of* each stage.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import resource
import sys
import time
from collections.abc import Sequence
from typing import Any


def peak_rss_mb(include_children: bool = True) -> float:
    """Peak resident set size in MB of this process (and, by default, the largest waited-for child).

    Its own peak is Linux's VmHWM where /proc exists: ``ru_maxrss`` is not reset by exec, so a child started
    by a large parent would report the parent's RSS at fork time as its own."""
    from kuaicore.procstatus import status_kib

    scale = 1.0 if sys.platform == "darwin" else 1024.0  # ru_maxrss is bytes on macOS, KiB on Linux
    hwm = status_kib("VmHWM")
    own = hwm * 1024.0 if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale if include_children else 0.0
    return max(own, kids) / 1e6


class Timer:
    """Context manager measuring wall-clock seconds (``.seconds``) with ``time.perf_counter``."""

    def __init__(self) -> None:
        self.start = 0.0
        self.seconds = 0.0

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def machine_line() -> str:
    """One line naming the machine, CPU count, Python and the UTC date, to print above a table."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    date = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    py = platform.python_version()
    return f"machine: {platform.node()} ({platform.machine()}, {cpus} CPUs), Python {py}, {date}"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A Markdown table of ``rows`` (dicts); columns default to the keys of the first row, in order."""
    if not rows:
        return ""
    cols = list(columns or rows[0].keys())
    cells = [[_fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    head = "| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 1) + ":" if i else "-" * (w + 2) for i, w in enumerate(widths)) + "|"
    body = [
        "| "
        + " | ".join(
            v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))
        )
        + " |"
        for row in cells
    ]
    return "\n".join([head, rule, *body])


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> None:
    """Print :func:`format_table` to stdout."""
    print(format_table(rows, columns))
