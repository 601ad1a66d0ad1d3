"""``kuaicore validate``: check a KuaiRec folder (files, headers, types, small/big overlap) and summarise it.

Out of core: every count is a DuckDB aggregate over the canonical read (:mod:`kuaicore.data.readers`) under a
memory limit; Python reads only each file's first line (the header check) and last byte (truncation check),
and, to name the row of a bad value found by a query, searches the memory-mapped file for it.
Bad input raises :class:`~kuaicore.errors.DataError` with one line naming the file and, where there is one,
the row. What is a bad value is decided in one place, :mod:`kuaicore.data.value_rules`, whose check macros
filter the statistics pass here exactly as they filter build-features' staging queries, so the two commands
accept and reject the same files with the same messages.
Rows are numbered from 1 at the first data row; ``line`` is the line in the file with the header as
line 1 (so line = row + 1). Absent optional files are warnings (logged on stderr and kept in the report).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from kuaicore.atomic import scratch_prefix
from kuaicore.config import DEFAULT_MEMORY_LIMIT
from kuaicore.data import value_errors, value_rules
from kuaicore.data.csv_errors import find_line, first_line
from kuaicore.data.paths import resolve_data_dir
from kuaicore.data.readers import (
    READ_CSV_CHECKED_SQL,
    check_lf_line_ends,
    connect,
    quote_ident,
    read_in_place_first,
)
from kuaicore.data.validate_report import FileSummary, ValidationReport
from kuaicore.errors import DataError, InternalError
from kuaicore.progress import log, timed
from kuaicore.schema import BIG_MATRIX, FILES, FILES_BY_NAME, SMALL_MATRIX, KuaiFile

INTERACTION_FILES = (BIG_MATRIX.name, SMALL_MATRIX.name)


def check_header(kfile: KuaiFile, path: Path) -> None:
    """Compare the file's first line with the real header; ``DataError`` if empty, different or reordered."""
    if path.stat().st_size == 0:
        raise DataError(f"{kfile.filename}: file is empty (0 bytes); expected the header {kfile.header}")
    check_lf_line_ends(kfile, path)
    got = first_line(path)
    if got == kfile.header:
        return
    expected = [c.name for c in kfile.columns]
    names = got.split(",")
    if sorted(names) == sorted(expected):
        what = "has the right columns in the wrong order"
    else:
        what = "differs from the real one"
    pos = next((i for i, (a, b) in enumerate(zip(expected, names, strict=False)) if a != b), None)
    if pos is None:  # one is a prefix of the other
        pos = min(len(expected), len(names))
    want = expected[pos] if pos < len(expected) else "(end of line)"
    have = _clip(names[pos], 60) if pos < len(names) else "(end of line)"
    raise DataError(
        f"{kfile.filename}, line 1: header {what}: column {pos + 1} is {have!r}, expected {want!r} "
        f"(expected header: {kfile.header!r}, got {_clip(got)!r})"
    )


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def check_line_end(kfile: KuaiFile, path: Path, rows: int | None) -> None:
    """``DataError`` if the file's last line has no line end: the file was cut short (``rows``: the data
    rows, to name the last one; None when not counted)."""
    with open(path, "rb") as fh:
        fh.seek(-1, 2)
        last = fh.read(1)
    if last != b"\n":
        where = f"row {rows} (line {rows + 1})" if rows is not None else "last line"
        raise DataError(f"{kfile.filename}, {where}: the last line has no line end; the file looks truncated")


