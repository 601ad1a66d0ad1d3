"""Top-K recommendation kernels: fused dot product + bounded selection, parallel over users (Numba).

Three entry points, one ranking rule (higher score first; equal scores by ascending item index; NaN and -inf
scores are never returned; rows with fewer than k eligible items are padded with item -1 and score -inf):

- ``topk_scores``: full catalog. Scores each user against every item in cache-sized chunks of items and keeps
  a size-k heap, so the users x items score matrix is never built (memory: O(threads x (n_items + k))).
  Items in the user's ``exclude`` CSR row (e.g. seen in training) are skipped.
- ``rank_candidates``: each row ranks its own candidate list (CSR) by embedding dot product (small-matrix
  protocol).
- ``rank_scored_candidates``: the same for models that give a score per candidate instead of embeddings.

The dot product sums in float32 over the embedding dimension in order 0..d-1 in every kernel, so
``topk_scores`` and ``rank_candidates`` give bitwise-equal scores for the same (user, item).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from kuaicore.errors import InternalError
from kuaicore.kernels._arrays import as_csr, as_index, as_matrix, check_k, empty_csr
from kuaicore.kernels._select import heap_drain, heap_offer

_USER_BLOCK = 16  # users per parallel task: amortises the per-task buffers
_ITEM_CHUNK = 1024  # items scored at once: the score chunk stays in L1


@njit(cache=True, parallel=True)
def _topk_scores_kernel(user_emb, item_emb_t, users, k, exclude_indptr, exclude_items, out_items, out_scores):
    n = users.shape[0]
    d, n_items = item_emb_t.shape
    n_blocks = (n + _USER_BLOCK - 1) // _USER_BLOCK
    for b in prange(n_blocks):
        buf = np.empty(_ITEM_CHUNK, np.float32)
        excluded_for = np.full(n_items, -1, np.int64)  # row that excludes the item (no clearing needed)
        hs = np.empty(k, np.float32)
        hi = np.empty(k, np.int32)
        for r in range(b * _USER_BLOCK, min(n, (b + 1) * _USER_BLOCK)):
            u = users[r]
            for p in range(exclude_indptr[u], exclude_indptr[u + 1]):
                excluded_for[exclude_items[p]] = r
            uvec = user_emb[u]
            size = 0
            thresh = np.float32(-np.inf)
            for c0 in range(0, n_items, _ITEM_CHUNK):
                w = min(_ITEM_CHUNK, n_items - c0)
                chunk = buf[:w]
                chunk[:] = 0.0
                for f in range(d):
                    uf = uvec[f]
                    seg = item_emb_t[f, c0 : c0 + w]  # slices let LLVM vectorise this loop
                    for j in range(w):
                        chunk[j] += uf * seg[j]
                # Items arrive in ascending index order, so a score equal to the worst kept one loses the tie.
                for j in range(w):
                    s = chunk[j]
                    if s > thresh and excluded_for[c0 + j] != r:
                        size = heap_offer(hs, hi, size, k, s, c0 + j)
                        if size == k:
                            thresh = hs[0]
            heap_drain(hs, hi, size, out_items[r], out_scores[r])


def topk_scores(
    user_emb: np.ndarray,
    item_emb: np.ndarray,
    k: int,
    exclude_indptr: np.ndarray | None = None,
    exclude_items: np.ndarray | None = None,
    users: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` items by dot product ``user_emb[u] @ item_emb[i]`` for each user, over the whole catalog.

    Args:
        user_emb: float32 [n_users, d]; item_emb: float32 [n_items, d] (other float dtypes are cast).
        k: list length (>= 1; may exceed the catalog, the tail is then padded).
        exclude_indptr, exclude_items: CSR over *all* users (int64 [n_users+1], int32 [nnz]): items never
            returned to that user (e.g. its training items). None: exclude nothing.
        users: int32 [n] user indices to recommend for (row r of the output is ``users[r]``); None: all users.

    Returns:
        (items int32 [n, k], scores float32 [n, k]), best first; ties by ascending item index; padded with
        -1 / -inf where fewer than k items are eligible.
    """
    k = check_k(k)
    user_emb = as_matrix(user_emb, "user_emb")
    item_emb = as_matrix(item_emb, "item_emb")
    n_users, n_items = user_emb.shape[0], item_emb.shape[0]
    if user_emb.shape[1] != item_emb.shape[1]:
        raise InternalError(f"embedding sizes differ: users {user_emb.shape[1]}, items {item_emb.shape[1]}")
    if exclude_indptr is None:
        exclude_indptr, exclude_items = empty_csr(n_users)
    exclude_indptr, exclude_items = as_csr(exclude_indptr, exclude_items, n_users, n_items, "exclude")
    users = np.arange(n_users, dtype=np.int32) if users is None else as_index(users, "users", n_users)
    out_items = np.empty((users.shape[0], k), dtype=np.int32)
    out_scores = np.empty((users.shape[0], k), dtype=np.float32)
    item_emb_t = np.ascontiguousarray(item_emb.T)  # [d, n_items]: the dot vectorises over items
    _topk_scores_kernel(user_emb, item_emb_t, users, k, exclude_indptr, exclude_items, out_items, out_scores)
    return out_items, out_scores


