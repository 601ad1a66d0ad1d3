"""The canonical DuckDB read: its fragment, bare-CR repair, sentinels, line numbers in errors, real files."""

from __future__ import annotations

import re
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kuaicore.data import readers
from kuaicore.data.csv_errors import describe_csv_error, find_line
from kuaicore.data.readers import (
    READ_CSV_CHECKED_SQL,
    READ_CSV_SQL,
    checked_read_params,
    connect,
    has_bare_cr,
    null_sentinels_select,
    read_csv_params,
    repair_bare_cr,
)
from kuaicore.schema import BIG_MATRIX, CAPTION_CATEGORY, FILES, USER_FEATURES, Column, KuaiFile


def test_fragment_is_the_documented_one():
    doc = " ".join(readers.__doc__.split())
    assert " ".join(READ_CSV_SQL.split()) in doc
    for option in (
        "auto_detect = false",
        "new_line = '\\n'",
        "nullstr = ''",
        "strict_mode = true",
        "header = true",
    ):
        assert option in READ_CSV_SQL
    assert set(re.findall(r"\$(\w+)", READ_CSV_SQL)) == {"path", "columns"}
    assert set(re.findall(r"\$(\w+)", READ_CSV_CHECKED_SQL)) == {"path", "columns", "not_null"}
    assert all(f.newline == "\n" for f in FILES)  # the fragment's fixed new_line fits every file


def test_connect_sets_limits(tmp_path):
    con = connect("123MB", 1, tmp_path / "spill")
    memory, threads, temp = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('threads'), "
        "current_setting('temp_directory')"
    ).fetchone()
    # --memory-limit is the process budget: DuckDB gets 70% of 123MB = 86MB = 82.0 MiB (kuaicore.data.duck)
    assert memory.startswith("82.0") and threads == 1 and temp == str(tmp_path / "spill")


# ---- bare carriage returns ----


def _brute_has_bare_cr(data: bytes) -> bool:
    return re.search(rb"\r(?!\n)", data) is not None


@given(st.binary(max_size=40).map(lambda b: b.replace(b"\x00", b"\r")), st.integers(1, 5))
def test_has_bare_cr_matches_brute_force(data, chunk):
    path = Path(readers._scratch_dir()) / "probe.bin"
    path.write_bytes(data)
    with mock.patch.object(readers, "_CHUNK", chunk):  # tiny chunks exercise the chunk boundaries
        assert has_bare_cr(path) == _brute_has_bare_cr(data)


@pytest.fixture(scope="module")
def con():
    """One DuckDB connection for all hypothesis examples (the queries create no tables)."""
    return connect("100MB", 1)


_FIELD = st.text(st.sampled_from(list('ab ,"\r中')), min_size=1, max_size=6)


def _naive_csv_line(fields: list[str]) -> str:
    """Quote only for ',' and '"', as the writer of the real caption file did: a CR stays unquoted."""
    return ",".join('"' + f.replace('"', '""') + '"' if ("," in f or '"' in f) else f for f in fields)


# A CR just before the line end is a CRLF line end, not data: the last field never ends with one.
_ROW = st.tuples(_FIELD, _FIELD, _FIELD.filter(lambda f: not f.endswith("\r"))).map(list)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_ROW, min_size=1, max_size=6))
def test_repair_round_trip_through_duckdb(con, rows):
    folder = readers._scratch_dir()
    src, dst = folder / "src.csv", folder / "dst.csv"
    lines = ["a,b,c", *(_naive_csv_line(r) for r in rows)]
    src.write_bytes(("\n".join(lines) + "\n").encode())
    repair_bare_cr(src, dst)
    before, after = src.read_bytes().split(b"\n"), dst.read_bytes().split(b"\n")
    assert len(before) == len(after)  # one line out per line in: error line numbers stay right
    assert all(a == b for a, b in zip(before, after, strict=True) if b"\r" not in a)
    kfile = KuaiFile("t", tuple(Column(n, "VARCHAR") for n in "abc"), required=False)
    got = con.execute(f"SELECT * FROM {READ_CSV_SQL}", read_csv_params(kfile, src)).fetchall()
    assert got == [tuple(rows_i) for rows_i in rows]


def test_read_csv_params_reads_in_place_without_bare_cr(tmp_path):
    path = tmp_path / "big_matrix.csv"
    path.write_text(BIG_MATRIX.header + "\n0,1,2,3,2020-07-05 00:00:00,20200705,1.0,0.5\n")
    params = read_csv_params(BIG_MATRIX, path, workdir=tmp_path / "work")
    assert params == {"path": str(path), "columns": BIG_MATRIX.duckdb_columns()}
    assert not (tmp_path / "work").exists()


_BIG_ROW = b"0,1,2,3,2020-07-05 00:00:00,20200705,1.0,0.5\n"


