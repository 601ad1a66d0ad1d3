"""Progress and log lines, always on stderr so that ``--json`` keeps stdout machine-readable."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click


def log(message: str) -> None:
    """One line of progress or information on stderr."""
    click.echo(message, err=True)


@contextmanager
def timed(label: str) -> Iterator[dict]:
    """Log ``label ... done in Xs`` around a block; the yielded dict may carry ``rows`` to report."""
    info: dict = {}
    start = time.perf_counter()
    yield info
    secs = time.perf_counter() - start
    rows = info.get("rows")
    extra = f", {rows:,} rows" if rows is not None else ""
    log(f"  {label}: {secs:.2f}s{extra}")
    info["seconds"] = secs


def bar(length: int, label: str):
    """A click progress bar on stderr (hidden when stderr is not a terminal, except for a final line)."""
    return click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True)
