"""Seeded percentile-bootstrap confidence intervals of a mean over users (Numba, parallel over replicates).

Replicate b resamples the n users with replacement using its own SplitMix64 stream seeded from (seed, b), so
the result depends only on (values, n_boot, seed, alpha): the same bytes on any number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from kuaicore.kernels._arrays import KernelInputError

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def _splitmix64(state):
    """Advance a SplitMix64 state; returns (new_state, 64 random bits)."""
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return state, z ^ (z >> np.uint64(31))


@njit(cache=True, parallel=True)
def _bootstrap_means(values, n_boot, seed):
    n, m = values.shape
    means = np.empty((n_boot, m), dtype=np.float64)
    for b in prange(n_boot):
        state, _ = _splitmix64(np.uint64(seed) ^ (np.uint64(b) * _MIX2))
        acc = np.zeros(m, dtype=np.float64)
        for _i in range(n):
            state, bits = _splitmix64(state)
            row = min(int(np.float64(bits >> np.uint64(11)) * _TO_UNIT * n), n - 1)
            for j in range(m):
                acc[j] += values[row, j]
        for j in range(m):
            means[b, j] = acc[j] / n
    return means


def bootstrap_means(values: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Means of ``n_boot`` resamples (with replacement) of the rows of ``values`` [n] or [n, m]:
    float64 [n_boot] or [n_boot, m]; row b is the same for a given (seed, b) whatever n_boot is."""
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.ndim not in (1, 2) or arr.shape[0] == 0:
        raise KernelInputError(f"values must be a non-empty [n] or [n, m] array, got shape {arr.shape}")
    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 1:
        raise KernelInputError(f"n_boot must be a positive integer, got {n_boot!r}")
    if int(seed) != seed or not 0 <= seed < 2**63:
        raise KernelInputError(f"seed must be an integer in [0, 2**63), got {seed!r}")
    means = _bootstrap_means(arr.reshape(arr.shape[0], -1), int(n_boot), int(seed))
    return means[:, 0] if arr.ndim == 1 else means


def bootstrap_ci(
    values: np.ndarray, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Percentile bootstrap (1 - alpha) confidence interval of the mean of ``values`` over users.

    Args:
        values: float [n] per-user values (users to skip already removed; NaN propagates), or [n, m] for m
            metrics resampled with the same users.
        n_boot: resamples; seed: fixes them; alpha: 0.05 gives a 95% interval.

    Returns:
        (lo, hi): the alpha/2 and 1 - alpha/2 quantiles (linear interpolation) of the resampled means; floats
        for 1-D ``values``, float64 [m] arrays for 2-D.
    """
    if not 0.0 < alpha < 1.0:
        raise KernelInputError(f"alpha must be in (0, 1), got {alpha!r}")
    means = bootstrap_means(values, n_boot, seed)
    lo, hi = np.quantile(means, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
    if means.ndim == 1:
        return float(lo), float(hi)
    return lo, hi
