"""Taste groups as a prior: k-means against hand-checked cases, the ridge toward a prior against NumPy's
normal equations, and how the hybrid tries it on valid."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from planted_ratings import interactions

from kuaicore.errors import UsageError
from kuaicore.kernels.hybrid import ridge_half_step, row_grams
from kuaicore.kernels.mixture import mixture_user_step
from kuaicore.models import hybrid
from kuaicore.models.user_clusters import (
    kmeans,
    prior_precision,
    prior_weights,
    rating_statistics,
    ridge_toward,
    taste_mixture,
)
from kuaicore.protocol import candidates_from_rows


def test_kmeans_finds_two_separated_groups_and_their_means():
    points = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [10.0, 10.0], [10.0, 11.0], [11.0, 10.0]])
    labels, centres = kmeans(points, 2, seed=0)
    assert labels[0] == labels[1] == labels[2] != labels[3] == labels[4] == labels[5]
    assert np.allclose(centres[labels[0]], [1 / 3, 1 / 3]) and np.allclose(
        centres[labels[3]], [31 / 3, 31 / 3]
    )


def test_kmeans_is_seeded_and_cuts_k_to_the_number_of_points():
    rng = np.random.default_rng(3)
    points = rng.standard_normal((40, 3))
    a, b = kmeans(points, 5, seed=7), kmeans(points, 5, seed=7)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    labels, centres = kmeans(points[:3], 8, seed=0)
    assert centres.shape == (3, 3) and sorted(labels) == [0, 1, 2]  # every point its own group
    labels, centres = kmeans(np.ones((5, 2)), 3, seed=0)  # identical points: no distance to draw by
    assert np.allclose(centres[labels], 1.0)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 40), k=st.integers(1, 6))
def test_kmeans_ends_at_a_fixed_point_of_lloyds_steps(seed, n, k):
    points = np.random.default_rng(seed).standard_normal((n, 2)).round(3)
    labels, centres = kmeans(points, k, seed=seed)
    for j in np.unique(labels):  # every used centre is the mean of its points
        assert np.allclose(centres[j], points[labels == j].mean(axis=0))
    dist = ((points[:, None, :] - centres[None]) ** 2).sum(axis=2)
    assert np.allclose(dist[np.arange(n), labels], dist.min(axis=1))  # every point at its nearest centre


def _random_rows(seed: int, n_rows: int, n_cols: int, d: int, density: float):
    """``(rng, a sorted CSR pattern, residuals [nnz], design [n_cols, d], an SPD precision [d, d])``."""
    rng = np.random.default_rng(seed)
    m = sp.random(n_rows, n_cols, density=density, format="csr", random_state=rng)
    m.sort_indices()
    resid = rng.standard_normal(m.nnz)
    design = rng.standard_normal((n_cols, d))
    root = rng.standard_normal((d, d))
    return rng, m, resid, design, root @ root.T + 0.1 * np.eye(d)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_rows=st.integers(1, 8),
    n_cols=st.integers(1, 10),
    d=st.integers(1, 5),
    density=st.floats(0.0, 1.0),
)
def test_ridge_toward_a_prior_diagonal_or_full_matches_the_normal_equations(seed, n_rows, n_cols, d, density):
    rng, m, resid, design, precision = _random_rows(seed, n_rows, n_cols, d, density)
    penalty = rng.uniform(0.05, 2.0, d)
    prior = rng.standard_normal((n_rows, d))
    stats = rating_statistics(m, resid, design)
    diagonal = ridge_toward(stats, np.diag(penalty), prior)
    full = ridge_toward(stats, precision, prior)
    for out, p in ((diagonal, np.diag(penalty)), (full, precision)):
        assert out.shape == (n_rows, d)
        for u in range(n_rows):
            lo, hi = m.indptr[u], m.indptr[u + 1]
            x, y, n = design[m.indices[lo:hi]], resid[lo:hi], hi - lo
            want = np.linalg.solve(x.T @ x + n * p, x.T @ y + n * p @ prior[u]) if n else prior[u]
            assert np.allclose(out[u], want, atol=1e-8)
    # toward a zero prior, the diagonal case is the hybrid's plain ridge half step
    plain = np.full((n_rows, d), np.nan)
    ridge_half_step(m.indptr, m.indices, resid, design, penalty, plain)
    assert np.allclose(ridge_toward(stats, np.diag(penalty), np.zeros((n_rows, d))), plain, atol=1e-8)


def _rated(rng: np.random.Generator, taste: np.ndarray, tags: np.ndarray):
    """``(data, tags, validation)``: each user's ratings of 6% of the videos from their tag ``taste``, plus a
    video offset and noise; validation ranks the rest by the noise-free truth."""
    n_users, n_items = taste.shape[0], tags.shape[0]
    truth = taste @ tags.T + rng.normal(0, 0.3, n_items)
    watch = np.exp(truth * 0.3 + rng.normal(0, 0.3, truth.shape)) + 0.5
    observed = rng.random((n_users, n_items)) < 0.06
    u, i = np.nonzero(observed)
    data = interactions(u, i, watch[u, i].astype(np.float32), (n_users, n_items))
    hu, hi = np.nonzero(~observed)
    unseen = candidates_from_rows(hu, hi, np.exp(truth[hu, hi] * 0.3).astype(np.float32))
    return data, tags, hybrid.Validation(unseen, float(np.quantile(np.exp(truth * 0.3), 0.8)))


def _grouped(seed: int, n_users: int = 240, n_items: int = 160, n_tags: int = 16, n_groups: int = 4):
    """Users in 4 groups that share their tag taste (a group's taste plus a small own part), each with few
    ratings (6% of the videos): too few to learn 16 tag weights alone, enough to place a user in a group."""
    rng = np.random.default_rng(seed)
    tags = (rng.random((n_items, n_tags)) < 0.25).astype(np.float64)
    group = rng.integers(0, n_groups, n_users)
    taste = 1.5 * rng.standard_normal((n_groups, n_tags))[group] + 0.3 * rng.standard_normal(
        (n_users, n_tags)
    )
    return _rated(rng, taste, tags)


OPTS = hybrid.HybridOptions(
    factors=2,
    iterations=10,
    path_iterations=3,
    reg="0.05",
    side_reg="2",
    ranks="",
    neighbours="",
    clusters="4",
    covariance_groups="",
    mixture_groups="",
)


@pytest.mark.parametrize("seed", [0, 1])
def test_taste_groups_lift_valid_where_users_share_tastes(seed):
    data, tags, validation = _grouped(seed)
    _, _, info = hybrid.fit(data, np.zeros((240, 0)), tags, OPTS, validation)
    before = info["side_reg_path"][0]["valid_ndcg"]
    assert info["clusters"] == 4 and info["valid_ndcg"] > before + 0.015


def test_groups_are_tried_after_the_stages_and_kept_only_where_valid_is_better():
    data, tags, validation = _grouped(0)
    u0, v0, info0 = hybrid.fit(data, np.zeros((240, 0)), tags, replace(OPTS, clusters=""), validation)
    u, v, info = hybrid.fit(data, np.zeros((240, 0)), tags, replace(OPTS, clusters="2,4"), validation)
    path, stages = info["side_reg_path"], info0["side_reg_path"]
    assert path[: len(stages)] == stages and [s["clusters"] for s in path[len(stages) :]] == [2, 4]
    assert info0["clusters"] == 0 and "clusters" not in stages[-1]
    best = max(path, key=lambda s: s["valid_ndcg"])
    assert info["valid_ndcg"] == best["valid_ndcg"] and info["clusters"] == best.get("clusters", 0)
    assert validation.ndcg(u, v) == pytest.approx(info["valid_ndcg"])
    assert np.array_equal(v, v0)  # the videos' side is kept as fitted
    again = hybrid.fit(data, np.zeros((240, 0)), tags, replace(OPTS, clusters="2,4"), validation)
    assert np.array_equal(again[0], u) and np.array_equal(again[1], v)
    # without validation there is nothing to choose by: no groups
    _, _, plain = hybrid.fit(data, np.zeros((240, 0)), tags, OPTS, None)
    assert plain["clusters"] == 0 and not any("clusters" in s for s in plain["side_reg_path"])


def test_where_the_groups_are_kept_the_term_is_tried_with_and_without_them_and_the_best_pair_kept():
    data, tags, validation = _grouped(0)
    u, v, info = hybrid.fit(data, np.zeros((240, 0)), tags, replace(OPTS, neighbours="0.5,1"), validation)
    path = info["side_reg_path"]
    terms = [(s.get("clusters", 0), s["neighbours"]) for s in path if "neighbours" in s]
    assert terms == [(4, 0.5), (4, 1.0), (0, 0.5), (0, 1.0)]  # on the groups' fit, then on the fit without
    best = max(path, key=lambda s: s["valid_ndcg"])
    assert info["valid_ndcg"] == best["valid_ndcg"] and validation.ndcg(u, v) == pytest.approx(
        best["valid_ndcg"]
    )
    assert (info["clusters"], info["neighbours"]) == (best.get("clusters", 0), best.get("neighbours", 0.0))


@pytest.mark.parametrize("option", [{"clusters": "1"}, {"clusters": "4,x"}, {"clusters": "2.5"}])
def test_bad_cluster_options_are_usage_errors(option):
    with pytest.raises(UsageError, match="clusters"):
        hybrid.HybridOptions(**option)


def test_cluster_rounds_must_be_positive():
    with pytest.raises(UsageError, match="cluster_rounds"):
        hybrid.HybridOptions(cluster_rounds=0)


def test_prior_precision_inverts_the_shrunk_within_group_covariance_scaled_to_its_strength():
    # two groups, each spread along the first axis only: the pooled within-group covariance is diag(1, 0)
    points = np.array([[-1.0, 0.0], [1.0, 0.0], [9.0, 5.0], [11.0, 5.0]])
    labels, centres = np.array([0, 0, 1, 1]), np.array([[0.0, 0.0], [10.0, 5.0]])
    a = prior_precision(points, labels, centres, shrink=0.5, strength=2.0)
    # shrunk: 0.5 diag(1, 0) + 0.5 (trace 1 / 2) I = diag(0.75, 0.25); inverted: diag(4/3, 4); mean 2
    assert np.allclose(a, np.diag([4 / 3, 4.0]) * (2.0 * 2 / (4 / 3 + 4.0)))
    assert a[0, 0] < a[1, 1]  # the direction users vary along is penalised least
    assert np.allclose(prior_precision(points, labels, centres, 1.0, 3.0), 3.0 * np.eye(2))  # all shrunk
    flat = prior_precision(np.ones((4, 2)), np.zeros(4, dtype=np.int64), np.ones((1, 2)), 0.3, 2.0)
    assert np.allclose(flat, 2.0 * np.eye(2))  # no spread: the plain ridge at that strength


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 30), d=st.integers(1, 6), shrink=st.floats(0.01, 1.0))
def test_prior_precision_is_symmetric_positive_definite_with_its_mean_eigenvalue(seed, n, d, shrink):
    rng = np.random.default_rng(seed)
    points = rng.standard_normal((n, d)) * rng.uniform(0.1, 3.0, d)
    labels, centres = kmeans(points, 2, seed=seed)
    a = prior_precision(points, labels, centres, shrink, 1.5)
    assert np.allclose(a, a.T) and np.linalg.eigvalsh(a).min() > 0
    assert np.trace(a) / d == pytest.approx(1.5)


def _correlated(seed: int, n_users: int = 240, n_items: int = 160, n_tags: int = 16):
    """Users whose tag tastes are correlated (each a mix of 2 taste directions over 16 tags, no groups),
    each with few ratings (6% of the videos): too few to learn 16 tag weights one by one, enough to learn
    the 2 directions' mix, which the population's covariance shows."""
    rng = np.random.default_rng(seed)
    tags = (rng.random((n_items, n_tags)) < 0.25).astype(np.float64)
    taste = rng.standard_normal((n_users, 2)) @ (1.5 * rng.standard_normal((2, n_tags)))
    taste += 0.2 * rng.standard_normal((n_users, n_tags))
    return _rated(rng, taste, tags)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_populations_covariance_lifts_valid_where_tastes_are_correlated(seed):
    data, tags, validation = _correlated(seed)
    opts = replace(OPTS, clusters="2,4", covariance_groups="1")
    _, _, info = hybrid.fit(data, np.zeros((240, 0)), tags, opts, validation)
    path = info["side_reg_path"]
    before = path[0]["valid_ndcg"]
    groups = max(s["valid_ndcg"] for s in path if s.get("covariance") is False)
    assert (info["clusters"], info["taste_covariance"]) == (1, True)
    # no groups to find, but a direction of taste: the covariance sees it, the diagonal groups do not
    assert info["valid_ndcg"] > before + 0.015 and info["valid_ndcg"] > groups + 0.005


def test_covariance_candidates_follow_the_groups_and_are_chosen_with_them():
    data, tags, validation = _grouped(0)
    _, _, info0 = hybrid.fit(data, np.zeros((240, 0)), tags, OPTS, validation)
    opts = replace(OPTS, clusters="2,4", covariance_groups="1,4")
    u, v, info = hybrid.fit(data, np.zeros((240, 0)), tags, opts, validation)
    stages = [s for s in info0["side_reg_path"] if "clusters" not in s]
    tried = [(s["clusters"], s["covariance"]) for s in info["side_reg_path"][len(stages) :]]
    assert tried == [(2, False), (4, False), (1, True), (4, True)]
    best = max(info["side_reg_path"], key=lambda s: s["valid_ndcg"])
    assert info["valid_ndcg"] == best["valid_ndcg"] and validation.ndcg(u, v) == pytest.approx(
        best["valid_ndcg"]
    )
    assert (info["clusters"], info["taste_covariance"]) == (
        best.get("clusters", 0),
        best.get("covariance", False),
    )
    again = hybrid.fit(data, np.zeros((240, 0)), tags, opts, validation)
    assert np.array_equal(again[0], u) and np.array_equal(again[1], v)  # seeded: the same fit twice


@pytest.mark.parametrize(
    "option, match",
    [
        ({"covariance_groups": "0"}, "covariance_groups"),
        ({"covariance_groups": "1,x"}, "covariance_groups"),
        ({"covariance_shrink": 0.0}, "covariance_shrink"),
        ({"covariance_shrink": 1.5}, "covariance_shrink"),
        ({"covariance_strength": 0.0}, "covariance_strength"),
        ({"covariance_strength": float("nan")}, "covariance_strength"),
    ],
)
def test_bad_covariance_options_are_usage_errors(option, match):
    with pytest.raises(UsageError, match=match):
        hybrid.HybridOptions(**option)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_rows=st.integers(1, 8),
    n_cols=st.integers(1, 10),
    d=st.integers(1, 5),
    k=st.integers(1, 4),
    density=st.floats(0.0, 1.0),
    power=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_mixture_user_step_is_each_groups_ridge_and_its_minimum(seed, n_rows, n_cols, d, k, density, power):
    rng, m, resid, design, precision = _random_rows(seed, n_rows, n_cols, d, density)
    means = rng.standard_normal((k, d))
    grams, bs, ee = row_grams(m.indptr, m.indices, resid, design)
    counts = np.diff(m.indptr)
    weights = prior_weights(counts, power)  # the prior's weight w_u per user (0 where no rating)
    energy, theta = mixture_user_step(grams, bs, ee, weights, precision, means)
    assert energy.shape == (n_rows, k) and theta.shape == (n_rows, k, d)
    for u in range(n_rows):
        lo, hi = m.indptr[u], m.indptr[u + 1]
        x, y, w = design[m.indices[lo:hi]], resid[lo:hi], weights[u]
        for j in range(k):
            if hi == lo:  # no ratings: the group's centre, and no evidence for or against it
                assert np.allclose(theta[u, j], means[j]) and energy[u, j] == 0.0
                continue
            want = np.linalg.solve(x.T @ x + w * precision, x.T @ y + w * precision @ means[j])
            gap = want - means[j]
            objective = np.sum((y - x @ want) ** 2) + w * gap @ precision @ gap
            assert np.allclose(theta[u, j], want, atol=1e-8)
            assert energy[u, j] == pytest.approx(objective, rel=1e-8, abs=1e-8)


def test_prior_weights_hand_checked():
    """Counts 0, 1, 4, 16: the mean count of the users with ratings is 7; the weight is 7^(1-p) n^p, 0 for
    the user without ratings, and the user at the mean count would weigh 7 under every power."""
    counts = np.array([0, 1, 4, 16])
    assert np.array_equal(prior_weights(counts, 1.0), [0.0, 1.0, 4.0, 16.0])  # weighted-lambda
    assert np.allclose(prior_weights(counts, 0.5), [0.0, 7**0.5, 2 * 7**0.5, 4 * 7**0.5])
    assert np.allclose(prior_weights(counts, 0.0), [0.0, 7.0, 7.0, 7.0])  # a fixed precision
    assert np.array_equal(prior_weights(np.zeros(3, dtype=np.int64), 0.5), np.zeros(3))


def test_a_lower_power_pulls_a_user_with_few_ratings_closer_to_their_group():
    """Two users, one with 2 ratings and one with 50, both with the same taste far from the group's centre
    (0): at power 0.5 the light user's fit moves toward the centre and the heavy user's away from it,
    against weighted-lambda (power 1)."""
    rng = np.random.default_rng(0)
    design = rng.standard_normal((60, 3))
    taste = np.array([1.0, -1.0, 0.5])
    rows = np.repeat([0, 1], [2, 50])
    cols = np.concatenate([[0, 1], np.arange(2, 52)])
    r = sp.csr_matrix((np.ones(52), (rows, cols)), shape=(2, 60))
    r.sort_indices()
    resid = design[r.indices] @ taste + 0.1 * rng.standard_normal(52)
    grams, bs, ee = row_grams(r.indptr, r.indices, resid, design)
    centre, precision = np.zeros((1, 3)), np.eye(3)
    fits = {
        p: mixture_user_step(grams, bs, ee, prior_weights(np.diff(r.indptr), p), precision, centre)[1][:, 0]
        for p in (1.0, 0.5)
    }
    size = {p: np.linalg.norm(f, axis=1) for p, f in fits.items()}
    assert size[0.5][0] < size[1.0][0] and size[0.5][1] > size[1.0][1]


@pytest.mark.parametrize("seed", [0, 1])
def test_taste_mixture_finds_the_groups_that_k_means_of_noisy_fits_cannot(seed):
    """Users in 3 groups (shares 0.5 / 0.3 / 0.2) with 6 taste coefficients each, but only 5 noisy ratings:
    their own ridge fits are too noisy for k-means to separate the groups, while the mixture weighs each
    group by how well its prior explains the user's ratings and recovers the groups, their shares and each
    user's taste up to their own spread (0.2)."""
    rng = np.random.default_rng(seed)
    n_users, n_items, d = 300, 100, 6
    design = rng.standard_normal((n_items, d))
    group = rng.choice(3, n_users, p=[0.5, 0.3, 0.2])
    taste = (2.0 * rng.standard_normal((3, d)))[group] + 0.2 * rng.standard_normal((n_users, d))
    rows = np.repeat(np.arange(n_users), 5)
    cols = np.concatenate([rng.choice(n_items, 5, replace=False) for _ in range(n_users)])
    r = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_users, n_items))
    r.sort_indices()
    resid = np.einsum("ij,ij->i", taste[rows], design[r.indices]) + 0.5 * rng.standard_normal(r.nnz)
    penalty = np.full(d, 0.3)
    stats = rating_statistics(r, resid, design)
    start = ridge_toward(stats, np.diag(penalty), np.zeros((n_users, d)))
    labels, centres = kmeans(start, 3, seed=0)
    grouped = ridge_toward(stats, np.diag(penalty), centres[labels])
    theta, shares = taste_mixture(stats, start, np.sqrt(penalty), 3, 6, 0.25, 0.3, 1.0, seed=0)
    assert np.allclose(shares, np.sort(np.bincount(group) / n_users)[::-1], atol=0.03)

    def error(fit: np.ndarray) -> float:
        return float(np.sqrt(np.mean((fit - taste) ** 2)))

    assert error(start) > 1.0 and error(grouped) > 0.5 and error(theta) < 0.25
    again = taste_mixture(stats, start, np.sqrt(penalty), 3, 6, 0.25, 0.3, 1.0, seed=0)
    assert np.array_equal(again[0], theta)  # seeded: the same fit twice


