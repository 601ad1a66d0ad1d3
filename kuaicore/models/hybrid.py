"""`hybrid`: biased matrix factorisation with side features on both sides, fitted by alternating ridge solves.

Each observed (user, video) pair has one rating ``r_ui`` (its training rows' mean capped watch ratio,
``log1p`` by default, as in :mod:`kuaicore.models.mf`), modelled as

    r_ui ~ mu + b_u + b_i + x_u . y_i + w_u . t_i + v_i . s_u

- ``x_u . y_i``: latent taste that no feature shows (collaborative; learnt from ids);
- ``w_u . t_i``: the user's own weights over the video's content columns ``t_i`` (tags, categories, length):
  per-user taste for content, which also ranks videos the user's neighbours never watched;
- ``v_i . s_u``: the video's own weights over the user's profile columns ``s_u`` (empty by default);
- ``b_u``, ``b_i``: who rates high, and video quality (the popularity by mean watch ratio part).

With one side fixed the other is a ridge regression per row (:mod:`kuaicore.kernels.hybrid`), so every
alternation is exact and the fit is deterministic for a seed. The penalties are per observation (weighted
lambda), separately for factors, side weights and biases. How much to trust the side columns differs from
one dataset to the next (a lot where taste follows tags, not at all where it lives in latent factors), so
by default three side penalties are fitted along a warm-started path and the one whose embeddings score best
by the evaluation protocol on the validation split is kept (validate as you evaluate). The factors' penalty
is chosen the same way, from the best side fit: how strong it may be before it shrinks the factors to nothing
depends on how much signal the ratings carry, which differs between datasets. Last, fewer factors
(``ranks``) are tried from the best fit's factor product truncated by SVD, kept where validation scores
better: where the taste has few dimensions the spare factors fit noise. The iteration count
is not chosen by validation: ranking quality on *unseen* pairs keeps improving for tens of iterations after
the training error has flattened (the factors leave ALS's shrinkage slowly), which held-out watched rows do
not show; the start from a truncated SVD and an over-relaxed item step shorten that. The model ends as
embeddings:
``user_emb = [x_u, w_u, s_u, b_u, 1]``, ``item_emb = [y_i, t_i, v_i, 1, mu + b_i]``, whose dot product is the
predicted rating, so it ranks the whole catalogue like every two-tower model.

Then the taste groups (:mod:`kuaicore.models.user_clusters`): the users' coefficients are grouped by
k-means and each user's ridge is refitted toward their group's centre instead of zero, for each number of
groups in ``clusters``, kept where validation scores better. Where users share tastes in groups (the same
tags liked by many), a user with few ratings borrows the group's taste rather than being shrunk to none.
For each number in ``covariance_groups`` (1: the whole population) the penalty is also the inverse of the
users' covariance within their groups instead of the diagonal ridge's, scored beside them: users who like
one tag tend to like certain others, so a user's ratings inform the tags and factors they did not rate.
For each number in ``mixture_groups`` a mixture of that many groups with that covariance is fitted by EM
and scored too: each user is placed in the groups, softly, by how well each group's prior explains their
own ratings, where k-means of their noisy fitted coefficients cannot see their segment. Each mixture is
fitted at every power of ``mixture_power`` (the prior's weight grows as ``n_u^power`` with the user's
ratings: 1 is weighted-lambda, 0.5 lets users with few ratings lean on their group more and users with
many on their own ratings), the one valid scores best kept.

Last, the item-neighbourhood term (:mod:`kuaicore.models.neighbours`; Koren 2008's integrated model, with
the weight chosen on valid): each user's deviations from the fitted baseline on the videos they rated,
averaged over each video's most similar ones, reduced to ``neighbour_rank`` columns appended to both
embeddings (``[..., a * U S]`` / ``[..., V]``) at the weight ``a`` of ``neighbours`` that validation scores
best, and not at all where none beats the fit alone. It is a second estimator of taste beside the factor
product, local where the factors are global; the watch-ratio predictions (MAE/RMSE) stay the rating model's
(``info["rating_columns"]``), since the weight is chosen to rank, not to rate. Where taste groups were kept,
the term is tried on each finalist of the group stage (its choice, the best fit before the mixtures, where a
mixture was chosen the best mixture at each other power, the fit without groups) and the best pair on valid
is kept; the others go to ``Fitted.alternatives``, for the blend to choose among by its own valid
(:mod:`kuaicore.models.blend`).

The Gram entries of the fixed columns (the side columns and the bias) are computed once per fit
(``_Problem.fixed_grams``) and every half step sums only the entries that involve the factors, with the same
result bit for bit.

Last of all, once validation has chosen every setting above, the chosen fit is fitted again on the training
and the validation rows together (``refit``; :func:`fit_choice` continues it from its parameters at its
penalties and rank, then its taste groups and neighbourhood weight): the validation rows are each user's
most recent tenth, including the first rows of videos uploaded late, which the chosen fit never saw. The
run keeps the chosen fit's embeddings as ``heldout_*_emb`` for tests on the validation rows (``evaluate
--protocol valid``, ``tune``).

With ``--option implicit=K`` the side columns also hold K implicit-ALS factors of the exposure pattern (which
videos each user was shown; :mod:`kuaicore.models.exposure`) on both sides; after the side path, each
``implicit_reg`` penalty for them is fitted from the best fit so far and kept where validation improves.
The options live in :mod:`kuaicore.models.hybrid_options`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from kuaicore.errors import UsageError
from kuaicore.models.contract import Fitted, ModelData
from kuaicore.models.hybrid_options import INITS, HybridOptions, Validation, side_columns
from kuaicore.models.interactions import Interactions
from kuaicore.models.mf import predict_watch_ratio, ratings, truncate_factors
from kuaicore.models.neighbours import low_rank, neighbourhood_scores, within_budget
from kuaicore.models.user_clusters import (
    kmeans,
    prior_precision,
    rating_statistics,
    ridge_toward,
    ridge_toward_precision,
    taste_mixture,
)
from kuaicore.protocol import VALID_K

__all__ = ["INITS", "HybridOptions", "Validation", "fit", "fit_art", "side_columns"]


@dataclass
class _Problem:
    """The ratings (both orientations), the fixed side columns and the global mean."""

    r: sp.csr_matrix
    rt: sp.csr_matrix
    s_u: np.ndarray
    t_i: np.ndarray
    mu: float
    fixed: tuple[np.ndarray, np.ndarray] | None = None  # the Gram parts of the side columns and bias

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
        return residuals(self.r.indptr, self.r.indices, self.r.data, self.mu, b_i, self.s_u, v)


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


def _problem(data: Interactions, user_side: np.ndarray, item_side: np.ndarray, o: HybridOptions) -> _Problem:
    """The ratings of ``data`` (``o.target``) in both orientations, the side columns as float64, the mean."""
    r = ratings(data, o.target)
    rt = r.T.tocsr()
    rt.sort_indices()
    n_users, n_items = data.shape
    return _Problem(
        r,
        rt,
        np.ascontiguousarray(user_side, dtype=np.float64).reshape(n_users, -1),
        np.ascontiguousarray(item_side, dtype=np.float64).reshape(n_items, -1),
        float(r.data.mean()) if r.nnz else 0.0,
    )


def _start(p: _Problem, o: HybridOptions) -> tuple[np.ndarray, np.ndarray]:
    """The parameters a fit starts from: users' all zero, the videos' factors from ``o.init``."""
    d = o.factors
    theta_u = np.zeros((p.r.shape[0], d + p.t_i.shape[1] + 1))
    theta_i = np.zeros((p.r.shape[1], d + p.s_u.shape[1] + 1))
    theta_i[:, :d] = _initial_item_factors(p.r, p.mu, d, o)
    return theta_u, theta_i


def _alternate(
    p: _Problem,
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
    from kuaicore.kernels.hybrid import residuals
    from kuaicore.kernels.hybrid import ridge_half_step as solve

    r, rt, fi = p.r, p.rt, p.t_i.shape[1]
    rmses: list[float] = []
    last_objective = np.inf
    n_u, n_i = np.diff(r.indptr).astype(np.float64), np.diff(rt.indptr).astype(np.float64)
    previous = theta_i.copy()
    previous_u = theta_u.copy()
    fixed_u, fixed_i = p.fixed_grams()
    sse = np.zeros(rt.shape[0])  # each video's squared training error after its step
    for _ in range(iterations):
        start = time.perf_counter()
        solve(
            r.indptr,
            r.indices,
            p.user_residuals(theta_i, d),
            p.item_design(theta_i, d),
            penalties[0],
            theta_u,
            fixed_u,
        )
        w, b_u = np.ascontiguousarray(theta_u[:, d : d + fi]), np.ascontiguousarray(theta_u[:, -1])
        resid = residuals(rt.indptr, rt.indices, rt.data, p.mu, b_u, p.t_i, w)
        design = p.user_design(theta_u, d)
        solve(rt.indptr, rt.indices, resid, design, penalties[1], theta_i, fixed_i, sse)
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


def _truncated(theta_u: np.ndarray, theta_i: np.ndarray, d: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``theta_u``/``theta_i`` with their ``d`` leading factor columns replaced by the ``k`` factors of the
    best rank-``k`` approximation of the factor product (side weights and biases kept)."""
    x, y = truncate_factors(theta_u[:, :d], theta_i[:, :d], k)
    return np.hstack([x, theta_u[:, d:]]), np.hstack([y, theta_i[:, d:]])


