"""DuckDB CSV errors as one-line DataErrors naming file and row; find a row's line; read the header line.

Convention: ``row`` counts data rows from 1 (the first row after the header); ``line`` counts lines in the
file with the header as line 1, as DuckDB's ``CSV Error on Line: N`` does. So row = line - 1.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Callable
from pathlib import Path

from kuaicore.errors import DataError
from kuaicore.schema import KuaiFile

_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CONVERT = re.compile(
    r"Error when converting column \"(.+?)\"\.(?: Could not convert string \"(.*)\" to '(\w+)')?"
)
_FIELDS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_TYPE_WORDS = {"BIGINT": "an integer", "INTEGER": "an integer", "DOUBLE": "a number", "FLOAT": "a number"}
_INT_TEXT = re.compile(r"\s*[+-]?\d+\s*")
_MAX_HEADER = 1 << 20
NOT_UTF8 = "text is not UTF-8"


def describe_csv_error(kfile: KuaiFile, message: str) -> str:
    """One line describing a DuckDB CSV error message for ``kfile``: file, row, line, what is wrong."""
    where = kfile.filename
    m = _LINE.search(message)
    if m:
        line = int(m.group(1))
        where += f", row {line - 1} (line {line})"
    conv = _CONVERT.search(message)
    fields = _FIELDS.search(message)
    if conv:
        column, value, typ = conv.groups()
        if typ is None or value == "":
            what = f"{column} is empty"
        elif typ == "INTEGER" and _INT_TEXT.fullmatch(value):
            what = f"{column} {value!r} is outside the 32-bit integer range it is read as"
        else:
            what = f"{column} {value!r} is not {_TYPE_WORDS.get(typ, typ)}"
    elif fields:
        want, got = int(fields.group(1)), int(fields.group(2))
        what = f"expected {want} fields, found {got}" + (" (a truncated line?)" if got < want else "")
    elif "unterminated quote" in message:
        what = "a quoted value is not closed"
    elif "Invalid unicode" in message:
        what = NOT_UTF8
    else:
        what = _first_reason(message)
    return f"{where}: {what}"


def _first_reason(message: str) -> str:
    """The first line of a DuckDB message that says what is wrong (not its location or the raw line)."""
    for raw in message.strip().splitlines():
        text = _LINE.sub("", re.sub(r"^[A-Za-z ]+Error: ", "", raw.strip())).strip()
        if text and not text.startswith("Original Line"):
            return text
    return "unreadable CSV"


def duckdb_data_error(kfile: KuaiFile, err: Exception) -> DataError:
    """A DataError for a DuckDB error raised while reading ``kfile``."""
    return DataError(describe_csv_error(kfile, str(err)))


def first_line(path: Path) -> str:
    """The first line of ``path`` without its line end (``\\n``); ``DataError`` if it is not UTF-8 text."""
    with open(path, "rb") as fh:
        raw = fh.readline(_MAX_HEADER)
    try:
        return raw.rstrip(b"\n").decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path.name}, line 1: the header is not UTF-8 text") from None


def find_line(path: Path, prefix: str) -> int | None:
    """The line number (header = 1) of the first line after the header starting with ``prefix``, or None.

    Searches the memory-mapped file (no Python loop over rows), so it is quick on the 1 GB big matrix.
    """
    found = find_row(path, prefix)
    return None if found is None else found[0]


def find_row(path: Path, prefix: str, accept: Callable[[str], bool] | None = None) -> tuple[int, str] | None:
    """The line number (header = 1) and text (no line end; bytes that are not UTF-8 replaced) of the first
    line after the header that starts with ``prefix`` and, if given, satisfies ``accept(text)``; None if
    there is none. A memory-mapped search, as :func:`find_line`."""
    needle = b"\n" + prefix.encode("utf-8")
    with open(path, "rb") as fh:
        if fh.seek(0, 2) == 0:
            return None
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            newlines, pos, step = 0, 0, 1 << 24
            off = mm.find(needle)
            while off >= 0:
                while pos < off:
                    end = min(pos + step, off)
                    newlines += mm[pos:end].count(b"\n")
                    pos = end
                stop = mm.find(b"\n", off + 1)
                text = mm[off + 1 : stop if stop >= 0 else len(mm)].decode("utf-8", errors="replace")
                if accept is None or accept(text):
                    return newlines + 2, text
                off = mm.find(needle, off + 1)
            return None
