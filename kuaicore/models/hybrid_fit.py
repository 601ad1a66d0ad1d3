"""The hybrid model's rating model (:mod:`kuaicore.models.hybrid`): one fit by alternating ridge solves.

A :class:`Problem` holds the ratings in both orientations, the fixed side columns and the global mean;
:func:`alternate` runs the alternations (users, then videos, each a ridge regression per row in
:mod:`kuaicore.kernels.hybrid`) at given per-column penalties, in place. The parameters are ``theta_u`` rows
``[x_u, w_u, b_u]`` and ``theta_i`` rows ``[y_i, v_i, b_i]``; :func:`embeddings` turns them into the two
towers' embeddings, whose dot product is the predicted rating, and :func:`parameters` back. The Gram
entries of the fixed columns (the side columns and the bias) are computed once per problem
(:meth:`Problem.fixed_grams`) and every half step sums only the entries that involve the factors, those
with the fixed columns from the columns' modes and sparse deviations (:meth:`Problem.fixed_deviations`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from kuaicore.models.hybrid_options import HybridOptions
from kuaicore.models.interactions import Interactions
from kuaicore.models.mf import ratings, truncate_factors


@dataclass
class Problem:
    """The ratings (both orientations), the fixed side columns and the global mean."""

    r: sp.csr_matrix
    rt: sp.csr_matrix
    s_u: np.ndarray
    t_i: np.ndarray
    mu: float
    fixed: tuple[np.ndarray, np.ndarray] | None = None  # the Gram parts of the side columns and bias
    side: tuple[tuple, tuple] | None = None  # the side columns' modes and deviations (t_i, s_u)

    def fixed_grams(self) -> tuple[np.ndarray, np.ndarray]:
        """Every user's and every item's Gram entries of the other side's fixed columns (its side columns
        and the 1 of the bias; kuaicore.kernels.hybrid.row_grams), computed on first use: they are the
        same in every half step of the fit, whatever its number of factors."""
        from kuaicore.kernels.hybrid import row_grams

        if self.fixed is None:
            item_cols = np.hstack([self.t_i, np.ones((self.t_i.shape[0], 1))])
            user_cols = np.hstack([self.s_u, np.ones((self.s_u.shape[0], 1))])
            self.fixed = (
                row_grams(self.r.indptr, self.r.indices, self.r.data, item_cols)[0],
                row_grams(self.rt.indptr, self.rt.indices, self.rt.data, user_cols)[0],
            )
        return self.fixed

    def side_deviations(self) -> tuple[tuple, tuple]:
        """``(t_i, s_u)`` as their modes and sparse deviations (kuaicore.kernels.hybrid.mode_and_deviations),
        computed on first use: the residuals take the offsets of the side weights from these."""
        from kuaicore.kernels.hybrid import mode_and_deviations

        if self.side is None:
            self.side = (mode_and_deviations(self.t_i), mode_and_deviations(self.s_u))
        return self.side

    def fixed_deviations(self) -> tuple[tuple, tuple]:
        """The fixed columns of the videos (the user step's) and of the users (the video step's), the side
        columns and the bias' 1, as their modes and deviations: the side columns' with a mode of 1 appended
        (the 1 never deviates). Every half step sums their products with the factors from these."""
        return tuple((np.append(mode, 1.0), *rest) for mode, *rest in self.side_deviations())

    def user_design(self, theta_u: np.ndarray, d: int) -> np.ndarray:
        return np.hstack([theta_u[:, :d], self.s_u, np.ones((self.s_u.shape[0], 1))])

    def item_design(self, theta_i: np.ndarray, d: int) -> np.ndarray:
        return np.hstack([theta_i[:, :d], self.t_i, np.ones((self.t_i.shape[0], 1))])

    def user_residuals(self, theta_i: np.ndarray, d: int) -> np.ndarray:
        """What the user step fits, per stored rating (``r`` order): the rating less the global mean, the
        video's bias and the video's weights over the user's side columns."""
        from kuaicore.kernels.hybrid import residuals

        fu = self.s_u.shape[1]
        v, b_i = np.ascontiguousarray(theta_i[:, d : d + fu]), np.ascontiguousarray(theta_i[:, -1])
        user_side = self.side_deviations()[1]
        return residuals(self.r.indptr, self.r.indices, self.r.data, self.mu, b_i, *user_side, v)


