"""Valid ranges of the numeric options, checked at the door: click parameter types and plain checks.

Every numeric option of the CLI uses one of these types, so a value out of range (or ``nan``/``inf``, which
click's own FloatRange lets through) is refused by click before any work, with the option named and the range
shown in ``--help``. ``memory_limit_bytes`` parses the ``--memory-limit`` text the same way for every command.
Only click is imported here: ``kuaicore --help`` stays instant.
"""

from __future__ import annotations

import math
import re
from typing import Any

import click

from kuaicore.errors import UsageError

SEED_MAX = 2**32 - 1
"""Seeds are 32-bit: NumPy, JAX (``jax.random.key``) and DuckDB's hash all take them; larger ones overflow."""

MIN_MEMORY_LIMIT = 64 * 10**6
"""The smallest ``--memory-limit`` accepted: below it DuckDB cannot hold even the tiny data's sort buffers."""

_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip
_SIZE = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*")


class FiniteFloat(click.FloatRange):
    """A FloatRange that also refuses ``nan`` and ``inf`` (click's lets them through)."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(number, param, ctx)


SEED = click.IntRange(0, SEED_MAX)
POSITIVE_INT = click.IntRange(min=1)
NON_NEGATIVE_INT = click.IntRange(min=0)
POSITIVE_FLOAT = FiniteFloat(min=0.0, min_open=True)
NON_NEGATIVE_FLOAT = FiniteFloat(min=0.0)
FRACTION = FiniteFloat(min=0.0, max=1.0, max_open=True)


def parse_size(text: str) -> float | None:
    """``text`` such as ``1GB``, ``700MB``, ``2GiB`` (decimal and binary units, case-insensitive, bytes when
    no unit) as a number of bytes; None when it is not such a size."""
    m = _SIZE.fullmatch(str(text))
    unit = (m.group(2) or "b").lower() if m else ""
    if not m or unit not in _UNITS:
        return None
    return float(m.group(1)) * _UNITS[unit]


def memory_limit_bytes(text: str, option: str = "--memory-limit") -> int:
    """``text`` as bytes (:func:`parse_size`); UsageError naming ``option`` when it is not a size, or is below
    :data:`MIN_MEMORY_LIMIT`."""
    parsed = parse_size(text)
    if parsed is None:
        raise UsageError(f"{option} {text!r}: not a size; use a number and a unit such as 1GB, 700MB or 2GiB")
    size = int(parsed)
    if size < MIN_MEMORY_LIMIT:
        least = f"{MIN_MEMORY_LIMIT // 10**6}MB"
        raise UsageError(f"{option} {text!r}: too small; kuaicore needs at least {least}")
    return size


class MemoryLimit(click.ParamType):
    """``--memory-limit``: a size text (kept as given, for the manifest), checked by
    :func:`memory_limit_bytes`."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            memory_limit_bytes(value, f"--{param.name.replace('_', '-')}" if param else "--memory-limit")
        except UsageError as err:
            self.fail(str(err).split(": ", 1)[-1], param, ctx)
        return str(value).strip()


MEMORY_LIMIT = MemoryLimit()


def require(ok: bool, message: str) -> None:
    """UsageError(``message``) unless ``ok``: the one-line form of every config check."""
    if not ok:
        raise UsageError(message)


def number_list(text: str, accept: Any) -> tuple[float, ...] | None:
    """The comma-separated numbers of ``text`` (empty items skipped); None when one does not parse or
    ``accept(value)`` is false for it."""
    try:
        values = tuple(float(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        return None
    return values if all(accept(v) for v in values) else None


def finite(value: float) -> bool:
    """True for a real number that is neither nan nor infinite (also False for non-numbers)."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def check_output_file(path: Any, option: str) -> None:
    """UsageError naming ``option`` unless ``path`` can be written as a file: not an existing folder, and in
    a folder that exists (checked before any work, so a long run never fails at its last step)."""
    from pathlib import Path

    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: folder {parent} does not exist")
