"""The hybrid model: its ridge kernels against NumPy, its reduction to mf, what side columns buy, the CLI."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from planted_ratings import LAST_STAGES_OFF
from planted_ratings import interactions as _interactions
from planted_ratings import planted as _planted

from kuaicore.cli import cli
from kuaicore.errors import UsageError
from kuaicore.kernels.hybrid import mode_and_deviations, residuals, ridge_half_step, row_grams
from kuaicore.models import exposure, hybrid, hybrid_stages, mf
from kuaicore.protocol import protocol_ndcg


def pair_dots(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``rows[u] . cols[indices[j]]`` for every stored entry j of row u, each summed in column order from 0.0
    (the kernels' order, so the same bits as theirs)."""
    out = np.zeros(indices.shape[0])
    for u in range(indptr.shape[0] - 1):
        for j in range(indptr[u], indptr[u + 1]):
            s = 0.0
            for p in range(rows.shape[1]):
                s += rows[u, p] * cols[indices[j], p]
            out[j] = s
    return out


def _random_csr(rng: np.random.Generator, n_rows: int, n_cols: int, density: float) -> sp.csr_matrix:
    mask = rng.random((n_rows, n_cols)) < density
    dense = np.where(mask, rng.standard_normal((n_rows, n_cols)), 0.0)
    m = sp.csr_matrix(dense)
    m.sort_indices()
    return m


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_rows=st.integers(1, 12),
    n_cols=st.integers(1, 40),  # up to 40 observations a row: several blocks of 8 and a remainder
    d=st.integers(1, 6),
    density=st.floats(0.0, 1.0),
)
def test_ridge_half_step_matches_numpy_normal_equations(seed, n_rows, n_cols, d, density):
    rng = np.random.default_rng(seed)
    m = _random_csr(rng, n_rows, n_cols, density)
    design = rng.standard_normal((n_cols, d))
    penalty = rng.uniform(0.05, 2.0, d)
    out = np.full((n_rows, d), 7.0)  # stale values must be overwritten, empty rows zeroed
    ridge_half_step(m.indptr, m.indices, m.data.astype(np.float64), design, penalty, out)
    for u in range(n_rows):
        cols = m.indices[m.indptr[u] : m.indptr[u + 1]]
        if cols.size == 0:
            assert np.all(out[u] == 0.0)
            continue
        z = design[cols]
        e = m.data[m.indptr[u] : m.indptr[u + 1]]
        expect = np.linalg.solve(z.T @ z + cols.size * np.diag(penalty), z.T @ e)
        np.testing.assert_allclose(out[u], expect, rtol=1e-7, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_rows=st.integers(1, 12),
    n_cols=st.integers(1, 30),
    f=st.integers(0, 5),
    density=st.floats(0.0, 1.0),
)
def test_residuals_are_the_numpy_expression(seed, n_rows, n_cols, f, density):
    """The residuals take this side's columns as modes plus deviations (two values a column, like
    standardised tags, and one continuous column): the same numbers as NumPy's expression to rounding."""
    rng = np.random.default_rng(seed)
    m = _random_csr(rng, n_rows, n_cols, density)
    values = m.data.astype(np.float64)
    mu, bias = float(rng.normal()), rng.normal(size=n_cols)
    rows = rng.integers(0, 2, (n_rows, f)) * 4.0 - 0.3
    if f > 1:
        rows[:, 0] = rng.normal(size=n_rows)
    cols = rng.normal(size=(n_cols, f))
    offset = pair_dots(m.indptr, m.indices, rows, cols) if f else 0.0
    want = values - mu - bias[m.indices] - offset
    got = residuals(m.indptr, m.indices, values, mu, bias, *mode_and_deviations(rows), cols)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_rows=st.integers(1, 12),
    n_cols=st.integers(1, 40),
    d=st.integers(1, 7),
    fixed_cols=st.integers(0, 7),
    density=st.floats(0.0, 1.0),
    scale=st.sampled_from([1.0, 1e3]),
)
def test_the_fixed_columns_taken_from_grams_and_deviations_give_the_numpy_solve(
    seed, n_rows, n_cols, d, fixed_cols, density, scale
):
    """The hybrid computes the Gram entries of the side columns and the bias once per fit (row_grams) and
    their products with the factors from the columns' modes and deviations: the half step with them must
    solve the same normal equations as NumPy's, and as the half step that sums everything."""
    m_fixed = min(fixed_cols, d)
    rng = np.random.default_rng(seed)
    m = _random_csr(rng, n_rows, n_cols, density)
    design = rng.standard_normal((n_cols, d)) * scale
    # side columns like standardised tags (two values a column) and one continuous column
    design[:, d - m_fixed :] = rng.integers(0, 2, (n_cols, m_fixed)) * 3.5 - 0.25
    if m_fixed > 1:
        design[:, d - 1] = rng.standard_normal(n_cols)
    penalty = rng.uniform(0.05, 2.0, d)
    values = m.data.astype(np.float64)
    whole, parts = np.full((n_rows, d), 7.0), np.full((n_rows, d), 7.0)
    ridge_half_step(m.indptr, m.indices, values, design, penalty, whole)
    fixed = row_grams(m.indptr, m.indices, values, np.ascontiguousarray(design[:, d - m_fixed :]))[0]
    assert fixed.shape == (n_rows, m_fixed * (m_fixed + 1) // 2)
    deviations = mode_and_deviations(design[:, d - m_fixed :])
    ridge_half_step(m.indptr, m.indices, values, design, penalty, parts, fixed, deviations=deviations)
    for u in range(n_rows):
        z = design[m.indices[m.indptr[u] : m.indptr[u + 1]]]
        e = values[m.indptr[u] : m.indptr[u + 1]]
        if z.shape[0] == 0:
            assert np.all(parts[u] == 0.0)
            continue
        expect = np.linalg.solve(z.T @ z + z.shape[0] * np.diag(penalty), z.T @ e)
        np.testing.assert_allclose(parts[u], expect, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(parts[u], whole[u], rtol=1e-7, atol=1e-9)
        gram = z[:, d - m_fixed :].T @ z[:, d - m_fixed :]  # the packed lower triangle of the fixed columns'
        rows, cols = np.tril_indices(m_fixed)
        np.testing.assert_allclose(fixed[u], gram[rows, cols])


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_rows=st.integers(1, 12),
    n_cols=st.integers(1, 40),
    d=st.integers(2, 6),
    f=st.integers(0, 4),
    density=st.floats(0.0, 1.0),
)
def test_the_half_step_computes_its_residuals_row_by_row_with_the_same_bits(
    seed, n_rows, n_cols, d, f, density
):
    """The hybrid's half steps take the ratings and compute each row's residuals in the solve
    (``offsets``) instead of reading them from a pass of their own: the same solve, bit for bit, and the
    same squared errors."""
    rng = np.random.default_rng(seed)
    m = _random_csr(rng, n_rows, n_cols, density)
    ratings = m.data.astype(np.float64)
    mu, bias = float(rng.normal()), rng.normal(size=n_cols)
    side = rng.integers(0, 2, (n_rows, f)) * 2.5 - 0.4  # this side's columns, like standardised tags
    weights = rng.normal(size=(n_cols, f))  # the other side's weights over them
    design = rng.standard_normal((n_cols, d))
    design[:, -1] = 1.0  # the bias' column, fixed
    fixed = row_grams(m.indptr, m.indices, ratings, np.ascontiguousarray(design[:, -1:]))[0]
    penalty = rng.uniform(0.05, 2.0, d)
    side_dev = mode_and_deviations(side)
    resid = residuals(m.indptr, m.indices, ratings, mu, bias, *side_dev, weights)
    apart, fused = np.full((n_rows, d), 7.0), np.full((n_rows, d), 7.0)
    sse_apart, sse_fused = np.full(n_rows, -1.0), np.full(n_rows, -1.0)
    ridge_half_step(m.indptr, m.indices, resid, design, penalty, apart, fixed, sse_apart)
    offsets = (mu, bias, side_dev, weights)
    ridge_half_step(m.indptr, m.indices, ratings, design, penalty, fused, fixed, sse_fused, offsets=offsets)
    assert np.array_equal(apart, fused)
    assert np.array_equal(sse_apart, sse_fused)


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(0, 30),
    m=st.integers(0, 5),
    levels=st.integers(1, 4),
)
def test_mode_and_deviations_rebuild_the_columns_from_the_most_frequent_values(seed, n, m, levels):
    rng = np.random.default_rng(seed)
    columns = rng.integers(0, levels, (n, m)) * 1.5 - 0.5
    mode, ptr, cols, vals = mode_and_deviations(columns)
    rebuilt = np.tile(mode, (n, 1))
    for i in range(n):
        assert np.all(np.diff(cols[ptr[i] : ptr[i + 1]]) > 0)  # each row's columns ascending
        assert np.all(vals[ptr[i] : ptr[i + 1]] != 0.0)  # only the rows that deviate are stored
        rebuilt[i, cols[ptr[i] : ptr[i + 1]]] += vals[ptr[i] : ptr[i + 1]]
    np.testing.assert_array_equal(rebuilt, columns)
    for c in range(m if n else 0):
        values, counts = np.unique(columns[:, c], return_counts=True)
        assert np.sum(columns[:, c] == mode[c]) == counts.max()


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_rows=st.integers(1, 12),
    n_cols=st.integers(1, 40),
    d=st.integers(1, 6),
    density=st.floats(0.0, 1.0),
)
def test_the_half_step_returns_each_rows_squared_error_at_its_new_coefficients(
    seed, n_rows, n_cols, d, density
):
    """The hybrid's training error comes out of the item step (``sse``) instead of a pass of its own: each
    residual is the same bits as ``values - pair_dots(...)`` at the solved coefficients, each row's sum
    is theirs in order, and the solve itself is unchanged."""
    rng = np.random.default_rng(seed)
    m = _random_csr(rng, n_rows, n_cols, density)
    design = rng.standard_normal((n_cols, d))
    penalty = rng.uniform(0.05, 2.0, d)
    values = m.data.astype(np.float64)
    plain, with_sse = np.full((n_rows, d), 7.0), np.full((n_rows, d), 7.0)
    sse = np.full(n_rows, -1.0)  # stale values must be overwritten, empty rows zeroed
    ridge_half_step(m.indptr, m.indices, values, design, penalty, plain)
    ridge_half_step(m.indptr, m.indices, values, design, penalty, with_sse, sse=sse)
    assert np.array_equal(plain, with_sse)
    error = values - pair_dots(m.indptr, m.indices, with_sse, design)
    for u in range(n_rows):
        total = 0.0
        for e in error[m.indptr[u] : m.indptr[u + 1]]:
            total += e * e
        assert sse[u] == total
    np.testing.assert_allclose(sse.sum(), error @ error, rtol=1e-12, atol=1e-300)


