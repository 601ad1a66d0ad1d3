"""Numba kernels of the hybrid model's alternating ridge solves: factors, side-feature weights and a bias.

One half step fixes the other side and solves, for every row u of a CSR matrix of residual ratings
``e_ui`` (a user, or an item on the transposed matrix), the ridge regression

    (sum_i z_i z_i^T + n_u diag(penalty)) theta_u = sum_i e_ui z_i

where ``z_i = design[i]`` is the other side's row (its factors, its fixed side features and a 1 for the bias)
and ``n_u`` the row's observation count (weighted-lambda regularisation: one penalty suits light and heavy
rows alike). :func:`residuals` computes ``e_ui`` (the rating less the global mean, the other side's bias
and the offsets that its feature weights contribute); the Gram entries of the fixed columns are summed
once per fit (:func:`row_grams`). Arrays in, arrays out; only
numpy and numba are imported.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from kuaicore.kernels.als import _cholesky_solve

BLOCK = 8
"""Observations folded into the Gram matrix per pass (:func:`accumulate_factor_gram` is written out for
eight)."""


def mode_and_deviations(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``columns`` (float64 [n, m]) as each column's most frequent value plus the rows' deviations from it,
    stored sparse: ``(mode float64 [m], ptr int64 [n + 1], cols int64 [nnz], vals float64 [nnz])``, row i's
    deviations ``vals[ptr[i]:ptr[i + 1]]`` in the columns ``cols[...]`` (ascending). Standardised multi-hot
    tags take two values a column, so a video deviates from the modes in its 1-4 tags only: the half step
    then sums its side columns' Gram entries from those (:func:`ridge_half_step`)."""
    columns = np.asarray(columns, dtype=np.float64)
    n, m = columns.shape
    mode = np.zeros(m)
    for c in range(m):
        values, counts = np.unique(columns[:, c], return_counts=True)
        if values.size:
            mode[c] = values[np.argmax(counts)]
    deviation = columns - mode
    rows, cols = np.nonzero(deviation)  # row-major: each row's columns ascending
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=ptr[1:])
    return mode, ptr, cols.astype(np.int64), deviation[rows, cols]


