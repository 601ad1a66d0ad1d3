"""Top-K kernels: hand-checked cases and hypothesis property tests against a brute-force NumPy ranking."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kuaicore.kernels._arrays import KernelInputError
from kuaicore.kernels._select import buffer_compact
from kuaicore.kernels.topk import rank_candidates, rank_scored_candidates, topk_scores

PROPS = settings(max_examples=60, deadline=None)


def brute_top(scores: np.ndarray, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference: drop NaN/-inf, sort by (score desc, item asc), keep k, pad with -1 / -inf."""
    keep = scores > -np.inf
    scores, items = scores[keep], items[keep]
    order = np.lexsort((items, -scores))[:k]
    out_items = np.full(k, -1, dtype=np.int64)
    out_scores = np.full(k, -np.inf)
    out_items[: order.size] = items[order]
    out_scores[: order.size] = scores[order]
    return out_items, out_scores


def csr_from_masks(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    indptr = np.concatenate([[0], np.cumsum(masks.sum(axis=1))]).astype(np.int64)
    return indptr, np.nonzero(masks)[1].astype(np.int32)


def int_embeddings(rng: np.random.Generator, n: int, d: int, spread: int) -> np.ndarray:
    """Small integer entries: every dot product is exact in float32, so ties are real ties."""
    return rng.integers(-spread, spread + 1, size=(n, d)).astype(np.float32)


# --- hand-checked -------------------------------------------------------------------------------------------


def test_topk_hand_checked_ties_exclusion_and_padding():
    user_emb = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    item_emb = np.array([[2.0, 1.0], [3.0, 0.0], [2.0, 5.0], [3.0, 3.0]], dtype=np.float32)
    # user 0 scores 2, 3, 2, 3 -> ties broken by ascending item: 1, 3, 0, 2; user 1 scores 1, 0, 5, 3.
    items, scores = topk_scores(user_emb, item_emb, 3)
    assert items.tolist() == [[1, 3, 0], [2, 3, 0]]
    assert scores.tolist() == [[3.0, 3.0, 2.0], [5.0, 3.0, 1.0]]
    # exclude item 1 for user 0 and items 2, 3, 0 for user 1; k larger than what is left pads with -1 / -inf
    items, scores = topk_scores(user_emb, item_emb, 3, np.array([0, 1, 4]), np.array([1, 2, 3, 0]))
    assert items.tolist() == [[3, 0, 2], [1, -1, -1]]
    assert scores[1].tolist() == [0.0, -np.inf, -np.inf]
    # a subset of users, in any order, keeps the exclusion CSR indexed by user
    items, _ = topk_scores(user_emb, item_emb, 2, np.array([0, 1, 4]), np.array([1, 2, 3, 0]), users=[1, 0])
    assert items.tolist() == [[1, -1], [3, 0]]


def test_topk_more_items_than_one_chunk_and_k_beyond_catalog():
    rng = np.random.default_rng(3)
    user_emb = int_embeddings(rng, 5, 4, 3)
    item_emb = int_embeddings(rng, 2500, 4, 3)  # several 1024-item chunks, many ties
    k = 2600
    items, scores = topk_scores(user_emb, item_emb, k)
    for u in range(5):
        ref_items, ref_scores = brute_top(item_emb.astype(np.float64) @ user_emb[u], np.arange(2500), k)
        assert np.array_equal(items[u], ref_items)
        assert np.array_equal(scores[u], ref_scores)


def test_rank_candidates_hand_checked():
    user_emb = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    item_emb = np.array([[2.0, 1.0], [3.0, 0.0], [2.0, 5.0], [3.0, 3.0]], dtype=np.float32)
    # row 0 = user 1 with candidates 3, 0, 2 (scores 3, 1, 5); row 1 = user 0 with candidates 3, 1 (tie at 3)
    items, scores = rank_candidates(user_emb, item_emb, [1, 0], [0, 3, 5], [3, 0, 2, 3, 1], k=4)
    assert items.tolist() == [[2, 3, 0, -1], [1, 3, -1, -1]]
    assert scores[0, :3].tolist() == [5.0, 3.0, 1.0]


def test_rank_scored_candidates_hand_checked():
    indptr = [0, 4, 4, 6]
    cand_items = [7, 2, 9, 5, 1, 0]
    cand_scores = np.array([0.5, np.nan, 0.5, 0.9, -np.inf, 1.0])
    items, scores = rank_scored_candidates(indptr, cand_items, cand_scores, k=3)
    assert items.tolist() == [[5, 7, 9], [-1, -1, -1], [0, -1, -1]]
    assert scores.dtype == np.float64
    assert scores[0].tolist() == [0.9, 0.5, 0.5]
    # integer scores (counts) rank exactly, as float64, even beyond float32's 2**24
    items, scores = rank_scored_candidates([0, 3], [0, 1, 2], np.array([2**24 + 1, 2**24, 2**24 + 1]), k=3)
    assert items.tolist() == [[0, 2, 1]] and scores.dtype == np.float64


def test_topk_and_rank_candidates_give_bitwise_equal_scores():
    rng = np.random.default_rng(7)
    user_emb = rng.standard_normal((6, 32), dtype=np.float32)
    item_emb = rng.standard_normal((1500, 32), dtype=np.float32)
    items, scores = topk_scores(user_emb, item_emb, 50)
    n = item_emb.shape[0]
    indptr = np.arange(0, 6 * n + 1, n)
    cand = np.tile(np.arange(n, dtype=np.int32)[::-1], 6)  # reversed: the heap breaks ties
    items2, scores2 = rank_candidates(user_emb, item_emb, np.arange(6), indptr, cand, 50)
    assert np.array_equal(items, items2)
    assert np.array_equal(scores, scores2)
    assert np.allclose(scores, np.take_along_axis(user_emb @ item_emb.T, items, axis=1), atol=1e-4)


def test_topk_is_deterministic_on_any_thread_count_and_tile():
    rng = np.random.default_rng(11)
    user_emb = rng.standard_normal((140, 8), dtype=np.float32)
    item_emb = rng.standard_normal((700, 8), dtype=np.float32)
    excluded = rng.random((140, 700)) < 0.3
    indptr, excl = csr_from_masks(excluded)
    first = topk_scores(user_emb, item_emb, 10, indptr, excl)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = topk_scores(user_emb, item_emb, 10, indptr, excl)
    finally:
        numba.set_num_threads(before)
    # tiny work units: many more units than threads, taken dynamically in whatever order the threads run
    tiny = topk_scores(user_emb, item_emb, 10, indptr, excl, tile=(3, 64))
    for other in (topk_scores(user_emb, item_emb, 10, indptr, excl), single, tiny):
        assert first[0].tobytes() == other[0].tobytes() and first[1].tobytes() == other[1].tobytes()


def test_buffer_compact_keeps_the_k_best_pairs():
    rng = np.random.default_rng(5)
    for size, k, spread in ((50, 7, 3), (200, 100, 0), (65, 64, 1000), (9, 1, 2)):
        scores = rng.integers(-spread, spread + 1, size).astype(np.float32)
        items = rng.permutation(1000)[:size].astype(np.int32)
        order = np.lexsort((items, -scores))
        bs, bi = scores.copy(), items.copy()
        kth = buffer_compact(bs, bi, size, k)
        assert kth == scores[order[k - 1]] and bi[k - 1] == items[order[k - 1]]
        assert set(bi[:k].tolist()) == set(items[order[:k]].tolist())
        assert sorted(bi.tolist()) == sorted(items.tolist())  # a permutation: nothing lost or duplicated


def test_bad_inputs_raise_our_errors():
    emb = np.zeros((2, 3), dtype=np.float32)
    with pytest.raises(KernelInputError, match="k must be"):
        topk_scores(emb, emb, 0)
    with pytest.raises(KernelInputError, match="embedding sizes"):
        topk_scores(emb, np.zeros((2, 4)), 1)
    with pytest.raises(KernelInputError, match="exclude_items"):
        topk_scores(emb, emb, 1, [0, 1, 1], [5])
    with pytest.raises(KernelInputError, match="exclude_indptr"):
        topk_scores(emb, emb, 1, [0, 1], [0])
    with pytest.raises(KernelInputError, match="users"):
        topk_scores(emb, emb, 1, users=[2])
    with pytest.raises(KernelInputError, match="cand_scores"):
        rank_scored_candidates([0, 2], [0, 1], [0.5], 1)


# --- properties vs brute force ------------------------------------------------------------------------------

sizes = st.tuples(
    st.integers(1, 8),  # users
    st.integers(1, 40),  # items
    st.integers(1, 5),  # dim
    st.integers(1, 50),  # k (often beyond the catalog)
    st.integers(0, 2),  # embedding spread: 0 = every score ties
    st.floats(0.0, 1.0),  # exclusion density
    st.integers(0, 2**32 - 1),  # seed
)

# wider for the full-catalog kernel: several tiles of users, and catalogs past the candidate buffer
# (max(4k, k + 64)) so that it is compacted
topk_sizes = st.tuples(
    st.integers(1, 70),
    st.integers(1, 300),
    st.integers(1, 5),
    st.integers(1, 50),
    st.integers(0, 2),
    st.floats(0.0, 1.0),
    st.integers(0, 2**32 - 1),
)


@PROPS
@given(topk_sizes, st.booleans(), st.tuples(st.integers(1, 63), st.integers(1, 17)))
def test_topk_scores_matches_brute_force(params, subset, tile):
    """Small tiles (users x items) cover partial tiles, many units per thread and buffer compaction."""
    n_users, n_items, d, k, spread, density, seed = params
    rng = np.random.default_rng(seed)
    user_emb = int_embeddings(rng, n_users, d, spread)
    item_emb = int_embeddings(rng, n_items, d, spread)
    excluded = rng.random((n_users, n_items)) < density
    indptr, excl = csr_from_masks(excluded)
    users = rng.integers(0, n_users, size=rng.integers(1, 2 * n_users + 1)) if subset else np.arange(n_users)
    items, scores = topk_scores(
        user_emb, item_emb, k, indptr, excl, users=users if subset else None, tile=tile
    )
    assert items.shape == (users.size, k) and items.dtype == np.int32 and scores.dtype == np.float32
    all_scores = user_emb.astype(np.float64) @ item_emb.T.astype(np.float64)
    for r, u in enumerate(users):
        allowed = np.nonzero(~excluded[u])[0]
        ref_items, ref_scores = brute_top(all_scores[u, allowed], allowed, k)
        assert np.array_equal(items[r], ref_items)
        assert np.array_equal(scores[r], ref_scores)


@PROPS
@given(sizes)
def test_rank_candidates_matches_brute_force(params):
    n_users, n_items, d, k, spread, density, seed = params
    rng = np.random.default_rng(seed)
    user_emb = int_embeddings(rng, n_users, d, spread)
    item_emb = int_embeddings(rng, n_items, d, spread)
    n_rows = int(rng.integers(0, 6))
    users = rng.integers(0, n_users, size=n_rows)
    cands = [rng.permutation(n_items)[: rng.integers(0, n_items + 1)] for _ in range(n_rows)]
    indptr = np.concatenate([[0], np.cumsum([c.size for c in cands])])
    flat = np.concatenate(cands + [np.zeros(0, dtype=np.int64)])
    items, scores = rank_candidates(user_emb, item_emb, users, indptr, flat, k)
    assert items.shape == (n_rows, k)
    for r, (u, cand) in enumerate(zip(users, cands, strict=True)):
        ref_items, ref_scores = brute_top(item_emb[cand].astype(np.float64) @ user_emb[u], cand, k)
        assert np.array_equal(items[r], ref_items)
        assert np.array_equal(scores[r], ref_scores)


@PROPS
@given(st.integers(0, 6), st.integers(1, 30), st.integers(1, 40), st.booleans(), st.integers(0, 2**32 - 1))
def test_rank_scored_candidates_matches_brute_force(n_rows, n_items, k, as_f32, seed):
    rng = np.random.default_rng(seed)
    cands = [rng.permutation(n_items)[: rng.integers(0, n_items + 1)] for _ in range(n_rows)]
    indptr = np.concatenate([[0], np.cumsum([c.size for c in cands])])
    flat = np.concatenate(cands + [np.zeros(0, dtype=np.int64)])
    pool = np.array([-np.inf, np.nan, np.inf, -1.0, 0.0, 0.25, 2.0])  # few values: many ties, odd values
    cand_scores = rng.choice(pool, size=flat.size)
    if as_f32:
        cand_scores = cand_scores.astype(np.float32)
    items, scores = rank_scored_candidates(indptr, flat, cand_scores, k)
    assert scores.dtype == cand_scores.dtype
    for r in range(n_rows):
        sl = slice(indptr[r], indptr[r + 1])
        ref_items, ref_scores = brute_top(cand_scores[sl].astype(np.float64), flat[sl], k)
        assert np.array_equal(items[r], ref_items)
        assert np.array_equal(scores[r], ref_scores)