def test_without_side_columns_it_is_mf():
    data, _, _, _ = _planted(0, 0.0, 1.0)
    opts = hybrid.HybridOptions(
        factors=4, iterations=6, item_side="", side_reg="1", relax=1.0, init="random", seed=3, tol=0.0
    )
    u, v, _ = hybrid.fit(data, np.zeros((120, 0)), np.zeros((90, 0)), opts)
    mu_, mv, _ = mf.fit(data, mf.MFOptions(factors=4, iterations=6, seed=3))
    np.testing.assert_allclose(u @ v.T, mu_ @ mv.T, rtol=1e-4, atol=1e-4)


def test_tag_weights_rank_unseen_pairs_where_taste_follows_tags_and_the_path_picks_a_light_penalty():
    data, tags, unseen, watch = _planted(1, 1.0, 0.1)
    threshold = float(np.quantile(watch, 0.8))
    opts = hybrid.HybridOptions(factors=4, iterations=15, path_iterations=5, seed=0)
    u, v, info = hybrid.fit(data, np.zeros((120, 0)), tags, opts, hybrid.Validation(unseen, threshold))
    assert info["side_reg"] == 0.5  # the lightest penalty of the path scores best
    assert [s["side_reg"] for s in info["side_reg_path"]][:3] == [8.0, 2.0, 0.5]  # then the factor path
    with_tags = protocol_ndcg(unseen, threshold, user_emb=u, item_emb=v)
    mu_, mv, _ = mf.fit(data, mf.MFOptions(factors=4, iterations=15))
    without = protocol_ndcg(unseen, threshold, user_emb=mu_, item_emb=mv)
    assert with_tags > without + 0.1, (with_tags, without)


