"""benchmarks/diag_known_items.py: its design holds the planted body mean exactly (the premise of the bound),
and its per-user ridge matches the normal equations with a prior."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from kuaicore.data.synth import truth as planted

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from diag_known_items import item_design, user_ridge  # noqa: E402


def test_the_item_design_spans_every_users_planted_body_mean():
    world = planted.make_world(40, 60, seed=2, world="mixed-taste")
    users, items = np.arange(40), np.arange(60)
    design = item_design(world, items)
    m, _ = planted.body_mean_and_skip(world, users, items)
    # the coefficients that reproduce m_ui: tag taste, category taste, factors, 1 for the item offset,
    # and an intercept of everything that is the user's own (MU + b_u - the taste worlds' length shift)
    shift = planted._length_shift(world)
    intercept = planted.MU + world.user_bias - shift
    coef = np.hstack(
        [world.taste_tag, world.taste_cat, world.user_factors, np.ones((40, 1)), intercept[:, None]]
    )
    assert design.shape[1] == coef.shape[1]
    assert np.allclose(coef @ design.T, m)


def test_user_ridge_solves_each_users_normal_equations_toward_the_prior():
    rng = np.random.default_rng(0)
    r = sp.random(5, 12, density=0.5, format="csr", random_state=rng)
    design = rng.standard_normal((12, 3))
    prior = rng.standard_normal((5, 3))
    coef = user_ridge(r, design, 2.0, prior)
    for u in range(5):
        lo, hi = r.indptr[u], r.indptr[u + 1]
        x, y = design[r.indices[lo:hi]], r.data[lo:hi]
        want = np.linalg.solve(x.T @ x + 2.0 * np.eye(3), x.T @ y + 2.0 * prior[u])
        assert np.allclose(coef[u], want)
