"""Taste groups as a prior: k-means of the users' coefficients, each user's ridge shrunk toward their group.

Ridge regression shrinks every user's coefficients (factors, side weights, bias) toward zero. Where users
share tastes in groups (people who like the same tags), zero is the wrong centre: a user with few ratings
is pulled toward no taste at all, instead of toward what users like them like. Here the users'
coefficient rows, scaled by the square root of their penalties (the metric of the ridge prior), are grouped
by k-means (:func:`kmeans`, seeded k-means++), and each user's ridge is refitted toward their group's
centre: ``min sum_i (r_ui - z_i . theta_u)^2 + n_u sum_p pen_p (theta_up - c_p)^2``, whose solution is
``c + A^-1 (b - G c)`` with the user's Gram matrix ``G = sum z z'``, ``b = sum r z`` and ``A = G + n_u
diag(pen)`` (:func:`ridge_toward`). The videos' side stays fixed through the stage, so ``G`` and ``b`` are
summed once (:func:`rating_statistics`) and serve every round and every candidate: grouping and
refitting alternate for a few rounds.

The groups' shared covariance shapes the prior too (:func:`prior_precision`): users who like one tag tend
to like some others, so a penalty that is the inverse of the users' covariance (within their groups; one
group is the whole population, as Bayesian PMF's learned prior) lets a user's few ratings inform the
weights of tags and factors they never rated, where the diagonal ridge shrinks each alone. The penalty
``n_u (theta_u - c)' P (theta_u - c)`` is solved the same way, with ``A = G + n_u P``.

k-means groups noisy fitted coefficients: a user with few ratings lands in a group by noise. The taste
mixture (:func:`taste_mixture`, EM) places each user by how well each group's prior explains their own
ratings instead (the ridge's minimum toward each centre, from the users' Gram matrices of
:func:`rating_statistics`, kernel :mod:`kuaicore.kernels.mixture`), softly, and refits the centres from
the users' posterior fits.

Pure functions over arrays; the hybrid decides where it is used (a last stage, kept where validation
scores it better: BENCHMARKS.md "What the ratings allow, and taste groups", "The users' covariance as
a prior", "A taste mixture fitted by EM").
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = [
    "kmeans",
    "prior_precision",
    "prior_weights",
    "rating_statistics",
    "ridge_toward",
    "taste_mixture",
]

KMEANS_ITERATIONS = 50


def kmeans(points: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means of ``points`` (float [n, d]) from a seeded k-means++ start; returns ``(labels int64
    [n], centres float64 [k, d])``. Deterministic for a seed; an empty group keeps its previous centre; at
    most ``KMEANS_ITERATIONS`` rounds, fewer once no label changes. ``k`` above ``n`` is cut to ``n``."""
    x = np.asarray(points, dtype=np.float64)
    n = x.shape[0]
    k = max(1, min(k, n))
    rng = np.random.default_rng(seed)
    centres = np.empty((k, x.shape[1]))
    centres[0] = x[rng.integers(n)]
    nearest = np.sum((x - centres[0]) ** 2, axis=1)
    for j in range(1, k):  # k-means++: the next centre drawn in proportion to the squared distance
        total = nearest.sum()
        pick = rng.choice(n, p=nearest / total) if total > 0 else rng.integers(n)
        centres[j] = x[pick]
        nearest = np.minimum(nearest, np.sum((x - centres[j]) ** 2, axis=1))
    labels = np.full(n, -1, dtype=np.int64)
    norms = np.sum(x**2, axis=1)
    for _ in range(KMEANS_ITERATIONS):
        dist = norms[:, None] - 2.0 * x @ centres.T + np.sum(centres**2, axis=1)[None, :]
        new = np.argmin(dist, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        sums = np.zeros_like(centres)
        np.add.at(sums, labels, x)
        counts = np.bincount(labels, minlength=k)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
    return labels, centres


def ridge_toward(stats: tuple[np.ndarray, ...], precision: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Every user's ridge toward their own prior, from their ratings' ``stats`` (:func:`rating_statistics`):
    ``theta_u = argmin sum_i (e_ui - z_i . theta)^2 + n_u (theta - prior[u])' precision (theta - prior[u])``
    (``precision`` float64 [d, d], symmetric positive definite: ``diag(penalty)`` is the weighted-lambda
    ridge; ``prior`` float [n, d]). Returns theta float64 [n, d]; users with no observation get their
    prior (kernel :func:`kuaicore.kernels.mixture.ridge_toward_rows`)."""
    from kuaicore.kernels.mixture import ridge_toward_rows

    grams, bs, _, counts = stats
    return ridge_toward_rows(
        grams,
        bs,
        counts.astype(np.float64),
        np.ascontiguousarray(precision, dtype=np.float64),
        np.ascontiguousarray(prior, dtype=np.float64),
    )


def prior_precision(
    points: np.ndarray, labels: np.ndarray, centres: np.ndarray, shrink: float, strength: float
) -> np.ndarray:
    """The precision (float64 [d, d], symmetric positive definite) of a Gaussian prior fitted to
    ``points`` (float [n, d]) around their groups' ``centres[labels]``: their pooled within-group
    covariance, shrunk toward the multiple of the identity with the same trace by ``shrink`` (in (0, 1]:
    the estimate of d^2 / 2 numbers from n noisy points needs it, and it keeps the inverse finite),
    inverted, and scaled so that its mean eigenvalue is ``strength`` (the plain ridge's penalty is the
    identity: strength 1 is its average strength). Points that do not vary give ``strength`` times the
    identity."""
    x = np.asarray(points, dtype=np.float64)
    d = x.shape[1]
    dev = x - centres[labels]
    cov = dev.T @ dev / max(x.shape[0], 1)
    level = np.trace(cov) / d
    if not level > 0:
        return np.eye(d) * strength
    cov = (1.0 - shrink) * cov + shrink * level * np.eye(d)
    precision = np.linalg.inv(cov)
    precision = (precision + precision.T) / 2.0
    return precision * (strength * d / np.trace(precision))


def rating_statistics(r: sp.csr_matrix, resid: np.ndarray, design: np.ndarray) -> tuple[np.ndarray, ...]:
    """What :func:`ridge_toward` and :func:`taste_mixture` need of the ratings, once for every round and
    candidate while the videos' side is fixed: every row u of ``r`` (its pattern; ``resid`` float64 [nnz]
    the values to fit) against ``design`` (float64 [n_other, d]): ``(grams, b, ee, counts)`` of
    :func:`kuaicore.kernels.hybrid.row_grams` and each row's number of observations (int64)."""
    from kuaicore.kernels.hybrid import row_grams

    grams, bs, ee = row_grams(r.indptr, r.indices, resid, design)
    return grams, bs, ee, np.diff(r.indptr).astype(np.int64)


def prior_weights(counts: np.ndarray, power: float) -> np.ndarray:
    """The weight of each user's prior in the mixture's ridge (float64 [n]): ``nbar^(1 - power) n_u^power``
    for a user with ``n_u`` observations (``counts``), ``nbar`` the mean count of the users with any; 0 for a
    user with none. ``power`` 1 is weighted-lambda (``n_u``: the prior counts as a fixed share of the
    user's own data, whatever its size); below 1 a user with few ratings leans on the group's prior more
    and one with many on their own ratings, as a Bayesian prior's fixed precision would (power 0); a user
    with the mean count weighs it the same under every power."""
    n = np.asarray(counts, dtype=np.float64)
    seen = n > 0
    if power == 1.0 or not seen.any():
        return n
    nbar = float(n[seen].mean())
    return np.where(seen, nbar ** (1.0 - power) * np.where(seen, n, 1.0) ** power, 0.0)


def taste_mixture(
    stats: tuple[np.ndarray, ...],
    theta_u: np.ndarray,
    scale: np.ndarray,
    k: int,
    rounds: int,
    noise: float,
    shrink: float,
    strength: float,
    seed: int,
    power: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The users' coefficients under a mixture of ``k`` taste groups sharing one covariance, fitted by EM
    from their ratings' ``stats`` (:func:`rating_statistics`) and their fitted ``theta_u`` (float [n, d]);
    returns ``(theta_u float64 [n, d], weights float64 [k])`` (the groups' shares, descending).

    Unlike :func:`kmeans` over the fitted coefficients, each user's group is weighed by how well that
    group's prior explains the user's own ratings: the energy of
    :func:`kuaicore.kernels.mixture.mixture_user_step` (the ridge's minimum toward the group's centre,
    with the full penalty of :func:`prior_precision`), so a user whose ratings say little about some
    tastes is placed by the tastes they do show, and softly (the posterior over groups,
    ``softmax(log share - energy / (2 noise))``, ``noise`` the ratings' residual variance). Each round:
    the penalty from the coefficients around their most likely groups' centres (in the ridge's
    penalty-scaled coordinates, ``theta * scale``), every user's ridge toward every centre, the
    posterior; the new coefficients are the posterior mean of the user's ridge solutions (the ridge
    toward the posterior mean of the centres), the new centres and shares their posterior-weighted means.
    The prior's weight for each user is :func:`prior_weights` of their count at ``power`` (1:
    weighted-lambda, the user's number of observations). Starts from seeded k-means; deterministic for a
    seed."""
    from kuaicore.kernels.mixture import mixture_user_step

    grams, bs, ee, counts = stats
    weights = prior_weights(counts, power)
    theta = np.array(theta_u, dtype=np.float64)
    points = theta * scale
    labels, centres = kmeans(points, k, seed)
    k = centres.shape[0]
    shares = np.bincount(labels, minlength=k) / max(labels.size, 1)
    for _ in range(rounds):
        a = prior_precision(points, labels, centres, shrink, strength)
        precision = scale[:, None] * a * scale[None, :]
        energy, fits = mixture_user_step(
            grams, bs, ee, weights, precision, np.ascontiguousarray(centres / scale)
        )
        logit = np.log(np.maximum(shares, 1e-12))[None, :] - energy / (2.0 * max(noise, 1e-12))
        logit -= logit.max(axis=1, keepdims=True)
        posterior = np.exp(logit)
        posterior /= posterior.sum(axis=1, keepdims=True)
        theta = np.einsum("uk,ukd->ud", posterior, fits)
        mass = posterior.sum(axis=0)
        filled = mass > 1e-9
        centres[filled] = (np.einsum("uk,ukd->kd", posterior, fits)[filled] / mass[filled, None]) * scale
        shares = mass / mass.sum()
        points, labels = theta * scale, np.argmax(posterior, axis=1)
    return theta, np.sort(shares)[::-1]
