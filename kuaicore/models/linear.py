"""Linear baseline: ridge regression of the capped watch ratio from its normal equations (X never built).

Design row of a (user u, video i) training row, D = 1 + Du + Di + T columns:
``x = [1, user_features[u], item_features[i], taste[u] * tags[i]]``, where ``tags`` are the video's T tag
columns (multi-hot) and ``taste[u, t]`` is the user's per-tag taste (see :func:`user_tag_taste`).
X is never materialised: :func:`fit_streamed` gathers ``chunk_rows`` rows of X at a time from streamed
batches and adds ``X^T X``, ``X^T y`` (float64) to running sums, O(rows D^2); :func:`fit` (the default)
gets the identical sums as sparse products over the aggregated training CSR, O(nnz (Di + T)) plus small
dense products, which is what makes 12.5M rows with D ~ 300 take seconds. The ridge system
``(X^T X + lambda P) w = X^T y`` (P = identity without the intercept) is solved by Cholesky (scipy
``cho_factor``/``cho_solve``).

The prediction is bilinear-decomposable, so the model ends as embeddings like every other one:
``pred(u, i) = a_u + b_i + sum_t w_t taste[u, t] tags[i, t]`` with ``a_u = w_0 + user_features[u] . w_user``
and ``b_i = item_features[i] . w_item``; ``user_emb = [a_u, 1, w_tag * taste[u]]``,
``item_emb = [1, b_i, tags[i]]``, and ``user_emb[u] . item_emb[i]`` *is* the predicted capped watch ratio
(:func:`predict`, for MAE/RMSE).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from kuaicore.errors import ArtifactError, UsageError
from kuaicore.models.contract import Fitted, ModelData
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


def _check_shapes(user_features, item_features, item_tags, taste) -> None:
    if item_tags.shape[0] != item_features.shape[0] or taste.shape != (
        user_features.shape[0],
        item_tags.shape[1],
    ):
        raise ArtifactError(
            f"feature shapes disagree: item_features {item_features.shape}, item_tags {item_tags.shape}, "
            f"taste {taste.shape}, user_features {user_features.shape}"
        )


def normal_equations_streamed(
    batches: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]],
    user_features: np.ndarray,
    item_features: np.ndarray,
    item_tags: np.ndarray,
    taste: np.ndarray,
    chunk_rows: int = 65_536,
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """``(X^T X, X^T y, y^T y, n)`` summed over ``(user_idx, item_idx, target)`` batches.

    Gathers ``chunk_rows`` rows of X at a time. Cost O(rows * D^2): the literal reference, and the path for
    rows that arrive as a stream.
    """
    _check_shapes(user_features, item_features, item_tags, taste)
    d = 1 + user_features.shape[1] + item_features.shape[1] + item_tags.shape[1]
    xtx, xty, yty, n = np.zeros((d, d)), np.zeros(d), 0.0, 0
    for users, items, y in batches:
        for s in range(0, len(users), chunk_rows):
            sl = slice(s, s + chunk_rows)
            x = design_rows(users[sl], items[sl], user_features, item_features, item_tags, taste)
            yy = np.asarray(y[sl], dtype=np.float64)
            xtx += x.T @ x
            xty += x.T @ yy
            yty += float(yy @ yy)
            n += len(yy)
    return xtx, xty, yty, n


def normal_equations_grouped(
    data: Interactions,
    user_features: np.ndarray,
    item_features: np.ndarray,
    item_tags: np.ndarray,
    taste: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """The same ``(X^T X, X^T y, y^T y, n)`` exactly, from the aggregated CSR instead of one row at a time.

    Rows of one (u, i) pair share their x, so ``X^T X = sum_pairs count * x x^T`` and ``X^T y = sum_pairs
    target_sum * x``. With C (counts) and S (target sums) as sparse user x item matrices, H = taste and
    G = tags, every block is a sparse or small dense product: ``U^T diag(C 1) U``, ``U^T C I``,
    ``U^T (H * C G)``, ``I^T (G * C^T H)``, and the tag-by-tag block ``sum_(u,i) C_ui H_ua G_ia H_ub G_ib``
    summed over each pair's few nonzero tags (:func:`kuaicore.kernels.tag_pairs.tag_pair_block`).
    Cost O(nnz * (Di + T) + n_users Du^2 + n_items Di^2) instead of O(rows * D^2).
    """
    _check_shapes(user_features, item_features, item_tags, taste)
    u_f, i_f = user_features.astype(np.float64), item_features.astype(np.float64)
    g, h = np.asarray(item_tags, dtype=np.float64), np.asarray(taste, dtype=np.float64)
    m = data.matrix
    c = sp.csr_matrix((data.counts.astype(np.float64), m.indices, m.indptr), m.shape)
    s_m = sp.csr_matrix((m.data.astype(np.float64), m.indices, m.indptr), m.shape)
    du, di, t = u_f.shape[1], i_f.shape[1], g.shape[1]
    ou, oi, oz = 1, 1 + du, 1 + du + di
    d = oz + t
    xtx = np.zeros((d, d))
    cu, ci = np.asarray(c.sum(axis=1)).ravel(), np.asarray(c.sum(axis=0)).ravel()
    cg = np.asarray(c @ g)  # [n_users, T]
    hz = h * cg  # sum_i C_ui H_ut G_it per user
    xtx[0, 0] = cu.sum()
    xtx[0, ou:oi], xtx[0, oi:oz], xtx[0, oz:] = cu @ u_f, ci @ i_f, hz.sum(axis=0)
    xtx[ou:oi, ou:oi] = u_f.T @ (cu[:, None] * u_f)
    xtx[oi:oz, oi:oz] = i_f.T @ (ci[:, None] * i_f)
    xtx[ou:oi, oi:oz] = u_f.T @ np.asarray(c @ i_f)
    xtx[ou:oi, oz:] = u_f.T @ hz
    xtx[oi:oz, oz:] = i_f.T @ (g * np.asarray(c.T @ h))
    if t:  # the tag-by-tag block, from each pair's few nonzero tags (kernel: kuaicore.kernels.tag_pairs)
        from kuaicore.kernels.tag_pairs import tag_pair_block

        tags = sp.csr_matrix(g)
        tags.sort_indices()
        xtx[oz:, oz:] = tag_pair_block(
            m.indptr, m.indices, c.data, tags.indptr, tags.indices, tags.data, np.ascontiguousarray(h)
        )
    xtx = np.triu(xtx) + np.triu(xtx, 1).T
    su, si = np.asarray(s_m.sum(axis=1)).ravel(), np.asarray(s_m.sum(axis=0)).ravel()
    xty = np.concatenate([[su.sum()], u_f.T @ su, i_f.T @ si, (h * np.asarray(s_m @ g)).sum(axis=0)])
    return xtx, xty, float(data.target_sq_sum), int(round(cu.sum()))


def solve(
    xtx: np.ndarray,
    xty: np.ndarray,
    yty: float,
    n: int,
    user_features: np.ndarray,
    item_features: np.ndarray,
    item_tags: np.ndarray,
    taste: np.ndarray,
    options: LinearOptions = LinearOptions(),
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Ridge-solve the normal equations; the weights become ``(user_emb, item_emb, info)`` (see module)."""
    if n == 0:
        raise ArtifactError("linear: no training rows")
    d = xtx.shape[0]
    du, di = user_features.shape[1], item_features.shape[1]
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
    ones_u, ones_i = np.ones((len(a), 1)), np.ones((len(b), 1))
    user_emb = np.hstack([a[:, None], ones_u, np.asarray(taste, np.float64) * w_tag]).astype(np.float32)
    item_emb = np.hstack([ones_i, b[:, None], np.asarray(item_tags, np.float64)]).astype(np.float32)
    info = {
        "ridge": options.ridge,
        "n_rows": n,
        "n_weights": d,
        "train_rmse": float(np.sqrt(sse / n)),  # NaN when y^T y is unknown
        "weights": w.tolist(),
    }
    return user_emb, item_emb, info