def test_a_stage_stops_once_the_parameters_settle():
    data, tags, _, _ = _planted(3, 0.5, 0.5)
    loose = hybrid.HybridOptions(factors=3, iterations=200, side_reg="2", tol=1e-2)
    info = hybrid.fit(data, np.zeros((120, 0)), tags, loose)[2]
    assert 2 <= info["side_reg_path"][0]["iterations"] < 200
    exact = hybrid.HybridOptions(factors=3, iterations=30, side_reg="2", tol=0.0)
    assert hybrid.fit(data, np.zeros((120, 0)), tags, exact)[2]["side_reg_path"][0]["iterations"] == 30


def test_fit_is_deterministic_for_a_seed_and_the_embeddings_predict_the_rating():
    data, tags, _, _ = _planted(2, 0.5, 0.5)
    opts = hybrid.HybridOptions(factors=3, iterations=5, side_reg="2", seed=5)
    a = hybrid.fit(data, np.zeros((120, 0)), tags, opts)
    b = hybrid.fit(data, np.zeros((120, 0)), tags, opts)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    users, items = np.array([0, 5, 7]), np.array([3, 3, 80])
    rating = np.einsum("ij,ij->i", a[0][users].astype(np.float64), a[1][items].astype(np.float64))
    np.testing.assert_allclose(
        hybrid.predict_watch_ratio(a[0], a[1], users, items, "log"),
        np.maximum(np.expm1(rating), 0),
        rtol=1e-5,
    )


