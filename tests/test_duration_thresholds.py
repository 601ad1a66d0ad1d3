"""sql/26_int_duration_thresholds.sql and the debiased_label macro: the per-duration join gives every row the
threshold of its duration bucket, as the per-row list lambda did (checked against NumPy's searchsorted)."""

from __future__ import annotations

import duckdb
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kuaicore.features.sqlfiles import load_sql_files

PROPS = settings(max_examples=40, deadline=None)


def _sql(prefix: str) -> str:
    return next(f.sql for f in load_sql_files() if f.name.startswith(prefix))


def _thresholds(big: list, small: list, bounds: list[float], thresholds: list) -> dict:
    """Run the macros and 26 on tiny stand-in tables; returns {video_duration: threshold}."""
    con = duckdb.connect()
    for prefix in ("01_", "02_", "03_"):
        con.execute(_sql(prefix))
    con.execute("CREATE TABLE int_interactions (video_duration INTEGER)")
    con.execute("CREATE TABLE stg_small_matrix (video_duration INTEGER)")
    con.execute("CREATE TABLE int_debias_rule (bounds DOUBLE[], thresholds DOUBLE[])")
    con.executemany("INSERT INTO int_interactions VALUES (?)", [[d] for d in big])
    con.executemany("INSERT INTO stg_small_matrix VALUES (?)", [[d] for d in small])
    con.execute("INSERT INTO int_debias_rule VALUES (?, ?)", [bounds, thresholds])
    con.execute(_sql("26_"))
    rows = con.execute("SELECT video_duration, threshold FROM int_duration_thresholds").fetchall()
    con.close()
    assert len(rows) == len({*big, *small}), "one row per distinct duration, NULL included"
    return dict(rows)


def test_hand_checked_buckets_and_empty_bucket():
    # bounds [1000, 3000]: bucket 0 = (-inf, 1000], 1 = (1000, 3000], 2 = (3000, inf); bucket 1 had no
    # training rows (NULL threshold). A NULL duration falls in bucket 0, as duration_bucket puts it.
    got = _thresholds([1000, 1001, 5000], [3000, None], [1000.0, 3000.0], [1.5, None, 0.75])
    assert got == {1000: 1.5, 1001: None, 3000: None, 5000: 0.75, None: 1.5}


def test_debiased_label_is_strict_and_false_without_threshold():
    con = duckdb.connect()
    con.execute(_sql("02_"))
    got = con.execute(
        "SELECT debiased_label(2.0, 1.5), debiased_label(1.5, 1.5), debiased_label(9.0, NULL)"
    ).fetchone()
    assert got == (1.0, 0.0, 0.0)


durations = st.lists(st.one_of(st.none(), st.integers(1, 20_000)), min_size=1, max_size=30)


@PROPS
@given(durations, durations, st.lists(st.integers(1, 20_000), max_size=6), st.data())
def test_matches_numpy_bucket_reference(big, small, cuts, data):
    bounds = sorted(float(c) + 0.5 * (c % 2) for c in cuts)
    thresholds = data.draw(
        st.lists(
            st.one_of(st.none(), st.floats(0, 10, allow_nan=False)),
            min_size=len(bounds) + 1,
            max_size=len(bounds) + 1,
        )
    )
    got = _thresholds(big, small, bounds, thresholds)
    for d in {*big, *small}:
        bucket = 0 if d is None else int(np.searchsorted(np.array(bounds), d, side="left"))
        assert got[d] == thresholds[bucket], (d, bounds, thresholds)
