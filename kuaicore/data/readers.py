"""How a KuaiRec CSV is read by DuckDB: the one canonical ``read_csv`` call, its parameters, a connection.

Every reader of a raw KuaiRec file (the validator, the staging SQL files ``sql/10_stg_*.sql``) uses exactly
this fragment, with ``$path`` and ``$columns`` bound as parameters and never formatted into the SQL::

    read_csv($path, columns = $columns, header = true, auto_detect = false, delim = ',', quote = '"',
             escape = '"', new_line = '\\n', nullstr = '', strict_mode = true)

- ``$columns`` is the file's ``KuaiFile.duckdb_columns()`` dict (bound as a STRUCT; names and types in
  header order). DuckDB binds it in ``SELECT`` and ``CREATE TABLE AS`` but not in ``CREATE VIEW``.
- ``auto_detect = false``: no sniffing (the real caption file defeats DuckDB's sniffer).
- ``nullstr = ''``: an empty cell is NULL. The ``-124`` / ``UNKNOWN`` sentinels are turned into NULL by
  :func:`null_sentinels_select` (a SELECT list to put around the read).
- ``strict_mode = true``: a row with too few or too many fields, or a value that does not convert to its
  column type, is an error whose message says ``CSV Error on Line: N``; N counts lines in the file with the
  header as line 1, so the data row is N - 1.
- DuckDB's strict read (2.0) fails on a bare carriage return outside quotes, even with ``new_line =
  '\\n'``, and four captions of the real ``kuairec_caption_category.csv`` hold one inside an *unquoted*
  field. So :func:`read_csv_params` points ``$path`` at a repaired copy (same lines, those fields quoted:
  see :func:`repair_bare_cr`) when, and only when, the file holds a bare ``\\r``; other files are read in
  place. The copy keeps one line per input line, so line numbers in errors refer to the original file.
  build-features and validate read each file in place first and scan it only if that read fails
  (:func:`read_in_place_first`): a 1.2 GB big_matrix is then not read once more for the scan.
- A file with CRLF line ends is refused (``DataError``): with ``new_line = '\\n'`` DuckDB silently reads
  it as zero rows.
- DuckDB converts only the columns a query uses: a query that never touches a column does not type-check it.
- :data:`READ_CSV_CHECKED_SQL` (the validator's and the staging files') adds ``force_not_null = $not_null``,
  so an empty cell in a column that must be filled is a conversion error with its line number instead of a
  NULL; both filter it with the file's value-rule macro (:mod:`kuaicore.data.value_rules`).

Usage (one statement, parameters bound)::

    con = connect(memory_limit="1GB", threads=2, temp_dir=tmp)
    params = read_csv_params(SMALL_MATRIX, data_dir / "small_matrix.csv", workdir=tmp)
    select = null_sentinels_select(SMALL_MATRIX)  # a SELECT list of ours (quoted identifiers), no user input
    sql = f"CREATE TABLE stg AS SELECT {select} FROM {READ_CSV_SQL}"  # fixed fragments; values are bound
    con.execute(sql, params)
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from kuaicore.atomic import scratch_prefix
from kuaicore.data.csv_errors import NOT_UTF8
from kuaicore.data.duck import connect as connect  # the one opener (kuaicore.data.duck), re-exported
from kuaicore.errors import DataError
from kuaicore.schema import CATEGORY_MISSING_ID, TEXT_MISSING, KuaiFile

T = TypeVar("T")

READ_CSV_SQL = (
    "read_csv($path, columns = $columns, header = true, auto_detect = false, delim = ',', quote = '\"', "
    "escape = '\"', new_line = '\\n', nullstr = '', strict_mode = true)"
)
"""The canonical read_csv call; bind ``$path`` and ``$columns`` with :func:`read_csv_params`."""

READ_CSV_CHECKED_SQL = READ_CSV_SQL[:-1] + ", force_not_null = $not_null)"
"""The canonical call plus ``force_not_null``: an empty cell in a ``$not_null`` column is a conversion error
with its line number instead of a NULL. Used by the validator; bind with :func:`checked_read_params`."""

# item_daily_features: only its keys are known to be always filled in the real file (SCHEMA.md 2.5).
_NOT_NULL_KEYS_ONLY = {"item_daily_features": ("video_id", "date")}

_CHUNK = 1 << 23  # 8 MiB per read when scanning for bare carriage returns


def has_bare_cr(path: Path) -> bool:
    """True if the file holds a ``\\r`` that is not followed by ``\\n`` (scanned in chunks, out of core)."""
    prev_cr = False
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            if prev_cr and not chunk.startswith(b"\n"):
                return True
            if b"\r" not in chunk:  # the common case: one memchr pass instead of two counts
                prev_cr = False
                continue
            if chunk.count(b"\r") != chunk.count(b"\r\n") + chunk.endswith(b"\r"):
                return True
            prev_cr = chunk.endswith(b"\r")
    return prev_cr


def _quote_field(field: str) -> str:
    if any(ch in field for ch in ',"\r\n'):
        return '"' + field.replace('"', '""') + '"'
    return field


def split_csv_line(line: str) -> list[str]:
    """Split one CSV line (no terminator) into fields; quoted fields may hold ``,``, ``""`` or ``\\r``."""
    fields: list[str] = []
    i, n = 0, len(line)
    while True:
        if i < n and line[i] == '"':
            buf = []
            i += 1
            while i < n:
                if line[i] == '"':
                    if i + 1 < n and line[i + 1] == '"':
                        buf.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(line[i])
                i += 1
            # text after a closing quote up to the next comma is kept as is (lenient, like most readers)
            j = line.find(",", i)
            end = n if j < 0 else j
            fields.append("".join(buf) + line[i:end])
        else:
            j = line.find(",", i)
            end = n if j < 0 else j
            fields.append(line[i:end])
        if end >= n:
            return fields
        i = end + 1


def repair_bare_cr(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` line by line (``\\n`` ends a line), quoting fields that hold a bare ``\\r``.

    Lines without a bare ``\\r`` are copied byte for byte; a line with one is split into fields and written
    back with every field that holds ``,``, ``"`` or ``\\r`` quoted (RFC 4180), so DuckDB reads the ``\\r``
    as text. Written to a temporary name and renamed at the end. ``DataError`` naming the line if a line
    with a bare ``\\r`` is not UTF-8 text (other lines are copied unread, and DuckDB names theirs).
    """
    tmp = dst.with_name(dst.name + ".tmp-repair")
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        for line_no, raw in enumerate(fin, start=1):
            body = raw[:-1] if raw.endswith(b"\n") else raw
            end = raw[len(body) :]
            stripped = body[:-1] if body.endswith(b"\r") else body  # keep a CRLF ending as it is
            if b"\r" not in stripped:
                fout.write(raw)
                continue
            try:
                text = stripped.decode("utf-8")
            except UnicodeDecodeError:
                fout.close()
                tmp.unlink(missing_ok=True)
                where = f"row {line_no - 1} (line {line_no})" if line_no > 1 else "line 1"
                raise DataError(f"{src.name}, {where}: {NOT_UTF8}") from None
            fixed = ",".join(_quote_field(f) for f in split_csv_line(text))
            fout.write(fixed.encode("utf-8") + body[len(stripped) :] + end)
    tmp.replace(dst)


