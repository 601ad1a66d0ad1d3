"""List-column parsing: hand-checked cases, hypothesis round trips, every real row (Python vs DuckDB)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kuaicore.data.lists import (
    format_int_list,
    format_topic_tags,
    int_list_sql,
    parse_int_list,
    parse_topic_tags,
    tag_list_sql,
)
from kuaicore.data.readers import READ_CSV_SQL, connect, read_csv_params
from kuaicore.schema import CAPTION_CATEGORY, ITEM_CATEGORIES, SOCIAL_NETWORK


@pytest.mark.parametrize(
    ("text", "expected"),
    [("[8]", [8]), ("[27, 9]", [27, 9]), ("[]", []), ("[1,2]", [1, 2]), ("[-124, 3]", [-124, 3])],
)
def test_parse_int_list_cases(text, expected):
    assert parse_int_list(text) == expected


@pytest.mark.parametrize("text", ["", "8", "[8", "8]", "[a]", "[1,,2]", "[1, 2,]", "[ 1]", "(1, 2)", "[1.0]"])
def test_parse_int_list_rejects(text):
    with pytest.raises(ValueError, match="integer list"):
        parse_int_list(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("[]", []), ("[明星娱乐]", ["明星娱乐"]), ("[宋威龙,井柏然,张公案]", ["宋威龙", "井柏然", "张公案"])],
)
def test_parse_topic_tags_cases(text, expected):
    assert parse_topic_tags(text) == expected


@pytest.mark.parametrize("text", ["", "a,b", "[a,b", "a]", "[a]]"])
def test_parse_topic_tags_rejects(text):
    with pytest.raises(ValueError, match="topic_tag"):
        parse_topic_tags(text)


def test_format_topic_tags_rejects_bad_tags():
    for bad in (["a,b"], [""], ["x]"]):
        with pytest.raises(ValueError):
            format_topic_tags(bad)


@given(st.lists(st.integers(min_value=-(2**62), max_value=2**62), max_size=8))
def test_int_list_round_trip(values):
    text = format_int_list(values)
    assert parse_int_list(text) == values
    assert format_int_list(parse_int_list(text)) == text


_TAG = st.text(
    st.characters(blacklist_characters=",]\n\r", blacklist_categories=("Cs",)), min_size=1, max_size=6
)


@given(st.lists(_TAG, max_size=6))
def test_topic_tags_round_trip(tags):
    text = format_topic_tags(tags)
    assert parse_topic_tags(text) == tags
    assert format_topic_tags(parse_topic_tags(text)) == text


_INTS = st.integers(min_value=-(2**62), max_value=2**62)


@pytest.fixture(scope="module")
def con():
    return connect("100MB", 1)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lists=st.lists(st.lists(_INTS, max_size=5), min_size=1, max_size=20))
def test_int_list_sql_matches_python(con, lists):
    texts = [format_int_list(v) for v in lists]
    got = con.execute(f"SELECT {int_list_sql('t')} FROM unnest($t) AS u(t)", {"t": texts}).fetchall()
    assert [row[0] for row in got] == [parse_int_list(t) for t in texts]
    assert con.execute(f"SELECT {int_list_sql('NULL::VARCHAR')}").fetchone() == (None,)


def _read_column(path, kfile, column):
    con = connect("200MB", 1)
    params = read_csv_params(kfile, path / kfile.filename)
    sql_int = int_list_sql(column) if column != "topic_tag" else tag_list_sql(column)
    rows = con.execute(f"SELECT {column}, {sql_int} FROM {READ_CSV_SQL}", params).fetchall()
    return rows


@pytest.mark.real_data
def test_item_categories_every_real_row(shared_kuairec):
    rows = _read_column(shared_kuairec, ITEM_CATEGORIES, "feat")
    assert len(rows) == 10_728
    parsed = [parse_int_list(text) for text, _ in rows]
    assert parsed == [sql for _, sql in rows]
    assert [format_int_list(p) for p in parsed] == [text for text, _ in rows]
    assert Counter(len(p) for p in parsed) == {1: 8970, 2: 1562, 3: 185, 4: 11}  # SCHEMA.md 2.3
    assert {t for p in parsed for t in p} == set(range(31))


@pytest.mark.real_data
def test_social_network_every_real_row(shared_kuairec):
    rows = _read_column(shared_kuairec, SOCIAL_NETWORK, "friend_list")
    assert len(rows) == 472
    parsed = [parse_int_list(text) for text, _ in rows]
    assert parsed == [sql for _, sql in rows]
    assert [format_int_list(p) for p in parsed] == [text for text, _ in rows]
    assert Counter(len(p) for p in parsed) == {1: 349, 2: 77, 3: 27, 4: 9, 5: 10}  # SCHEMA.md 2.2


@pytest.mark.real_data
def test_caption_topic_tags_every_real_row(shared_kuairec):
    rows = _read_column(shared_kuairec, CAPTION_CATEGORY, "topic_tag")
    assert len(rows) == 10_728
    parsed = [parse_topic_tags(text) for text, _ in rows]
    assert parsed == [sql for _, sql in rows]
    assert [format_topic_tags(p) for p in parsed] == [text for text, _ in rows]
    counts = Counter(len(p) for p in parsed)
    assert [counts[n] for n in range(6)] == [4611, 1488, 1164, 989, 712, 1645]  # SCHEMA.md 2.6