def _stats_sql(kfile: KuaiFile) -> str:
    """One pass: GROUP BY every column (DuckDB spills a grouped aggregate to disk, unlike a DISTINCT one).

    Grouping by every column also makes DuckDB convert, and so type-check, every column: it converts only the
    columns a query uses, so a bare count(*) would let a non-numeric value in an unused column through.
    The read is filtered by the file's value-rule macro (:mod:`kuaicore.data.value_rules`), as in staging.
    """
    every = ", ".join(quote_ident(c.name) for c in kfile.columns)
    rows = (
        f"(SELECT {every}, count(*) AS n FROM {READ_CSV_CHECKED_SQL} AS r "
        f"WHERE {value_rules.macro_name(kfile)}(r) GROUP BY ALL)"
    )
    counts = "coalesce(sum(n), 0) AS rows, count(*) AS distinct_rows"
    if kfile.name not in INTERACTION_FILES:
        first = quote_ident(kfile.columns[0].name)
        keys = ", ".join(quote_ident(k) for k in value_rules.UNIQUE_KEYS.get(kfile.name, ())) or first
        ids = f"count(DISTINCT {first}) AS ids, count(DISTINCT ({keys})) AS keys"
        return f"SELECT {counts}, {ids} FROM {rows}"
    return (
        f"SELECT {counts}, count(DISTINCT user_id) AS users, count(DISTINCT video_id) AS videos, "
        "coalesce(sum(n) FILTER (WHERE time IS NULL), 0) AS rows_with_empty_time, "
        f"min(watch_ratio), max(watch_ratio) FROM {rows}"
    )


# The median needs every value once per row, so it has its own pass over the one column (8 bytes a row).
_MEDIAN_SQL = f"SELECT median(watch_ratio) FROM {READ_CSV_CHECKED_SQL}"
# For big_matrix the same pass also finds the pairs it shares with small_matrix (table small_pairs).
_SHARED = "CASE WHEN s.user_id IS NOT NULL THEN (b.user_id, b.video_id) END"
_MEDIAN_AND_OVERLAP_SQL = (
    f"SELECT median(b.watch_ratio), count(DISTINCT {_SHARED}), min({_SHARED}) "
    f"FROM {READ_CSV_CHECKED_SQL} AS b LEFT JOIN small_pairs AS s USING (user_id, video_id)"
)
_SMALL_PAIRS_SQL = (
    "CREATE OR REPLACE TEMP TABLE small_pairs AS "
    f"SELECT DISTINCT user_id, video_id FROM {READ_CSV_CHECKED_SQL}"
)


def summarise_file(con, kfile: KuaiFile, path: Path, workdir: Path) -> tuple[FileSummary, tuple]:
    """DuckDB passes over ``path``: row counts and, for interaction files, the table's statistics.

    Returns the summary and the rest of the median pass's row (big_matrix: shared pairs, first shared pair).
    """
    import duckdb

    with timed(f"read {kfile.filename}") as info:
        try:  # in place; from a repaired copy only if the read fails on a bare CR
            row, params = read_in_place_first(
                lambda read: con.execute(_stats_sql(kfile), read).fetchone(), kfile, path, workdir
            )
        except duckdb.Error as err:
            raise _failure(con, kfile, path, err) from None
        info["rows"] = row[0]
    if row[0] == 0:
        raise value_errors.empty_file_error(kfile)
    if kfile.name in value_rules.UNIQUE_KEYS and row[3] != row[0]:  # a key repeats: find it (error path)
        dup = value_errors.duplicate_key_error(con, kfile, f"{READ_CSV_CHECKED_SQL} AS r", params, path)
        if dup is not None:
            raise dup
    summary = FileSummary(kfile.filename, present=True, required=kfile.required, rows=row[0])
    summary.duplicate_rows = row[0] - row[1]
    if kfile.name not in INTERACTION_FILES:
        summary.distinct_ids = row[2]
        return summary, ()
    summary.users, summary.videos, summary.rows_with_empty_time = row[2:5]
    if kfile.name == BIG_MATRIX.name:
        with timed("median watch_ratio of big_matrix.csv and the pairs it shares with small_matrix.csv"):
            median, *rest = _run(con, kfile, path, _MEDIAN_AND_OVERLAP_SQL, params)
    else:
        with timed(f"median watch_ratio and (user_id, video_id) pairs of {kfile.filename}"):
            (median,), rest = _run(con, kfile, path, _MEDIAN_SQL, params), ()
            _run(con, kfile, path, _SMALL_PAIRS_SQL, params)
    summary.watch_ratio = {"min": row[5], "median": median, "max": row[6]}
    return summary, tuple(rest)


def _run(con, kfile: KuaiFile, path: Path, sql: str, params: dict) -> tuple:
    """Run one query over ``kfile`` (at ``path``); CSV errors and broken value rules become DataError (file,
    row, column), lack of memory InternalError."""
    import duckdb

    try:
        return con.execute(sql, params).fetchone()
    except duckdb.Error as err:
        raise _failure(con, kfile, path, err) from None


