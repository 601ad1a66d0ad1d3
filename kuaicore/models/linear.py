"""Linear baseline: ridge regression of the capped watch ratio, fitted by streamed normal equations.

Design row of a (user u, video i) training row, D = 1 + Du + Di + T columns:
``x = [1, user_features[u], item_features[i], taste[u] * tags[i]]`` where ``tags`` are the item's T tag
columns (multi-hot) and ``taste[u, t]`` is the user's per-tag taste (see :func:`user_tag_taste`). Rows arrive
in batches; each batch gathers its feature rows by index and adds ``X^T X`` and ``X^T y`` (float64) to running
sums, so no more than ``chunk_rows x D`` of X ever exists. The ridge solution ``(X^T X + lambda * P) w = X^T
y`` (P = identity without the intercept) is solved by Cholesky (scipy ``cho_factor``/``cho_solve``).

The prediction is bilinear-decomposable, so the model ends as embeddings like every other one:
``pred(u, i) = a_u + b_i + sum_t w_t taste[u, t] tags[i, t]`` with ``a_u = w_0 + user_features[u] . w_user``,
``b_i = item_features[i] . w_item``; ``user_emb = [a_u, 1, w_tag * taste[u]]``, ``item_emb = [1, b_i,
tags[i]]`` and ``user_emb[u] . item_emb[i]`` *is* the predicted capped watch ratio (:func:`predict` for
MAE/RMSE).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from kuaicore.errors import ArtifactError, UsageError
from kuaicore.models.interactions import Interactions


@dataclass(frozen=True)
class LinearOptions:
    """Options of the ridge model.

    ``ridge``: L2 penalty lambda (intercept unpenalised); ``taste_prior``: pseudo-count shrinking each user's
    per-tag taste to the tag's global mean; ``chunk_rows``: rows gathered into X at a time (the memory bound).
    """

    ridge: float = 1.0
    taste_prior: float = 20.0
    chunk_rows: int = 65_536

    def __post_init__(self) -> None:
        if not self.ridge >= 0:
            raise UsageError(f"--ridge: must be >= 0, got {self.ridge}")
        if not self.taste_prior >= 0:
            raise UsageError(f"--taste-prior: must be >= 0, got {self.taste_prior}")
        if self.chunk_rows < 1:
            raise UsageError(f"--chunk-rows: must be >= 1, got {self.chunk_rows}")


def user_tag_taste(data: Interactions, item_tags: np.ndarray, prior: float = 20.0) -> np.ndarray:
    """Per-user, per-tag mean capped watch ratio shrunk to the tag's global mean (float64 [n_users, T]).

    ``taste[u, t] = (sum of u's targets on tag-t videos + prior * m_t) / (u's rows on tag-t videos + prior)``,
    ``m_t`` = mean target of all tag-t rows (0 for a tag nobody watched; a user with no tag-t rows gets
    ``m_t``).
    """
    tags = np.asarray(item_tags, dtype=np.float64)
    sums = np.asarray(data.matrix.astype(np.float64) @ tags)
    count_m = sp.csr_matrix(
        (data.counts.astype(np.float64), data.matrix.indices, data.matrix.indptr), data.shape
    )
    counts = np.asarray(count_m @ tags)
    tot_s, tot_c = sums.sum(axis=0), counts.sum(axis=0)
    m = np.divide(tot_s, tot_c, out=np.zeros_like(tot_s), where=tot_c > 0)
    den = counts + prior
    num = sums + prior * m
    return np.divide(num, den, out=np.broadcast_to(m, num.shape).copy(), where=den > 0)


def design_rows(
    users: np.ndarray,
    items: np.ndarray,
    user_features: np.ndarray,
    item_features: np.ndarray,
    item_tags: np.ndarray,
    taste: np.ndarray,
) -> np.ndarray:
    """The design matrix rows ``[1, U[u], I[i], taste[u] * tags[i]]`` (float64) of a batch of pairs."""
    n = len(users)
    return np.hstack(
        [
            np.ones((n, 1)),
            user_features[users].astype(np.float64),
            item_features[items].astype(np.float64),
            taste[users].astype(np.float64) * item_tags[items].astype(np.float64),
        ]
    )


def fit(
    batches: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]],
    user_features: np.ndarray,
    item_features: np.ndarray,
    item_tags: np.ndarray,
    taste: np.ndarray,
    options: LinearOptions = LinearOptions(),
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Fit the ridge model on streamed ``(user_idx, item_idx, target)`` batches.

    Returns ``(user_emb f32[n_users, 2+T], item_emb f32[n_items, 2+T], info)``; ``info["weights"]`` holds the
    solved coefficients (intercept, user, item, tag-interaction blocks) and ``info["train_rmse"]`` the
    training RMSE, computed from the normal equations without a second pass.
    """
    n_users, n_items = user_features.shape[0], item_features.shape[0]
    if item_tags.shape[0] != n_items or taste.shape != (n_users, item_tags.shape[1]):
        raise ArtifactError(
            f"feature shapes disagree: item_features {item_features.shape}, item_tags {item_tags.shape}, "
            f"taste {taste.shape}, user_features {user_features.shape}"
        )
    du, di, t = user_features.shape[1], item_features.shape[1], item_tags.shape[1]
    d = 1 + du + di + t
    xtx = np.zeros((d, d))
    xty = np.zeros(d)
    yty = 0.0
    n = 0
    for users, items, y in batches:
        for s in range(0, len(users), options.chunk_rows):
            sl = slice(s, s + options.chunk_rows)
            x = design_rows(users[sl], items[sl], user_features, item_features, item_tags, taste)
            yy = np.asarray(y[sl], dtype=np.float64)
            xtx += x.T @ x
            xty += x.T @ yy
            yty += float(yy @ yy)
            n += len(yy)
    if n == 0:
        raise ArtifactError("linear: no training rows")
    penalty = np.full(d, options.ridge)
    penalty[0] = 0.0
    try:
        w = sla.cho_solve(sla.cho_factor(xtx + np.diag(penalty)), xty)
    except sla.LinAlgError:
        raise UsageError(
            "--ridge: the normal equations are singular (constant or duplicate features); use --ridge > 0"
        ) from None
    sse = max(yty - 2.0 * float(w @ xty) + float(w @ xtx @ w), 0.0)
    w0, w_user, w_item, w_tag = w[0], w[1 : 1 + du], w[1 + du : 1 + du + di], w[1 + du + di :]
    a = w0 + user_features.astype(np.float64) @ w_user
    b = item_features.astype(np.float64) @ w_item
    user_emb = np.hstack([a[:, None], np.ones((n_users, 1)), taste * w_tag]).astype(np.float32)
    item_emb = np.hstack([np.ones((n_items, 1)), b[:, None], item_tags.astype(np.float64)]).astype(np.float32)
    info = {
        "model": "linear",
        "ridge": options.ridge,
        "n_rows": n,
        "n_weights": d,
        "train_rmse": float(np.sqrt(sse / n)),
        "weights": w.tolist(),
    }
    return user_emb, item_emb, info


def predict(user_emb: np.ndarray, item_emb: np.ndarray, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Predicted capped watch ratio of each (user, item) pair: the row-wise dot product (float64)."""
    return np.einsum("nd,nd->n", user_emb[users].astype(np.float64), item_emb[items].astype(np.float64))
