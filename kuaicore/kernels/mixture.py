"""Numba kernel of the taste mixture's user step: every user's ridge toward each group's centre at once.

For user u with observations ``z_i`` (rows of ``design``) and residual ratings ``e_ui``, and each group k
with centre ``m_k``, the ridge with a full penalty matrix P (weighted-lambda: n_u observations)

    theta_uk = argmin  sum_i (e_ui - z_i . theta)^2 + n_u (theta - m_k)' P (theta - m_k)

and its minimum ``energy_uk`` (the user's fit under that group's prior; a softmax of ``-energy / 2 sigma^2``
over the groups is the user's posterior over them). With ``G = sum z z'``, ``b = sum e z``, ``A = G + n_u P
= L L'`` and ``r_k = b - G m_k``: ``theta_uk = m_k + A^-1 r_k`` and ``energy_uk = ||e - Z m_k||^2 -
r_k' A^-1 r_k``, so one Gram matrix and one Cholesky factor per user serve every group. Arrays in, arrays
out; only numpy and numba are imported.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from kuaicore.kernels.hybrid import accumulate_gram


@njit(cache=True)
def _gram(lo: int, hi: int, indices: np.ndarray, values: np.ndarray, design: np.ndarray):
    """``(G, b, e.e)`` of one row's observations ``lo:hi`` (G full, symmetric; the hybrid's blocked
    accumulation)."""
    g, b = accumulate_gram(lo, hi, indices, values, design)
    d = design.shape[1]
    for p in range(d):
        for q in range(p + 1, d):
            g[p, q] = g[q, p]
    ee = 0.0
    for j in range(lo, hi):
        ee += values[j] * values[j]
    return g, b, ee


@njit(cache=True)
def _cholesky(a: np.ndarray) -> None:
    """Lower Cholesky factor of SPD ``a`` in place (its lower triangle)."""
    d = a.shape[0]
    for j in range(d):
        s = a[j, j]
        for k in range(j):
            s -= a[j, k] * a[j, k]
        ljj = np.sqrt(max(s, 1e-300))
        a[j, j] = ljj
        for i in range(j + 1, d):
            s = a[i, j]
            for k in range(j):
                s -= a[i, k] * a[j, k]
            a[i, j] = s / ljj


@njit(cache=True, parallel=True)
def mixture_user_step(
    indptr: np.ndarray,
    indices: np.ndarray,
    values: np.ndarray,
    design: np.ndarray,
    precision: np.ndarray,
    means: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For every row u of a CSR matrix (sorted; float64 residual ``values``) against ``design`` (float64
    [n_other, d]), with ``precision`` (float64 [d, d], SPD) and the groups' ``means`` (float64 [K, d]):
    ``(energy float64 [n, K], theta float64 [n, K, d])`` as the module docstring defines them. Rows with no
    observation get energy 0 (no evidence for any group) and theta = the means."""
    n = indptr.shape[0] - 1
    d = design.shape[1]
    n_groups = means.shape[0]
    energy = np.zeros((n, n_groups))
    theta = np.empty((n, n_groups, d))
    for u in prange(n):
        lo, hi = indptr[u], indptr[u + 1]
        if hi == lo:
            for k in range(n_groups):
                for p in range(d):
                    theta[u, k, p] = means[k, p]
            continue
        g, b, ee = _gram(lo, hi, indices, values, design)
        count = hi - lo
        a = np.empty((d, d))
        for p in range(d):
            for q in range(d):
                a[p, q] = g[p, q] + count * precision[p, q]
        _cholesky(a)
        r = np.empty(d)
        for k in range(n_groups):
            m = means[k]
            fit = ee
            for p in range(d):
                gm = 0.0
                for q in range(d):
                    gm += g[p, q] * m[q]
                r[p] = b[p] - gm
                fit += m[p] * (gm - 2.0 * b[p])
            for p in range(d):  # forward: L w = r
                s = r[p]
                for q in range(p):
                    s -= a[p, q] * r[q]
                r[p] = s / a[p, p]
            explained = 0.0
            for p in range(d):
                explained += r[p] * r[p]
            energy[u, k] = fit - explained
            for p in range(d - 1, -1, -1):  # backward: L' x = w
                s = r[p]
                for q in range(p + 1, d):
                    s -= a[q, p] * r[q]
                r[p] = s / a[p, p]
            for p in range(d):
                theta[u, k, p] = m[p] + r[p]
    return energy, theta
