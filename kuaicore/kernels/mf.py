"""Numba kernels of explicit-feedback biased matrix factorisation fitted by alternating least squares.

Model: ``r_ui ~ mu + b_u + b_i + x_u . y_i`` over the observed pairs only (explicit feedback: an unobserved
pair says nothing). With the other side fixed, each row u (a user, or an item on the transposed matrix)
solves a ridge regression of its residuals ``r_ui - mu - b_i`` on ``[y_i, 1]``:

    (sum_i z_i z_i^T + lam_u D) [x_u; b_u] = sum_i (r_ui - mu - b_i) z_i,   z_i = [y_i, 1]

with ``lam_u = reg * n_u`` (weighted-lambda regularisation, Zhou et al. 2008: the penalty grows with the
row's observations, so one ``reg`` suits light and heavy users alike) and ``D = diag(1, ..., 1, bias_reg /
reg)``. Kernel per row -> ``prange`` over rows; arrays in, arrays out (updated in place); only numpy and
numba are imported.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from kuaicore.kernels.als import _cholesky_solve


@njit(cache=True)
def _solve_row(
    lo: int,
    hi: int,
    indices: np.ndarray,
    values: np.ndarray,
    other: np.ndarray,
    other_bias: np.ndarray,
    mu: float,
    reg: float,
    bias_reg: float,
    x: np.ndarray,
) -> float:
    """[x_u, b_u] of one row (into ``x``, length d + 1); returns b_u."""
    d = other.shape[1]
    a = np.zeros((d + 1, d + 1))
    b = np.zeros(d + 1)
    for j in range(lo, hi):
        i = indices[j]
        r = values[j] - mu - other_bias[i]
        for p in range(d):
            zp = other[i, p]
            b[p] += zp * r
            for q in range(d):  # the whole row: a loop of fixed length vectorises, a triangle's does not
                a[p, q] += zp * other[i, q]  # (the solve reads the lower triangle; each entry the same sum)
            a[d, p] += zp
        a[d, d] += 1.0
        b[d] += r
    n = max(hi - lo, 1)
    for p in range(d):
        a[p, p] += reg * n
    a[d, d] += bias_reg * n
    _cholesky_solve(a, b)
    for p in range(d + 1):
        x[p] = b[p]
    return b[d]


@njit(cache=True, parallel=True)
def mf_half_step(
    indptr: np.ndarray,
    indices: np.ndarray,
    values: np.ndarray,
    other: np.ndarray,
    other_bias: np.ndarray,
    mu: float,
    reg: float,
    bias_reg: float,
    factors: np.ndarray,
    bias: np.ndarray,
) -> None:
    """Solve every row of a CSR matrix (sorted, float64 ``values``) against the fixed ``other`` side:
    ``factors[u]`` and ``bias[u]`` are replaced in place. Rows with no observation get zeros."""
    n = indptr.shape[0] - 1
    d = other.shape[1]
    for u in prange(n):
        lo, hi = indptr[u], indptr[u + 1]
        if hi == lo:
            for p in range(d):
                factors[u, p] = 0.0
            bias[u] = 0.0
            continue
        x = np.empty(d + 1)
        bias[u] = _solve_row(lo, hi, indices, values, other, other_bias, mu, reg, bias_reg, x)
        for p in range(d):
            factors[u, p] = x[p]


@njit(cache=True, parallel=True)
def mf_squared_error(
    indptr: np.ndarray,
    indices: np.ndarray,
    values: np.ndarray,
    x: np.ndarray,
    bu: np.ndarray,
    y: np.ndarray,
    bi: np.ndarray,
    mu: float,
) -> float:
    """Sum over observed pairs of ``(r_ui - mu - b_u - b_i - x_u . y_i)^2``."""
    n = indptr.shape[0] - 1
    per_row = np.zeros(n)
    for u in prange(n):
        s = 0.0
        for j in range(indptr[u], indptr[u + 1]):
            i = indices[j]
            e = values[j] - mu - bu[u] - bi[i] - np.dot(x[u], y[i])
            s += e * e
        per_row[u] = s
    return per_row.sum()
