"""Load the `sql/*.sql` files: one statement each, a header saying what it makes, and the parameters it binds.

A file starts with a comment header, dbt style::

    -- int_users: every user id seen in any file, with its dense index (ascending id).
    -- inputs: stg_big_matrix, stg_small_matrix, stg_user_features, stg_social_network
    -- grain: one row per user_id
    -- params: none
    -- source: big_matrix            (staging files only: the KuaiRec file they read)

DuckDB binds ``$name`` parameters only in the last statement of a script and refuses unused ones, so each file
holds exactly one statement and the loader checks that the ``$names`` in its body are exactly the declared
``params``. Values are always bound, never formatted into the SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kuaicore.errors import InternalError

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_HEADER_KEY = re.compile(r"^--\s*(inputs|grain|params|source):\s*(.*)$")
_NAME_LINE = re.compile(r"^--\s*([A-Za-z_][A-Za-z0-9_.]*):\s*(.+)$")


@dataclass(frozen=True)
class SqlFile:
    """One parsed SQL file: its step name (file stem), what it makes, its inputs, parameters and body."""

    path: Path
    relation: str
    description: str
    inputs: tuple[str, ...]
    grain: str
    params: tuple[str, ...]
    source: str | None
    sql: str

    @property
    def name(self) -> str:
        return self.path.stem

    def bind(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Exactly the declared parameters, taken from ``values``; a missing one is a bug of ours."""
        missing = [p for p in self.params if p not in values]
        if missing:
            raise InternalError(f"{self.path.name}: no value for parameter(s) {', '.join(missing)}")
        return {p: values[p] for p in self.params}


def sql_dir() -> Path:
    """The folder of SQL files: `kuaicore/sql` in an installed wheel, else `sql/` at the repo root."""
    here = Path(__file__).resolve().parents[1]
    for candidate in (here / "sql", here.parent / "sql"):
        if candidate.is_dir() and any(candidate.glob("*.sql")):
            return candidate
    raise InternalError(f"no sql/ folder found beside {here}")


def _strip_comments_and_strings(sql: str) -> str:
    """The SQL with `-- ...` comments and '...' literals blanked (a `$` there is no parameter)."""
    out = re.sub(r"'(?:[^']|'')*'", "''", sql)
    return re.sub(r"--[^\n]*", "", out)


def parse_sql(text: str, path: Path) -> SqlFile:
    """Parse a SQL file's header and check that it declares exactly the parameters its body uses."""
    lines = text.splitlines()
    header: dict[str, str] = {}
    relation = description = ""
    body_start = 0
    for i, line in enumerate(lines):
        if not line.startswith("--"):
            body_start = i
            break
        if i == 0:
            m = _NAME_LINE.match(line)
            if not m:
                raise InternalError(f"{path.name}: first line must be '-- relation: what it makes'")
            relation, description = m.group(1), m.group(2).strip()
            continue
        m = _HEADER_KEY.match(line)
        if m:
            header[m.group(1)] = m.group(2).strip()
    else:
        raise InternalError(f"{path.name}: no SQL statement after the header")
    for key in ("inputs", "grain", "params"):
        if key not in header:
            raise InternalError(f"{path.name}: header lacks '-- {key}:'")
    sql = "\n".join(lines[body_start:]).strip()
    if _strip_comments_and_strings(sql).rstrip().rstrip(";").count(";"):
        raise InternalError(f"{path.name}: one statement per file")
    declared = (
        () if header["params"] in ("", "none") else tuple(p.strip() for p in header["params"].split(","))
    )
    used = set(_PARAM.findall(_strip_comments_and_strings(sql)))
    if set(declared) != used:
        raise InternalError(f"{path.name}: declares params {sorted(declared)} but uses {sorted(used)}")
    inputs = tuple(s.strip() for s in header["inputs"].split(",") if s.strip())
    return SqlFile(path, relation, description, inputs, header["grain"], declared, header.get("source"), sql)


def load_sql_files(folder: Path | None = None) -> list[SqlFile]:
    """Every `*.sql` file of the folder (default: `sql_dir()`), parsed, in file-name order."""
    folder = folder or sql_dir()
    return [parse_sql(p.read_text(encoding="utf-8"), p) for p in sorted(folder.glob("*.sql"))]