@njit(cache=True, fastmath={"contract"})
def accumulate_factor_gram(
    lo: int,
    hi: int,
    indices: np.ndarray,
    values: np.ndarray,
    factors: np.ndarray,
    d: int,
    mode: np.ndarray,
    ptr: np.ndarray,
    cols: np.ndarray,
    vals: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)``: the lower triangle of ``sum z_i z_i'`` and ``sum e_i z_i`` over one row's observations
    ``lo:hi`` (``z_i`` the ``i = indices[j]``-th row of a design of ``d`` columns, ``e_i = values[j]``),
    the entries ``a[p, q]`` with ``q < cap`` only (the others stay 0). The design's first ``cap`` columns
    are ``factors`` (float64 [n_other, cap], contiguous: fewer cache lines than the full rows); the
    entries of the columns ``p >= cap`` and their ``b[p]`` are summed from those columns' modes and sparse
    deviations (:func:`mode_and_deviations` of ``design[:, cap:]``): ``sum_i z_ip z_iq = mode_p sum_i z_iq
    + sum_i dev_ip z_iq``. ``cap = d`` (no mode, no deviation) sums the whole matrix densely.

    The ``cap`` columns' block takes eight observations per pass (each entry loaded and stored once for
    eight products: a pass is bound by its loads and stores) and is summed as a whole square (a loop of
    fixed length vectorises, a triangle's does not; the Cholesky solve reads only the lower triangle).
    Multiply-adds may fuse (``contract``, no other reordering). With standardised tags a video deviates
    from the modes in about 2 of the 33 fixed columns, so a user's Gram matrix takes about a third of the
    products of a dense sum, and its cross entries equal the dense sums to rounding (~1e-15 relative),
    not bit for bit. At full scale (16 factors, 33 fixed columns) the user step went from 0.72-0.77 s to
    0.30-0.40 s."""
    cap = factors.shape[1]
    a = np.zeros((d, d))
    b = np.zeros(d)
    sums = np.zeros(cap)  # sum_i z_iq over the factor columns
    total = 0.0  # sum_i e_i
    j = lo
    while j + BLOCK <= hi:
        z0, z1 = factors[indices[j]], factors[indices[j + 1]]
        z2, z3 = factors[indices[j + 2]], factors[indices[j + 3]]
        z4, z5 = factors[indices[j + 4]], factors[indices[j + 5]]
        z6, z7 = factors[indices[j + 6]], factors[indices[j + 7]]
        r0, r1, r2, r3 = values[j], values[j + 1], values[j + 2], values[j + 3]
        r4, r5, r6, r7 = values[j + 4], values[j + 5], values[j + 6], values[j + 7]
        total += r0 + r1 + r2 + r3 + r4 + r5 + r6 + r7
        for p in range(cap):
            z0p, z1p, z2p, z3p = z0[p], z1[p], z2[p], z3[p]
            z4p, z5p, z6p, z7p = z4[p], z5[p], z6[p], z7[p]
            b[p] += z0p * r0 + z1p * r1 + z2p * r2 + z3p * r3 + z4p * r4 + z5p * r5 + z6p * r6 + z7p * r7
            sums[p] += z0p + z1p + z2p + z3p + z4p + z5p + z6p + z7p
            for q in range(cap):  # the whole square: a loop of fixed length vectorises, a triangle's not
                a[p, q] += (
                    z0p * z0[q] + z1p * z1[q] + z2p * z2[q] + z3p * z3[q]
                    + z4p * z4[q] + z5p * z5[q] + z6p * z6[q] + z7p * z7[q]
                )  # fmt: skip
        j += BLOCK
    for k in range(j, hi):  # the last observations, one at a time
        z = factors[indices[k]]
        r = values[k]
        total += r
        for p in range(cap):
            zp = z[p]
            b[p] += zp * r
            sums[p] += zp
            for q in range(cap):
                a[p, q] += zp * z[q]
    for k in range(lo, hi):  # the fixed columns' deviations from their modes
        i = indices[k]
        r = values[k]
        for t in range(ptr[i], ptr[i + 1]):
            p = cap + cols[t]
            v = vals[t]
            b[p] += v * r
            for q in range(cap):
                a[p, q] += v * factors[i, q]
    for p in range(cap, d):  # and their modes
        m = mode[p - cap]
        b[p] += m * total
        for q in range(cap):
            a[p, q] += m * sums[q]
    return a, b


@njit(cache=True, parallel=True)
def row_grams(
    indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, design: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every row's sufficient statistics against ``design`` (float64 [n_other, d]), for work that reuses them
    while the other side is fixed: ``(grams float64 [n, d (d + 1) / 2], the lower triangle of sum z z' row
    by row; b float64 [n, d], sum e z; ee float64 [n], sum e^2)``. The taste mixture's rounds use all
    three; the half steps use the grams of the fixed columns (the side columns and the bias' 1), the same
    in every half step of a fit."""
    n = indptr.shape[0] - 1
    d = design.shape[1]
    mode, cols, vals = np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0)  # every column summed densely
    ptr = np.zeros(design.shape[0] + 1, dtype=np.int64)
    grams = np.zeros((n, d * (d + 1) // 2))
    bs = np.zeros((n, d))
    ee = np.zeros(n)
    for u in prange(n):
        lo, hi = indptr[u], indptr[u + 1]
        if hi == lo:
            continue
        g, b = accumulate_factor_gram(lo, hi, indices, values, design, d, mode, ptr, cols, vals)
        t = 0
        for p in range(d):
            bs[u, p] = b[p]
            for q in range(p + 1):
                grams[u, t] = g[p, q]
                t += 1
        total = 0.0
        for j in range(lo, hi):
            total += values[j] * values[j]
        ee[u] = total
    return grams, bs, ee


@njit(cache=True, inline="always")
def _row_dot(rows: np.ndarray, u: int, cols: np.ndarray, i: int) -> float:
    """``rows[u] . cols[i]``, summed in column order from 0.0."""
    s = 0.0
    for p in range(rows.shape[1]):
        s += rows[u, p] * cols[i, p]
    return s


@njit(cache=True, parallel=True)
def _offset_columns(mode: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(base float64 [n_other], by_column float64 [m, n_other])``: ``mode . weights[i]`` for every i,
    and ``weights`` column by column (a column stays in cache over a row's observations)."""
    n_other, m = weights.shape[0], mode.shape[0]
    base = np.empty(n_other)
    by_column = np.empty((m, n_other))
    for i in prange(n_other):
        s = 0.0
        for c in range(m):
            s += mode[c] * weights[i, c]
            by_column[c, i] = weights[i, c]
        base[i] = s
    return base, by_column


@njit(cache=True, inline="always")
def _row_residuals(
    lo: int,
    hi: int,
    indices: np.ndarray,
    values: np.ndarray,
    mu: float,
    bias: np.ndarray,
    base: np.ndarray,
    by_column: np.ndarray,
    first: int,
    last: int,
    cols: np.ndarray,
    vals: np.ndarray,
    out: np.ndarray,
) -> None:
    """``out[j - lo] = values[j] - mu - bias[i] - (base[i] + sum_t vals[t] by_column[cols[t], i])`` for
    the observations ``j = lo:hi`` of one row (``i = indices[j]``), its side deviations ``first:last``."""
    for j in range(lo, hi):
        out[j - lo] = base[indices[j]]
    for t in range(first, last):
        column, v = by_column[cols[t]], vals[t]
        for j in range(lo, hi):
            out[j - lo] += v * column[indices[j]]
    for j in range(lo, hi):
        out[j - lo] = values[j] - mu - bias[indices[j]] - out[j - lo]


@njit(cache=True, parallel=True)
def _ridge_rows(
    indptr: np.ndarray,
    indices: np.ndarray,
    ratings: np.ndarray,
    mu: float,
    bias: np.ndarray,
    base: np.ndarray,
    by_column: np.ndarray,
    side_ptr: np.ndarray,
    side_cols: np.ndarray,
    side_vals: np.ndarray,
    design: np.ndarray,
    penalty: np.ndarray,
    out: np.ndarray,
    first: int,
    fixed: np.ndarray,
    sse: np.ndarray,
    factors: np.ndarray,
    mode: np.ndarray,
    ptr: np.ndarray,
    cols: np.ndarray,
    vals: np.ndarray,
) -> None:
    """:func:`ridge_half_step`: each row's residuals computed in place (:func:`_row_residuals`, from
    ``mu``, ``bias``, :func:`_offset_columns`' ``base`` and ``by_column`` and the row's side deviations
    ``side_*``) instead of read from a pass of their own, the Gram entries of columns ``first:`` taken from
    ``fixed`` (the grams of :func:`row_grams` over those columns) instead of summed again, and their cross
    entries with the factor columns (``factors``: ``design[:, :first]``, contiguous) from their modes and
    deviations (``mode``, ``ptr``, ``cols``, ``vals``: :func:`mode_and_deviations`); ``sse`` (float64
    [n], or [0] for none) receives each row's sum of squared residuals at its new coefficients."""
    n = indptr.shape[0] - 1
    d = design.shape[1]
    want_sse = sse.shape[0] > 0
    for u in prange(n):
        lo, hi = indptr[u], indptr[u + 1]
        if hi == lo:
            for p in range(d):
                out[u, p] = 0.0
            if want_sse:
                sse[u] = 0.0
            continue
        count = hi - lo
        e = np.empty(count)
        row = indices[lo:hi]
        _row_residuals(
            lo, hi, indices, ratings, mu, bias, base, by_column, side_ptr[u], side_ptr[u + 1], side_cols,
            side_vals, e,
        )  # fmt: skip
        a, b = accumulate_factor_gram(0, count, row, e, factors, d, mode, ptr, cols, vals)
        t = 0
        for p in range(first, d):
            for q in range(first, p + 1):
                a[p, q] = fixed[u, t]
                t += 1
        for p in range(d):
            a[p, p] += penalty[p] * count
        _cholesky_solve(a, b)
        for p in range(d):
            out[u, p] = b[p]
        if want_sse:  # the row's observations are still in cache: cheaper than another pass
            total = 0.0
            for j in range(count):
                r = e[j] - _row_dot(out, u, design, row[j])
                total += r * r
            sse[u] = total


def ridge_half_step(
    indptr: np.ndarray,
    indices: np.ndarray,
    values: np.ndarray,
    design: np.ndarray,
    penalty: np.ndarray,
    out: np.ndarray,
    fixed: np.ndarray | None = None,
    sse: np.ndarray | None = None,
    deviations: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    offsets: tuple | None = None,
) -> None:
    """Solve every row of a CSR matrix (sorted; float64 residual ``values``) against ``design`` (float64
    [n_other, d]); ``out[u]`` (float64 [n, d]) is replaced in place. Rows with no observation get zeros.
    ``penalty`` (float64 [d], > 0) is each coefficient's ridge penalty per observation. ``fixed``: the
    Gram entries of design's last m columns (the grams of :func:`row_grams` over ``design[:, d - m:]``),
    which are then not summed again, and their entries with the first ``d - m`` columns are summed from
    their modes and deviations (``deviations``: :func:`mode_and_deviations` of ``design[:, d - m:]``,
    computed here when not given): the same result to rounding. ``offsets``: ``(mu, bias, side,
    weights)``, ``values`` then being the ratings and what each row fits their :func:`residuals` (``side``:
    :func:`mode_and_deviations` of this side's columns), computed row by row in the solve, the same bits.
    ``sse`` (float64 [n]), when given, receives each row's sum of squared residuals ``e_j - out[u] .
    design[indices[j]]`` at the new coefficients (each dot product summed in column order from 0.0)."""
    d = design.shape[1]
    n, n_other = indptr.shape[0] - 1, design.shape[0]
    if fixed is None:
        fixed = np.zeros((n, 0))
    m = int(round((np.sqrt(8 * fixed.shape[1] + 1) - 1) / 2))  # m (m + 1) / 2 packed entries
    if deviations is None:
        deviations = mode_and_deviations(design[:, d - m :])
    if offsets is None:  # the values are the residuals: take nothing from them
        offsets = (0.0, np.zeros(n_other), mode_and_deviations(np.zeros((n, 0))), np.zeros((n_other, 0)))
    mu, bias, (side_mode, side_ptr, side_cols, side_vals), weights = offsets
    base, by_column = _offset_columns(side_mode, weights)
    if sse is None:
        sse = np.zeros(0)
    factors = np.ascontiguousarray(design[:, : d - m])
    _ridge_rows(
        indptr, indices, values, float(mu), bias, base, by_column, side_ptr, side_cols, side_vals, design,
        penalty, out, d - m, fixed, sse, factors, *deviations,
    )  # fmt: skip


@njit(cache=True, parallel=True)
def residuals(
    indptr: np.ndarray,
    indices: np.ndarray,
    values: np.ndarray,
    mu: float,
    bias: np.ndarray,
    mode: np.ndarray,
    ptr: np.ndarray,
    cols: np.ndarray,
    vals: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """``values[j] - mu - bias[i] - side[u] . weights[i]`` for every stored entry j = (u, i) of a CSR
    pattern (float64 [nnz]): what a half step fits once the global mean, the other side's bias and its
    weights over this side's columns are taken out. ``side`` (this side's columns, float64 [n, m]) comes
    as its modes and deviations (``mode``, ``ptr``, ``cols``, ``vals``: :func:`mode_and_deviations`), so
    each dot product is ``mode . weights[i]`` (once per i) plus a product per deviation: about 2 of the 32
    tag and length columns at full scale instead of all 32. One pass over the ratings instead of NumPy's
    five; :func:`ridge_half_step` computes the same bits row by row when given ``offsets``."""
    n = indptr.shape[0] - 1
    base, by_column = _offset_columns(mode, weights)
    out = np.empty(indices.shape[0])
    for u in prange(n):
        lo, hi, first, last = indptr[u], indptr[u + 1], ptr[u], ptr[u + 1]
        row = out[lo:hi]
        _row_residuals(lo, hi, indices, values, mu, bias, base, by_column, first, last, cols, vals, row)
    return out