def _initial_item_factors(r: sp.csr_matrix, mu: float, d: int, o: HybridOptions) -> np.ndarray:
    """Item factors to start from: the top-d right singular vectors of the centred rating matrix (scaled by
    the square root of their singular values) with ``init="svd"``, else seeded Gaussian noise."""
    rng = np.random.default_rng(o.seed)
    if o.init != "svd" or d == 0 or min(r.shape) <= d + 1 or r.nnz == 0:
        return rng.standard_normal((r.shape[1], d)) * o.init_scale
    from scipy.sparse.linalg import svds

    centred = sp.csr_matrix((r.data - mu, r.indices, r.indptr), r.shape)
    _, s, vt = svds(centred, k=d, v0=rng.standard_normal(min(r.shape)))
    return np.ascontiguousarray(vt.T * np.sqrt(s))


def problem(data: Interactions, user_side: np.ndarray, item_side: np.ndarray, o: HybridOptions) -> Problem:
    """The ratings of ``data`` (``o.target``) in both orientations, the side columns as float64, the mean."""
    r = ratings(data, o.target)
    rt = r.T.tocsr()
    rt.sort_indices()
    n_users, n_items = data.shape
    return Problem(
        r,
        rt,
        np.ascontiguousarray(user_side, dtype=np.float64).reshape(n_users, -1),
        np.ascontiguousarray(item_side, dtype=np.float64).reshape(n_items, -1),
        float(r.data.mean()) if r.nnz else 0.0,
    )


def start_parameters(p: Problem, o: HybridOptions) -> tuple[np.ndarray, np.ndarray]:
    """The parameters a fit starts from: users' all zero, the videos' factors from ``o.init``."""
    d = o.factors
    theta_u = np.zeros((p.r.shape[0], d + p.t_i.shape[1] + 1))
    theta_i = np.zeros((p.r.shape[1], d + p.s_u.shape[1] + 1))
    theta_i[:, :d] = _initial_item_factors(p.r, p.mu, d, o)
    return theta_u, theta_i


def alternate(
    p: Problem,
    theta_u: np.ndarray,
    theta_i: np.ndarray,
    penalties: tuple[np.ndarray, np.ndarray],
    d: int,
    iterations: int,
    relax: float,
    on_iteration: Callable[[float, float], None] | None,
    tol: float = 0.0,
) -> list[float]:
    """``iterations`` alternations (users, then items) updating ``theta_u``/``theta_i`` in place; returns
    the training RMSE after each. ``theta_u`` rows are ``[x_u, w_u, b_u]``, ``theta_i`` rows ``[y_i, v_i,
    b_i]``."""
    from kuaicore.kernels.hybrid import ridge_half_step as solve

    r, rt, fi, fu = p.r, p.rt, p.t_i.shape[1], p.s_u.shape[1]
    rmses: list[float] = []
    last_objective = np.inf
    n_u, n_i = np.diff(r.indptr).astype(np.float64), np.diff(rt.indptr).astype(np.float64)
    previous = theta_i.copy()
    previous_u = theta_u.copy()
    fixed_u, fixed_i = p.fixed_grams()
    dev_u, dev_i = p.fixed_deviations()
    item_side, user_side = p.side_deviations()
    sse = np.zeros(rt.shape[0])  # each video's squared training error after its step
    for _ in range(iterations):
        start = time.perf_counter()
        v, b_i = np.ascontiguousarray(theta_i[:, d : d + fu]), np.ascontiguousarray(theta_i[:, -1])
        design = p.item_design(theta_i, d)
        offsets = (p.mu, b_i, user_side, v)  # the user step fits r - mu - b_i - s_u . v_i
        solve(r.indptr, r.indices, r.data, design, penalties[0], theta_u, fixed_u, None, dev_u, offsets)
        w, b_u = np.ascontiguousarray(theta_u[:, d : d + fi]), np.ascontiguousarray(theta_u[:, -1])
        design = p.user_design(theta_u, d)
        offsets = (p.mu, b_u, item_side, w)  # the item step fits r - mu - b_u - t_i . w_u
        solve(rt.indptr, rt.indices, rt.data, design, penalties[1], theta_i, fixed_i, sse, dev_i, offsets)
        squared = float(sse.sum())
        rmses.append(float(np.sqrt(squared / max(rt.nnz, 1))))
        penalty_u = float(n_u @ (theta_u**2 @ penalties[0]))
        objective = squared + penalty_u + float(n_i @ (theta_i**2 @ penalties[1]))
        if relax > 1.0 and objective > last_objective * (1 + 1e-9):
            relax = 1.0  # the extrapolation overshot (the ridge objective rose): plain ALS from here on
        last_objective = objective
        if relax > 1.0 and len(rmses) > 1:
            theta_i += (relax - 1.0) * (theta_i - previous)
        change = np.sqrt(np.sum((theta_u - previous_u) ** 2) + np.sum((theta_i - previous) ** 2))
        size = np.sqrt(np.sum(theta_u**2) + np.sum(theta_i**2))
        previous[:] = theta_i
        previous_u[:] = theta_u
        if on_iteration is not None:
            on_iteration(rmses[-1], time.perf_counter() - start)
        if tol > 0 and len(rmses) > 1 and change <= tol * max(size, 1e-12):
            break  # converged: the parameters moved by less than tol of their size
    return rmses