def _failure(con, kfile: KuaiFile, path: Path, err: Exception) -> Exception:
    """What a failed read of ``kfile`` raises: ``DataError`` (file, row, column) for a CSV error or a broken
    value rule, ``InternalError`` for lack of memory, ``err`` itself otherwise."""
    import duckdb

    if isinstance(err, (duckdb.InvalidInputException, duckdb.ConversionException)):
        return value_errors.data_error(kfile, path, err)
    if isinstance(err, duckdb.OutOfMemoryException):
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        first = str(err).strip().splitlines()[0]
        return InternalError(
            f"{kfile.filename}: DuckDB ran out of memory under memory_limit={limit} ({first})"
        )
    return err


def check_overlap(
    paths: dict[str, Path], shared: int, first: tuple[int, int] | None, report: ValidationReport
) -> int:
    """Count the (user_id, video_id) pairs found in both small and big and, if any, warn in ``report``
    naming the first: build-features drops those big_matrix rows and counts them (kuaicore.data.value_rules:
    a counted, dropped row, not an error). Returns the count."""
    if not shared:
        return 0
    user, video = first
    small_line = find_line(paths[SMALL_MATRIX.name], f"{user},{video},")
    big_line = find_line(paths[BIG_MATRIX.name], f"{user},{video},")
    where = f", row {small_line - 1} (line {small_line})" if small_line else ""
    in_big = f" (row {big_line - 1})" if big_line else ""
    report.warn(
        f"{SMALL_MATRIX.filename}{where}: pair (user_id={user}, video_id={video}) is also in "
        f"{BIG_MATRIX.filename}{in_big} ({shared:,} pairs shared; the real files share none); "
        "build-features drops those big_matrix rows and counts them"
    )
    return shared


def check_structure(data_dir: Path, report: ValidationReport | None = None) -> dict[str, Path]:
    """The cheap checks, no scan of the data: required files present, headers, line ends, no truncated last
    line. Returns {file name: path} of the files present; absent optional files are warned about in
    ``report`` (when given). ``DataError`` naming the file on the first problem."""
    paths: dict[str, Path] = {}
    for kfile in FILES:
        fpath = data_dir / kfile.filename
        if fpath.is_file():
            paths[kfile.name] = fpath
        elif kfile.required:
            raise DataError(f"kuaicore validate: required file {kfile.filename} not found in {data_dir}")
        elif report is not None:
            report.warn(
                f"optional file {kfile.filename} not found in {data_dir}; features from it are skipped"
            )
            report.files.append(FileSummary(kfile.filename, present=False, required=False))
    for name, fpath in paths.items():
        check_header(_kfile(name), fpath)
        check_line_end(_kfile(name), fpath, None)
    return paths


def validate_dataset(
    path: Path, memory_limit: str = DEFAULT_MEMORY_LIMIT, threads: int | None = None
) -> ValidationReport:
    """Validate the KuaiRec folder DATA at ``path`` and return its report; ``DataError`` on bad input."""
    data_dir = resolve_data_dir(Path(path))
    report = ValidationReport(data_dir=str(data_dir))
    paths = check_structure(data_dir, report)
    for msg in report.warnings:
        log(f"warning: {msg}")
    with tempfile.TemporaryDirectory(prefix=scratch_prefix("validate")) as tmp:
        workdir = Path(tmp)
        con = connect(memory_limit, threads, workdir / "spill")
        try:
            value_rules.install(con)
            # small first: its pass leaves the table small_pairs that big's median pass joins against
            order = [SMALL_MATRIX.name, *(n for n in paths if n not in INTERACTION_FILES), BIG_MATRIX.name]
            summaries, rest = {}, {}
            for name in order:
                summaries[name], rest[name] = summarise_file(con, _kfile(name), paths[name], workdir)
            report.overlap_pairs = check_overlap(paths, *rest[BIG_MATRIX.name], report)
        finally:
            con.close()
    order = {f.filename: i for i, f in enumerate(FILES)}
    report.files = sorted([*report.files, *summaries.values()], key=lambda s: order[s.file])
    return report


def _kfile(name: str) -> KuaiFile:
    return FILES_BY_NAME[name]