@pytest.mark.parametrize(
    "option, message",
    [
        ("side_reg=abc", "side_reg=abc: expected numbers > 0"),
        ("side_reg=0", "side_reg=0: expected numbers > 0"),
        ("relax=2.5", "relax: must be in [1, 2)"),
        ("init=zeros", "init=zeros: not one of svd, random"),
        ("implicit=-1", "implicit: must be >= 0, got -1"),
        ("implicit_reg=0,x", "implicit_reg=0,x: expected numbers > 0, comma-separated, or empty"),
        ("ensemble=0", "ensemble: must be >= 1, got 0"),
    ],
)
def test_bad_options_are_one_line(option, message):
    key, value = option.split("=")
    typed = float(value) if key == "relax" else int(value) if key in ("implicit", "ensemble") else value
    kwargs = {key: typed}
    with pytest.raises(UsageError, match=re.escape(message)):
        hybrid.HybridOptions(**kwargs)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 9), f=st.integers(1, 4))
def test_unit_rms_scales_each_column_to_rms_one_and_keeps_zero_columns(seed, n, f):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, f)) * rng.uniform(0.01, 100, f)
    a[:, 0] = 0.0
    out = exposure.unit_rms(a)
    rms = np.sqrt((a**2).mean(axis=0))
    expect = np.where(rms > 0, a / np.where(rms > 0, rms, 1.0), 0.0)  # the brute-force reference
    np.testing.assert_allclose(out, expect, rtol=1e-12, atol=1e-12)
    assert np.all(out[:, 0] == 0.0)
    np.testing.assert_allclose(np.sqrt((out[:, 1:] ** 2).mean(axis=0)), 1.0, rtol=1e-12)


def test_exposure_factors_separate_users_by_what_they_were_shown():
    # users 0-9 were shown videos 0-11 only, users 10-19 videos 12-23 only; watch ratios are noise
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(20), 8)
    items = np.concatenate([rng.choice(12, 8, replace=False) + 12 * (u >= 10) for u in range(20)])
    data = _interactions(users, items, rng.uniform(0.1, 3.0, users.size).astype(np.float32), (20, 24))
    pattern = exposure.exposure_pattern(data)
    assert np.all(pattern.matrix.data == 1.0) and pattern.n_rows == 160
    p, q = exposure.exposure_factors(data, factors=2, seed=1)
    scores = p @ q.T
    same = (np.arange(20)[:, None] >= 10) == (np.arange(24)[None, :] >= 12)  # [20, 24]
    assert scores[same].min() > scores[~same].max()
    np.testing.assert_allclose(np.sqrt((q**2).mean(axis=0)), 1.0, rtol=1e-9)
    user, item = exposure.with_exposure(data, np.zeros((20, 0)), np.ones((24, 3)), 2, seed=1)
    assert user.shape == (20, 2) and item.shape == (24, 5)
    np.testing.assert_array_equal(item[:, 3:], q)
    np.testing.assert_array_equal(exposure.exposure_factors(data, 2, seed=1)[0], p)  # seeded
    assert exposure.with_exposure(data, np.zeros((20, 0)), np.ones((24, 3)), 0)[1].shape == (24, 3)