_scratch: list[Path] = []


def _scratch_dir() -> Path:
    """A process-wide scratch folder for repaired copies when no workdir is given (removed at exit)."""
    if not _scratch:
        path = Path(tempfile.mkdtemp(prefix=scratch_prefix("readers")))
        _scratch.append(path)
        atexit.register(shutil.rmtree, path, True)
    return _scratch[0]


def check_lf_line_ends(kfile: KuaiFile, path: Path) -> None:
    """``DataError`` if the header ends with CRLF: DuckDB silently reads such a file as zero rows."""
    with open(path, "rb") as fh:
        head = fh.readline(1 << 20)
    if head.endswith(b"\r\n"):
        raise DataError(
            f"{kfile.filename}, line 1: lines end with CRLF (\\r\\n); KuaiRec files end lines with LF only "
            "(convert the file, e.g. with dos2unix)"
        )


def readable_path(kfile: KuaiFile, path: Path, workdir: Path | None = None) -> Path:
    """The path DuckDB should read: ``path`` itself, or a repaired copy in ``workdir`` if it has a bare CR.

    ``DataError`` for a file with CRLF line ends (see :func:`check_lf_line_ends`).
    """
    path = Path(path)
    check_lf_line_ends(kfile, path)
    if not has_bare_cr(path):
        return path
    folder = Path(workdir) if workdir is not None else _scratch_dir()
    folder.mkdir(parents=True, exist_ok=True)
    dst = folder / f"{kfile.name}.repaired.csv"
    repair_bare_cr(path, dst)
    return dst


_GLOB_CHARS = frozenset("*?[]{}")


def literal_path(kfile: KuaiFile, path: Path, workdir: Path | None = None) -> Path:
    """A path DuckDB reads as this one file: ``path`` itself, or, when it holds a glob character (``*?[]{}``,
    which DuckDB's read_csv would expand, reading other files), a symbolic link to it with a plain name in
    ``workdir``. Spaces, quotes and non-ASCII names need nothing: the path is a bound parameter."""
    path = Path(path)
    if not _GLOB_CHARS.intersection(str(path)):
        return path
    folder = Path(workdir) if workdir is not None else _scratch_dir()
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / f"{kfile.name}.literal.csv"
    link.unlink(missing_ok=True)
    link.symlink_to(path.resolve())
    return link


