"""Numba kernel of the taste mixture's user step: every user's ridge toward each group's centre at once.

For user u with observations ``z_i`` (rows of ``design``) and residual ratings ``e_ui``, and each group k
with centre ``m_k``, the ridge with a full penalty matrix P and the prior's weight ``w_u`` for the user
(weighted-lambda: ``w_u = n_u``, the user's number of observations)

    theta_uk = argmin  sum_i (e_ui - z_i . theta)^2 + w_u (theta - m_k)' P (theta - m_k)

and its minimum ``energy_uk`` (the user's fit under that group's prior; a softmax of ``-energy / 2 sigma^2``
over the groups is the user's posterior over them). With ``G = sum z z'``, ``b = sum e z``, ``A = G + w_u P
= L L'`` and ``r_k = b - G m_k``: ``theta_uk = m_k + A^-1 r_k`` and ``energy_uk = ||e - Z m_k||^2 -
r_k' A^-1 r_k``, so one Gram matrix and one Cholesky factor per user serve every group; the Gram matrices
are computed once (:func:`kuaicore.kernels.hybrid.row_grams`, the lower triangles: 123 MB at the real
files' size) and serve every round. :func:`ridge_toward_rows` is the same ridge toward one prior per user
(the taste groups' k-means rounds), from the same statistics. Arrays in, arrays out; only numpy and numba
are imported.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from kuaicore.kernels.als import backward_solve, cholesky_factor, forward_solve


@njit(cache=True, inline="always")
def _gram_and_factor(
    packed: np.ndarray, weight: float, precision: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(G, L)``: the Gram matrix of one row from its packed lower triangle (:func:`row_grams`) and the
    Cholesky factor of ``A = G + weight * precision`` (in the lower triangle of the second array)."""
    d = precision.shape[0]
    g = np.empty((d, d))
    t = 0
    for p in range(d):
        for q in range(p + 1):
            g[p, q] = packed[t]
            g[q, p] = packed[t]
            t += 1
    a = np.empty((d, d))
    for p in range(d):
        for q in range(d):
            a[p, q] = g[p, q] + weight * precision[p, q]
    cholesky_factor(a)
    return g, a


@njit(cache=True, parallel=True)
def mixture_user_step(
    grams: np.ndarray,
    bs: np.ndarray,
    ee: np.ndarray,
    weights: np.ndarray,
    precision: np.ndarray,
    means: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For every row u with the statistics of :func:`kuaicore.kernels.hybrid.row_grams`, the prior's
    ``weights`` (float64 [n], ``w_u``; 0 where the row has no observation), ``precision`` (float64 [d, d],
    SPD) and the groups' ``means`` (float64 [K, d]): ``(energy float64 [n, K], theta float64 [n, K, d])`` as
    the module docstring defines them. Rows of weight 0 (no observation) get energy 0 (no evidence for any
    group) and theta = the means."""
    n = grams.shape[0]
    d = bs.shape[1]
    n_groups = means.shape[0]
    energy = np.zeros((n, n_groups))
    theta = np.empty((n, n_groups, d))
    for u in prange(n):
        weight = weights[u]
        if weight == 0.0:
            for k in range(n_groups):
                for p in range(d):
                    theta[u, k, p] = means[k, p]
            continue
        g, a = _gram_and_factor(grams[u], weight, precision)
        b = bs[u]
        r = np.empty(d)
        for k in range(n_groups):
            m = means[k]
            fit = ee[u]
            for p in range(d):
                gm = 0.0
                for q in range(d):
                    gm += g[p, q] * m[q]
                r[p] = b[p] - gm
                fit += m[p] * (gm - 2.0 * b[p])
            forward_solve(a, r)  # w = L^-1 r
            explained = 0.0
            for p in range(d):
                explained += r[p] * r[p]
            energy[u, k] = fit - explained
            backward_solve(a, r)  # A^-1 r = L'^-1 w
            for p in range(d):
                theta[u, k, p] = m[p] + r[p]
    return energy, theta


@njit(cache=True, parallel=True)
def ridge_toward_rows(
    grams: np.ndarray, bs: np.ndarray, weights: np.ndarray, precision: np.ndarray, prior: np.ndarray
) -> np.ndarray:
    """Every row's ridge toward its own prior: ``theta_u = argmin sum_i (e_ui - z_i . theta)^2 + w_u (theta -
    m_u)' P (theta - m_u) = m_u + A^-1 (b - G m_u)``, from the statistics of
    :func:`kuaicore.kernels.hybrid.row_grams`, the prior's ``weights`` (float64 [n], ``w_u``; 0 where the
    row has no observation), ``precision`` (float64 [d, d], SPD: ``diag(penalty)`` for the plain ridge) and
    ``prior`` (float64 [n, d], ``m_u``). Returns theta float64 [n, d]; rows of weight 0 get their prior."""
    n = grams.shape[0]
    d = bs.shape[1]
    theta = np.empty((n, d))
    for u in prange(n):
        weight = weights[u]
        m = prior[u]
        if weight == 0.0:
            for p in range(d):
                theta[u, p] = m[p]
            continue
        g, a = _gram_and_factor(grams[u], weight, precision)
        r = np.empty(d)
        for p in range(d):
            gm = 0.0
            for q in range(d):
                gm += g[p, q] * m[q]
            r[p] = bs[u, p] - gm
        forward_solve(a, r)
        backward_solve(a, r)
        for p in range(d):
            theta[u, p] = m[p] + r[p]
    return theta
