"""Popularity baseline: one score per video, the same for every user, as rank-1 embeddings.

Two variants (``PopularityOptions.variant``):

- ``views``: the number of training rows of the video (re-watches count);
- ``mean-wr``: the mean capped watch ratio with a count prior, ``score_i = (sum_i + prior * global_mean) /
  (count_i + prior)``, so a video seen twice does not outrank one seen a thousand times on noise
  (``global_mean`` = mean target over all training rows).

Embeddings: ``user_emb = ones[n_users, 1]``, ``item_emb = score[n_items, 1]``; their dot product is the score.
``mean-wr`` is also a watch-ratio predictor (the dot product is the predicted capped watch ratio).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kuaicore.errors import UsageError
from kuaicore.models.contract import Fitted, ModelData
from kuaicore.models.interactions import Interactions

VARIANTS = ("views", "mean-wr")


@dataclass(frozen=True)
class PopularityOptions:
    """``variant``: views | mean-wr; ``prior``: pseudo-count of the global mean (mean-wr only)."""

    variant: str = "mean-wr"  # the reference row of evaluate is by views; this is the stronger variant
    prior: float = 20.0

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise UsageError(f"--variant: {self.variant!r} is not one of {', '.join(VARIANTS)}")
        if not self.prior >= 0:
            raise UsageError(f"--prior: must be >= 0, got {self.prior}")


def popularity_scores(item_sum: np.ndarray, item_count: np.ndarray, options: PopularityOptions) -> np.ndarray:
    """Per-item scores (float64) from per-item target sums and row counts."""
    count = item_count.astype(np.float64)
    if options.variant == "views":
        return count
    total = float(count.sum())
    global_mean = float(item_sum.sum()) / total if total > 0 else 0.0
    denom = count + options.prior
    with np.errstate(invalid="ignore", divide="ignore"):
        score = (item_sum + options.prior * global_mean) / denom
    return np.where(denom > 0, score, global_mean)


def fit(
    data: Interactions, options: PopularityOptions = PopularityOptions()
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Fit popularity; returns ``(user_emb f32[n_users,1], item_emb f32[n_items,1], info)``."""
    n_users, n_items = data.shape
    cols = data.matrix.indices
    item_count = np.bincount(cols, weights=data.counts, minlength=n_items)
    item_sum = np.bincount(cols, weights=data.matrix.data.astype(np.float64), minlength=n_items)
    score = popularity_scores(item_sum, item_count, options)
    user_emb = np.ones((n_users, 1), dtype=np.float32)
    item_emb = score.astype(np.float32)[:, None]
    info = {
        "variant": options.variant,
        "prior": options.prior,
        "n_rows": int(item_count.sum()),
        "items_with_views": int((item_count > 0).sum()),
    }
    return user_emb, item_emb, info


def fit_art(data: ModelData, options: PopularityOptions) -> Fitted:
    """The fit contract (kuaicore.models.contract): popularity of ART's training rows."""
    user_emb, item_emb, info = fit(data.interactions, options)
    return Fitted(user_emb, item_emb, info=info)
