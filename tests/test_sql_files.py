"""The sql/ files: headers, one statement each, declared == used parameters, canonical reads, layer order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kuaicore.data.readers import READ_CSV_CHECKED_SQL
from kuaicore.data.value_rules import macro_name
from kuaicore.errors import InternalError
from kuaicore.features.sqlfiles import load_sql_files, parse_sql, sql_dir
from kuaicore.schema import FILES_BY_NAME

FILES = load_sql_files()


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_every_file_is_numbered_by_layer_and_loads():
    names = [f.name for f in FILES]
    assert names == sorted(names)
    prefixes = {"0": "macro", "1": "stg", "2": "int", "3": "feat", "4": "split"}
    for f in FILES:
        assert f.name.split("_")[1] == prefixes[f.name[0]], f.name
        assert f.description and f.grain and f.inputs


def test_staging_files_use_the_canonical_read_csv_and_name_a_schema_file():
    staging = [f for f in FILES if f.name.startswith("1")]
    assert {f.source for f in staging} == set(FILES_BY_NAME)
    for f in staging:
        # the checked read (force_not_null) filtered by the file's value-rule macro, as validate reads it
        read = _squash(READ_CSV_CHECKED_SQL)
        assert f"{read} AS r WHERE {macro_name(FILES_BY_NAME[f.source])}(r)" in _squash(f.sql), f.name
        assert f.params == ("path", "columns", "not_null")


def test_no_file_formats_values_into_sql():
    for f in FILES:
        assert "{" not in f.sql.replace("{}", ""), f.name  # no str.format placeholders
        assert "%s" not in f.sql


def test_outputs_relations_match_their_statement():
    for f in FILES:
        if f.relation.endswith(".parquet"):
            assert f.sql.startswith("COPY") and "TO $out" in f.sql
        elif f.name.startswith("0"):
            assert f.sql.startswith(f"CREATE MACRO {f.relation}("), f.name
        else:
            made = (f"CREATE TABLE {f.relation} AS", f"CREATE VIEW {f.relation} AS")
            assert f.sql.startswith(made), f.name


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "99_x.sql"
    p.write_text(text)
    return p


HEADER = "-- t: a table\n-- inputs: a\n-- grain: row\n"


def test_loader_checks_declared_against_used_parameters(tmp_path):
    ok = parse_sql(
        HEADER + "-- params: cap\nCREATE TABLE t AS SELECT least(x, $cap) FROM a", Path("99_x.sql")
    )
    assert ok.params == ("cap",) and ok.bind({"cap": 5.0, "other": 1}) == {"cap": 5.0}
    with pytest.raises(InternalError, match="declares params"):
        parse_sql(HEADER + "-- params: none\nCREATE TABLE t AS SELECT $cap", Path("99_x.sql"))
    with pytest.raises(InternalError, match="declares params"):
        parse_sql(HEADER + "-- params: cap, seed\nCREATE TABLE t AS SELECT $cap", Path("99_x.sql"))
    with pytest.raises(InternalError, match="no value"):
        ok.bind({})


def test_loader_ignores_dollars_in_comments_and_strings_and_rejects_two_statements():
    f = parse_sql(HEADER + "-- params: none\nCREATE TABLE t AS SELECT '$a;' -- $b\n", Path("99_x.sql"))
    assert f.params == ()
    with pytest.raises(InternalError, match="one statement"):
        parse_sql(HEADER + "-- params: none\nSELECT 1; SELECT 2", Path("99_x.sql"))
    with pytest.raises(InternalError, match="lacks"):
        parse_sql("-- t: a table\n-- params: none\nSELECT 1", Path("99_x.sql"))


def test_sql_dir_is_the_repository_folder_in_a_checkout():
    assert (sql_dir() / "10_stg_big_matrix.sql").is_file()