def _side_penalties(n: int, side_reg: float, implicit_reg: float, o: HybridOptions) -> list[float]:
    """Penalties of ``n`` side columns: ``side_reg``, and ``implicit_reg`` for the last ``o.implicit`` (the
    exposure factors that fit_art appends)."""
    k = min(o.implicit, n)
    return [side_reg] * (n - k) + [implicit_reg] * k


def _penalty(
    reg: float, side_reg: float, implicit_reg: float, k: int, n_side: int, o: HybridOptions
) -> np.ndarray:
    """One side's per-column penalties: ``reg`` for its ``k`` factors, the side penalties of its ``n_side``
    side columns, ``o.bias_reg`` for its bias."""
    return np.array([reg] * k + _side_penalties(n_side, side_reg, implicit_reg, o) + [o.bias_reg])


def _embeddings(
    p: _Problem, theta_u: np.ndarray, theta_i: np.ndarray, d: int
) -> tuple[np.ndarray, np.ndarray]:
    """``user_emb = [x_u, w_u, s_u, b_u, 1]``, ``item_emb = [y_i, t_i, v_i, 1, mu + b_i]`` (float32)."""
    fi, fu = p.t_i.shape[1], p.s_u.shape[1]
    n_users, n_items = theta_u.shape[0], theta_i.shape[0]
    user = np.column_stack([theta_u[:, : d + fi], p.s_u, theta_u[:, -1], np.ones(n_users)])
    item = np.column_stack(
        [theta_i[:, :d], p.t_i, theta_i[:, d : d + fu], np.ones(n_items), p.mu + theta_i[:, -1]]
    )
    return user.astype(np.float32), item.astype(np.float32)


