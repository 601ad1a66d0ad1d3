"""The hybrid model's stages after its penalty path (:mod:`kuaicore.models.hybrid`), each scored on valid.

- :class:`Groups` and :func:`with_clusters`: the users refitted toward their taste groups' centres, with
  the groups' covariance, or by a taste mixture fitted by EM (:mod:`kuaicore.models.user_clusters`);
- :func:`ensemble`: the mean prediction of the path's best fits (``--option ensemble``);
- :func:`neighbour_columns` and :func:`with_neighbours`: the item-neighbourhood term
  (:mod:`kuaicore.models.neighbours`) appended to both embeddings at a weight chosen on valid;
- :func:`groups_label`, :func:`groups_text`, :func:`info_groups`: how a stage's choice reads in the log.

Each stage appends its candidates to the fit's path (a list of dicts, one per scored fit) and keeps a
candidate only where validation scores it better than the best so far.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from kuaicore.models.hybrid_fit import Problem, embeddings, penalty
from kuaicore.models.hybrid_options import HybridOptions, Validation
from kuaicore.models.neighbours import low_rank, neighbourhood_scores
from kuaicore.models.user_clusters import (
    kmeans,
    prior_precision,
    rating_statistics,
    ridge_toward,
    taste_mixture,
)


class Groups:
    """The taste-group stage's refits of the users (kuaicore.models.user_clusters) around one fit: its
    videos ``theta_i`` fixed, at the penalties and factors of its path entry ``base``."""

    def __init__(self, p: Problem, theta_i: np.ndarray, base: dict, o: HybridOptions) -> None:
        d = base["factors"]
        self.o, self.noise = o, base["train_rmse"] ** 2
        self.penalty = penalty(base["reg"], base["side_reg"], base["implicit_reg"], d, p.t_i.shape[1], o)
        self.scale = np.sqrt(self.penalty)
        # the users' rating statistics against the fixed videos: every round of every candidate uses them
        self.stats = rating_statistics(p.r, p.user_residuals(theta_i, d), p.item_design(theta_i, d))

    def toward_centres(self, theta_u: np.ndarray, k: int, covariance: bool) -> np.ndarray:
        """``o.cluster_rounds`` rounds of k-means of the users' penalty-scaled coefficients into ``k`` groups
        and a user step toward the centres (the plain ridge's penalty, or with ``covariance`` the inverse of
        the users' covariance within their groups), from ``theta_u`` (not changed)."""
        o, scale = self.o, self.scale
        for round_ in range(o.cluster_rounds):
            points = theta_u * scale
            labels, centres = kmeans(points, k, o.seed + round_)
            if covariance:
                a = prior_precision(points, labels, centres, o.covariance_shrink, o.covariance_strength)
                precision = scale[:, None] * a * scale[None, :]
            else:
                precision = np.diag(self.penalty)
            theta_u = ridge_toward(self.stats, precision, centres[labels] / scale)
        return theta_u

    def mixture(self, theta_u: np.ndarray, k: int, power: float) -> np.ndarray:
        """The users of the taste mixture of ``k`` groups fitted by EM from ``theta_u``, its prior weighed by
        ``n_u^power``."""
        o = self.o
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


def with_clusters(
    p: Problem, best: tuple, path: list[dict], o: HybridOptions, validation: Validation
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
    groups = Groups(p, theta_i, base, o)
    chosen = best

    def score(theta_u: np.ndarray, rounds: int, **kind: Any) -> tuple:  # one candidate onto the path
        nonlocal chosen
        user_emb, item_emb = embeddings(p, theta_u, theta_i, d)
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


def ensemble(path: list[dict], fits: list, best: tuple, most: int, validation: Validation):
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


def neighbour_columns(
    r: sp.csr_matrix, baseline: tuple[np.ndarray, np.ndarray], o: HybridOptions
) -> tuple[np.ndarray, np.ndarray]:
    """The neighbourhood term around ``baseline`` (``b_u``, ``mu + b_i``) as ``o.neighbour_rank`` columns of
    each side (kuaicore.models.neighbours): ``left * weight`` appended to the users', ``right`` to the
    videos'."""
    scores = neighbourhood_scores(r, *baseline, o.neighbour_shrink)
    left, right = low_rank(scores, o.neighbour_rank, o.seed)
    del scores
    return left, right


def with_neighbours(
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
    left, right = neighbour_columns(r, baseline, o)
    best = (user_emb, item_emb, chosen)
    for weight in o.neighbour_weights():
        u = np.hstack([user_emb, left * np.float32(weight)])
        v = np.hstack([item_emb, right])
        entry = {**chosen, "neighbours": weight, "iterations": 0, "valid_ndcg": validation.ndcg(u, v)}
        path.append(entry)
        if entry["valid_ndcg"] > best[2]["valid_ndcg"]:
            best = (u, v, entry)
    return best


def groups_label(step: dict) -> str:
    """The taste groups of a path entry, or "no taste groups"."""
    return groups_text(step) if step.get("clusters") else "no taste groups"


def groups_text(step: dict) -> str:
    """How a path entry of the taste-group stage reads in the train log."""
    k = step["clusters"]
    if step.get("mixture"):
        power = step.get("mixture_power", 1.0)
        weighed = "" if power in (None, 1.0) else f" (the prior weighed by n_u^{power:g})"
        return f"a mixture of {k} taste groups{weighed}"
    groups = "the population" if k == 1 else f"{k} taste groups"
    return f"{groups} with their covariance" if step.get("covariance") else groups


def info_groups(info: dict) -> dict:
    """The taste-group fields of a fit's info, as a path entry names them."""
    keys = {
        "clusters": "clusters", "covariance": "taste_covariance", "mixture": "taste_mixture",
        "mixture_power": "taste_mixture_power",
    }  # fmt: skip
    return {key: info[name] for key, name in keys.items()}