def test_exposure_stages_start_from_the_best_side_fit_and_the_best_valid_score_is_kept():
    data, tags, unseen, watch = _planted(4, 0.5, 0.5)
    threshold = float(np.quantile(watch, 0.8))
    user, item = exposure.with_exposure(data, np.zeros((120, 0)), tags, 3, seed=0)
    opts = hybrid.HybridOptions(
        factors=3,
        iterations=6,
        path_iterations=3,
        reg="0.05",
        side_reg="8,2",
        implicit=3,
        implicit_reg="0.5,0.05",
        **LAST_STAGES_OFF,
    )
    u, v, info = hybrid.fit(data, user, item, opts, hybrid.Validation(unseen, threshold))
    path = info["side_reg_path"]
    assert [(s["side_reg"], s["implicit_reg"]) for s in path[:2]] == [(8.0, 8.0), (2.0, 2.0)]
    best_side = max(path[:2], key=lambda s: s["valid_ndcg"])["side_reg"]
    assert [(s["side_reg"], s["implicit_reg"]) for s in path[2:]] == [(best_side, 0.5), (best_side, 0.05)]
    chosen = max(path, key=lambda s: s["valid_ndcg"])
    assert info["valid_ndcg"] == chosen["valid_ndcg"] and info["implicit_reg"] == chosen["implicit_reg"]
    assert protocol_ndcg(unseen, threshold, user_emb=u, item_emb=v) == pytest.approx(chosen["valid_ndcg"])
    assert u.shape[1] == 3 + (tags.shape[1] + 3) + 3 + 2  # [x_u, w_u (tags + exposure), s_u, b_u, 1]


def test_factor_penalty_stages_start_from_the_best_side_fit_and_stop_past_the_best():
    data, tags, unseen, watch = _planted(5, 0.5, 0.5)
    threshold = float(np.quantile(watch, 0.8))
    opts = hybrid.HybridOptions(
        factors=3,
        iterations=8,
        path_iterations=4,
        reg="0.02,4,0.5",
        side_reg="8,1",
        **LAST_STAGES_OFF,
    )
    u, v, info = hybrid.fit(data, np.zeros((120, 0)), tags, opts, hybrid.Validation(unseen, threshold))
    path = info["side_reg_path"]
    assert [(s["reg"], s["side_reg"]) for s in path[:2]] == [(0.02, 8.0), (0.02, 1.0)]
    best_side = max(path[:2], key=lambda s: s["valid_ndcg"])["side_reg"]
    # 4 shrinks the factors away and scores worse than the best: the factor path stops (0.5 is not fitted)
    assert [(s["reg"], s["side_reg"]) for s in path[2:]] == [(4.0, best_side)]
    assert path[2]["valid_ndcg"] < max(s["valid_ndcg"] for s in path[:2])
    chosen = max(path, key=lambda s: s["valid_ndcg"])
    assert (info["reg"], info["valid_ndcg"]) == (chosen["reg"], chosen["valid_ndcg"])
    assert protocol_ndcg(unseen, threshold, user_emb=u, item_emb=v) == pytest.approx(chosen["valid_ndcg"])
    with pytest.raises(UsageError, match="--option reg=0.05,-1"):
        hybrid.HybridOptions(reg="0.05,-1")


