"""The item-neighbourhood term: its scores against a brute-force reference, its low-rank form, its budget,
and how the hybrid tries it on valid."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st
from planted_ratings import TASTE_GROUPS_OFF, interactions
from planted_ratings import planted as _planted

from kuaicore.errors import UsageError
from kuaicore.models import hybrid, neighbours
from kuaicore.protocol import candidates_from_rows


def _reference(dense: np.ndarray, seen: np.ndarray, bu: np.ndarray, bi: np.ndarray, shrink: float):
    """The module docstring's formula, one pair at a time in float64."""
    n_users, n_items = dense.shape
    dev = np.where(seen, dense - bu[:, None] - bi[None, :], 0.0)
    sim = np.zeros((n_items, n_items))
    for i in range(n_items):
        for j in range(n_items):
            common = int(np.sum(seen[:, i] & seen[:, j]))
            norm = np.sqrt(np.sum(dev[:, i] ** 2) * np.sum(dev[:, j] ** 2))
            if i != j and norm > 0 and common > 0:  # no common rater: no similarity (0 / 0 at shrink 0)
                sim[i, j] = dev[:, i] @ dev[:, j] / norm * common / (common + shrink)
    out = np.zeros((n_users, n_items))
    for u in range(n_users):
        rated = np.flatnonzero(seen[u])
        for i in range(n_items):
            out[u, i] = sim[i, rated] @ dev[u, rated] / (1.0 + np.abs(sim[i, rated]).sum())
    return out


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_users=st.integers(1, 9),
    n_items=st.integers(1, 8),
    density=st.floats(0.0, 1.0),
    shrink=st.floats(0.0, 50.0),
)
@example(seed=0, n_users=2, n_items=3, density=0.5, shrink=0.0)  # two videos with no common rater, shrink 0
def test_neighbourhood_scores_match_the_formula_pair_by_pair(seed, n_users, n_items, density, shrink):
    rng = np.random.default_rng(seed)
    seen = rng.random((n_users, n_items)) < density
    dense = np.where(seen, rng.uniform(0.0, 3.0, (n_users, n_items)), 0.0)
    r = sp.csr_matrix((dense[seen], np.nonzero(seen)[1], np.r_[0, np.cumsum(seen.sum(1))]), seen.shape)
    bu, bi = rng.normal(0, 0.3, n_users), rng.uniform(0.5, 1.5, n_items)
    got = neighbours.neighbourhood_scores(r, bu, bi, shrink)
    assert got.dtype == np.float32 and got.shape == (n_users, n_items)
    np.testing.assert_allclose(got, _reference(dense, seen, bu, bi, shrink), rtol=1e-4, atol=1e-5)


