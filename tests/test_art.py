"""The ART package: the one unscaler (hand-checked), open_art's loaders on a real (tiny) ART, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kuaicore.art import layout, open_art
from kuaicore.art.scaling import column_index, raw_columns
from kuaicore.errors import ArtifactError


def test_raw_columns_hand_checked():
    stored = np.array([[0.0, 1.0, 5.0], [-1.0, 0.0, 5.0]], np.float32)
    stats = [
        {"name": "a", "mean": 1.0, "std": 2.0, "transform": "none"},
        {"name": "b", "mean": 0.0, "std": 1.0, "transform": "log1p"},
        {"name": "c", "mean": 0.0, "std": 1.0},
    ]
    np.testing.assert_allclose(raw_columns(stored, [0, 1], stats), [[1.0, np.e - 1.0], [-1.0, 0.0]])
    np.testing.assert_array_equal(raw_columns(stored, [2], None), [[5.0], [5.0]])  # not scaled
    assert column_index(stats, "b") == 1 and column_index(stats, "zz") is None


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=20),
    st.floats(-100, 100),
    st.floats(0.01, 100),
)
def test_raw_columns_undoes_the_scaling(raw, mean, std):
    """Scaling as build-features does (log1p, then (x - mean) / std) and undoing it gives the raw values."""
    raw = np.asarray(raw)
    stored = ((np.log1p(raw) - mean) / std)[:, None]
    stats = [{"name": "x", "mean": mean, "std": std, "transform": "log1p"}]
    np.testing.assert_allclose(raw_columns(stored, [0], stats)[:, 0], raw, rtol=1e-6, atol=1e-6)


def test_open_art_loaders(tiny_art):
    art = open_art(tiny_art)
    manifest = json.loads((tiny_art / layout.MANIFEST).read_text())
    assert (art.n_users, art.n_items) == (manifest["n_users"], manifest["n_items"])
    assert art.features("item").shape == (art.n_items, len(art.feature_names("item")))
    tag = next(n for n in art.feature_names("item") if n.startswith("tag_"))
    values = art.raw_features("item", [tag])[:, 0]
    assert np.allclose(values, np.round(values), atol=1e-5) and set(np.round(values)) <= {0.0, 1.0}
    assert art.ids("user").dtype == np.int64 and art.ids("item").shape == (art.n_items,)
    rows = art.rows("eval", ("user_idx", "item_idx"))
    assert rows["user_idx"].size == pq.ParquetFile(tiny_art / layout.EVAL).metadata.num_rows
    with pytest.raises(ArtifactError, match="no split"):
        art.rows("test", ("user_idx",))
    with pytest.raises(ArtifactError, match="no item feature"):
        art.raw_features("item", ["nope"])


def test_open_art_of_a_folder_that_is_not_one(tmp_path):
    with pytest.raises(ArtifactError, match="no such artifact folder"):
        open_art(tmp_path / "absent")
    with pytest.raises(ArtifactError, match="manifest.json: missing"):
        open_art(tmp_path)
