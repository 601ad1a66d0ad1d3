"""Classic baselines (popularity, tag-cosine, linear ridge, ALS) and the ART interaction loader.

A tiny ART is planted in a fixture: videos carry tags, users a taste over tags and latent factors, videos
a quality; the affinity drives both what a user watches and how long. Held-out pairs with a high watch
ratio are the relevant set; every model, ranked through its embeddings' dot product over the unseen
catalogue, must beat a seeded random ranking on NDCG@10 and hit rate@10 (NumPy helper below; the Numba
metric kernels live elsewhere).
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from kuaicore.errors import ArtifactError, InternalError, UsageError
from kuaicore.models import als, linear, popularity, tag_cosine
from kuaicore.models.interactions import (
    Interactions,
    build_csr,
    iter_pair_batches,
    load_features,
    load_interactions,
    load_matrix,
    read_manifest,
)

N_USERS, N_ITEMS, N_TAGS = 80, 150, 6


def _planted(seed: int = 7) -> dict:
    """Planted world: tags, tastes, quality, latent factors -> watched pairs and watch ratios."""
    rng = np.random.default_rng(seed)
    tags = np.zeros((N_ITEMS, N_TAGS), np.float32)
    tags[np.arange(N_ITEMS), rng.integers(0, N_TAGS, N_ITEMS)] = 1
    extra = rng.random(N_ITEMS) < 0.3
    tags[np.flatnonzero(extra), rng.integers(0, N_TAGS, extra.sum())] = 1
    taste = rng.normal(0, 1.2, (N_USERS, N_TAGS))
    quality = rng.normal(0, 0.6, N_ITEMS)
    p, q = rng.normal(0, 0.6, (N_USERS, 3)), rng.normal(0, 0.6, (N_ITEMS, 3))
    aff = (taste @ tags.T) / tags.sum(1) + quality + p @ q.T
    watched = rng.random((N_USERS, N_ITEMS)) < 1 / (1 + np.exp(-(1.5 * aff - 1.2)))
    wr = np.exp(0.6 * aff + rng.normal(0, 0.3, aff.shape))
    users, items = np.nonzero(watched)
    test = rng.random(users.size) < 0.25
    return {
        "tags": tags,
        "quality": quality,
        "users": users,
        "items": items,
        "wr": wr,
        "test": test,
        "rng": rng,
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """The planted world plus a tiny ART folder holding its training split."""
    w = _planted()
    rng = w["rng"]
    art = tmp_path_factory.mktemp("art")
    tr = ~w["test"]
    u, i = w["users"][tr], w["items"][tr]
    rew = rng.random(u.size) < 0.05  # a few re-watches: a second row for the same pair
    u, i = np.r_[u, u[rew]], np.r_[i, i[rew]]
    wr = w["wr"][u, i] * np.r_[np.ones(tr.sum()), rng.uniform(0.5, 1.5, rew.sum())]
    order = rng.permutation(u.size)
    u, i, wr = u[order].astype(np.int32), i[order].astype(np.int32), wr[order].astype(np.float32)
    target = np.minimum(wr, 5.0).astype(np.float32)
    table = pa.table(
        {
            "user_idx": u,
            "item_idx": i,
            "user_id": u.astype(np.int64) + 100,
            "video_id": i.astype(np.int64),
            "watch_ratio": wr,
            "target": target,
            "label": (wr >= 2).astype(np.float32),
        }
    )
    pq.write_table(table, art / "train.parquet", row_group_size=700)
    # features as build-features stores them: z-scored columns, scaling statistics in the manifest
    cats = np.eye(3)[np.argmax(w["tags"], 1) % 3]
    numeric = rng.normal(0, 1, (N_ITEMS, 3))
    numeric[:, 0] = w["quality"] + rng.normal(0, 0.3, N_ITEMS)  # a like rate: a noisy copy of quality
    item_raw = np.hstack([w["tags"], cats, numeric])
    item_names = [f"tag_{t:02d}" for t in range(N_TAGS)] + ["cat1=0", "cat1=1", "cat1=2"]
    item_names += ["like_rate", "duration_ms", "x"]
    dense_s, dense_c = np.zeros((N_USERS, N_ITEMS)), np.zeros((N_USERS, N_ITEMS))
    np.add.at(dense_s, (u, i), target.astype(np.float64))
    np.add.at(dense_c, (u, i), 1.0)
    sums, counts = dense_s @ w["tags"], dense_c @ w["tags"]
    taste = (sums + 5.0 * sums.sum(0) / counts.sum(0)) / (counts + 5.0)
    user_raw = np.hstack([rng.normal(0, 1, (N_USERS, 4)), taste])
    user_names = [f"u{j}" for j in range(4)] + [f"taste_tag_{t:02d}" for t in range(N_TAGS)]
    manifest = {"n_users": N_USERS, "n_items": N_ITEMS, "watch_ratio_cap": 5.0}
    for what, raw, names in (("item", item_raw, item_names), ("user", user_raw, user_names)):
        mean, std = raw.mean(0), raw.std(0)
        np.save(art / f"{what}_features.npy", ((raw - mean) / std).astype(np.float32))
        manifest[f"{what}_feature_names"] = names
        manifest[f"{what}_feature_stats"] = [
            {"name": n, "transform": "none", "mean": float(m), "std": float(sd)}
            for n, m, sd in zip(names, mean, std, strict=True)
        ]
    (art / "manifest.json").write_text(json.dumps(manifest))
    w["taste"] = taste
    return {**w, "art": art, "rows": (u, i, target)}


def _rank_quality(
    world: dict, user_emb: np.ndarray, item_emb: np.ndarray, k: int = 10
) -> tuple[float, float]:
    """Mean NDCG@k and hit rate@k over users: rank unseen items, relevant = held-out pairs with wr >= 1.5."""
    tr = ~world["test"]
    seen = np.zeros((N_USERS, N_ITEMS), bool)
    seen[world["users"][tr], world["items"][tr]] = True
    rel = np.zeros((N_USERS, N_ITEMS), bool)
    tu, ti = world["users"][world["test"]], world["items"][world["test"]]
    good = world["wr"][tu, ti] >= 1.5
    rel[tu[good], ti[good]] = True
    scores = user_emb.astype(np.float64) @ item_emb.astype(np.float64).T
    ndcgs, hits = [], []
    for u in range(N_USERS):
        if not rel[u].any():
            continue
        cand = np.flatnonzero(~seen[u])
        top = cand[np.lexsort((cand, -scores[u, cand]))][:k]
        g = rel[u, top]
        ideal = np.sort(rel[u, cand])[::-1][:k]
        disc = 1 / np.log2(np.arange(2, k + 2))
        ndcgs.append((g * disc[: g.size]).sum() / (ideal * disc[: ideal.size]).sum())
        hits.append(g.any())
    return float(np.mean(ndcgs)), float(np.mean(hits))


def _random_quality(world: dict) -> tuple[float, float]:
    rng = np.random.default_rng(123)
    return _rank_quality(world, rng.normal(size=(N_USERS, 32)), rng.normal(size=(N_ITEMS, 32)))


def _assert_beats_random(world: dict, user_emb, item_emb) -> None:
    nd, hit = _rank_quality(world, user_emb, item_emb)
    rnd_nd, rnd_hit = _random_quality(world)
    assert nd > rnd_nd * 1.2 and hit > rnd_hit, (nd, hit, rnd_nd, rnd_hit)


# ---------------------------------------------------------------- interactions


def test_load_interactions_matches_brute_force(world):
    data = load_interactions(world["art"], batch_rows=333)
    u, i, y = world["rows"]
    dense_sum = np.zeros((N_USERS, N_ITEMS))
    dense_cnt = np.zeros((N_USERS, N_ITEMS))
    np.add.at(dense_sum, (u, i), y.astype(np.float64))
    np.add.at(dense_cnt, (u, i), 1)
    assert data.n_rows == len(u) and data.shape == (N_USERS, N_ITEMS)
    np.testing.assert_allclose(data.matrix.toarray(), dense_sum, rtol=1e-6)
    cnt = sp.csr_matrix((data.counts, data.matrix.indices, data.matrix.indptr), data.shape).toarray()
    np.testing.assert_array_equal(cnt, dense_cnt)
    assert data.matrix.has_sorted_indices and data.counts.max() == 2
    pu, pi = data.pairs()
    np.testing.assert_array_equal(dense_cnt[pu, pi] > 0, True)


def test_loader_errors_name_the_file_and_row(tmp_path, world):
    with pytest.raises(ArtifactError, match="manifest.json"):
        read_manifest(tmp_path)
    with pytest.raises(ArtifactError, match="item_features.npy"):
        load_matrix(tmp_path, "item_features")
    (tmp_path / "manifest.json").write_text(json.dumps({"n_users": 3, "n_items": 3}))
    with pytest.raises(ArtifactError, match="train.parquet"):
        load_interactions(tmp_path)
    table = pa.table(
        {
            "user_idx": np.array([0, 1, 7], np.int32),
            "item_idx": np.array([0, 1, 2], np.int32),
            "target": np.ones(3, np.float32),
        }
    )
    pq.write_table(table, tmp_path / "train.parquet")
    with pytest.raises(ArtifactError, match=r"row 2: user_idx=7"):
        load_interactions(tmp_path)
    with pytest.raises(ArtifactError, match="missing column"):
        next(iter_pair_batches(tmp_path / "train.parquet", columns=("user_idx", "nope")))


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 5), st.floats(0, 5, width=32)), max_size=40))
@settings(max_examples=40, deadline=None)
def test_build_csr_property(rows):
    u = np.array([r[0] for r in rows], np.int32)
    i = np.array([r[1] for r in rows], np.int32)
    v = np.array([r[2] for r in rows], np.float32)
    m, counts = build_csr(u, i, v, (5, 6))
    dense = np.zeros((5, 6))
    np.add.at(dense, (u, i), v.astype(np.float64))
    np.testing.assert_allclose(m.toarray(), dense, rtol=1e-6, atol=1e-6)
    assert counts.sum() == len(rows) and m.nnz == len(set(zip(u.tolist(), i.tolist(), strict=True)))


# ---------------------------------------------------------------- popularity


def test_popularity_hand_checked():
    m, counts = build_csr(
        np.array([0, 0, 1, 1, 2]), np.array([0, 0, 0, 1, 2]), np.array([1, 3, 2, 4, 0.0]), (3, 4)
    )
    data = Interactions(m, counts, 5)
    ue, ie, _ = popularity.fit(data, popularity.PopularityOptions("views"))
    np.testing.assert_array_equal(ue, np.ones((3, 1)))
    np.testing.assert_array_equal(ie[:, 0], [3, 1, 1, 0])
    _, ie, _ = popularity.fit(data, popularity.PopularityOptions("mean-wr", prior=2))
    gm = 10 / 5  # (1+3+2+4+0)/5
    np.testing.assert_allclose(
        ie[:, 0], [(6 + 2 * gm) / 5, (4 + 2 * gm) / 3, (0 + 2 * gm) / 3, gm], rtol=1e-6
    )
    with pytest.raises(UsageError, match="--variant"):
        popularity.PopularityOptions("likes")


@pytest.mark.parametrize("variant", ["views", "mean-wr"])
def test_popularity_beats_random(world, variant):
    ue, ie, info = popularity.fit(load_interactions(world["art"]), popularity.PopularityOptions(variant))
    assert info["n_rows"] == len(world["rows"][0])
    _assert_beats_random(world, ue, ie)


# ---------------------------------------------------------------- tag-cosine


@given(st.integers(0, 10_000))
@settings(max_examples=20, deadline=None)
def test_tag_cosine_dot_is_cosine_of_weighted_profile(seed):
    rng = np.random.default_rng(seed)
    nu, ni, nf = 4, 7, 3
    m, counts = build_csr(rng.integers(0, nu, 15), rng.integers(0, ni, 15), rng.random(15) * 5, (nu, ni))
    feats = rng.normal(size=(ni, nf)).astype(np.float32)
    ue, ie, _ = tag_cosine.fit(
        Interactions(m, counts, 15), feats, ["a", "b", "c"], tag_cosine.TagCosineOptions("all")
    )
    w = sp.csr_matrix((m.data / counts, m.indices, m.indptr), m.shape).toarray()
    for u in range(nu):
        if w[u].sum() == 0:
            assert not ue[u].any()
            continue
        prof = (w[u] @ feats) / w[u].sum()
        cos = feats @ prof / (np.linalg.norm(feats, axis=1) * np.linalg.norm(prof))
        np.testing.assert_allclose(ie @ ue[u], cos, atol=1e-5)


def test_load_features_unscales_tags_and_pairs_taste(world):
    fs = load_features(world["art"])
    np.testing.assert_allclose(fs.item_tags, world["tags"], atol=1e-6)
    np.testing.assert_allclose(fs.user_taste, world["taste"], rtol=1e-5)
    taste = linear.user_tag_taste(load_interactions(world["art"]), fs.item_tags, prior=5.0)
    np.testing.assert_allclose(taste, world["taste"], rtol=1e-6)
    with pytest.raises(ArtifactError, match="no item feature named"):
        load_features(world["art"], tag_prefix="nope_")


def test_tag_cosine_beats_random_and_tags_beat_all(world):
    data = load_interactions(world["art"])
    fs = load_features(world["art"])
    feats, names = fs.item_features, fs.item_feature_names
    ue, ie, info = tag_cosine.fit(data, feats, names)
    assert info["feature_names"] == [n for n in names if n.startswith(("tag_", "cat1="))]
    _assert_beats_random(world, ue, ie)
    # with numeric columns that carry no taste (like_rate replaced by noise), "all" only dilutes the cosine
    noisy = feats.copy()
    noisy[:, names.index("like_rate")] = np.random.default_rng(5).normal(size=N_ITEMS)
    ue_all, ie_all, _ = tag_cosine.fit(data, noisy, names, tag_cosine.TagCosineOptions("all"))
    assert _rank_quality(world, ue, ie)[0] > _rank_quality(world, ue_all, ie_all)[0]
    with pytest.raises(ArtifactError, match="no column"):
        tag_cosine.fit(data, feats, [f"f{j}" for j in range(len(names))])


# ---------------------------------------------------------------- linear


def _linear_inputs(world: dict):
    fs = load_features(world["art"])
    return fs.user_features, fs.item_features, fs.item_tags, fs.user_taste


@pytest.mark.parametrize("ridge", [0.0, 3.0])
def test_linear_matches_numpy_least_squares(world, ridge):
    uf, feats, tags, taste = _linear_inputs(world)
    feats = feats[:, 9:]  # numeric columns only: the z-scored one-hots sum to a multiple of the intercept
    u, i, y = world["rows"]
    x = linear.design_rows(u, i, uf, feats, tags, taste)
    pen = np.sqrt(ridge) * np.eye(x.shape[1])[1:]  # ridge as extra rows; intercept unpenalised
    w = np.linalg.lstsq(np.vstack([x, pen]), np.r_[y, np.zeros(len(pen))], rcond=None)[0]
    opts = linear.LinearOptions(ridge=ridge, chunk_rows=128)
    batches = [(u[s : s + 500], i[s : s + 500], y[s : s + 500]) for s in range(0, len(u), 500)]
    streamed = linear.fit_streamed(batches, uf, feats, tags, taste, opts)
    grouped = linear.fit(load_interactions(world["art"]), uf, feats, tags, taste, opts)
    for ue, ie, info in (streamed, grouped):
        np.testing.assert_allclose(info["weights"], w, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(linear.predict(ue, ie, u, i), x @ w, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(info["train_rmse"], np.sqrt(np.mean((x @ w - y) ** 2)), rtol=1e-5)


@given(st.integers(0, 10_000))
@settings(max_examples=25, deadline=None)
def test_grouped_normal_equations_equal_streamed(seed):
    rng = np.random.default_rng(seed)
    nu, ni, t, n = 6, 9, 4, 40
    u, i = rng.integers(0, nu, n), rng.integers(0, ni, n)  # repeats included
    y = (rng.integers(0, 41, n) / 8).astype(np.float32)  # eighths: the float32 CSR sums are exact
    m, counts = build_csr(u, i, y, (nu, ni))
    data = Interactions(m, counts, n, float(np.sum(y.astype(np.float64) ** 2)))
    uf, itf = rng.normal(size=(nu, 3)), rng.normal(size=(ni, 2))
    tags = (rng.random((ni, t)) < 0.4) * rng.uniform(0.5, 2, (ni, t))  # co-occurring, non-binary
    taste = rng.normal(size=(nu, t))
    ref = linear.normal_equations_streamed([(u, i, y)], uf, itf, tags, taste, chunk_rows=7)
    got = linear.normal_equations_grouped(data, uf, itf, tags, taste)
    for r, g in zip(ref, got, strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-9, atol=1e-9)


def test_linear_ranking_and_singular_system(world):
    uf, feats, tags, taste = _linear_inputs(world)
    ue, ie, info = linear.fit(load_interactions(world["art"]), uf, feats, tags, taste)
    assert ue.shape == (N_USERS, 2 + N_TAGS) and ie.shape == (N_ITEMS, 2 + N_TAGS)
    _assert_beats_random(world, ue, ie)
    batches = iter_pair_batches(world["art"] / "train.parquet", 300)
    _, _, info_s = linear.fit_streamed(batches, uf, feats, tags, taste)
    np.testing.assert_allclose(info_s["weights"], info["weights"], rtol=1e-6, atol=1e-9)
    with pytest.raises(UsageError, match="singular"):
        zero = np.hstack([feats, 0 * feats[:, :1]])
        linear.fit_streamed([world["rows"]], uf, zero, tags, taste, linear.LinearOptions(ridge=0.0))


# ---------------------------------------------------------------- ALS


@pytest.mark.parametrize("solver", ["cholesky", "cg"])
def test_als_objective_decreases_every_iteration(world, solver):
    data = load_interactions(world["art"])
    ue, ie, info = als.fit(data, als.ALSOptions(factors=8, iterations=8, solver=solver, alpha=4.0))
    obj = np.array(info["objective"])
    assert obj.size == 8 and np.all(np.diff(obj) < 0), obj
    assert ue.dtype == np.float32 and ue.shape == (N_USERS, 8) and ie.shape == (N_ITEMS, 8)
    _assert_beats_random(world, ue, ie)
    ue2, ie2, _ = als.fit(data, als.ALSOptions(factors=8, iterations=8, solver=solver, alpha=4.0))
    assert ue.tobytes() == ue2.tobytes() and ie.tobytes() == ie2.tobytes()


def test_als_kernel_matches_numpy_and_objective_brute_force(world):
    data = load_interactions(world["art"])
    opts = als.ALSOptions(factors=5, reg=0.3, confidence="log", alpha=3.0, solver="cholesky", dtype="float64")
    cu, ci = als.confidence_matrices(data, opts)
    x, y = als.init_factors(N_USERS, N_ITEMS, opts)
    y += np.random.default_rng(0).normal(0, 0.3, y.shape)
    x_ref = x.copy()
    als.half_step(cu, y, x, opts)
    als.half_step_numpy(cu, y, x_ref, opts.reg)
    np.testing.assert_allclose(x, x_ref, rtol=1e-9, atol=1e-12)
    x_cg = np.zeros_like(x)
    cg30 = als.ALSOptions(factors=5, reg=0.3, cg_steps=30, dtype="float64")
    als.half_step(cu, y, x_cg, cg30)  # CG converges to the solve
    np.testing.assert_allclose(x_cg, x, atol=1e-6)
    c = cu.toarray()
    p = (c > 0).astype(float)
    c[c == 0] = 1
    brute = (c * (p - x @ y.T) ** 2).sum() + opts.reg * ((x**2).sum() + (y**2).sum())
    np.testing.assert_allclose(als.objective(cu, x, y, opts.reg), brute, rtol=1e-10)


def test_als_float32_half_steps_match_float64_and_numpy(world):
    """The float32 path solves the same equations: CG and Cholesky against float64 and the NumPy solve."""
    data = load_interactions(world["art"])
    o64 = als.ALSOptions(factors=6, reg=0.3, alpha=3.0, dtype="float64")
    o32 = als.ALSOptions(factors=6, reg=0.3, alpha=3.0, dtype="float32")
    cu64, _ = als.confidence_matrices(data, o64)
    cu32, _ = als.confidence_matrices(data, o32)
    assert cu32.data.dtype == np.float32 and cu64.data.dtype == np.float64
    x64, y64 = als.init_factors(N_USERS, N_ITEMS, o64)
    y64 += np.random.default_rng(1).normal(0, 0.3, y64.shape)
    x32, y32 = x64.astype(np.float32), y64.astype(np.float32)
    for steps in (1, 3):
        a, b = x64.copy(), x32.copy()
        als.half_step(cu64, y64, a, als.ALSOptions(factors=6, reg=0.3, cg_steps=steps, dtype="float64"))
        als.half_step(cu32, y32, b, als.ALSOptions(factors=6, reg=0.3, cg_steps=steps, dtype="float32"))
        assert b.dtype == np.float32
        np.testing.assert_allclose(b, a, rtol=2e-3, atol=2e-4)
    ref = x64.copy()
    als.half_step_numpy(cu64, y64, ref, 0.3)
    exact32 = x32.copy()
    als.half_step(cu32, y32, exact32, als.ALSOptions(factors=6, reg=0.3, solver="cholesky", dtype="float32"))
    np.testing.assert_allclose(exact32, ref, rtol=1e-4, atol=1e-5)
    with pytest.raises(InternalError, match="dtypes differ"):
        als.half_step(cu64, y32, x32.copy(), o32)


@pytest.mark.parametrize(("dtype", "steps", "d"), [("float32", 3, 8), ("float64", 3, 13), ("float32", 0, 8)])
def test_als_half_step_gives_the_same_bits_on_any_worker(dtype, steps, d):
    """Every row's result is the same whichever worker solves it: one worker and two, run repeatedly (each
    worker allocates its own scratch, so a result depending on the scratch's addresses shows here)."""
    from kuaicore.kernels.als import als_half_step

    rng = np.random.default_rng(3)
    m = sp.random(300, 200, density=0.1, format="csr", random_state=1, dtype=np.float64)
    m.data = 1 + 4 * m.data
    m.sort_indices()
    conf = m.data.astype(dtype)
    y = (rng.normal(size=(200, d)) * 0.1).astype(dtype)
    x0 = (rng.normal(size=(300, d)) * 0.1).astype(dtype)
    gram = np.ascontiguousarray((y.T @ y + 0.1 * np.eye(d)).astype(dtype))
    results = []
    for workers in (1, 2, 1, 2, 2, 2):
        x = x0.copy()
        als_half_step(m.indptr, m.indices, conf, y, gram, x, steps, 4, workers)
        results.append(x.tobytes())
    assert not np.array_equal(np.frombuffer(results[0], dtype), x0.ravel())
    assert len(set(results)) == 1


