"""Pointwise, catalog and bootstrap kernels: hand-checked cases, NumPy references, seeded determinism."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kuaicore.kernels._arrays import KernelInputError
from kuaicore.kernels.bootstrap import bootstrap_ci, bootstrap_means
from kuaicore.kernels.catalog import coverage, mean_popularity
from kuaicore.kernels.regression import regression_metrics, threshold_metrics

PROPS = settings(max_examples=60, deadline=None)
floats = st.floats(-10, 10, allow_nan=False)


def test_regression_and_threshold_hand_checked():
    assert regression_metrics([1.0, 2.0], [2.0, 4.0]) == {"mae": 1.5, "rmse": pytest.approx(np.sqrt(2.5))}
    # strict, as the like rule: pred > 2: F T T; obs > 2: T T F (2.0 is not > 2) -> tp 1, fp 1, fn 1, tn 0
    assert threshold_metrics([1.0, 3.0, 2.5], [3.0, 2.5, 2.0], 2.0) == {
        "accuracy": 1 / 3,
        "precision": 0.5,
        "recall": 0.5,
    }
    assert threshold_metrics([0.0], [0.0], 2.0) == {"accuracy": 1.0, "precision": 0.0, "recall": 0.0}
    assert all(np.isnan(v) for v in regression_metrics([], []).values())
    with pytest.raises(KernelInputError, match="pred has"):
        regression_metrics([1.0], [1.0, 2.0])


@PROPS
@given(st.lists(st.tuples(floats, floats), max_size=40), floats)
def test_pointwise_match_numpy(pairs, threshold):
    pred = np.array([p for p, _ in pairs], dtype=np.float64)
    obs = np.array([o for _, o in pairs], dtype=np.float64)
    if not pairs:
        return
    reg = regression_metrics(pred, obs)
    assert reg["mae"] == pytest.approx(np.mean(np.abs(pred - obs)), abs=1e-12)
    assert reg["rmse"] == pytest.approx(np.sqrt(np.mean((pred - obs) ** 2)), abs=1e-12)
    p, o = pred > threshold, obs > threshold
    thr = threshold_metrics(pred, obs, threshold)
    assert thr["accuracy"] == pytest.approx(np.mean(p == o))
    assert thr["precision"] == pytest.approx((p & o).sum() / p.sum() if p.any() else 0.0)
    assert thr["recall"] == pytest.approx((p & o).sum() / o.sum() if o.any() else 0.0)


def test_coverage_and_popularity_hand_checked():
    ranked = np.array([[1, 2, 5], [2, -1, -1]])
    assert coverage(ranked, 10) == 0.3
    assert coverage(ranked, 10, k=1) == 0.2
    popularity = np.arange(10.0)
    assert mean_popularity(ranked, popularity) == pytest.approx((1 + 2 + 5 + 2) / 4)
    assert mean_popularity(ranked, popularity, k=2) == pytest.approx((1 + 2 + 2) / 3)
    assert np.isnan(mean_popularity(np.full((2, 2), -1), popularity))
    with pytest.raises(KernelInputError, match="n_items"):
        coverage(ranked, 5)


@PROPS
@given(st.integers(0, 6), st.integers(1, 8), st.integers(1, 20), st.integers(1, 10), st.integers(0, 2**32))
def test_catalog_match_numpy(n_users, width, n_items, k, seed):
    rng = np.random.default_rng(seed)
    ranked = rng.integers(-1, n_items, size=(n_users, width)).astype(np.int32)
    popularity = rng.random(n_items)
    top = ranked[:, :k]
    shown = top[top >= 0]
    assert coverage(ranked, n_items, k) == pytest.approx(np.unique(shown).size / n_items)
    want = popularity[shown].mean() if shown.size else np.nan
    assert mean_popularity(ranked, popularity, k) == pytest.approx(want, nan_ok=True)


def test_bootstrap_is_seeded_and_thread_count_independent():
    values = np.random.default_rng(0).random(500)
    a = bootstrap_means(values, 300, seed=42)
    assert a.tobytes() == bootstrap_means(values, 300, seed=42).tobytes()
    assert not np.array_equal(a, bootstrap_means(values, 300, seed=43))
    assert np.array_equal(a[:100], bootstrap_means(values, 100, seed=42))  # replicate b depends on (seed, b)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = bootstrap_means(values, 300, seed=42)
    finally:
        numba.set_num_threads(threads)
    assert a.tobytes() == single.tobytes()


def test_bootstrap_ci_matches_normal_approximation():
    values = np.random.default_rng(1).random(2000)
    lo, hi = bootstrap_ci(values, n_boot=4000, seed=7)
    half = 1.96 * values.std() / np.sqrt(values.size)
    assert lo < values.mean() < hi
    assert lo == pytest.approx(values.mean() - half, abs=0.15 * half)
    assert hi == pytest.approx(values.mean() + half, abs=0.15 * half)
    means = bootstrap_means(values, 4000, seed=7)
    assert means.mean() == pytest.approx(values.mean(), abs=0.05 * half)  # resampling is unbiased


def test_bootstrap_ci_columns_and_edge_cases():
    rng = np.random.default_rng(2)
    col = rng.random(300)
    lo, hi = bootstrap_ci(np.c_[col, 2 * col], n_boot=200, seed=3)
    lo1, hi1 = bootstrap_ci(col, n_boot=200, seed=3)
    assert lo.tolist() == pytest.approx([lo1, 2 * lo1]) and hi.tolist() == pytest.approx([hi1, 2 * hi1])
    assert bootstrap_ci(np.full(50, 0.25), n_boot=50, seed=0) == (0.25, 0.25)
    assert bootstrap_ci(np.array([3.0]), n_boot=10, seed=0) == (3.0, 3.0)
    with pytest.raises(KernelInputError, match="non-empty"):
        bootstrap_ci(np.zeros(0))
    with pytest.raises(KernelInputError, match="n_boot"):
        bootstrap_ci(col, n_boot=0)
    with pytest.raises(KernelInputError, match="alpha"):
        bootstrap_ci(col, alpha=1.5)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 30), st.integers(1, 40), st.integers(0, 2**63 - 1))
def test_bootstrap_means_are_means_of_rows(n, n_boot, seed):
    # with values = one-hot columns, each replicate's column means are the draw frequencies: they sum to 1 and
    # are multiples of 1/n
    means = bootstrap_means(np.eye(n), n_boot, seed)
    assert means.shape == (n_boot, n)
    assert np.allclose(means.sum(axis=1), 1.0)
    assert np.allclose(means * n, np.round(means * n))