def test_rank_stages_truncate_the_best_fit_keep_its_side_weights_and_stop_at_the_first_worse():
    """Planted: 3 latent factors and tag taste, fitted with 8 factors. ``ranks="6,2,1"``: 6 starts from the
    best fit's factor product truncated to 6 (side weights and biases kept); 2 is too few and scores worse
    than the best, so 1 is not fitted."""
    data, tags, unseen, watch = _planted(6, 0.5, 0.5)
    threshold = float(np.quantile(watch, 0.8))
    validation = hybrid.Validation(unseen, threshold)
    opts = hybrid.HybridOptions(
        factors=8,
        iterations=12,
        path_iterations=1,
        reg="0.05",
        side_reg="1",
        ranks="6,2,1",
        **LAST_STAGES_OFF,
    )
    u, v, info = hybrid.fit(data, np.zeros((120, 0)), tags, opts, validation)
    path = info["side_reg_path"]
    assert [s["factors"] for s in path] == [8, 6, 2]
    assert path[2]["valid_ndcg"] < max(path[0]["valid_ndcg"], path[1]["valid_ndcg"])
    chosen = max(path, key=lambda s: s["valid_ndcg"])
    assert info["factors"] == chosen["factors"] and u.shape == (120, chosen["factors"] + tags.shape[1] + 2)
    assert protocol_ndcg(unseen, threshold, user_emb=u, item_emb=v) == pytest.approx(chosen["valid_ndcg"])
    # one iteration at rank 6 from the truncation: the side weights and biases carried over, the product of
    # the factors its best rank-6 approximation before that iteration
    full = hybrid.fit(data, np.zeros((120, 0)), tags, replace(opts, ranks=""), validation)
    six = hybrid.fit(data, np.zeros((120, 0)), tags, replace(opts, ranks="6"), validation)
    (fu, fv), (su, sv) = full[:2], six[:2]
    assert six[2]["factors"] == 6 and path[1]["valid_ndcg"] > path[0]["valid_ndcg"]
    np.testing.assert_allclose(su[:, 6:], fu[:, 8:], atol=0.02)  # tag weights and biases barely move
    np.testing.assert_allclose(su[:, :6] @ sv[:, :6].T, fu[:, :8] @ fv[:, :8].T, atol=0.1)


class _ScriptedValidation:
    """A validation whose scores are given in order (the ensemble's candidates, m = 2, 3, ...)."""

    def __init__(self, scores):
        self.scores = list(scores)

    def ndcg(self, user_emb, item_emb):
        return self.scores.pop(0)


def test_ensemble_scores_the_mean_of_the_best_fits_and_keeps_it_only_where_valid_is_better():
    rng = np.random.default_rng(0)
    fits = [(rng.standard_normal((5, 4)).astype(np.float32), rng.standard_normal((6, 4)).astype(np.float32))]
    fits += [(rng.standard_normal((5, 4)).astype(np.float32), rng.standard_normal((6, 4)).astype(np.float32))]
    fits += [(rng.standard_normal((5, 4)).astype(np.float32), rng.standard_normal((6, 4)).astype(np.float32))]
    scores = (0.5, 0.7, 0.6)  # the best fit is 1, then 2, then 0

    def path():
        return [{"reg": 0.1, "factors": 4, "valid_ndcg": s} for s in scores]

    p = path()
    u, v, chosen = hybrid_stages.ensemble(p, fits, (1, *fits[1]), 3, _ScriptedValidation([0.72, 0.71]))
    assert [s.get("ensemble") for s in p[3:]] == [2, 3] and chosen is p[3]
    assert chosen["valid_ndcg"] == 0.72 and u.shape == (5, 8) and v.shape == (6, 8)
    mean = (fits[1][0] @ fits[1][1].T + fits[2][0] @ fits[2][1].T) / 2  # fits 1 and 2: the two best
    np.testing.assert_allclose(u @ v.T, mean, rtol=1e-5, atol=1e-5)
    p = path()
    u, v, chosen = hybrid_stages.ensemble(p, fits, (1, *fits[1]), 3, _ScriptedValidation([0.7, 0.69]))
    assert chosen is p[1] and u is fits[1][0] and v is fits[1][1]  # a tie is no gain: the single fit stays
    p = path()
    hybrid_stages.ensemble(p, fits, (1, *fits[1]), 9, _ScriptedValidation([0.1, 0.1]))
    assert [s["ensemble"] for s in p[3:]] == [2, 3]  # at most every fit of the path