@njit(cache=True, parallel=True)
def _rank_candidates_kernel(user_emb, item_emb, users, cand_indptr, cand_items, k, out_items, out_scores):
    d = item_emb.shape[1]
    for r in prange(users.shape[0]):
        hs = np.empty(k, np.float32)
        hi = np.empty(k, np.int32)
        uvec = user_emb[users[r]]
        size = 0
        for p in range(cand_indptr[r], cand_indptr[r + 1]):
            it = cand_items[p]
            ivec = item_emb[it]
            s = np.float32(0.0)
            for f in range(d):
                s += uvec[f] * ivec[f]
            size = heap_offer(hs, hi, size, k, s, it)
        heap_drain(hs, hi, size, out_items[r], out_scores[r])


def rank_candidates(
    user_emb: np.ndarray,
    item_emb: np.ndarray,
    users: np.ndarray,
    cand_indptr: np.ndarray,
    cand_items: np.ndarray,
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Rank each row's own candidate items by dot product and keep the top ``k`` (small-matrix protocol).

    Args:
        user_emb: float32 [n_users, d]; item_emb: float32 [n_items, d].
        users: int32 [n] the user index of each row.
        cand_indptr, cand_items: CSR over the n rows (int64 [n+1], int32 [nnz]): row r's candidate items,
            in any order; each item should appear once per row.
        k: list length (>= 1).

    Returns:
        (items int32 [n, k], scores float32 [n, k]) best first, ties by ascending item index, padded with -1 /
        -inf when a row has fewer than k candidates.
    """
    k = check_k(k)
    user_emb = as_matrix(user_emb, "user_emb")
    item_emb = as_matrix(item_emb, "item_emb")
    if user_emb.shape[1] != item_emb.shape[1]:
        raise InternalError(f"embedding sizes differ: users {user_emb.shape[1]}, items {item_emb.shape[1]}")
    users = as_index(users, "users", user_emb.shape[0])
    cand_indptr, cand_items = as_csr(cand_indptr, cand_items, users.shape[0], item_emb.shape[0], "cand")
    out_items = np.empty((users.shape[0], k), dtype=np.int32)
    out_scores = np.empty((users.shape[0], k), dtype=np.float32)
    _rank_candidates_kernel(user_emb, item_emb, users, cand_indptr, cand_items, k, out_items, out_scores)
    return out_items, out_scores


@njit(cache=True, parallel=True)
def _rank_scored_kernel(cand_indptr, cand_items, cand_scores, k, out_items, out_scores):
    for r in prange(cand_indptr.shape[0] - 1):
        hs = np.empty(k, cand_scores.dtype)
        hi = np.empty(k, np.int32)
        size = 0
        for p in range(cand_indptr[r], cand_indptr[r + 1]):
            size = heap_offer(hs, hi, size, k, cand_scores[p], cand_items[p])
        heap_drain(hs, hi, size, out_items[r], out_scores[r])


def rank_scored_candidates(
    cand_indptr: np.ndarray, cand_items: np.ndarray, cand_scores: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the top ``k`` of each row's candidates given one score per candidate (popularity, linear, ...).

    Args:
        cand_indptr, cand_items: CSR over n rows (int64 [n+1], int32 [nnz]), candidates in any order.
        cand_scores: [nnz] the score of each candidate (NaN / -inf: never returned); float32 stays float32,
            anything else is ranked as float64.
        k: list length (>= 1).

    Returns:
        (items int32 [n, k], scores [n, k] of cand_scores' dtype) best first, ties by ascending item index,
        padded with -1 / -inf.
    """
    k = check_k(k)
    n_rows = np.asarray(cand_indptr).shape[0] - 1
    cand_indptr, cand_items = as_csr(cand_indptr, cand_items, n_rows, None, "cand")
    cand_scores = np.asarray(cand_scores)
    if cand_scores.dtype != np.float32:  # ints (e.g. counts) go to float64, which holds them exactly
        cand_scores = cand_scores.astype(np.float64)
    cand_scores = np.ascontiguousarray(cand_scores)
    if cand_scores.shape != cand_items.shape:
        raise InternalError(f"cand_scores has shape {cand_scores.shape}, cand_items {cand_items.shape}")
    out_items = np.empty((n_rows, k), dtype=np.int32)
    out_scores = np.empty((n_rows, k), dtype=cand_scores.dtype)
    _rank_scored_kernel(cand_indptr, cand_items, cand_scores, k, out_items, out_scores)
    return out_items, out_scores
