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
(``Problem.fixed_grams``, :mod:`kuaicore.models.hybrid_fit`) and every half step sums only the entries
that involve the factors, with the same result bit for bit.

Last of all, once validation has chosen every setting above, the chosen fit is fitted again on the training
and the validation rows together (``refit``; :func:`fit_choice` continues it from its parameters at its
penalties and rank, then its taste groups and neighbourhood weight): the validation rows are each user's
most recent tenth, including the first rows of videos uploaded late, which the chosen fit never saw. The
run keeps the chosen fit's embeddings as ``heldout_*_emb`` for tests on the validation rows (``evaluate
--protocol valid``, ``tune``).

With ``--option implicit=K`` the side columns also hold K implicit-ALS factors of the exposure pattern (which
videos each user was shown; :mod:`kuaicore.models.exposure`) on both sides; after the side path, each
``implicit_reg`` penalty for them is fitted from the best fit so far and kept where validation improves.
The options live in :mod:`kuaicore.models.hybrid_options`, one fit's alternating solves in
:mod:`kuaicore.models.hybrid_fit`, the stages after the path in :mod:`kuaicore.models.hybrid_stages`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from kuaicore.errors import UsageError
from kuaicore.models.contract import Fitted, ModelData
from kuaicore.models.hybrid_fit import (
    alternate,
    baseline,
    embeddings,
    parameters,
    penalty,
    problem,
    start_parameters,
    truncated,
)
from kuaicore.models.hybrid_options import INITS, HybridOptions, Validation, side_columns
from kuaicore.models.hybrid_stages import (
    Groups,
    ensemble,
    groups_label,
    groups_text,
    info_groups,
    neighbour_columns,
    with_clusters,
    with_neighbours,
)
from kuaicore.models.interactions import Interactions
from kuaicore.models.mf import predict_watch_ratio
from kuaicore.models.neighbours import within_budget
from kuaicore.protocol import VALID_K

__all__ = ["INITS", "HybridOptions", "Validation", "fit", "fit_art", "side_columns"]


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
    p = problem(data, user_side, item_side, o)
    r, mu = p.r, p.mu
    n_users, n_items = data.shape
    d, fu, fi = o.factors, p.s_u.shape[1], p.t_i.shape[1]
    theta_u, theta_i = start_parameters(p, o)
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
                theta_u, theta_i = truncated(theta_u, theta_i, base["factors"], k)
        pen_u = penalty(reg, side_reg, implicit_reg, k, fi, o)
        pen_i = penalty(reg, side_reg, implicit_reg, k, fu, o)
        iterations = o.iterations if stage == 0 else o.path_iterations
        rmses = alternate(p, theta_u, theta_i, (pen_u, pen_i), k, iterations, o.relax, on_iteration, o.tol)
        user_emb, item_emb = embeddings(p, theta_u, theta_i, k)
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
        best, before_mixture, mixtures = with_clusters(p, best, path, o, validation)
        cluster_seconds = time.perf_counter() - began
    user_emb, item_emb, chosen = best[1], best[2], path[best[0]]
    if validation is not None and o.ensemble > 1:
        user_emb, item_emb, chosen = ensemble(path, fits, best, o.ensemble, validation)
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
                with_neighbours(r, baseline(*fit_[1:3]), *fitted, path, o, validation)
                for fit_, fitted in finalists
            ]
            neighbour_seconds = time.perf_counter() - began
    pick = max(range(len(outcomes)), key=lambda j: outcomes[j][2]["valid_ndcg"])  # the first of ties
    user_emb, item_emb, chosen = outcomes[pick]
    rating_columns = finalists[pick][1][0].shape[1]  # before the neighbourhood term's columns
    alternatives = [
        {"groups": groups_label(entry), "user_emb": u, "item_emb": v, "valid_ndcg": entry["valid_ndcg"],
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
    p = problem(data, user_side, item_side, o)
    k = int(choice["factors"])
    fu, fi = p.s_u.shape[1], p.t_i.shape[1]
    reg, side_reg, implicit_reg = choice["reg"], choice["side_reg"], choice["implicit_reg"]
    theta_u, theta_i = parameters(p, *start, k)
    pen_u = penalty(reg, side_reg, implicit_reg, k, fi, o)
    pen_i = penalty(reg, side_reg, implicit_reg, k, fu, o)
    rmses = alternate(p, theta_u, theta_i, (pen_u, pen_i), k, o.path_iterations, o.relax, on_iteration, o.tol)
    if choice.get("clusters"):
        base = {**choice, "train_rmse": rmses[-1]}
        theta_u = Groups(p, theta_i, base, o).refit(theta_u, choice)
    user_emb, item_emb = embeddings(p, theta_u, theta_i, k)
    rating_columns = user_emb.shape[1]
    weight = choice.get("neighbours", 0.0)
    if weight:
        left, right = neighbour_columns(p.r, baseline(user_emb, item_emb), o)
        user_emb = np.hstack([user_emb, left * np.float32(weight)])
        item_emb = np.hstack([item_emb, right])
    return user_emb, item_emb, rating_columns


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
            on = f" on {groups_text(step)}" if "clusters" in step else ""
            data.log(f"  neighbourhood term x {weight:g}{on}: valid ndcg@{VALID_K} {score:.4f}")
            continue
        if "clusters" in step:
            score = step["valid_ndcg"]
            data.log(f"  users shrunk toward {groups_text(step)}: valid ndcg@{VALID_K} {score:.4f}")
            continue
        if "ensemble" in step:
            data.log(f"  mean of the {step['ensemble']} best: valid ndcg@{VALID_K} {step['valid_ndcg']:.4f}")
            continue
        data.log(
            f"  reg {step['reg']:g}, side_reg {step['side_reg']:g}{exposure}, {step['factors']} factors:"
            f" valid ndcg@{VALID_K} {step['valid_ndcg']:.4f}"
        )
    if info["cluster_seconds"]:
        kept = f"{groups_text(info_groups(info))} kept" if info["clusters"] else "not kept"
        data.log(f"  taste groups: {info['cluster_seconds']:.1f}s, {kept}")
    if info["neighbour_seconds"]:
        kept = f"weight {info['neighbours']:g} kept" if info["neighbours"] else "not kept"
        data.log(f"  neighbourhood term: {info['neighbour_seconds']:.1f}s, {kept}")
    if info["neighbours_skipped"]:
        data.log(
            f"  neighbourhood term skipped: {info['neighbours_skipped']} (--option neighbour_size_limit)"
        )
    info["groups"] = groups_label(info_groups(info))
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
