"""Beyond-accuracy statistics of recommendation lists: catalog coverage and mean popularity (Numba).

Both read a ranked matrix int32 [n_users, width] padded with -1 (padding is ignored) and cut it at ``k``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from kuaicore.kernels._arrays import KernelInputError, as_matrix, check_k


@njit(cache=True)
def _distinct_items(ranked, k, n_items):
    seen = np.zeros(n_items, dtype=np.bool_)
    count = 0
    for u in range(ranked.shape[0]):
        for i in range(min(k, ranked.shape[1])):
            item = ranked[u, i]
            if item >= 0 and not seen[item]:
                seen[item] = True
                count += 1
    return count


def coverage(ranked: np.ndarray, n_items: int, k: int | None = None) -> float:
    """coverage@k = |distinct items in anyone's top k| / n_items (the share of the catalog recommended).

    ``k=None`` uses the whole width; items must lie in [0, n_items) (or be -1 padding).
    """
    ranked = as_matrix(ranked, "ranked", np.int32)
    k = ranked.shape[1] if k is None else check_k(k)
    if n_items < 1:
        raise KernelInputError(f"n_items must be positive, got {n_items}")
    if ranked.size and ranked.max() >= n_items:
        raise KernelInputError(f"ranked holds item indices >= n_items ({n_items})")
    return _distinct_items(ranked, k, n_items) / n_items


@njit(cache=True)
def _popularity_sum(ranked, k, item_popularity):
    total = 0.0
    count = 0
    for u in range(ranked.shape[0]):
        for i in range(min(k, ranked.shape[1])):
            item = ranked[u, i]
            if item >= 0:
                total += item_popularity[item]
                count += 1
    return total, count


def mean_popularity(ranked: np.ndarray, item_popularity: np.ndarray, k: int | None = None) -> float:
    """Mean of ``item_popularity`` (e.g. training interactions per item) over every recommended slot in the
    top ``k`` of every row, padding excluded; NaN when nothing is recommended. Summed serially, so the result
    is the same bytes on any thread count."""
    ranked = as_matrix(ranked, "ranked", np.int32)
    k = ranked.shape[1] if k is None else check_k(k)
    popularity = np.ascontiguousarray(item_popularity, dtype=np.float64)
    if ranked.size and ranked.max() >= popularity.shape[0]:
        raise KernelInputError(f"ranked holds item indices >= len(item_popularity) ({popularity.shape[0]})")
    total, count = _popularity_sum(ranked, k, popularity)
    return total / count if count else float("nan")