def test_als_float32_fit_keeps_the_float64_loss(world):
    """Whole fits from the same seed: float32's loss within 0.1% of float64's at every iteration."""
    data = load_interactions(world["art"])
    kw = {"factors": 8, "iterations": 6, "alpha": 4.0}
    _, _, i32 = als.fit(data, als.ALSOptions(**kw, dtype="float32"))
    _, _, i64 = als.fit(data, als.ALSOptions(**kw, dtype="float64"))
    assert i32["dtype"] == "float32" and i64["dtype"] == "float64"
    np.testing.assert_allclose(i32["objective"], i64["objective"], rtol=1e-3)


def test_als_options_are_checked():
    with pytest.raises(UsageError, match="--solver"):
        als.ALSOptions(solver="sgd")
    with pytest.raises(UsageError, match="--factors"):
        als.ALSOptions(factors=0)
    with pytest.raises(UsageError, match="--dtype"):
        als.ALSOptions(dtype="float16")
    np.testing.assert_allclose(als.confidence(np.array([0.0, 1.0]), als.ALSOptions(alpha=2.0)), [1.0, 3.0])


@given(
    st.integers(0, 10_000),
    st.integers(1, 70),  # users: below and above the kernel's 64 fixed blocks
    st.integers(1, 12),
    st.integers(1, 5),
    st.floats(0.0, 1.0),
)
@settings(max_examples=30, deadline=None)
def test_tag_pair_block_is_the_brute_force_sum(seed, n_users, n_items, t, density):
    from kuaicore.kernels.tag_pairs import tag_pair_block

    rng = np.random.default_rng(seed)
    c = sp.random(n_users, n_items, density=density, format="csr", random_state=rng)
    c.data = rng.integers(1, 4, c.nnz).astype(np.float64)  # row counts
    g = (rng.random((n_items, t)) < 0.5) * rng.uniform(0.5, 2, (n_items, t))
    h = rng.normal(size=(n_users, t))
    tags = sp.csr_matrix(g)
    tags.sort_indices()
    got = tag_pair_block(c.indptr, c.indices, c.data, tags.indptr, tags.indices, tags.data, h)
    want = np.zeros((t, t))
    for u, i in zip(*c.nonzero(), strict=True):
        z = h[u] * g[i]
        want += c[u, i] * np.outer(z, z)
    np.testing.assert_allclose(got, np.triu(want), rtol=1e-12, atol=1e-12)
