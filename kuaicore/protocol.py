"""The evaluation protocol as one pure function over arrays, shared by evaluation and training.

DESIGN.md section 4: rank each user's own candidates (the small matrix, or the user's held-out validation
pairs), relevant = the like rule ``watch_ratio > threshold`` (strict), and average ndcg@K over the users with
at least one relevant candidate. ``kuaicore evaluate --protocol small|valid`` reports it with every other
metric; training scores each epoch with it on valid.parquet (validate as you evaluate), so the number that
picks epochs and defaults is the number that is reported. Only NumPy and the Numba kernels are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kuaicore.kernels.metrics import ranking_metrics
from kuaicore.kernels.topk import rank_candidates, rank_scored_candidates

VALID_K = 10  # the cut-off that picks epochs, defaults and tune's winner: ndcg@10, evaluate's headline


@dataclass(frozen=True)
class Candidates:
    """Each user's candidates as CSR, sorted by user then item: row r is user ``users[r]``."""

    users: np.ndarray  # int32 [n]
    indptr: np.ndarray  # int64 [n + 1]
    items: np.ndarray  # int32 [nnz]
    watch_ratio: np.ndarray  # float32 [nnz]


def pair_means(
    user_idx: np.ndarray, item_idx: np.ndarray, *columns: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Interaction rows merged into one entry per (user, item) pair (``np.unique`` order: by user, then
    item): ``(users int32, indptr int64, items int32, [mean of each column over the pair's rows])``."""
    key = np.asarray(user_idx, np.int64) << 32 | np.asarray(item_idx, np.int64)
    pairs, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    sums = [np.bincount(inverse, weights=np.asarray(c, np.float64), minlength=pairs.size) for c in columns]
    means = [total / counts for total in sums]
    users_of = (pairs >> 32).astype(np.int32)
    users, starts = np.unique(users_of, return_index=True)
    indptr = np.append(starts, users_of.size).astype(np.int64)
    return users.astype(np.int32), indptr, (pairs & 0xFFFFFFFF).astype(np.int32), means


def candidates_from_rows(user_idx: np.ndarray, item_idx: np.ndarray, watch_ratio: np.ndarray) -> Candidates:
    """Interaction rows as candidates: one per (user, item) pair, re-watches merged by their mean watch
    ratio (see :func:`pair_means`)."""
    users, indptr, items, (wr,) = pair_means(user_idx, item_idx, watch_ratio)
    return Candidates(users=users, indptr=indptr, items=items, watch_ratio=wr.astype(np.float32))


def liked(watch_ratio: np.ndarray, threshold: float) -> np.ndarray:
    """The like rule: ``watch_ratio > threshold`` (strict; the dataset authors' rule is > 2.0)."""
    return np.asarray(watch_ratio) > threshold


def protocol_ndcg(
    cands: Candidates,
    threshold: float,
    k: int = VALID_K,
    user_emb: np.ndarray | None = None,
    item_emb: np.ndarray | None = None,
    scores: np.ndarray | None = None,
) -> float:
    """Mean ndcg@k (binary gains: liked) over the users with a liked candidate, ranking each user's
    candidates by ``user_emb . item_emb`` or by ``scores`` (one per candidate); NaN when no user has one."""
    if scores is not None:
        ranked = rank_scored_candidates(cands.indptr, cands.items, np.asarray(scores, np.float32), k)[0]
    else:
        ranked = rank_candidates(user_emb, item_emb, cands.users, cands.indptr, cands.items, k)[0]
    mask = liked(cands.watch_ratio, threshold)
    row_of = np.repeat(np.arange(cands.users.size), np.diff(cands.indptr))
    rel_indptr = np.concatenate([[0], np.cumsum(np.bincount(row_of[mask], minlength=cands.users.size))])
    metrics = ranking_metrics(ranked, [k], rel_indptr.astype(np.int64), cands.items[mask])
    keep = metrics["n_relevant"] > 0
    return float(metrics["ndcg"][keep, 0].mean()) if keep.any() else float("nan")


@dataclass(frozen=True)
class Validation:
    """The validation split as candidates, the like threshold and the cut-off: what a model's fit scores
    its alternatives on (hybrid's penalties, mf's regularisation path)."""

    candidates: Candidates
    threshold: float
    k: int = VALID_K

    def ndcg(self, user_emb: np.ndarray, item_emb: np.ndarray) -> float:
        """The protocol's ndcg@k of a dot-product model on these candidates."""
        return protocol_ndcg(self.candidates, self.threshold, self.k, user_emb=user_emb, item_emb=item_emb)
