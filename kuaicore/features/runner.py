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

from kuaicore.errors import ArtifactError, DataError, InternalError
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


def open_database(workdir: Path, memory_limit: str, threads: int | None):
    """A DuckDB connection on ``workdir/features.duckdb`` (kuaicore.data.duck.connect: DuckDB's share of the
    process budget ``memory_limit``, threads, spill folder ``workdir/spill``, insertion order kept)."""
    from kuaicore.data.duck import connect

    return connect(
        memory_limit, threads, workdir / "spill", workdir / "features.duckdb", preserve_insertion_order=True
    )


def source_path(sql: SqlFile, sources: Mapping[str, Path | None], workdir: Path) -> Path:
    """The file a staging query reads: its KuaiRec file, or a header-only stand-in if an optional one is
    absent (``DataError`` for an absent required one)."""
    kfile = FILES_BY_NAME.get(sql.source or "")
    if kfile is None:
        raise InternalError(f"{sql.path.name}: unknown source {sql.source!r}")
    path = sources.get(kfile.name)
    if path is None:
        if kfile.required:
            raise DataError(f"{kfile.filename}: required file is missing")
        path = workdir / f"{kfile.name}.empty.csv"
        path.write_text(kfile.header + "\n", encoding="utf-8")
    return path


def run_sql_files(
    con: Any,
    files: list[SqlFile],
    values: Mapping[str, Any],
    sources: Mapping[str, Path | None],
    workdir: Path,
) -> list[QueryStat]:
    """Execute each file with exactly its declared parameters; log and return rows and seconds per query.

    A staging file reads its KuaiRec file through :func:`kuaicore.data.readers.read_in_place_first`: in
    place, and from a repaired copy only if that read fails on a bare ``\\r``."""
    import duckdb

    from kuaicore.data import value_errors, value_rules
    from kuaicore.data.readers import read_in_place_first

    stats: list[QueryStat] = []
    for sql in files:
        kfile = FILES_BY_NAME.get(sql.source or "")
        path = source_path(sql, sources, workdir) if sql.source is not None else None
        if kfile is not None:
            value_rules.install(con, (kfile,))

        def run(read: dict, sql: SqlFile = sql) -> list:
            return con.execute(sql.sql, sql.bind({**values, **read})).fetchall()

        start = time.perf_counter()
        try:
            if kfile is not None and path is not None:
                result, _ = read_in_place_first(run, kfile, path, workdir)
            else:
                result = run({})
        except (duckdb.ConversionException, duckdb.InvalidInputException) as err:
            if kfile is None or path is None:
                raise
            raise value_errors.data_error(kfile, path, err) from None
        except duckdb.IOException as err:  # e.g. a full disk; the caller removes the staging folder
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
