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

from kuaicore.kernels._arrays import KernelInputError, as_csr, as_matrix
from kuaicore.kernels._select import heap_drain, heap_offer

METRICS = ("precision", "recall", "ndcg", "ndcg_graded", "map", "mrr", "hit_rate")
_P, _R, _NDCG, _NDCG_G, _MAP, _MRR, _HIT = range(7)


_USER_BLOCK = 16  # users per parallel task: amortises the per-task item-indexed buffers


@njit(cache=True, inline="always")
def _find_sorted(items, item):
    """Position of ``item`` in the ascending ``items``, or -1 (binary search)."""
    lo, hi = 0, items.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if items[mid] < item:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < items.shape[0] and items[lo] == item else -1


@njit(cache=True)
def _user_metrics(
    ranked_row, ks, u, rel_of, n_rel, g_items, g_values, g_sorted, gain_of, gain, ideal, discount, out
):
    """All metrics at all ``ks`` (ascending) for user row ``u`` into ``out`` [n_metrics, len(ks)].

    ``rel_of[item] == u`` marks the user's relevant items (``n_rel`` distinct ones). The user's gains are
    ``g_items``/``g_values``, looked up by binary search when ``g_sorted`` (items ascending), else through
    ``gain_of[item] == u`` -> ``gain[item]``. ``ideal``: its largest gains, descending, padded with -inf;
    ``discount[i] = 1 / log2(i + 2)``.
    """
    width = ranked_row.shape[0]
    hits = 0
    first_hit = 0
    ap_sum = 0.0
    dcg = 0.0
    dcg_graded = 0.0
    idcg = 0.0
    idcg_graded = 0.0
    j = 0
    for i in range(ks[-1]):
        item = ranked_row[i] if i < width else -1
        if i < n_rel:
            idcg += discount[i]
        if ideal[i] > 0.0:
            idcg_graded += ideal[i] * discount[i]
        if item >= 0:
            if rel_of[item] == u:
                hits += 1
                ap_sum += hits / (i + 1.0)
                dcg += discount[i]
                if first_hit == 0:
                    first_hit = i + 1
            if g_sorted:
                pos = _find_sorted(g_items, item)
                if pos >= 0:
                    dcg_graded += g_values[pos] * discount[i]
            elif gain_of[item] == u:
                dcg_graded += gain[item] * discount[i]
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
    ranked,
    ks,
    rel_indptr,
    rel_items,
    gain_indptr,
    gain_items,
    gain_values,
    discount,
    n_items,
    out,
    n_relevant,
):
    n = ranked.shape[0]
    k_max = ks[-1]
    for b in prange((n + _USER_BLOCK - 1) // _USER_BLOCK):
        # Item-indexed marks stamped with the user's row: O(1) lookups, never cleared between users.
        rel_of = np.full(n_items, -1, np.int64)
        gain_of = np.full(n_items, -1, np.int64)
        gain = np.zeros(n_items, np.float64)
        hs = np.empty(k_max, np.float64)
        hi = np.empty(k_max, np.int32)
        ideal = np.empty(k_max, np.float64)
        ideal_items = np.empty(k_max, np.int32)
        for u in range(b * _USER_BLOCK, min(n, (b + 1) * _USER_BLOCK)):
            n_rel = 0
            for p in range(rel_indptr[u], rel_indptr[u + 1]):
                item = rel_items[p]
                if rel_of[item] != u:
                    rel_of[item] = u
                    n_rel += 1
            n_relevant[u] = n_rel
            size = 0
            g0, g1 = gain_indptr[u], gain_indptr[u + 1]
            g_sorted = True
            for p in range(g0, g1):
                item = gain_items[p]
                if p > g0 and item < gain_items[p - 1]:
                    g_sorted = False
                if size < k_max or gain_values[p] > hs[0]:  # the heap keeps the K largest gains
                    size = heap_offer(hs, hi, size, k_max, gain_values[p], item)
            if not g_sorted:  # rows in item order (the usual case) need no scatter
                for p in range(g0, g1):
                    gain_of[gain_items[p]] = u
                    gain[gain_items[p]] = gain_values[p]
            heap_drain(hs, hi, size, ideal_items, ideal)
            gains = (gain_items[g0:g1], gain_values[g0:g1], g_sorted, gain_of, gain)
            _user_metrics(ranked[u], ks, u, rel_of, n_rel, *gains, ideal, discount, out[:, u, :])


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
            user (zero gains allowed; each item once per row; rows in item order are fastest). Omitted:
            "ndcg_graded" is left out of the result.

    Returns:
        ``{metric: float64 [n, len(ks)]}`` for each name in ``METRICS`` (column j is ``ks[j]``), plus
        ``"n_relevant"``: int64 [n], |R| per user (0 marks a user the caller should skip). See the module
        docstring for the exact formulas and the values given to users without relevant items.
    """
    ranked = as_matrix(ranked, "ranked", np.int32)
    n = ranked.shape[0]
    ks_arr = np.asarray(ks, dtype=np.int64).reshape(-1)
    if ks_arr.size == 0 or ks_arr.min() < 1:
        raise KernelInputError(f"ks must be positive integers, got {ks!r}")
    ks_sorted, ks_back = np.unique(ks_arr, return_inverse=True)
    rel_indptr, rel_items = as_csr(rel_indptr, rel_items, n, None, "rel")
    graded = gain_indptr is not None
    if graded:
        gain_indptr, gain_items = as_csr(gain_indptr, gain_items, n, None, "gain")
        gain_values = np.ascontiguousarray(gain_values)
        if gain_values.dtype not in (np.float32, np.float64):
            gain_values = gain_values.astype(np.float64)
        if gain_values.shape != gain_items.shape:
            raise KernelInputError(
                f"gain_values has shape {gain_values.shape}, gain_items {gain_items.shape}"
            )
    else:
        gain_indptr = np.zeros(n + 1, dtype=np.int64)
        gain_items = np.zeros(0, dtype=np.int32)
        gain_values = np.zeros(0, dtype=np.float64)
    discount = 1.0 / np.log2(np.arange(2, int(ks_sorted[-1]) + 2, dtype=np.float64))
    n_items = 1 + max(
        int(ranked.max(initial=-1)), int(rel_items.max(initial=-1)), int(gain_items.max(initial=-1))
    )
    if min(int(rel_items.min(initial=0)), int(gain_items.min(initial=0))) < 0:
        raise KernelInputError("rel_items and gain_items must be item indices >= 0")
    out = np.zeros((len(METRICS), n, ks_sorted.shape[0]), dtype=np.float64)
    n_relevant = np.zeros(n, dtype=np.int64)
    gains = (gain_indptr, gain_items, gain_values)
    _ranking_metrics_kernel(
        ranked, ks_sorted, rel_indptr, rel_items, *gains, discount, n_items, out, n_relevant
    )
    result = {name: out[m][:, ks_back] for m, name in enumerate(METRICS) if graded or name != "ndcg_graded"}
    result["n_relevant"] = n_relevant
    return result