def test_ensemble_in_fit_adds_candidates_after_the_same_stages_and_reports_what_it_chose():
    data, tags, unseen, watch = _planted(7, 0.5, 0.5)
    validation = hybrid.Validation(unseen, float(np.quantile(watch, 0.8)))
    opts = hybrid.HybridOptions(
        factors=3,
        iterations=6,
        path_iterations=3,
        reg="0.05,0.5",
        side_reg="8,2",
        **LAST_STAGES_OFF,
    )
    single = hybrid.fit(data, np.zeros((120, 0)), tags, opts, validation)
    u, v, info = hybrid.fit(data, np.zeros((120, 0)), tags, replace(opts, ensemble=2), validation)
    path, stages = info["side_reg_path"], single[2]["side_reg_path"]
    assert path[: len(stages)] == stages and [s["ensemble"] for s in path[len(stages) :]] == [2]
    best = max(path, key=lambda s: s["valid_ndcg"])
    assert info["valid_ndcg"] == best["valid_ndcg"] and info["ensemble"] == best.get("ensemble", 1)
    assert u.shape[1] == info["ensemble"] * single[0].shape[1]
    assert validation.ndcg(u, v) == pytest.approx(info["valid_ndcg"])


def test_cli_trains_and_evaluates_hybrid(tiny_art, tmp_path):
    art = tmp_path / "art"
    shutil.copytree(tiny_art, art)
    args = ["train", str(art), "--model", "hybrid", "--run", "hyb", "--option", "iterations=4"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "side_reg 0.5, 16 factors: valid ndcg@10" in result.stderr
    assert re.search(r"side_reg [0-9.]+, 8 factors: valid ndcg@10", result.stderr)  # the rank stage
    assert "users shrunk toward 12 taste groups: valid ndcg@10" in result.stderr  # the groups, then
    assert "users shrunk toward the population with their covariance: valid ndcg@10" in result.stderr
    assert "users shrunk toward a mixture of 12 taste groups: valid ndcg@10" in result.stderr
    assert re.search(r"taste groups: [0-9.]+s, (.+ kept|not kept)", result.stderr)
    assert "neighbourhood term x 0.25: valid ndcg@10" in result.stderr  # then each weight of the term
    assert re.search(r"neighbourhood term: [0-9.]+s, (weight [0-9.]+ kept|not kept)", result.stderr)
    config = json.loads((art / "runs" / "hyb" / "config.json").read_text())
    assert config["model"] == "hybrid" and config["info"]["side_reg"] in (8.0, 2.0, 0.5)
    result = CliRunner().invoke(
        cli, ["evaluate", str(art), "--run", "hyb", "--bootstrap", "0", "--json", "-"]
    )
    assert result.exit_code == 0, result.output
    assert "mae" in result.stdout
    args = ["train", str(art), "--model", "hybrid", "--run", "imp", "--option", "iterations=2"]
    result = CliRunner().invoke(cli, [*args, "--option", "implicit=3", "--option", "implicit_reg=0.05"])
    assert result.exit_code == 0, result.output
    info = json.loads((art / "runs" / "imp" / "config.json").read_text())["info"]
    assert info["user_side_columns"] == 3  # the exposure factors, on both sides
    assert info["item_side_columns"] == config["info"]["item_side_columns"] + 3
    exposure_stage = r"side_reg [0-9.]+, implicit_reg 0.05, 16 factors: valid ndcg@10"
    assert re.search(exposure_stage, result.stderr)
    bad = CliRunner().invoke(cli, ["train", str(art), "--model", "hybrid", "--option", "item_side=nope_"])
    assert bad.exit_code == 2
    assert "item_side=nope_: no item feature starts with these prefixes" in bad.stderr
    ignored = CliRunner().invoke(cli, ["train", str(art), "--model", "hybrid", "--epochs", "3"])
    assert ignored.exit_code == 2  # a two-tower flag is refused, not silently ignored
    assert "--epochs: a setting of the JAX two-tower; --model hybrid takes --option" in ignored.stderr
