"""Parquet minibatch streaming: each row once per epoch, fixed-size padded batches, seeded order, skip."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kuaicore.art.stream import Prefetcher, epoch_batches, n_batches, open_parquet
from kuaicore.errors import ArtifactError

COLS = ("user_idx", "target")


def _write(path, n, group):
    table = pa.table(
        {
            "user_idx": pa.array(np.arange(n, dtype=np.int32)),
            "target": pa.array(np.arange(n, dtype=np.float32) * 0.5),
        }
    )
    pq.write_table(table, path, row_group_size=group)
    return path


def _rows(batches):
    return np.concatenate([b["user_idx"][b["mask"] > 0] for b in batches])


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 300),
    group=st.integers(1, 80),
    bs=st.integers(1, 64),
    buf=st.integers(1, 200),
    shuffle=st.booleans(),
)
def test_each_row_once_fixed_size(tmp_path_factory, n, group, bs, buf, shuffle):
    path = _write(tmp_path_factory.mktemp("s") / "t.parquet", n, group)
    batches = list(epoch_batches(path, COLS, bs, seed=3, epoch=1, shuffle=shuffle, shuffle_buffer=buf))
    assert len(batches) == n_batches(path, bs)
    assert all(len(b["user_idx"]) == bs and len(b["mask"]) == bs for b in batches)
    assert all(b["mask"].all() for b in batches[:-1])
    rows = _rows(batches)
    np.testing.assert_array_equal(np.sort(rows), np.arange(n))
    if not shuffle:
        np.testing.assert_array_equal(rows, np.arange(n))
    for b in batches:  # columns stay aligned row by row
        np.testing.assert_array_equal(b["target"][b["mask"] > 0], b["user_idx"][b["mask"] > 0] * 0.5)


def test_padding_and_dtypes(tmp_path):
    path = _write(tmp_path / "t.parquet", 10, 4)
    batches = list(epoch_batches(path, COLS, 4, shuffle=False))
    assert [int(b["mask"].sum()) for b in batches] == [4, 4, 2]
    assert batches[-1]["user_idx"].tolist() == [8, 9, 0, 0]
    assert batches[0]["user_idx"].dtype == np.int32 and batches[0]["target"].dtype == np.float32


def test_seeded_order_and_skip(tmp_path):
    path = _write(tmp_path / "t.parquet", 500, 50)
    kw = dict(seed=7, shuffle_buffer=120)
    a = _rows(epoch_batches(path, COLS, 32, epoch=0, **kw))
    b = _rows(epoch_batches(path, COLS, 32, epoch=0, **kw))
    c = _rows(epoch_batches(path, COLS, 32, epoch=1, **kw))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, np.arange(500))
    skipped = _rows(epoch_batches(path, COLS, 32, epoch=0, skip=5, **kw))
    np.testing.assert_array_equal(skipped, a[5 * 32 :])


def test_missing_column_names_file(tmp_path):
    path = _write(tmp_path / "t.parquet", 5, 5)
    with pytest.raises(ArtifactError, match=r"t\.parquet: missing column\(s\) label"):
        open_parquet(path, ("user_idx", "label"))


def test_prefetcher_order_errors_and_close():
    assert list(Prefetcher(iter(range(50)), depth=3, transform=lambda x: x * 2)) == list(range(0, 100, 2))

    def boom():
        yield 1
        raise ValueError("bad row group")

    it = Prefetcher(boom())
    assert next(it) == 1
    with pytest.raises(ValueError, match="bad row group"):
        next(it)
    with Prefetcher(iter(range(10**6)), depth=2) as it:
        assert next(it) == 0
