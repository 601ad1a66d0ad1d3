"""Numba kernels of the hybrid model's alternating ridge solves: factors, side-feature weights and a bias.

One half step fixes the other side and solves, for every row u of a CSR matrix of residual ratings
``e_ui`` (a user, or an item on the transposed matrix), the ridge regression

    (sum_i z_i z_i^T + n_u diag(penalty)) theta_u = sum_i e_ui z_i

where ``z_i = design[i]`` is the other side's row (its factors, its fixed side features and a 1 for the bias)
and ``n_u`` the row's observation count (weighted-lambda regularisation: one penalty suits light and heavy
rows alike). :func:`pair_dots` computes the per-observation offsets that the other side's feature weights
contribute. Arrays in, arrays out; only numpy and numba are imported.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from kuaicore.kernels.als import _cholesky_solve


@njit(cache=True)
def _solve_row(
    lo: int, hi: int, indices: np.ndarray, values: np.ndarray, design: np.ndarray, penalty: np.ndarray
) -> np.ndarray:
    """theta of one row: the ridge solution over its observations ``lo:hi`` (lower triangle accumulated)."""
    d = design.shape[1]
    a = np.zeros((d, d))
    b = np.zeros(d)
    for j in range(lo, hi):
        z = design[indices[j]]
        r = values[j]
        for p in range(d):
            zp = z[p]
            b[p] += zp * r
            for q in range(p + 1):
                a[p, q] += zp * z[q]
    n = hi - lo
    for p in range(d):
        a[p, p] += penalty[p] * n
    _cholesky_solve(a, b)
    return b


@njit(cache=True, parallel=True)
def ridge_half_step(
    indptr: np.ndarray,
    indices: np.ndarray,
    values: np.ndarray,
    design: np.ndarray,
    penalty: np.ndarray,
    out: np.ndarray,
) -> None:
    """Solve every row of a CSR matrix (sorted; float64 residual ``values``) against ``design`` (float64
    [n_other, d]); ``out[u]`` (float64 [n, d]) is replaced in place. Rows with no observation get zeros.
    ``penalty`` (float64 [d], > 0) is each coefficient's ridge penalty per observation."""
    n = indptr.shape[0] - 1
    d = design.shape[1]
    for u in prange(n):
        lo, hi = indptr[u], indptr[u + 1]
        if hi == lo:
            for p in range(d):
                out[u, p] = 0.0
            continue
        theta = _solve_row(lo, hi, indices, values, design, penalty)
        for p in range(d):
            out[u, p] = theta[p]


@njit(cache=True, parallel=True)
def pair_dots(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``rows[u] . cols[indices[j]]`` for every stored entry j of row u of a CSR pattern (float64 [nnz])."""
    n = indptr.shape[0] - 1
    out = np.zeros(indices.shape[0])
    f = rows.shape[1]
    for u in prange(n):
        for j in range(indptr[u], indptr[u + 1]):
            i = indices[j]
            s = 0.0
            for p in range(f):
                s += rows[u, p] * cols[i, p]
            out[j] = s
    return out