def fit(
    data: Interactions,
    user_features: np.ndarray,
    item_features: np.ndarray,
    item_tags: np.ndarray,
    taste: np.ndarray,
    options: LinearOptions = LinearOptions(),
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Fit the ridge model from the aggregated training CSR (:func:`normal_equations_grouped`).

    Returns ``(user_emb f32[n_users, 2+T], item_emb f32[n_items, 2+T], info)``; ``info["weights"]`` holds the
    solved coefficients (intercept, user, item, tag-interaction blocks) and ``info["train_rmse"]`` the
    training RMSE, computed from the normal equations without a second pass.
    """
    eq = normal_equations_grouped(data, user_features, item_features, item_tags, taste)
    return solve(*eq, user_features, item_features, item_tags, taste, options)


def fit_streamed(
    batches: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]],
    user_features: np.ndarray,
    item_features: np.ndarray,
    item_tags: np.ndarray,
    taste: np.ndarray,
    options: LinearOptions = LinearOptions(),
) -> tuple[np.ndarray, np.ndarray, dict]:
    """:func:`fit` on streamed ``(user_idx, item_idx, target)`` batches (via normal_equations_streamed)."""
    eq = normal_equations_streamed(
        batches, user_features, item_features, item_tags, taste, options.chunk_rows
    )
    return solve(*eq, user_features, item_features, item_tags, taste, options)


def predict(
    user_emb: np.ndarray, item_emb: np.ndarray, users: np.ndarray, items: np.ndarray, chunk: int = 1 << 18
) -> np.ndarray:
    """Predicted capped watch ratio of each (user, item) pair: the row-wise dot product (float64), computed
    ``chunk`` pairs at a time so that memory stays O(chunk x dims) for millions of pairs."""
    out = np.empty(len(users), dtype=np.float64)
    for s in range(0, len(users), chunk):
        u = user_emb[users[s : s + chunk]].astype(np.float64)
        out[s : s + chunk] = np.einsum("nd,nd->n", u, item_emb[items[s : s + chunk]].astype(np.float64))
    return out


def fit_art(data: ModelData, options: LinearOptions) -> Fitted:
    """The fit contract (kuaicore.models.contract): ridge on ART's rows and features; it predicts the
    capped watch ratio (eval_pred.npy)."""
    feats = data.features
    rows = data.interactions
    taste = feats.user_taste
    if taste is None:
        taste = user_tag_taste(rows, feats.item_tags, options.taste_prior)
    u, v, info = fit(rows, feats.user_features, feats.item_features, feats.item_tags, taste, options)
    info.pop("weights", None)
    return Fitted(
        u,
        v,
        predict_watch_ratio=lambda users, items: predict(u, v, users, items).astype(np.float32),
        info=info,
    )