def read_csv_params(
    kfile: KuaiFile, path: Path, workdir: Path | None = None, scan_bare_cr: bool = True
) -> dict:
    """The parameters to bind to :data:`READ_CSV_SQL` for ``kfile`` at ``path``: ``path`` and ``columns``.

    ``path`` may be replaced by a repaired copy written under ``workdir`` (see :func:`readable_path`), or by
    a plainly named link to it (see :func:`literal_path`). ``scan_bare_cr=False`` skips the scan for bare
    ``\\r`` (only the CRLF check is made), as :func:`read_in_place_first` does for its first read.
    """
    if scan_bare_cr:
        readable = readable_path(kfile, path, workdir)
    else:
        check_lf_line_ends(kfile, Path(path))
        readable = Path(path)
    return {"path": str(literal_path(kfile, readable, workdir)), "columns": kfile.duckdb_columns()}


def read_in_place_first(
    run: Callable[[dict], T], kfile: KuaiFile, path: Path, workdir: Path | None = None
) -> tuple[T, dict]:
    """``run(params)`` with ``kfile`` at ``path`` read in place (:func:`checked_read_params` without the
    bare-CR scan); if that read fails on a bare ``\\r`` (:func:`bare_cr_retry`), once more with the
    parameters of a repaired copy. Returns ``run``'s result and the parameters that read the file, for
    further passes over it; any other failure propagates as DuckDB raised it. The result is the one of
    scanning first, without reading a file that holds no bare ``\\r`` (every file but the real caption file)
    twice."""
    import duckdb

    params = checked_read_params(kfile, path, workdir, scan_bare_cr=False)
    try:
        return run(params), params
    except duckdb.Error as err:
        if not bare_cr_retry(Path(params["path"]), err):
            raise
    params = checked_read_params(kfile, path, workdir)
    return run(params), params


def bare_cr_retry(path: Path, err: Exception) -> bool:
    """True when a read of ``path`` that was not scanned for bare ``\\r`` failed with ``err`` because of one,
    so that it should be read again through :func:`read_csv_params` with the scan (a repaired copy).

    DuckDB's strict read (2.0) fails on every bare ``\\r`` outside quotes, wherever it stands (in a field,
    before a delimiter, at a line's start or the file's end: InvalidInputException, or a conversion error
    for a number that ends in one); one inside quotes reads as text, exactly as in the repaired copy. So a
    read in place that succeeds equals the read of the repaired copy, and only a failed one needs the scan.
    """
    import duckdb

    if not isinstance(err, (duckdb.InvalidInputException, duckdb.ConversionException)):
        return False
    return has_bare_cr(Path(path))


def not_null_columns(kfile: KuaiFile) -> list[str]:
    """Columns whose empty cells are errors: the schema's non-nullable ones (only keys for item_daily)."""
    keys = _NOT_NULL_KEYS_ONLY.get(kfile.name)
    if keys is not None:
        return list(keys)
    return [c.name for c in kfile.columns if not c.nullable]


def checked_read_params(
    kfile: KuaiFile, path: Path, workdir: Path | None = None, scan_bare_cr: bool = True
) -> dict:
    """Parameters for :data:`READ_CSV_CHECKED_SQL`: those of :func:`read_csv_params` plus ``not_null``."""
    return {**read_csv_params(kfile, path, workdir, scan_bare_cr), "not_null": not_null_columns(kfile)}


def quote_ident(name: str) -> str:
    """A DuckDB identifier in double quotes (schema column names only; never user input)."""
    return '"' + name.replace('"', '""') + '"'


def null_sentinels_select(kfile: KuaiFile) -> str:
    """A SELECT list for ``kfile`` that turns the missing-value sentinels into NULL, columns in header order.

    ``*_category_id`` BIGINT columns: ``-124`` -> NULL. VARCHAR columns: ``'UNKNOWN'`` -> NULL (caption file's
    manual_cover_text and category names, user_features.user_active_degree). Empty cells are already NULL
    through ``nullstr = ''``. Other columns pass unchanged. The text is built from the schema only.
    """
    parts = []
    for col in kfile.columns:
        q = quote_ident(col.name)
        if col.duckdb_type == "BIGINT" and col.name.endswith("_category_id"):
            parts.append(f"NULLIF({q}, {int(CATEGORY_MISSING_ID)}) AS {q}")
        elif col.duckdb_type == "VARCHAR" and col.name not in _NO_SENTINEL:
            parts.append(f"NULLIF({q}, '{TEXT_MISSING}') AS {q}")
        else:
            parts.append(q)
    return ", ".join(parts)


# VARCHAR columns whose text is structured (times, lists, range labels): never compared with 'UNKNOWN'.
_NO_SENTINEL = frozenset({"time", "feat", "friend_list", "topic_tag", "upload_dt"})