def test_neighbourhood_scores_span_several_user_blocks(monkeypatch):
    rng = np.random.default_rng(1)
    seen = rng.random((23, 6)) < 0.5
    dense = np.where(seen, rng.uniform(0.0, 3.0, seen.shape), 0.0)
    r = sp.csr_matrix((dense[seen], np.nonzero(seen)[1], np.r_[0, np.cumsum(seen.sum(1))]), seen.shape)
    bu, bi = np.zeros(23), np.ones(6)
    whole = neighbours.neighbourhood_scores(r, bu, bi, 5.0)
    monkeypatch.setattr(neighbours, "USER_BLOCK", 4)  # 23 users: five blocks of 4 and one of 3
    np.testing.assert_allclose(neighbours.neighbourhood_scores(r, bu, bi, 5.0), whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(whole, _reference(dense, seen, bu, bi, 5.0), rtol=1e-4, atol=1e-5)


def test_low_rank_recovers_a_low_rank_matrix_and_is_seeded():
    rng = np.random.default_rng(0)
    k = (rng.standard_normal((40, 3)) @ rng.standard_normal((3, 30))).astype(np.float32)
    left, right = neighbours.low_rank(k, 3, seed=5)
    assert left.shape == (40, 3) and right.shape == (30, 3) and left.dtype == np.float32
    np.testing.assert_allclose(left @ right.T, k, atol=1e-4)
    np.testing.assert_allclose(right.T @ right, np.eye(3), atol=1e-5)  # V's columns are orthonormal
    again = neighbours.low_rank(k, 3, seed=5)
    assert np.array_equal(again[0], left) and np.array_equal(again[1], right)
    # a rank above the matrix's size is cut to it; rank 1 of a noisy matrix is its leading singular pair
    noisy = k + rng.normal(0, 0.01, k.shape).astype(np.float32)
    one = neighbours.low_rank(noisy, 1, seed=0)
    u, s, vt = np.linalg.svd(noisy.astype(np.float64))
    np.testing.assert_allclose(one[0] @ one[1].T, s[0] * np.outer(u[:, 0], vt[0]), atol=1e-3)
    assert neighbours.low_rank(k[:4, :5], 9, seed=0)[0].shape == (4, 4)


def test_budget_takes_the_small_scales_and_not_the_real_files_size():
    assert neighbours.within_budget(1_500, 2_500)  # --scale small
    assert neighbours.within_budget(700, 1_000)
    assert not neighbours.within_budget(7_176, 10_728)  # big_matrix's size: minutes of products
    assert not neighbours.within_budget(10, 6_000)  # a videos x videos array over MAX_CELLS


def _fit(opts, seed=6):
    data, tags, unseen, watch = _planted(seed, 0.5, 0.5)
    validation = hybrid.Validation(unseen, float(np.quantile(watch, 0.8)))
    return hybrid.fit(data, np.zeros((120, 0)), tags, opts, validation), validation


def test_hybrid_tries_each_weight_after_its_stages_and_keeps_the_term_only_where_valid_is_better():
    base_opts = hybrid.HybridOptions(
        factors=3,
        iterations=8,
        path_iterations=3,
        reg="0.05",
        side_reg="2,0.5",
        **TASTE_GROUPS_OFF,
    )
    (u0, v0, info0), validation = _fit(replace(base_opts, neighbours=""))
    (u, v, info), _ = _fit(replace(base_opts, neighbour_rank=4))
    path, stages = info["side_reg_path"], info0["side_reg_path"]
    assert path[: len(stages)] == stages  # the same fits before the term
    assert [s["neighbours"] for s in path[len(stages) :]] == [0.25, 0.5, 1, 1.5, 2, 3]
    assert info0["neighbours"] == 0.0 and info0["rating_columns"] == u0.shape[1]
    best = max(path, key=lambda s: s["valid_ndcg"])
    assert info["valid_ndcg"] == best["valid_ndcg"] and info["neighbours"] == best.get("neighbours", 0.0)
    assert validation.ndcg(u, v) == pytest.approx(info["valid_ndcg"])
    w = info["rating_columns"]
    assert w == u0.shape[1] and np.array_equal(u[:, :w], u0) and np.array_equal(v[:, :w], v0)
    assert u.shape[1] == w + (4 if info["neighbours"] else 0)
    (u2, v2, info2), _ = _fit(replace(base_opts, neighbour_rank=4))
    assert np.array_equal(u2, u) and np.array_equal(v2, v) and info2["neighbours"] == info["neighbours"]
    # a weight that scores worse than the fit alone is not kept: the fit's own embeddings come back
    (u1, v1, info1), _ = _fit(replace(base_opts, neighbours="1000"))  # the term swamps the fit
    assert info1["side_reg_path"][-1]["valid_ndcg"] < info0["valid_ndcg"]
    assert info1["neighbours"] == 0.0 and np.array_equal(u1, u0) and np.array_equal(v1, v0)


def _clustered(seed: int, n_users: int = 150, n_items: int = 120, n_clusters: int = 12):
    """Each user's own taste for each of 12 clusters of videos: more directions than 3 factors hold, and
    exactly what a user's deviations on the video's cluster-mates show."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, n_clusters, n_items)
    truth = rng.standard_normal((n_users, n_clusters))[:, cluster] + rng.normal(0, 0.3, n_items)
    watch = np.exp(truth * 0.5) + 0.5
    observed = rng.random((n_users, n_items)) < 0.3
    u, i = np.nonzero(observed)
    data = interactions(u, i, watch[u, i].astype(np.float32), (n_users, n_items))
    hu, hi = np.nonzero(~observed)
    unseen = candidates_from_rows(hu, hi, watch[hu, hi].astype(np.float32))
    return data, hybrid.Validation(unseen, float(np.quantile(watch, 0.8)))


@pytest.mark.parametrize("seed", [0, 1])
def test_the_term_lifts_valid_where_taste_is_local(seed):
    data, validation = _clustered(seed)
    opts = hybrid.HybridOptions(
        factors=3, iterations=10, path_iterations=3, reg="0.05", side_reg="2", item_side="", ranks=""
    )
    _, _, info = hybrid.fit(data, np.zeros((150, 0)), np.zeros((120, 0)), opts, validation)
    alone = info["side_reg_path"][0]["valid_ndcg"]
    assert info["neighbours"] > 0 and info["valid_ndcg"] > alone + 0.05


def test_above_the_budget_the_term_is_skipped_unless_asked_for(monkeypatch):
    monkeypatch.setattr(neighbours, "MAX_CELLS", 100)
    opts = hybrid.HybridOptions(factors=3, iterations=4, path_iterations=2, reg="0.05", side_reg="2")
    (_, _, info), _ = _fit(opts)
    assert info["neighbours_skipped"] == "120 users x 90 videos is above its budget"
    assert not any("neighbours" in s for s in info["side_reg_path"])
    (_, _, info), _ = _fit(replace(opts, neighbour_size_limit=False))
    assert info["neighbours_skipped"] is None and "neighbours" in info["side_reg_path"][-1]


@pytest.mark.parametrize(
    "option",
    [{"neighbours": "1,x"}, {"neighbours": "0"}, {"neighbour_rank": 0}, {"neighbour_shrink": -1.0}],
)
def test_bad_neighbour_options_are_usage_errors(option):
    with pytest.raises(UsageError, match="neighbour"):
        hybrid.HybridOptions(**option)
