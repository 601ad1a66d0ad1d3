"""Ranking-metric kernels: every metric at every K in one pass over each user's ranked list (Numba, prange).

Definitions (DESIGN.md section 4), with R the user's relevant set, L its top-K list, rel_i = [L_i in R]:

    precision@K = |L ∩ R| / K                      (divides by K even when the list is shorter than K)
    recall@K    = |L ∩ R| / |R|
    hit_rate@K  = [|L ∩ R| > 0]
    mrr@K       = 1 / rank of the first hit        (0 if no hit in the top K)
    map@K       = (1 / min(|R|, K)) Σ_i rel_i · precision@i
    ndcg@K      = DCG@K / IDCG@K,  DCG@K = Σ_{i<=K} g_i / log2(i + 1)
                  binary ("ndcg"):        g_i = rel_i, IDCG from min(|R|, K) hits at the top
                  graded ("ndcg_graded"): g_i = the gain of L_i from the user's gain list (0 if absent),
                                          IDCG from the K largest gains of that user's gain list

Users with no relevant item (|R| = 0) do not crash anything: their recall, map, ndcg, mrr, hit_rate and
precision are all 0, and graded ndcg is 0 whenever IDCG is 0. The caller skips (and counts) such users before
averaging; ``n_relevant`` in the result says which they are. Ranked rows are padded with -1 (never relevant);
K may exceed the row width (the missing tail counts as misses). Items within one ranked row must be distinct.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from kuaicore.errors import InternalError
from kuaicore.kernels._arrays import as_csr, as_matrix

METRICS = ("precision", "recall", "ndcg", "ndcg_graded", "map", "mrr", "hit_rate")
_P, _R, _NDCG, _NDCG_G, _MAP, _MRR, _HIT = range(7)


@njit(cache=True, inline="always")
def _position(sorted_items, item):
    """Index of ``item`` in an ascending array, or -1."""
    pos = np.searchsorted(sorted_items, item)
    if pos < sorted_items.shape[0] and sorted_items[pos] == item:
        return pos
    return -1


@njit(cache=True)
def _is_sorted(a):
    i = 1
    while i < a.shape[0] and a[i] >= a[i - 1]:
        i += 1
    return i >= a.shape[0]


@njit(cache=True)
def _largest_descending(values, k):
    """The ``k`` largest of ``values`` (all of them if fewer), in descending order."""
    if values.shape[0] > k:
        values = -np.partition(-values, k - 1)[:k]
    return np.sort(values)[::-1]


@njit(cache=True)
def _user_metrics(ranked_row, ks, rel, gain_items, gain_values, discount, out):
    """All metrics at all ``ks`` (ascending) for one user into ``out`` [n_metrics, len(ks)].

    ``rel``: the user's relevant items (any order, duplicates allowed); ``gain_items``/``gain_values``: the
    user's graded gains (any order; empty: graded ndcg is 0); ``discount[i] = 1 / log2(i + 2)``.
    """
    rel_sorted = np.unique(rel)
    n_rel = rel_sorted.shape[0]
    k_max = ks[-1]
    if _is_sorted(gain_items):  # the usual case: CSR rows built in item order need no copy
        g_items = gain_items
        g_values = gain_values
    else:
        order = np.argsort(gain_items, kind="mergesort")
        g_items = gain_items[order]
        g_values = gain_values[order]
    ideal = _largest_descending(gain_values, k_max)
    width = ranked_row.shape[0]
    hits = 0
    first_hit = 0
    ap_sum = 0.0
    dcg = 0.0
    dcg_graded = 0.0
    idcg = 0.0
    idcg_graded = 0.0
    j = 0
    for i in range(k_max):
        item = ranked_row[i] if i < width else -1
        if i < n_rel:
            idcg += discount[i]
        if i < ideal.shape[0] and ideal[i] > 0.0:
            idcg_graded += ideal[i] * discount[i]
        if item >= 0:
            if _position(rel_sorted, item) >= 0:
                hits += 1
                ap_sum += hits / (i + 1.0)
                dcg += discount[i]
                if first_hit == 0:
                    first_hit = i + 1
            pos = _position(g_items, item)
            if pos >= 0:
                dcg_graded += g_values[pos] * discount[i]
        while j < ks.shape[0] and ks[j] == i + 1:
            k = ks[j]
            out[_P, j] = hits / k
            out[_HIT, j] = 1.0 if hits > 0 else 0.0
            out[_MRR, j] = 1.0 / first_hit if first_hit > 0 else 0.0
            if n_rel > 0:
                out[_R, j] = hits / n_rel
                out[_MAP, j] = ap_sum / min(n_rel, k)
                out[_NDCG, j] = dcg / idcg
            else:
                out[_R, j] = 0.0
                out[_MAP, j] = 0.0
                out[_NDCG, j] = 0.0
            out[_NDCG_G, j] = dcg_graded / idcg_graded if idcg_graded > 0.0 else 0.0
            j += 1


@njit(cache=True, parallel=True)
def _ranking_metrics_kernel(
    ranked, ks, rel_indptr, rel_items, gain_indptr, gain_items, gain_values, discount, out
):
    for u in prange(ranked.shape[0]):
        _user_metrics(
            ranked[u],
            ks,
            rel_items[rel_indptr[u] : rel_indptr[u + 1]],
            gain_items[gain_indptr[u] : gain_indptr[u + 1]],
            gain_values[gain_indptr[u] : gain_indptr[u + 1]],
            discount,
            out[:, u, :],
        )


def ranking_metrics(
    ranked: np.ndarray,
    ks: np.ndarray | list[int],
    rel_indptr: np.ndarray,
    rel_items: np.ndarray,
    gain_indptr: np.ndarray | None = None,
    gain_items: np.ndarray | None = None,
    gain_values: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per-user precision, recall, ndcg (binary and graded), map, mrr and hit_rate at every K of ``ks``.

    Args:
        ranked: int32 [n, width] each user's ranked items, best first, padded with -1.
        ks: the cut-offs (positive integers, any order; K > width allowed).
        rel_indptr, rel_items: CSR over the n rows (int64 [n+1], int32 [nnz]): each user's relevant items.
        gain_indptr, gain_items, gain_values: optional CSR of graded gains (float, >= 0) over each
            user's whole candidate list, e.g. min(watch_ratio, cap) of every small-matrix video of the
            user (zero gains allowed). Omitted: "ndcg_graded" is left out of the result.

    Returns:
        ``{metric: float64 [n, len(ks)]}`` for each name in ``METRICS`` (column j is ``ks[j]``), plus
        ``"n_relevant"``: int64 [n], |R| per user (0 marks a user the caller should skip). See the module
        docstring for the exact formulas and the values given to users without relevant items.
    """
    ranked = as_matrix(ranked, "ranked", np.int32)
    n = ranked.shape[0]
    ks_arr = np.asarray(ks, dtype=np.int64).reshape(-1)
    if ks_arr.size == 0 or ks_arr.min() < 1:
        raise InternalError(f"ks must be positive integers, got {ks!r}")
    ks_sorted, ks_back = np.unique(ks_arr, return_inverse=True)
    rel_indptr, rel_items = as_csr(rel_indptr, rel_items, n, None, "rel")
    graded = gain_indptr is not None
    if graded:
        gain_indptr, gain_items = as_csr(gain_indptr, gain_items, n, None, "gain")
        gain_values = np.ascontiguousarray(gain_values, dtype=np.float64)
        if gain_values.shape != gain_items.shape:
            raise InternalError(f"gain_values has shape {gain_values.shape}, gain_items {gain_items.shape}")
    else:
        gain_indptr = np.zeros(n + 1, dtype=np.int64)
        gain_items = np.zeros(0, dtype=np.int32)
        gain_values = np.zeros(0, dtype=np.float64)
    discount = 1.0 / np.log2(np.arange(2, int(ks_sorted[-1]) + 2, dtype=np.float64))
    out = np.zeros((len(METRICS), n, ks_sorted.shape[0]), dtype=np.float64)
    _ranking_metrics_kernel(
        ranked, ks_sorted, rel_indptr, rel_items, gain_indptr, gain_items, gain_values, discount, out
    )
    result = {name: out[m][:, ks_back] for m, name in enumerate(METRICS) if graded or name != "ndcg_graded"}
    result["n_relevant"] = _count_distinct_per_row(rel_indptr, rel_items)
    return result


@njit(cache=True, parallel=True)
def _count_distinct_per_row(indptr, items):
    counts = np.zeros(indptr.shape[0] - 1, dtype=np.int64)
    for u in prange(counts.shape[0]):
        counts[u] = np.unique(items[indptr[u] : indptr[u + 1]]).shape[0]
    return counts