def test_mixture_candidates_come_last_and_are_chosen_by_valid():
    data, tags, validation = _grouped(0)
    opts = replace(OPTS, clusters="2", covariance_groups="1")
    _, _, info0 = hybrid.fit(data, np.zeros((240, 0)), tags, opts, validation)
    u, v, info = hybrid.fit(data, np.zeros((240, 0)), tags, replace(opts, mixture_groups="2,4"), validation)
    n = len(info0["side_reg_path"])
    assert info["side_reg_path"][:n] == info0["side_reg_path"]
    tried = [(s["clusters"], s.get("mixture"), s.get("mixture_power")) for s in info["side_reg_path"][n:]]
    assert tried == [(2, True, 1.0), (2, True, 0.5), (4, True, 1.0), (4, True, 0.5)]  # each power per count
    best = max(info["side_reg_path"], key=lambda s: s["valid_ndcg"])
    assert info["valid_ndcg"] == best["valid_ndcg"] and validation.ndcg(u, v) == pytest.approx(
        best["valid_ndcg"]
    )
    assert info["taste_mixture"] == best.get("mixture", False)
    # 4 groups planted: the mixture of 4 finds them at least as well as k-means' groups did
    assert max(s["valid_ndcg"] for s in info["side_reg_path"][n:]) >= info0["valid_ndcg"] - 0.002
    again = hybrid.fit(data, np.zeros((240, 0)), tags, replace(opts, mixture_groups="2,4"), validation)
    assert np.array_equal(again[0], u) and np.array_equal(again[1], v)