def truncated(theta_u: np.ndarray, theta_i: np.ndarray, d: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``theta_u``/``theta_i`` with their ``d`` leading factor columns replaced by the ``k`` factors of the
    best rank-``k`` approximation of the factor product (side weights and biases kept)."""
    x, y = truncate_factors(theta_u[:, :d], theta_i[:, :d], k)
    return np.hstack([x, theta_u[:, d:]]), np.hstack([y, theta_i[:, d:]])


def _side_penalties(n: int, side_reg: float, implicit_reg: float, o: HybridOptions) -> list[float]:
    """Penalties of ``n`` side columns: ``side_reg``, and ``implicit_reg`` for the last ``o.implicit`` (the
    exposure factors that fit_art appends)."""
    k = min(o.implicit, n)
    return [side_reg] * (n - k) + [implicit_reg] * k


def penalty(
    reg: float, side_reg: float, implicit_reg: float, k: int, n_side: int, o: HybridOptions
) -> np.ndarray:
    """One side's per-column penalties: ``reg`` for its ``k`` factors, the side penalties of its ``n_side``
    side columns, ``o.bias_reg`` for its bias."""
    return np.array([reg] * k + _side_penalties(n_side, side_reg, implicit_reg, o) + [o.bias_reg])


def embeddings(p: Problem, theta_u: np.ndarray, theta_i: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """``user_emb = [x_u, w_u, s_u, b_u, 1]``, ``item_emb = [y_i, t_i, v_i, 1, mu + b_i]`` (float32)."""
    fi, fu = p.t_i.shape[1], p.s_u.shape[1]
    n_users, n_items = theta_u.shape[0], theta_i.shape[0]
    user = np.column_stack([theta_u[:, : d + fi], p.s_u, theta_u[:, -1], np.ones(n_users)])
    item = np.column_stack(
        [theta_i[:, :d], p.t_i, theta_i[:, d : d + fu], np.ones(n_items), p.mu + theta_i[:, -1]]
    )
    return user.astype(np.float32), item.astype(np.float32)


def parameters(
    p: Problem, user_emb: np.ndarray, item_emb: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """``theta_u``/``theta_i`` (float64) of a fit with ``k`` factors from its embeddings (:func:`embeddings`
    of the rating model), the videos' biases around ``p``'s global mean."""
    fi, fu = p.t_i.shape[1], p.s_u.shape[1]
    theta_u = np.hstack([user_emb[:, : k + fi], user_emb[:, k + fi + fu : k + fi + fu + 1]]).astype(
        np.float64
    )
    theta_i = np.hstack(
        [item_emb[:, :k], item_emb[:, k + fi : k + fi + fu], item_emb[:, -1:].astype(np.float64) - p.mu]
    ).astype(np.float64)
    return theta_u, theta_i


def baseline(user_emb: np.ndarray, item_emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(b_u, mu + b_i)`` of a fit's rating-model embeddings (float64): the neighbourhood term's baseline."""
    return user_emb[:, -2].astype(np.float64), item_emb[:, -1].astype(np.float64)
