"""The item-neighbourhood term: each user's deviations on the videos they rated, averaged over each video's
neighbours, as low-rank embeddings that a factor model appends to its own.

The classic neighbourhood estimate (Koren 2008, "Factorization meets the neighborhood") of how user ``u``
deviates from the baseline on video ``i``:

    K[u, i] = sum_j s_ij d_uj / (1 + sum_j |s_ij|)      over the videos j that u rated,

where ``d_uj = r_uj - (mu + b_u + b_j)`` is the rating's deviation from the fitted baseline and ``s_ij`` the
cosine of two videos' deviation columns, shrunk by how many users rated both (``c / (c + shrink)``: a
similarity seen on few common users counts little), ``s_ii = 0``. It is a weighted mean of the user's own
deviations on similar videos: a second estimator of taste beside the factor product, local where the
factors are global, and fitted on the same ratings.

It is computed exactly with dense matrix products (BLAS), in blocks of users, which costs
``4 x users x videos^2`` multiply-adds and ``max(users x videos, videos^2)`` floats of memory per array:
seconds for the sizes :func:`within_budget` accepts, minutes for the real files' 7,176 x 10,728, where
the term is skipped unless asked for. The users x videos matrix ``K`` is then reduced to its best
rank-``rank`` approximation (a seeded randomized SVD), so the term ends as embeddings: ``user part = U S``,
``video part = V``, whose dot product the model adds, with a weight chosen on valid.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

MAX_CELLS = 30_000_000
"""The most floats of one dense array (users x videos, or videos x videos) the term builds by default."""
MAX_WORK = 1e11
"""The most multiply-adds (users x videos^2) of each of its four matrix products by default (~1-3 s each on
two cores)."""
USER_BLOCK = 1024


def within_budget(n_users: int, n_items: int) -> bool:
    """Whether the term's dense arrays and products fit the default budget (MAX_CELLS, MAX_WORK)."""
    return max(n_users * n_items, n_items * n_items) <= MAX_CELLS and n_users * n_items**2 <= MAX_WORK


def _dense_rows(m: sp.csr_matrix, start: int, stop: int) -> np.ndarray:
    return m[start:stop].toarray().astype(np.float32, copy=False)


def neighbourhood_scores(
    r: sp.csr_matrix, user_base: np.ndarray, item_base: np.ndarray, shrink: float
) -> np.ndarray:
    """``K`` float32 [n_users, n_items] (see the module docstring) of the ratings ``r`` (CSR, one entry per
    rated pair) around the baseline ``user_base[u] + item_base[i]``."""
    n_users, n_items = r.shape
    rows = np.repeat(np.arange(n_users), np.diff(r.indptr))
    dev = sp.csr_matrix((r.data - user_base[rows] - item_base[r.indices], r.indices, r.indptr), r.shape)
    seen = sp.csr_matrix((np.ones(r.nnz), r.indices, r.indptr), r.shape)
    gram = np.zeros((n_items, n_items), np.float32)
    common = np.zeros((n_items, n_items), np.float32)
    for start in range(0, n_users, USER_BLOCK):
        d, m = _dense_rows(dev, start, start + USER_BLOCK), _dense_rows(seen, start, start + USER_BLOCK)
        gram += d.T @ d
        common += m.T @ m
    norm = np.sqrt(np.diag(gram))
    inverse = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)
    sim = gram
    sim *= inverse[:, None]
    sim *= inverse[None, :]
    sim *= np.divide(common, common + np.float32(shrink), out=np.zeros_like(common), where=common > 0)
    np.fill_diagonal(sim, 0.0)
    del common
    weight = np.abs(sim)
    out = np.empty((n_users, n_items), np.float32)
    for start in range(0, n_users, USER_BLOCK):
        d, m = _dense_rows(dev, start, start + USER_BLOCK), _dense_rows(seen, start, start + USER_BLOCK)
        # sim is symmetric up to rounding (s_ji for s_ij): the products as the recorded benchmarks ran them
        out[start : start + d.shape[0]] = (d @ sim) / (m @ weight + np.float32(1.0))
    return out


def low_rank(k: np.ndarray, rank: int, seed: int, power: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The best rank-``rank`` approximation of ``k`` as ``(U S, V)`` (float32), by a seeded randomized SVD
    (Halko et al. 2011: a Gaussian sketch with 10 extra columns and ``power`` orthonormalised power
    iterations), so that ``(U S) @ V.T ~ k``."""
    n_rows, n_cols = k.shape
    width = min(rank + 10, n_rows, n_cols)
    rng = np.random.default_rng(seed)
    q = np.linalg.qr(k @ rng.standard_normal((n_cols, width)).astype(np.float32))[0]
    for _ in range(power):
        q = np.linalg.qr(k.T @ q)[0]
        q = np.linalg.qr(k @ q)[0]
    u, s, vt = np.linalg.svd((q.T @ k).astype(np.float64), full_matrices=False)
    keep = min(rank, s.size)
    left = (q.astype(np.float64) @ u[:, :keep]) * s[:keep]
    return left.astype(np.float32), np.ascontiguousarray(vt[:keep].T, dtype=np.float32)