@pytest.mark.parametrize(
    "row",
    [
        b"0,1,2,3,2020-07-05\r00:00:00,20200705,1.0,0.5\n",  # inside a text field
        b"0,1,2,3,\r2020-07-05 00:00:00,20200705,1.0,0.5\n",  # at a field's start
        b"0,1,2,3,2020-07-05 00:00:00\r,20200705,1.0,0.5\n",  # before a delimiter
        b"\r0,1,2,3,2020-07-05 00:00:00,20200705,1.0,0.5\n",  # at a line's start
        b"0,1,2,3,2020-07-05 00:00:00,20200705,1.0,0.5\r",  # at the file's end
        b"0,1,2,3,2020-07-05 00:00:00,20200705,1.0,0.5\r\r\n",  # before a CRLF
        b'0,1,2,3,"2020-07-05 00:00:00"\r,20200705,1.0,0.5\n',  # after a closing quote
    ],
)
def test_an_unscanned_read_fails_on_every_unquoted_bare_cr(tmp_path, row):
    """build-features reads in place without scanning (bare_cr_retry): that is only right while DuckDB's
    strict read fails on every unquoted bare CR, wherever it stands; the retry reads the repaired copy."""
    path = tmp_path / "big_matrix.csv"
    path.write_bytes(BIG_MATRIX.header.encode() + b"\n" + _BIG_ROW + row + _BIG_ROW)
    params = checked_read_params(BIG_MATRIX, path, workdir=tmp_path / "w", scan_bare_cr=False)
    assert params["path"] == str(path) and not (tmp_path / "w").exists()
    sql = f"SELECT count(*), max(COLUMNS(*)) FROM {READ_CSV_CHECKED_SQL}"
    con = connect("200MB", 2)
    with pytest.raises(Exception) as err:  # noqa: PT011 - duckdb's InvalidInputException
        con.execute(sql, params).fetchall()
    assert readers.bare_cr_retry(path, err.value)  # so the runner reads the repaired copy, as before


def test_a_quoted_bare_cr_reads_in_place_as_in_the_repaired_copy(tmp_path):
    path = tmp_path / "big_matrix.csv"
    row = b'0,1,2,3,"2020-07-05\r00:00:00",20200705,1.0,0.5\n'
    path.write_bytes(BIG_MATRIX.header.encode() + b"\n" + _BIG_ROW + row)
    sql = f"SELECT * FROM {READ_CSV_CHECKED_SQL} ORDER BY time"
    con = connect("200MB", 2)
    in_place = con.execute(sql, checked_read_params(BIG_MATRIX, path, scan_bare_cr=False)).fetchall()
    repaired = checked_read_params(BIG_MATRIX, path, workdir=tmp_path / "w")
    assert repaired["path"] != str(path)
    assert in_place == con.execute(sql, repaired).fetchall() and in_place[0][4] == "2020-07-05\r00:00:00"


def test_read_in_place_first_reads_the_repaired_copy_only_after_a_failed_read(tmp_path):
    con = connect("200MB", 1)
    sql = f"SELECT count(*), min(time), max(video_id) FROM {READ_CSV_CHECKED_SQL}"
    calls: list[str] = []

    def run(params: dict):
        calls.append(params["path"])
        return con.execute(sql, params).fetchone()

    clean = tmp_path / "clean" / "big_matrix.csv"
    clean.parent.mkdir()
    clean.write_bytes(BIG_MATRIX.header.encode() + b"\n" + _BIG_ROW * 2)
    got, params = readers.read_in_place_first(run, BIG_MATRIX, clean, tmp_path / "w1")
    assert got == (2, "2020-07-05 00:00:00", 1) and calls == [str(clean)] == [params["path"]]
    crs = tmp_path / "cr" / "big_matrix.csv"
    crs.parent.mkdir()
    crs.write_bytes(
        BIG_MATRIX.header.encode() + b"\n" + _BIG_ROW + _BIG_ROW.replace(b"00:00:00", b"00:\r00:00")
    )
    calls.clear()
    got, params = readers.read_in_place_first(run, BIG_MATRIX, crs, tmp_path / "w2")
    assert got == (2, "2020-07-05 00:\r00:00", 1) and calls == [str(crs), params["path"]]
    assert Path(params["path"]).parent == tmp_path / "w2"  # the repaired copy, for further passes
    bad = tmp_path / "bad" / "big_matrix.csv"
    bad.parent.mkdir()
    bad.write_bytes(BIG_MATRIX.header.encode() + b"\n" + _BIG_ROW.replace(b"0,1,2", b"0,x,2"))
    calls.clear()
    with pytest.raises(Exception, match="Could not convert"):  # not a CR: DuckDB's error, read once
        readers.read_in_place_first(run, BIG_MATRIX, bad, tmp_path / "w3")
    assert calls == [str(bad)]


def test_bare_cr_retry_only_for_a_read_error_of_a_file_with_one(tmp_path):
    import duckdb

    clean = tmp_path / "clean.csv"
    clean.write_bytes(b"a\n1\n")
    crs = tmp_path / "cr.csv"
    crs.write_bytes(b"a\n1\r2\n")
    bad_read = duckdb.InvalidInputException("CSV Error")
    assert readers.bare_cr_retry(crs, bad_read) and not readers.bare_cr_retry(clean, bad_read)
    assert not readers.bare_cr_retry(crs, duckdb.CatalogException("no such table"))


