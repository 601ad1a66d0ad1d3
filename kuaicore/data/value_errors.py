"""The one-line errors of the value rules (:mod:`kuaicore.data.value_rules`): file, row, line and column.

DuckDB's ``error()`` inside a check macro cannot know the row's line, so its text carries the file, column,
what is wrong, the row's leading fields as written (``value_rules.KEYS``) and the value; :func:`data_error`
finds that line by a memory-mapped search of the file (:func:`kuaicore.data.csv_errors.find_row`; no scan
in Python) and quotes the cell as the file writes it. Other DuckDB read errors are described by
:mod:`kuaicore.data.csv_errors`. Also the errors of the file-level rules: a header-only file and a key on
two rows. Rows count from 1 at the first data row; line = row + 1 (the header is line 1).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from kuaicore.data.csv_errors import duckdb_data_error, find_row
from kuaicore.data.readers import quote_ident, split_csv_line
from kuaicore.data.value_rules import MARK, SEP, UNIQUE_KEYS
from kuaicore.errors import DataError
from kuaicore.schema import KuaiFile


def duplicate_key_error(
    con: Any, kfile: KuaiFile, relation: str, params: dict, path: Path
) -> DataError | None:
    """The error for the first key of ``kfile`` found on two rows of ``relation`` (a staged table, or the
    checked read with its ``params``), or None. ``path`` is the file, to name the two rows' lines.

    A grouped count over one or two integer columns: cheap next to the read (the files with keys are the
    small ones, item_daily_features at most 343k rows)."""
    keys = UNIQUE_KEYS.get(kfile.name)
    if not keys:
        return None
    cols = ", ".join(quote_ident(k) for k in keys)
    sql = f"SELECT {cols} FROM {relation} GROUP BY ALL HAVING count(*) > 1 ORDER BY ALL LIMIT 1"
    dup = con.execute(sql, params).fetchone()
    if dup is None:
        return None
    prefix = ",".join(str(v) for v in dup) + ","
    seen: list[str] = []
    first = find_row(Path(path), prefix)
    second = find_row(Path(path), prefix, lambda text: seen.append(text) or len(seen) == 2)
    key = ", ".join(f"{k}={v}" for k, v in zip(keys, dup, strict=True))
    grain = " and ".join(keys)
    if first is None or second is None:
        return DataError(
            f"{kfile.filename}: {key} is on more than one row; the file holds one row per {grain}"
        )
    return DataError(
        f"{kfile.filename}, row {second[0] - 1} (line {second[0]}): {key} is also on row {first[0] - 1}; "
        f"the file holds one row per {grain}"
    )


def empty_file_error(kfile: KuaiFile) -> DataError:
    """The error for a file that holds a header and no data rows."""
    return DataError(f"{kfile.filename}: file is empty (a header and no data rows)")


def data_error(kfile: KuaiFile, path: Path, err: Exception) -> DataError:
    """One-line ``DataError`` for a DuckDB error raised while reading ``kfile`` (the original ``path``):
    a broken rule (its row found in the file), else DuckDB's own CSV error (file, row, what)."""
    message = str(err)
    start = message.find(MARK + SEP)
    if start < 0:
        return duckdb_data_error(kfile, err)
    _, _, column, what, show, prefix, value = message[start:].split(SEP, 6)
    index = [c.name for c in kfile.columns].index(column)

    def raw_cell(text: str) -> str | None:
        fields = split_csv_line(text.rstrip("\r"))
        return fields[index] if len(fields) == len(kfile.columns) else None

    # the first line with the row's leading fields whose cell holds the bad value (an exact duplicate of a
    # good row shares the leading fields); else the first line with those fields
    found = find_row(Path(path), prefix, lambda text: _same_value(raw_cell(text), value))
    found = found or find_row(Path(path), prefix)
    if found is None:
        where = f"the row starting {prefix!r}"
    else:
        line, text = found
        where = f"row {line - 1} (line {line})"
        value = raw_cell(text) if raw_cell(text) is not None else value
    cell = f"{column} {value!r}" if show == "1" else column
    return DataError(f"{kfile.filename}, {where}: {cell} {what}")


def _same_value(raw: str | None, shown: str) -> bool:
    """Whether the CSV cell ``raw`` holds the value DuckDB shows as ``shown`` (numbers compared as floats)."""
    if raw is None:
        return False
    if raw == shown:
        return True
    try:
        a, b = float(raw), float(shown)
    except ValueError:
        return False
    return a == b or (math.isnan(a) and math.isnan(b))
