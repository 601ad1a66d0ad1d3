"""The pure NumPy helpers of kuaicore.features.matrices against brute force (hypothesis) and small cases."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kuaicore.features.assemble import _pylist, python_values
from kuaicore.features.matrices import (
    Block,
    categorical_ids,
    dense_from_long,
    multi_hot,
    one_hot_block,
    scatter,
    standardize,
)

floats = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.lists(floats, min_size=1, max_size=8), min_size=1, max_size=5).filter(
        lambda cols: len({len(c) for c in cols}) == 1
    ),
    st.lists(st.booleans(), min_size=5, max_size=5),
)
def test_standardize_matches_brute_force(cols, counts):
    block = Block()
    for j, c in enumerate(cols):
        block.add(f"c{j}", np.abs(c) if counts[j] else np.array(c), log1p=counts[j])
    x, stats = standardize(block)
    assert x.dtype == np.float32 and x.shape == (len(cols[0]), len(cols))
    for j, c in enumerate(cols):
        v = np.log1p(np.abs(c)) if counts[j] else np.array(c, dtype=np.float64)
        std = v.std() if v.std() > 1e-12 else 1.0
        np.testing.assert_allclose(x[:, j], (v - v.mean()) / std, rtol=1e-5, atol=1e-5)
        assert stats[j]["transform"] == ("log1p" if counts[j] else "none")
        np.testing.assert_allclose([stats[j]["mean"], stats[j]["std"]], [v.mean(), std])


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), floats), max_size=12))
def test_dense_from_long_matches_a_loop(n, triples):
    triples = [(r % n, k, v) for r, k, v in triples]
    dedup = {(r, k): v for r, k, v in triples}  # last write wins in both
    rows = np.array([r for r, _ in dedup], dtype=np.int64)
    keys = [k for _, k in dedup]
    vals = np.array(list(dedup.values()))
    default = np.arange(n, dtype=np.float64) * 0.5
    got = dense_from_long(n, rows, keys, vals, [0, 1, 2], default)
    want = np.repeat(default[:, None], 3, axis=1)
    for (r, k), v in dedup.items():
        if k < 3:
            want[r, k] = v
    np.testing.assert_array_equal(got, want)


def test_one_hot_multi_hot_scatter_and_categorical_ids():
    b = one_hot_block("deg", ["a", None, "b", "a"], ["a", "b"], missing_flag=True)
    assert b.names == ["deg=a", "deg=b", "deg_missing"]
    assert np.stack(b.columns, axis=1).tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]]
    assert multi_hot(3, np.array([0, 0, 2]), np.array([1, 2, 0]), 3).tolist() == [
        [0, 1, 1],
        [0, 0, 0],
        [1, 0, 0],
    ]
    out = scatter(4, np.array([3, 1]), np.array([None, 2.5], dtype=object), fill=-1.0)
    assert out.tolist() == [-1.0, 2.5, -1.0, -1.0]
    ids, vocab = categorical_ids([300, None, 7, 300, 20])
    assert ids.tolist() == [3, 0, 1, 3, 2] and vocab == [7, 20, 300] and ids.dtype == np.int32


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(-(10**6), 10**6).map(float),
            st.just(float("nan")),
            st.floats(-1e6, 1e6, allow_nan=False),
            st.sampled_from([-0.0, 2.0**62, -(2.0**62), 1e20, 2.0**61]),
        ),
        max_size=30,
    )
)
def test_pylist_equals_the_per_value_rule(values):
    """The C path for integral columns gives what the rule gives value by value, types included."""
    a = np.array(values, dtype=np.float64)
    got, want = _pylist(a), python_values(a.tolist())
    assert got == want and [type(v) for v in got] == [type(v) for v in want]


def test_pylist_of_int_bool_and_object_arrays():
    for a in (np.array([3, -1, 0]), np.array([True, False]), np.array([1.5, None, "x", 2.0], dtype=object)):
        assert _pylist(a) == python_values(a.tolist())
    assert _pylist(np.array([1.5, None, 2.0], dtype=object)) == [1.5, None, 2]
    got = _pylist(np.array([3.0, np.nan, -0.0, 1e20]))  # 1e20: beyond int64's exact range, per value
    assert got == [3, None, 0, 10**20] and [type(v) for v in got] == [int, type(None), int, int]
    assert _pylist(np.array([3.0, np.nan, 2.5])) == [3, None, 2.5]