def test_the_finalists_not_chosen_are_the_fits_without_the_mixture_at_the_other_power_and_without_groups():
    """What the blend may choose instead of the hybrid's own choice: each alternative is exactly the fit that
    the hybrid makes without the mixture, with the mixture at the other power only, or without any groups
    (the neighbourhood term chosen for each)."""
    data, tags, validation = _grouped(0)
    opts = replace(OPTS, clusters="2", mixture_groups="4", neighbours="0.5")
    u, v, info, alternatives = hybrid.fit_with_alternatives(data, np.zeros((240, 0)), tags, opts, validation)
    assert info["taste_mixture"] and info["clusters"] == 4
    power = info["taste_mixture_power"]
    other = 0.5 if power == 1.0 else 1.0
    mixture = "a mixture of 4 taste groups" + ("" if other == 1.0 else " (the prior weighed by n_u^0.5)")
    assert [a["groups"] for a in alternatives] == ["2 taste groups", mixture, "no taste groups"]
    alone = hybrid.fit(data, np.zeros((240, 0)), tags, opts, validation)
    assert np.array_equal(alone[0], u) and np.array_equal(alone[1], v)
    assert alone[2]["side_reg_path"] == info["side_reg_path"]
    without = (
        {"mixture_groups": ""}, {"mixture_power": f"{other:g}"}, {"clusters": "", "mixture_groups": ""},
    )  # fmt: skip
    for alt, off in zip(alternatives, without, strict=True):
        u0, v0, info0 = hybrid.fit(data, np.zeros((240, 0)), tags, replace(opts, **off), validation)
        assert np.array_equal(alt["user_emb"], u0) and np.array_equal(alt["item_emb"], v0)
        assert alt["valid_ndcg"] == info0["valid_ndcg"] <= info["valid_ndcg"]
        assert alt["rating_columns"] == info0["rating_columns"]
    # where no group is kept there is no other finalist
    plain = replace(opts, clusters="", mixture_groups="")
    assert hybrid.fit_with_alternatives(data, np.zeros((240, 0)), tags, plain, validation)[3] == []


@pytest.mark.parametrize(
    "option, match",
    [
        ({"mixture_groups": "1"}, "mixture_groups"),
        ({"mixture_groups": "4,x"}, "mixture_groups"),
        ({"mixture_rounds": 0}, "mixture_rounds"),
        ({"mixture_power": "1,-0.1"}, "mixture_power"),
        ({"mixture_power": "1.5"}, "mixture_power"),
        ({"mixture_power": "nan"}, "mixture_power"),
        ({"mixture_power": ""}, "mixture_power"),
    ],
)
def test_bad_mixture_options_are_usage_errors(option, match):
    with pytest.raises(UsageError, match=match):
        hybrid.HybridOptions(**option)
