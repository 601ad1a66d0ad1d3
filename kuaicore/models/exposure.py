"""Exposure factors: implicit-ALS factors of *which* videos each user was shown, as side columns.

big_matrix was logged by a personalised feed, so the set of videos a user was shown already follows their
taste (REAL_STATS.md "Relations": on the real data exposure-only models beat popularity). The explicit
models (mf, hybrid) regress the watch ratios of the watched pairs and never use that set. Here the pattern
of the training matrix (1 where the user was shown the video, re-watches counted once) is factorised by
implicit ALS (:mod:`kuaicore.models.als`, confidence ``1 + alpha`` on shown pairs, 1 elsewhere); the user
factors ``P`` and item factors ``Q`` become fixed side columns of the hybrid (``--option implicit=K``):
``v_i . P_u`` lets each video learn which exposure profiles like it (the asymmetric, SVD++-like part: a
user described by what they were shown) and ``w_u . Q_i`` lets each user weigh the videos' exposure
neighbourhoods as they weigh tags. Each column is scaled to unit root-mean-square, so one side penalty
means the same whatever ALS's scale.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from kuaicore.models.als import ALSOptions
from kuaicore.models.als import fit as als_fit
from kuaicore.models.interactions import Interactions


def exposure_pattern(data: Interactions) -> Interactions:
    """The training matrix's pattern: 1.0 on every stored (user, video) pair, one row each."""
    m = data.matrix
    ones = np.ones(m.nnz, dtype=np.float64)
    pattern = sp.csr_matrix((ones, m.indices.copy(), m.indptr.copy()), m.shape)
    return Interactions(pattern, np.ones(m.nnz, dtype=np.int32), n_rows=int(m.nnz))


def unit_rms(a: np.ndarray) -> np.ndarray:
    """``a`` (float64 copy) with each column divided by its root-mean-square (all-zero columns kept)."""
    out = np.array(a, dtype=np.float64)
    rms = np.sqrt(np.mean(out**2, axis=0)) if out.shape[0] else np.zeros(out.shape[1])
    return out / np.where(rms > 0, rms, 1.0)


def exposure_factors(
    data: Interactions, factors: int, seed: int = 0, iterations: int = 15
) -> tuple[np.ndarray, np.ndarray]:
    """(user float64 [n_users, factors], item float64 [n_items, factors]): implicit-ALS factors of the
    exposure pattern (ALS's default confidence, regularisation and CG solver; seeded), each column at unit
    RMS."""
    options = ALSOptions(factors=factors, iterations=iterations, seed=seed, dtype="float64")
    x, y, _ = als_fit(exposure_pattern(data), options, track_objective=False)
    return unit_rms(x), unit_rms(y)


def with_exposure(
    data: Interactions, user_side: np.ndarray, item_side: np.ndarray, factors: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``user_side`` and ``item_side`` with the exposure factors appended as their last ``factors``
    columns (unchanged when ``factors`` is 0)."""
    if factors <= 0:
        return user_side, item_side
    p, q = exposure_factors(data, factors, seed)
    n_users, n_items = data.shape
    user = np.hstack([np.asarray(user_side, dtype=np.float64).reshape(n_users, -1), p])
    item = np.hstack([np.asarray(item_side, dtype=np.float64).reshape(n_items, -1), q])
    return user, item
