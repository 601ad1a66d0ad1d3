"""Small rating matrices with planted taste (tags and latent factors) for the factor models' tests."""

from __future__ import annotations

import numpy as np

from kuaicore.models.interactions import Interactions, build_csr
from kuaicore.protocol import candidates_from_rows

TASTE_GROUPS_OFF = {"clusters": "", "covariance_groups": "", "mixture_groups": ""}
"""Hybrid options without the taste-group stage (its own tests: tests/test_user_clusters.py)."""

LAST_STAGES_OFF = {"neighbours": "", **TASTE_GROUPS_OFF}
"""Hybrid options without the stages after the penalty paths: the taste groups and the neighbourhood term
(tests/test_neighbours.py), for tests of the paths themselves."""


def interactions(users, items, values, shape):
    matrix, counts = build_csr(users, items, values, shape)
    return Interactions(matrix=matrix, counts=counts, n_rows=len(users))


def planted(seed: int, tag_weight: float, factor_weight: float, n_users=120, n_items=90, n_tags=12):
    """Ratings from user tag taste . video tags and latent factors; 25% of pairs observed for training,
    the rest the unseen pairs a model must rank."""
    rng = np.random.default_rng(seed)
    tags = (rng.random((n_items, n_tags)) < 0.3).astype(np.float64)
    taste = rng.standard_normal((n_users, n_tags))
    xu, yi = rng.standard_normal((n_users, 3)), rng.standard_normal((n_items, 3))
    truth = tag_weight * taste @ tags.T + factor_weight * xu @ yi.T + rng.normal(0, 0.3, n_items)
    watch = np.exp(truth * 0.5) + 0.5  # a positive watch ratio, monotone in the truth
    observed = rng.random((n_users, n_items)) < 0.25
    u, i = np.nonzero(observed)
    data = interactions(u, i, watch[u, i].astype(np.float32), (n_users, n_items))
    hu, hi = np.nonzero(~observed)
    return data, tags, candidates_from_rows(hu, hi, watch[hu, hi].astype(np.float32)), watch
