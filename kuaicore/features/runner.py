"""Run the SQL files in order on one DuckDB database under a memory limit, one stderr line per query.

The database is a single file inside the artifact's temporary folder, so intermediate tables spill to disk;
``temp_directory`` sits beside it. Staging files (header ``-- source: NAME``) read their KuaiRec file through
:mod:`kuaicore.data.readers` and check every value with the macro of :mod:`kuaicore.data.value_rules`
(installed here before the file runs); a broken rule, a bad CSV value or a header-only file is a one-line
``DataError`` naming file, row and column. An absent optional file is replaced by a header-only CSV, so every
later query still runs (its features come out empty and the manifest says so).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kuaicore.errors import ArtifactError, DataError, InternalError, UsageError
from kuaicore.features.sqlfiles import SqlFile
from kuaicore.progress import log
from kuaicore.schema import FILES_BY_NAME


@dataclass(frozen=True)
class QueryStat:
    """What one query did: its step name, the relation or file it made, rows out, seconds."""

    name: str
    relation: str
    rows: int
    seconds: float


# --memory-limit is the budget of the whole process. DuckDB's memory_limit bounds its buffer pool only; the
# Python side (small feature tables, NumPy) and DuckDB's untracked allocations take the rest.
DUCKDB_SHARE = 0.7


def duckdb_memory_limit(memory_limit: str) -> str:
    """DuckDB's share of the process budget ``memory_limit`` (e.g. '1GB' -> '700MB'); text DuckDB cannot
    parse either is passed through unchanged, so that DuckDB's own message names the problem."""
    from kuaicore.options import parse_size

    size = parse_size(memory_limit)
    if size is None:
        return str(memory_limit)
    return f"{max(1, int(size * DUCKDB_SHARE / 10**6))}MB"


def open_database(workdir: Path, memory_limit: str, threads: int | None):
    """A DuckDB connection on ``workdir/features.duckdb`` with memory_limit, threads, temp_directory."""
    import duckdb

    workdir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(workdir / "features.duckdb"))
    try:
        con.execute("SET memory_limit = $m", {"m": duckdb_memory_limit(memory_limit)})
        if threads is not None:
            con.execute("SET threads = $t", {"t": int(threads)})
        con.execute("SET temp_directory = $d", {"d": str(workdir / "spill")})
        con.execute("SET preserve_insertion_order = true")
    except duckdb.Error as err:
        con.close()
        raise UsageError(
            f"--memory-limit {memory_limit!r} / --threads {threads}: rejected by DuckDB: {err}"
        ) from None
    return con


def source_params(sql: SqlFile, sources: Mapping[str, Path | None], workdir: Path) -> dict[str, Any]:
    """``path``/``columns``/``not_null`` for a staging file: its KuaiRec file, or a header-only stand-in if
    absent."""
    from kuaicore.data.readers import checked_read_params

    kfile = FILES_BY_NAME.get(sql.source or "")
    if kfile is None:
        raise InternalError(f"{sql.path.name}: unknown source {sql.source!r}")
    path = sources.get(kfile.name)
    if path is None:
        if kfile.required:
            raise DataError(f"{kfile.filename}: required file is missing")
        path = workdir / f"{kfile.name}.empty.csv"
        path.write_text(kfile.header + "\n", encoding="utf-8")
    return checked_read_params(kfile, path, workdir=workdir)


def run_sql_files(
    con: Any,
    files: list[SqlFile],
    values: Mapping[str, Any],
    sources: Mapping[str, Path | None],
    workdir: Path,
) -> list[QueryStat]:
    """Execute each file with exactly its declared parameters; log and return rows and seconds per query."""
    import duckdb

    from kuaicore.data import value_errors, value_rules

    stats: list[QueryStat] = []
    for sql in files:
        bound = dict(values)
        kfile = FILES_BY_NAME.get(sql.source or "")
        if sql.source is not None:
            bound.update(source_params(sql, sources, workdir))
            value_rules.install(con, (kfile,))
        start = time.perf_counter()
        try:
            result = con.execute(sql.sql, sql.bind(bound)).fetchall()
        except (duckdb.ConversionException, duckdb.InvalidInputException) as err:
            if kfile is None:
                raise
            path = sources.get(kfile.name) or Path(bound["path"])
            raise value_errors.data_error(kfile, path, err) from None
        except (
            duckdb.IOException
        ) as err:  # e.g. the disk is full; the staging folder is removed by the caller
            raise ArtifactError(f"{sql.name}: {str(err).splitlines()[0]}") from None
        seconds = time.perf_counter() - start
        rows = int(result[0][0]) if result and result[0] and isinstance(result[0][0], int) else 0
        if kfile is not None and sources.get(kfile.name) is not None:
            if rows == 0:
                raise value_errors.empty_file_error(kfile)
            dup = value_errors.duplicate_key_error(con, kfile, sql.relation, {}, sources[kfile.name])
            if dup is not None:
                raise dup
        stats.append(QueryStat(sql.name, sql.relation, rows, seconds))
        log(f"  {sql.name}: {rows:,} rows, {seconds:.2f}s")
    return stats
