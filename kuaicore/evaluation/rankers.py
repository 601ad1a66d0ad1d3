"""Ranked top-K lists for every row of an evaluation table: a model run, or a reference (random, popularity,
oracle), under either protocol. Everything ends in the Numba kernels of `kuaicore.kernels.topk`.

Protocols (DESIGN.md section 4):
- ``small``: each small-matrix user's own small-matrix videos are ranked (ties by ascending video_id).
- ``full``: the whole catalog is ranked for each small-matrix user, minus the videos the user has in train or
  valid. Rows that can only score small-matrix cells (per-candidate scores, the oracle) rank those cells.
- ``valid``: each user's held-out big_matrix pairs (valid.parquet) are ranked, as ``small`` ranks the small
  matrix: the exposure-biased test most papers use, shown beside ``small`` to see how it misorders models.
"""

from __future__ import annotations

import numpy as np

from kuaicore.errors import ArtifactError, UsageError
from kuaicore.evaluation.data import EvalData
from kuaicore.kernels.topk import rank_candidates, rank_scored_candidates, topk_scores

PROTOCOLS = ("small", "full", "valid")
CANDIDATE_PROTOCOLS = ("small", "valid")  # rank given candidates, not the catalog
RANDOM_DIM = 64


def rank_embeddings(
    data: EvalData,
    user_emb: np.ndarray,
    item_emb: np.ndarray,
    k: int,
    protocol: str,
    seen: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Top-``k`` item indices [n_rows, k] for a dot-product model (padded with -1)."""
    if user_emb.shape[0] != data.n_users_total or item_emb.shape[0] != data.n_items_total:
        raise ArtifactError(
            f"embeddings cover {user_emb.shape[0]} users x {item_emb.shape[0]} items but ART has "
            f"{data.n_users_total} x {data.n_items_total}: the run was trained on another ART"
        )
    if protocol in CANDIDATE_PROTOCOLS:
        return rank_candidates(user_emb, item_emb, data.users, data.indptr, data.items, k)[0]
    if protocol == "full":
        ex_indptr, ex_items = seen if seen is not None else (None, None)
        return topk_scores(user_emb, item_emb, k, ex_indptr, ex_items, users=data.users)[0]
    raise UsageError(f"--protocol: expected one of {', '.join(PROTOCOLS)}, got {protocol!r}")


def rank_scores(data: EvalData, scores: np.ndarray, k: int) -> np.ndarray:
    """Top-``k`` of each user's candidates given one score per candidate (row of ``data``)."""
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    if scores.shape[0] != data.items.shape[0]:
        raise ArtifactError(f"{scores.shape[0]} scores for {data.items.shape[0]} candidates")
    return rank_scored_candidates(data.indptr, data.items, scores, k)[0]


def random_ranking(data: EvalData, k: int, protocol: str, seed: int, seen=None) -> np.ndarray:
    """The seeded ``random`` reference: i.i.d. uniform scores per candidate (small protocol), or Gaussian
    embeddings of width 64 (full protocol: a per-user random order without a users x items matrix)."""
    rng = np.random.default_rng(seed)
    if protocol in CANDIDATE_PROTOCOLS:
        return rank_scores(data, rng.random(data.items.shape[0], dtype=np.float32), k)
    user_emb = rng.standard_normal((data.n_users_total, RANDOM_DIM), dtype=np.float32)
    item_emb = rng.standard_normal((data.n_items_total, RANDOM_DIM), dtype=np.float32)
    return rank_embeddings(data, user_emb, item_emb, k, protocol, seen)


def mean_watch_ratio_popularity(art) -> np.ndarray | None:
    """Per-item score of the ``popularity`` reference row: the mean capped watch ratio of the item's training
    rows with a count prior of 20 toward the global mean (the `popularity` model's default), from
    train.parquet; None when ART has no training rows file (a hand-made ART)."""
    from pathlib import Path

    from kuaicore.art import layout
    from kuaicore.models.interactions import load_interactions
    from kuaicore.models.popularity import PopularityOptions, fit

    if not (Path(art) / layout.TRAIN).is_file():
        return None
    return fit(load_interactions(art), PopularityOptions())[1][:, 0]


def popularity_ranking(data: EvalData, item_scores: np.ndarray, k: int, protocol: str, seen=None):
    """A non-personalised reference: videos by one score each (ties by ascending video_id): ``popularity``
    (mean watch ratio with a prior) or ``most-viewed`` (training views, which models exposure)."""
    user_emb = np.ones((data.n_users_total, 1), dtype=np.float32)
    item_emb = np.asarray(item_scores, dtype=np.float32).reshape(-1, 1)
    return rank_embeddings(data, user_emb, item_emb, k, protocol, seen)


def oracle_scores(data: EvalData, truth: dict[str, np.ndarray], user_ids: np.ndarray, item_ids: np.ndarray):
    """The planted expected watch ratio of every eval.parquet row (NaN where truth has no such cell)."""
    t_users = np.asarray(truth["user_id"], dtype=np.int64)
    t_items = np.asarray(truth["video_id"], dtype=np.int64)
    expected = np.asarray(truth["expected_watch_ratio"], dtype=np.float32)
    u_pos = _positions(t_users, user_ids[data.users])
    row_user = np.repeat(u_pos, np.diff(data.indptr))
    i_pos = _positions(t_items, item_ids[data.items])
    ok = (row_user >= 0) & (i_pos >= 0)
    out = np.full(data.items.shape[0], np.nan, dtype=np.float32)
    out[ok] = expected[row_user[ok], i_pos[ok]]
    return out


def _positions(table: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of each value in ``table`` (-1 where absent)."""
    if table.size == 0:
        return np.full(values.shape, -1, dtype=np.int64)
    order = np.argsort(table, kind="stable")
    pos = np.clip(np.searchsorted(table[order], values), 0, table.size - 1)
    return np.where(table[order][pos] == values, order[pos], -1)