def fit(
    data: Interactions,
    user_side: np.ndarray,
    item_side: np.ndarray,
    options: HybridOptions | None = None,
    validation: Validation | None = None,
    on_iteration: Callable[[float, float], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Fit the hybrid model; ``user_side`` float [n_users, Fu] and ``item_side`` float [n_items, Fi] are the
    fixed side columns (either may have none). Returns ``(user_emb, item_emb, info)`` of the chosen side
    penalty; ``on_iteration(train_rmse, seconds)`` is called after each iteration."""
    return fit_with_alternatives(data, user_side, item_side, options, validation, on_iteration)[:3]


def fit_with_alternatives(
    data: Interactions,
    user_side: np.ndarray,
    item_side: np.ndarray,
    options: HybridOptions | None = None,
    validation: Validation | None = None,
    on_iteration: Callable[[float, float], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict, list[dict]]:
    """:func:`fit`, and the finalists that validation did not choose: where taste groups were kept, the best
    fit without the mixture, where a mixture was kept the best mixture at each other ``mixture_power``, and
    the fit without groups (each with its own neighbourhood term, in that order), as dicts of
    ``groups`` (how the log names them), ``user_emb``, ``item_emb``, ``valid_ndcg`` and ``rating_columns``."""
    o = HybridOptions() if options is None else options
    p = _problem(data, user_side, item_side, o)
    r, mu = p.r, p.mu
    n_users, n_items = data.shape
    d, fu, fi = o.factors, p.s_u.shape[1], p.t_i.shape[1]
    theta_u, theta_i = _start(p, o)
    start = time.perf_counter()
    path: list[dict] = []
    best = None  # (index in path, user_emb, item_emb, theta_u, theta_i) of the best fit so far
    fits: list[tuple[np.ndarray, np.ndarray]] = []  # every stage's embeddings, kept for an ensemble only
    regs = o.regs()
    # (factor penalty, side penalty, exposure penalty, factors); None: the best fit's. The side path runs on
    # from fit to fit at the first factor penalty; every later stage starts from the best fit so far (a
    # smaller rank from its factors truncated to that rank).
    stages = [(regs[0], s, s, d) for s in o.side_regs()]  # side and exposure penalties tied on the side path
    stages += [(reg, None, None, d) for reg in regs[1:]]
    stages += [(None, None, imp, d) for imp in (o.implicit_regs() if o.implicit else ())]
    stages += [(None, None, None, k) for k in (o.ranks_to_try() if validation is not None else ())]
    passed = {"reg": False, "rank": False}  # a stage of this path scored worse than the best so far
    for stage, (reg, side_reg, implicit_reg, k) in enumerate(stages):
        path_name = "rank" if k != d else "reg" if side_reg is None and reg is not None else None
        if path_name is not None and passed[path_name]:
            continue
        if side_reg is None:  # from the best fit so far, at its penalties except the one this stage tries
            base = path[best[0]]
            reg = base["reg"] if reg is None else reg
            side_reg = base["side_reg"]
            implicit_reg = base["implicit_reg"] if implicit_reg is None else implicit_reg
            theta_u, theta_i = best[3].copy(), best[4].copy()
            if k != base["factors"]:
                theta_u, theta_i = _truncated(theta_u, theta_i, base["factors"], k)
        pen_u = _penalty(reg, side_reg, implicit_reg, k, fi, o)
        pen_i = _penalty(reg, side_reg, implicit_reg, k, fu, o)
        iterations = o.iterations if stage == 0 else o.path_iterations
        rmses = _alternate(p, theta_u, theta_i, (pen_u, pen_i), k, iterations, o.relax, on_iteration, o.tol)
        user_emb, item_emb = _embeddings(p, theta_u, theta_i, k)
        score = validation.ndcg(user_emb, item_emb) if validation is not None else float("nan")
        path.append(
            {"reg": reg, "side_reg": side_reg, "implicit_reg": implicit_reg, "factors": k,
             "iterations": len(rmses), "train_rmse": rmses[-1], "valid_ndcg": score}
        )  # fmt: skip
        if o.ensemble > 1:
            fits.append((user_emb, item_emb))
        if best is None or validation is None or score > path[best[0]]["valid_ndcg"]:
            best = (len(path) - 1, user_emb, item_emb, theta_u.copy(), theta_i.copy())
        elif path_name is not None:
            passed[path_name] = True
    without_groups, before_mixture, cluster_seconds = best, best, 0.0
    mixtures: list[tuple] = []  # the best mixture at each power (finalists beside the stage's choice)
    if validation is not None and (o.cluster_counts() or o.covariance_counts() or o.mixture_counts()):
        began = time.perf_counter()
        best, before_mixture, mixtures = _with_clusters(p, best, path, o, validation)
        cluster_seconds = time.perf_counter() - began
    user_emb, item_emb, chosen = best[1], best[2], path[best[0]]
    if validation is not None and o.ensemble > 1:
        user_emb, item_emb, chosen = _ensemble(path, fits, best, o.ensemble, validation)
    # the finalists: the chosen fit and, where taste groups were kept, the best fit without the mixture,
    # where a mixture was kept the best mixture at each other power, and the fit without groups (each once)
    finalists = [(best, (user_emb, item_emb, chosen))]
    for other in (before_mixture, *mixtures, without_groups):
        if all(other is not f for f, _ in finalists):
            finalists.append((other, (other[1], other[2], path[other[0]])))
    outcomes = [fitted for _, fitted in finalists]
    skipped, neighbour_seconds = None, 0.0
    if validation is not None and o.neighbour_weights():
        if o.neighbour_size_limit and not within_budget(n_users, n_items):
            skipped = f"{n_users:,} users x {n_items:,} videos is above its budget"
        else:
            began = time.perf_counter()
            # the term on every finalist: they are chosen together, since what the groups add the term may
            # add anyway
            outcomes = [
                _with_neighbours(r, _baseline(*fit_[1:3]), *fitted, path, o, validation)
                for fit_, fitted in finalists
            ]
            neighbour_seconds = time.perf_counter() - began
    pick = max(range(len(outcomes)), key=lambda j: outcomes[j][2]["valid_ndcg"])  # the first of ties
    user_emb, item_emb, chosen = outcomes[pick]
    rating_columns = finalists[pick][1][0].shape[1]  # before the neighbourhood term's columns
    alternatives = [
        {"groups": _groups_label(entry), "user_emb": u, "item_emb": v, "valid_ndcg": entry["valid_ndcg"],
         "rating_columns": finalists[j][1][0].shape[1], "choice": entry}
        for j, (u, v, entry) in enumerate(outcomes)
        if j != pick
    ]  # fmt: skip
    info = {
        "factors": chosen["factors"],
        "user_side_columns": fu,
        "item_side_columns": fi,
        "target": o.target,
        "global_mean": mu,
        "pairs": int(r.nnz),
        "n_rows": int(data.n_rows),
        "side_reg_path": path,
        "reg": chosen["reg"],
        "side_reg": chosen["side_reg"],
        "implicit_reg": chosen["implicit_reg"] if o.implicit else None,
        "valid_ndcg": chosen["valid_ndcg"],
        "ensemble": chosen.get("ensemble", 1),
        "clusters": chosen.get("clusters", 0),
        "taste_covariance": chosen.get("covariance", False),
        "taste_mixture": chosen.get("mixture", False),
        "taste_mixture_power": chosen.get("mixture_power"),
        "cluster_seconds": cluster_seconds,
        "neighbours": chosen.get("neighbours", 0.0),
        "neighbours_skipped": skipped,
        "neighbour_seconds": neighbour_seconds,
        "rating_columns": rating_columns,
        "choice": chosen,
        "seconds": time.perf_counter() - start,
    }
    return user_emb, item_emb, info, alternatives


def _parameters(
    p: _Problem, user_emb: np.ndarray, item_emb: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """``theta_u``/``theta_i`` (float64) of a fit with ``k`` factors from its embeddings (:func:`_embeddings`
    of the rating model), the videos' biases around ``p``'s global mean."""
    fi, fu = p.t_i.shape[1], p.s_u.shape[1]
    theta_u = np.hstack([user_emb[:, : k + fi], user_emb[:, k + fi + fu : k + fi + fu + 1]]).astype(
        np.float64
    )
    theta_i = np.hstack(
        [item_emb[:, :k], item_emb[:, k + fi : k + fi + fu], item_emb[:, -1:].astype(np.float64) - p.mu]
    ).astype(np.float64)
    return theta_u, theta_i


def fit_choice(
    data: Interactions,
    user_side: np.ndarray,
    item_side: np.ndarray,
    options: HybridOptions,
    choice: dict,
    start: tuple[np.ndarray, np.ndarray],
    on_iteration: Callable[[float, float], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """The fit that validation chose, continued without validation on ``data`` (the training rows and the
    validation rows together): ``choice`` is the chosen fit's path entry (``info["choice"]`` of
    :func:`fit_with_alternatives`: its penalties, factors, taste groups and neighbourhood weight), ``start``
    its rating-model embeddings (the first ``factors + side columns + 2`` columns), from whose parameters
    the alternation runs ``options.path_iterations`` at those penalties; then the chosen taste groups and
    neighbourhood term are redone. A replay from the usual start (40 iterations) ranked the same on the
    twin at ~3x the time (BENCHMARKS.md "Refitted on train + valid"). Returns ``(user_emb, item_emb,
    rating_columns)``."""
    o = options
    if choice.get("ensemble", 1) > 1:
        raise UsageError("--option ensemble: a mean of several fits cannot be refitted (use refit=false)")
    p = _problem(data, user_side, item_side, o)
    k = int(choice["factors"])
    fu, fi = p.s_u.shape[1], p.t_i.shape[1]
    reg, side_reg, implicit_reg = choice["reg"], choice["side_reg"], choice["implicit_reg"]
    theta_u, theta_i = _parameters(p, *start, k)
    pen_u = _penalty(reg, side_reg, implicit_reg, k, fi, o)
    pen_i = _penalty(reg, side_reg, implicit_reg, k, fu, o)
    rmses = _alternate(
        p, theta_u, theta_i, (pen_u, pen_i), k, o.path_iterations, o.relax, on_iteration, o.tol
    )
    if choice.get("clusters"):
        base = {**choice, "train_rmse": rmses[-1]}
        theta_u = _Groups(p, theta_i, base, o).refit(theta_u, choice)
    user_emb, item_emb = _embeddings(p, theta_u, theta_i, k)
    rating_columns = user_emb.shape[1]
    weight = choice.get("neighbours", 0.0)
    if weight:
        left, right = _neighbour_columns(p.r, _baseline(user_emb, item_emb), o)
        user_emb = np.hstack([user_emb, left * np.float32(weight)])
        item_emb = np.hstack([item_emb, right])
    return user_emb, item_emb, rating_columns


def _baseline(user_emb: np.ndarray, item_emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(b_u, mu + b_i)`` of a fit's rating-model embeddings (float64): the neighbourhood term's baseline."""
    return user_emb[:, -2].astype(np.float64), item_emb[:, -1].astype(np.float64)


class _Groups:
    """The taste-group stage's refits of the users (kuaicore.models.user_clusters) around one fit: its
    videos ``theta_i`` fixed, at the penalties and factors of its path entry ``base``."""

    def __init__(self, p: _Problem, theta_i: np.ndarray, base: dict, o: HybridOptions) -> None:
        d = base["factors"]
        self.p, self.o, self.noise = p, o, base["train_rmse"] ** 2
        self.penalty = _penalty(base["reg"], base["side_reg"], base["implicit_reg"], d, p.t_i.shape[1], o)
        self.scale = np.sqrt(self.penalty)
        self.resid, self.design = p.user_residuals(theta_i, d), p.item_design(theta_i, d)
        self.stats: tuple | None = None

    def toward_centres(self, theta_u: np.ndarray, k: int, covariance: bool) -> np.ndarray:
        """``o.cluster_rounds`` rounds of k-means of the users' penalty-scaled coefficients into ``k`` groups
        and a user step toward the centres (the plain ridge's penalty, or with ``covariance`` the inverse of
        the users' covariance within their groups), from ``theta_u`` (not changed)."""
        p, o, scale = self.p, self.o, self.scale
        theta_u = theta_u.copy()
        for round_ in range(o.cluster_rounds):
            points = theta_u * scale
            labels, centres = kmeans(points, k, o.seed + round_)
            if covariance:
                a = prior_precision(points, labels, centres, o.covariance_shrink, o.covariance_strength)
                precision = scale[:, None] * a * scale[None, :]
                ridge_toward_precision(
                    p.r, self.resid, self.design, precision, centres[labels] / scale, theta_u
                )
            else:
                prior = centres[labels] / scale
                ridge_toward(p.r, self.resid, self.design, self.penalty, prior, theta_u, p.fixed_grams()[0])
        return theta_u

    def mixture(self, theta_u: np.ndarray, k: int, power: float) -> np.ndarray:
        """The users of the taste mixture of ``k`` groups fitted by EM from ``theta_u``, its prior weighed by
        ``n_u^power``."""
        o = self.o
        if self.stats is None:
            self.stats = rating_statistics(self.p.r, self.resid, self.design)
        theta_u, _ = taste_mixture(
            self.stats, theta_u, self.scale, k, o.mixture_rounds, self.noise,
            o.covariance_shrink, o.covariance_strength, o.seed, power,
        )  # fmt: skip
        return theta_u

    def refit(self, theta_u: np.ndarray, entry: dict) -> np.ndarray:
        """The users as the path ``entry`` of this stage (its ``clusters``, ``covariance``, ``mixture``,
        ``mixture_power``) refits them."""
        k = entry["clusters"]
        if entry.get("mixture"):
            return self.mixture(theta_u, k, entry.get("mixture_power", 1.0))
        return self.toward_centres(theta_u, k, bool(entry.get("covariance")))


def _with_clusters(
    p: _Problem, best: tuple, path: list[dict], o: HybridOptions, validation: Validation
) -> tuple:
    """The best fit with every user's ridge refitted toward their taste group's centre
    (kuaicore.models.user_clusters), for each number of groups in ``o.clusters`` (the plain ridge's penalty)
    and in ``o.covariance_groups`` (the inverse of the users' covariance within the groups as the penalty):
    ``o.cluster_rounds`` rounds of k-means over the users' penalty-scaled coefficients and a user step toward
    the centres, the videos fixed; then for each number in ``o.mixture_groups`` the taste mixture fitted by
    EM (``o.mixture_rounds`` rounds, user_clusters.taste_mixture) at each power of ``o.mixture_power``
    (how the prior's weight grows with the user's ratings); each kept where validation scores it better
    than the best so far. Appends its candidates to ``path``; returns the new ``best`` tuple (or the
    old one), the best before the mixtures and, where the new best is a mixture, the best mixture at each
    other power (finalists beside it: with the neighbourhood term, or blended, another may rank better)."""
    base = path[best[0]]
    d, theta_i = base["factors"], best[4]
    groups = _Groups(p, theta_i, base, o)
    chosen = best

    def score(theta_u: np.ndarray, rounds: int, **kind: Any) -> tuple:  # one candidate onto the path
        nonlocal chosen
        user_emb, item_emb = _embeddings(p, theta_u, theta_i, d)
        entry = {**base, **kind, "iterations": rounds, "valid_ndcg": validation.ndcg(user_emb, item_emb)}
        path.append(entry)
        fit_ = (len(path) - 1, user_emb, item_emb, theta_u, theta_i)
        if entry["valid_ndcg"] > path[chosen[0]]["valid_ndcg"]:
            chosen = fit_
        return fit_

    candidates = [(k, False) for k in o.cluster_counts()] + [(k, True) for k in o.covariance_counts()]
    for k, covariance in candidates:
        theta_u = groups.toward_centres(best[3], k, covariance)
        score(theta_u, o.cluster_rounds, clusters=k, covariance=covariance)
    before_mixture = chosen
    mixtures: dict[float, tuple] = {}  # power -> the best mixture fit at it
    for k in o.mixture_counts():
        for power in o.mixture_powers():
            theta_u = groups.mixture(best[3], k, power)
            fit_ = score(
                theta_u, o.mixture_rounds, clusters=k, covariance=True, mixture=True, mixture_power=power
            )
            top = mixtures.get(power)
            if top is None or path[fit_[0]]["valid_ndcg"] > path[top[0]]["valid_ndcg"]:
                mixtures[power] = fit_
    if not path[chosen[0]].get("mixture"):  # the mixtures lost to the groups: none is a finalist
        return chosen, before_mixture, []
    return chosen, before_mixture, [m for m in mixtures.values() if m[0] != chosen[0]]


def _ensemble(path: list[dict], fits: list, best: tuple, most: int, validation: Validation):
    """The mean prediction of the m best-scoring fits of the path (m = 2..most), as concatenated embeddings
    scaled by 1/sqrt(m); kept where validation scores it better than the best so far. Appends its
    candidates to ``path``; returns (user_emb, item_emb, the chosen path entry)."""
    order = sorted(range(len(fits)), key=lambda i: -path[i]["valid_ndcg"])
    user_emb, item_emb, chosen = best[1], best[2], path[best[0]]
    for m in range(2, min(most, len(fits)) + 1):
        top = order[:m]
        scale = np.float32(1.0 / np.sqrt(m))
        u = np.hstack([fits[i][0] for i in top]) * scale
        v = np.hstack([fits[i][1] for i in top]) * scale
        score = validation.ndcg(u, v)
        entry = {**path[top[0]], "ensemble": m, "iterations": 0, "valid_ndcg": score}
        path.append(entry)
        if score > chosen["valid_ndcg"]:
            user_emb, item_emb, chosen = u, v, entry
    return user_emb, item_emb, chosen


def _neighbour_columns(
    r: sp.csr_matrix, baseline: tuple[np.ndarray, np.ndarray], o: HybridOptions
) -> tuple[np.ndarray, np.ndarray]:
    """The neighbourhood term around ``baseline`` (``b_u``, ``mu + b_i``) as ``o.neighbour_rank`` columns of
    each side (kuaicore.models.neighbours): ``left * weight`` appended to the users', ``right`` to the
    videos'."""
    scores = neighbourhood_scores(r, *baseline, o.neighbour_shrink)
    left, right = low_rank(scores, o.neighbour_rank, o.seed)
    del scores
    return left, right


def _with_neighbours(
    r: sp.csr_matrix,
    baseline: tuple[np.ndarray, np.ndarray],
    user_emb: np.ndarray,
    item_emb: np.ndarray,
    chosen: dict,
    path: list[dict],
    o: HybridOptions,
    validation: Validation,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """The chosen fit with the neighbourhood term (kuaicore.models.neighbours) appended at each weight of
    ``o.neighbours``, around ``baseline`` (the best single fit's ``b_u`` and ``mu + b_i``); kept
    where validation scores it better than the fit alone. Appends its candidates to ``path``."""
    left, right = _neighbour_columns(r, baseline, o)
    best = (user_emb, item_emb, chosen)
    for weight in o.neighbour_weights():
        u = np.hstack([user_emb, left * np.float32(weight)])
        v = np.hstack([item_emb, right])
        entry = {**chosen, "neighbours": weight, "iterations": 0, "valid_ndcg": validation.ndcg(u, v)}
        path.append(entry)
        if entry["valid_ndcg"] > best[2]["valid_ndcg"]:
            best = (u, v, entry)
    return best


def _groups_label(step: dict) -> str:
    """The taste groups of a path entry, or "no taste groups"."""
    return _groups_text(step) if step.get("clusters") else "no taste groups"


def _groups_text(step: dict) -> str:
    """How a path entry of the taste-group stage reads in the train log."""
    k = step["clusters"]
    if step.get("mixture"):
        power = step.get("mixture_power", 1.0)
        weighed = "" if power in (None, 1.0) else f" (the prior weighed by n_u^{power:g})"
        return f"a mixture of {k} taste groups{weighed}"
    groups = "the population" if k == 1 else f"{k} taste groups"
    return f"{groups} with their covariance" if step.get("covariance") else groups


def _side_arrays(data: ModelData, options: HybridOptions, interactions: Interactions) -> tuple:
    """The user and item side columns of the fit: the feature columns ``options.user_side`` and
    ``options.item_side`` name, and ``options.implicit`` exposure factors of ``interactions``."""
    from kuaicore.models.exposure import with_exposure

    feats = data.features
    item_cols = side_columns(feats.item_feature_names, options.item_side)
    user_cols = side_columns(feats.user_feature_names, options.user_side)
    if options.item_side.strip() and item_cols.size == 0:
        raise UsageError(
            f"--option item_side={options.item_side}: no item feature starts with these prefixes"
        )
    if options.user_side.strip() and user_cols.size == 0:
        raise UsageError(
            f"--option user_side={options.user_side}: no user feature starts with these prefixes"
        )
    return with_exposure(
        interactions,
        feats.user_features[:, user_cols],
        feats.item_features[:, item_cols],
        options.implicit,
        options.seed,
    )


def fit_art(data: ModelData, options: HybridOptions) -> Fitted:
    """The fit contract (kuaicore.models.contract): the hybrid model of ART's training rows, its side
    penalty chosen on valid.parquet by the evaluation protocol (relevant: the ART's like rule); with
    ``options.refit``, the chosen fit then fitted again on the training and validation rows together
    (:func:`refit`)."""
    user_side, item_side = _side_arrays(data, options, data.interactions)
    penalty_stages = len(options.side_regs()) + len(options.regs()) - 1
    penalty_stages += len(options.implicit_regs()) if options.implicit else 0
    ranks = len(options.ranks_to_try())  # fitted only with validation
    validation = data.validation if penalty_stages + ranks > 1 else None
    stages = penalty_stages + (ranks if validation is not None else 0)
    total = options.iterations + options.path_iterations * (stages - 1)
    done = [0]

    def progress(rmse: float, secs: float) -> None:
        done[0] += 1
        if done[0] == 1 or done[0] % 10 == 0 or done[0] == total:  # a line per 10, not per iteration
            data.log(f"  iteration {done[0]}/{total}: train rmse {rmse:.5f}, {secs:.2f}s")

    u, v, info, alternatives = fit_with_alternatives(
        data.interactions,
        user_side,
        item_side,
        options,
        validation,
        on_iteration=progress,
    )
    for step in info["side_reg_path"] if validation is not None else ():  # one stage: nothing compared
        exposure = f", implicit_reg {step['implicit_reg']:g}" if options.implicit else ""
        if "neighbours" in step:
            weight, score = step["neighbours"], step["valid_ndcg"]
            on = f" on {_groups_text(step)}" if "clusters" in step else ""
            data.log(f"  neighbourhood term x {weight:g}{on}: valid ndcg@{VALID_K} {score:.4f}")
            continue
        if "clusters" in step:
            score = step["valid_ndcg"]
            data.log(f"  users shrunk toward {_groups_text(step)}: valid ndcg@{VALID_K} {score:.4f}")
            continue
        if "ensemble" in step:
            data.log(f"  mean of the {step['ensemble']} best: valid ndcg@{VALID_K} {step['valid_ndcg']:.4f}")
            continue
        data.log(
            f"  reg {step['reg']:g}, side_reg {step['side_reg']:g}{exposure}, {step['factors']} factors:"
            f" valid ndcg@{VALID_K} {step['valid_ndcg']:.4f}"
        )
    if info["cluster_seconds"]:
        kept = f"{_groups_text(_info_groups(info))} kept" if info["clusters"] else "not kept"
        data.log(f"  taste groups: {info['cluster_seconds']:.1f}s, {kept}")
    if info["neighbour_seconds"]:
        kept = f"weight {info['neighbours']:g} kept" if info["neighbours"] else "not kept"
        data.log(f"  neighbourhood term: {info['neighbour_seconds']:.1f}s, {kept}")
    if info["neighbours_skipped"]:
        data.log(
            f"  neighbourhood term skipped: {info['neighbours_skipped']} (--option neighbour_size_limit)"
        )
    info["groups"] = _groups_label(_info_groups(info))
    others = tuple(
        _fitted(alt["user_emb"], alt["item_emb"], alt["rating_columns"], options.target,
                {"groups": alt["groups"], "valid_ndcg": alt["valid_ndcg"], "choice": alt["choice"]})
        for alt in alternatives
    )  # fmt: skip
    chosen = replace(_fitted(u, v, info["rating_columns"], options.target, info), alternatives=others)
    if not options.refit or validation is None:
        return chosen
    if info["ensemble"] > 1:
        data.log(
            "  not refitted on train + valid: validation chose a mean of several fits (--option ensemble)"
        )
        return chosen
    return refit(data, options, chosen)


def refit(data: ModelData, options: HybridOptions, fitted: Fitted) -> Fitted:
    """``fitted`` (the fit :func:`fit_art` chose on valid, or one of its alternatives) fitted again, at every
    setting validation chose, from its own parameters (:func:`fit_choice`), on the training and validation
    rows together: the
    validation rows are each user's most recent, and once the settings are chosen they are data like any
    other. The result keeps ``fitted``'s embeddings as ``heldout_user_emb``/``heldout_item_emb`` (what a test
    on the validation rows ranks with) and its alternatives; ``info["refit"]`` records the rows and time."""
    began = time.perf_counter()
    both = data.interactions_with_valid
    data.log(f"  refitting the chosen fit on the training and validation rows ({both.n_rows:,} rows)")
    user_side, item_side = _side_arrays(data, options, both)
    choice = fitted.info["choice"]
    columns = int(choice["factors"]) + user_side.shape[1] + item_side.shape[1] + 2  # the rating model's
    start = (fitted.user_emb[:, :columns], fitted.item_emb[:, :columns])
    u, v, columns = fit_choice(both, user_side, item_side, options, choice, start)
    seconds = time.perf_counter() - began
    info = {
        **fitted.info,
        "refit": {"rows": int(both.n_rows), "pairs": int(both.matrix.nnz), "seconds": seconds},
    }
    data.log(f"  refitted in {seconds:.1f}s")
    return replace(
        _fitted(u, v, columns, options.target, info),
        heldout_user_emb=fitted.user_emb,
        heldout_item_emb=fitted.item_emb,
        alternatives=fitted.alternatives,
    )


def _info_groups(info: dict) -> dict:
    """The taste-group fields of a fit's info, as a path entry names them."""
    keys = {
        "clusters": "clusters", "covariance": "taste_covariance", "mixture": "taste_mixture",
        "mixture_power": "taste_mixture_power",
    }  # fmt: skip
    return {key: info[name] for key, name in keys.items()}


def _fitted(u: np.ndarray, v: np.ndarray, w: int, target: str, info: dict) -> Fitted:
    """A fit's embeddings as :class:`Fitted`; its watch-ratio predictions from the first ``w`` columns (the
    rating model's: the neighbourhood term ranks, it does not rate)."""
    return Fitted(
        u,
        v,
        predict_watch_ratio=lambda users, items: predict_watch_ratio(
            u[:, :w], v[:, :w], users, items, target
        ),
        info=info,
    )
