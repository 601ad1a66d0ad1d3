"""Numba kernel of the linear model's tag-by-tag block of ``X^T X`` (:mod:`kuaicore.models.linear`).

The model's tag columns are ``z_uit = H_ut G_it`` (the user's taste for tag t times the video's weight on
it), so the block is ``sum_(u,i) C_ui (H_ua G_ia) (H_ub G_ib)`` over the training pairs (``C_ui`` the
pair's row count). A video carries a few tags, so walking each pair's nonzero tags costs about ``nnz * 3``
multiply-adds, where a sparse product of the count matrix with one column per co-occurring tag pair took
~20 s at the real files' size. The users are cut into a fixed number of blocks, each summed into its own
matrix and the blocks added in order: the same bytes on any number of threads. Arrays in, arrays out; only
numpy and numba are imported.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

USER_BLOCKS = 64
"""Fixed cut of the users into blocks (not one per thread), so that the sums' order never changes."""


@njit(cache=True, parallel=True)
def tag_pair_block(
    indptr: np.ndarray,
    indices: np.ndarray,
    counts: np.ndarray,
    tag_indptr: np.ndarray,
    tag_indices: np.ndarray,
    tag_values: np.ndarray,
    taste: np.ndarray,
) -> np.ndarray:
    """The upper triangle (a <= b) of ``sum_(u,i) C_ui H_ua G_ia H_ub G_ib`` (float64 [T, T], zeros below the
    diagonal) for the pairs of the user x video CSR ``indptr``/``indices`` with row counts ``counts``
    (float64 [nnz]), the videos' tags ``G`` as a CSR with sorted columns (``tag_indptr``, ``tag_indices``,
    ``tag_values``) and the users' ``taste`` ``H`` (float64 [n_users, T])."""
    n_users = indptr.shape[0] - 1
    t = taste.shape[1]
    blocks = np.zeros((USER_BLOCKS, t, t))
    per_block = (n_users + USER_BLOCKS - 1) // USER_BLOCKS
    for blk in prange(USER_BLOCKS):
        out = blocks[blk]
        for u in range(blk * per_block, min((blk + 1) * per_block, n_users)):
            h = taste[u]
            for j in range(indptr[u], indptr[u + 1]):
                i = indices[j]
                lo, hi = tag_indptr[i], tag_indptr[i + 1]
                for p in range(lo, hi):
                    a = tag_indices[p]
                    wa = counts[j] * tag_values[p] * h[a]
                    for q in range(p, hi):
                        b = tag_indices[q]
                        out[a, b] += wa * tag_values[q] * h[b]
    total = np.zeros((t, t))
    for blk in range(USER_BLOCKS):
        total += blocks[blk]
    return total