# ---- error line numbers ----


def _write_big(path: Path, n: int, bad_rows: dict[int, str]) -> None:
    with open(path, "w") as fh:
        fh.write(BIG_MATRIX.header + "\n")
        for r in range(1, n + 1):
            video = bad_rows.get(r, str(r % 97))
            fh.write(f"{r % 13},{video},100,2000,2020-07-05 00:00:0{r % 10}.5,20200705,1593878403.5,0.05\n")


@pytest.mark.parametrize("bad_row", [1, 31_234, 59_999])
def test_error_row_numbers_in_a_parallel_read(tmp_path, bad_row):
    path = tmp_path / "big_matrix.csv"
    _write_big(path, 60_000, {bad_row: "x7"})
    con = connect("200MB", 2)
    with pytest.raises(Exception) as err:  # noqa: PT011 - duckdb's ConversionException
        # video_id must be used by the query: DuckDB converts (type-checks) only the columns it reads
        con.execute(
            f"SELECT max(video_id) FROM {READ_CSV_CHECKED_SQL}", checked_read_params(BIG_MATRIX, path)
        )
    msg = describe_csv_error(BIG_MATRIX, str(err.value))
    assert msg == f"big_matrix.csv, row {bad_row} (line {bad_row + 1}): video_id 'x7' is not an integer"
    assert find_line(path, f"{bad_row % 13},x7,") == bad_row + 1


def test_find_line(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n1,2\n10,3\n1,4\n")
    assert find_line(path, "1,") == 2 and find_line(path, "10,") == 3 and find_line(path, "7,") is None
    assert find_line(path, "a,") is None  # the header is never matched


# ---- the real files ----


@pytest.mark.real_data
def test_real_caption_file(shared_kuairec, tmp_path):
    path = shared_kuairec / CAPTION_CATEGORY.filename
    assert has_bare_cr(path)
    params = read_csv_params(CAPTION_CATEGORY, path, workdir=tmp_path)
    assert Path(params["path"]).parent == tmp_path
    con = connect("200MB", 2)
    select = null_sentinels_select(CAPTION_CATEGORY)
    n, lo, hi, distinct, cr_ids, first, second, third, cover, caption, tags = con.execute(
        f"SELECT count(*), min(video_id), max(video_id), count(DISTINCT video_id), "
        "list(video_id ORDER BY video_id) FILTER (WHERE contains(caption, chr(13))), "
        "count(*) FILTER (WHERE first_level_category_id IS NULL), "
        "count(*) FILTER (WHERE second_level_category_id IS NULL), "
        "count(*) FILTER (WHERE third_level_category_id IS NULL), "
        "count(*) FILTER (WHERE manual_cover_text IS NULL), count(*) FILTER (WHERE caption IS NULL), "
        "count(*) FILTER (WHERE topic_tag = '[]') "
        f"FROM (SELECT {select} FROM {READ_CSV_SQL})",
        params,
    ).fetchone()
    assert (n, lo, hi, distinct) == (10_728, 0, 10_727, 10_728)
    assert cr_ids == [1378, 1613, 5910, 6331]
    assert (first, second, third) == (40, 3_583, 6_832)  # -124 -> NULL (SCHEMA.md 2.6)
    assert (cover, caption, tags) == (6_694, 1_355, 4_611)  # UNKNOWN -> NULL; empty -> NULL; [] kept


@pytest.mark.real_data
def test_real_user_features_nulls_and_sentinels(shared_kuairec):
    con = connect("200MB", 1)
    params = checked_read_params(USER_FEATURES, shared_kuairec / USER_FEATURES.filename)
    nulls = ", ".join(f"count(*) FILTER (WHERE {c.name} IS NULL)" for c in USER_FEATURES.columns)
    select = null_sentinels_select(USER_FEATURES)
    row = con.execute(f"SELECT count(*), {nulls} FROM (SELECT {select} FROM {READ_CSV_CHECKED_SQL})", params)
    n, *counts = row.fetchone()
    by_name = {c.name: k for c, k in zip(USER_FEATURES.columns, counts, strict=True) if k}
    assert n == 7_176
    assert by_name == {
        "user_active_degree": 118,  # UNKNOWN -> NULL
        "onehot_feat4": 201,
        "onehot_feat12": 77,
        "onehot_feat13": 75,
        "onehot_feat14": 75,
        "onehot_feat15": 74,
        "onehot_feat16": 74,
        "onehot_feat17": 74,
    }


def test_schema_column_counts_match_the_real_files():
    from kuaicore.schema import CAPTION_CATEGORY, ITEM_DAILY_FEATURES, USER_FEATURES

    assert (len(ITEM_DAILY_FEATURES.columns), len(USER_FEATURES.columns), len(CAPTION_CATEGORY.columns)) == (
        58,
        31,
        10,
    )
