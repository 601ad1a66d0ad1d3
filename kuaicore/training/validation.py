"""Per-epoch validation: the loss over ``valid.parquet`` and recall@K over a seeded sample of users.

recall@K of a user = |top-K ∩ R| / |R| with R = the user's positive (label = 1) validation items, ranking the
whole catalogue by the model's score (training items are not excluded: a relative signal to pick the best
epoch; kuaicore evaluate computes the reported metrics). Users without a positive are not sampled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pyarrow.parquet as pq

from kuaicore.art.stream import Prefetcher, epoch_batches
from kuaicore.training.artifacts import TRAIN_COLUMNS


@dataclass(frozen=True)
class RecallSample:
    """Sampled users and their positive items as CSR (indptr into items)."""

    users: np.ndarray  # int32 [m]
    indptr: np.ndarray  # int64 [m + 1]
    items: np.ndarray  # int32


def sample_positives(valid_path: Path, n_users: int, seed: int) -> RecallSample:
    """Up to ``n_users`` users (seeded) with at least one positive validation row, and their positives."""
    table = pq.read_table(valid_path, columns=["user_idx", "item_idx", "label"])
    label = table.column("label").to_numpy()
    users = table.column("user_idx").to_numpy()[label > 0].astype(np.int32)
    items = table.column("item_idx").to_numpy()[label > 0].astype(np.int32)
    candidates = np.unique(users)
    rng = np.random.default_rng([seed, 50])
    if len(candidates) > n_users:
        candidates = np.sort(rng.choice(candidates, n_users, replace=False))
    keep = np.isin(users, candidates)
    users, items = users[keep], items[keep]
    order = np.lexsort((items, users))
    users, items = users[order], items[order]
    indptr = np.append(np.searchsorted(users, candidates, side="left"), len(users)).astype(np.int64)
    return RecallSample(candidates.astype(np.int32), indptr, items)


@jax.jit
def _top_k_ids(users: jax.Array, items: jax.Array, k_like: jax.Array) -> jax.Array:
    return jax.lax.top_k(users @ items.T, k_like.shape[0])[1]


def recall_at_k(user_emb: np.ndarray, item_emb: np.ndarray, sample: RecallSample, k: int) -> float:
    """Mean recall@k over the sampled users (scores = dot products; top-k on the default device)."""
    m = len(sample.users)
    if m == 0:
        return float("nan")
    k = min(k, item_emb.shape[0])
    items, chunk = jnp.asarray(item_emb), min(m, 1024)
    hits = []
    for start in range(0, m, chunk):
        users = np.zeros(chunk, np.int32)
        users[: min(chunk, m - start)] = sample.users[start : start + chunk]
        top = np.asarray(_top_k_ids(jnp.asarray(user_emb[users]), items, np.zeros(k)))
        for row, u in enumerate(range(start, min(start + chunk, m))):
            rel = sample.items[sample.indptr[u] : sample.indptr[u + 1]]
            hits.append(np.isin(rel, top[row]).sum() / len(rel))
    return float(np.mean(hits))


def valid_loss(
    eval_step: Callable, params: Any, tables: dict, valid_path: Path, batch_size: int, put: Callable
) -> float:
    """Weighted mean of the batch losses over ``valid.parquet`` (file order)."""
    parts = []
    source = epoch_batches(valid_path, TRAIN_COLUMNS, batch_size, shuffle=False)
    with Prefetcher(source) as batches:
        for host_batch in batches:
            parts.append(jax.block_until_ready(eval_step(params, tables, put(host_batch)[0])))
    losses = np.array([[float(loss), float(w)] for loss, w in parts])
    weight = losses[:, 1].sum()
    return float(losses[:, 0] @ losses[:, 1] / weight) if weight > 0 else float("nan")
