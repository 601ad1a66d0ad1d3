"""The two-tower model: shapes, unit-norm outputs, id embeddings, determinism, and a gradient check."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.test_util import check_grads

from kuaicore.models import two_tower as tt
from kuaicore.models.losses import bce_loss, mse_loss, sampled_softmax_loss


def _tables(nu=5, ni=7, fu=4, fi=6, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "user_features": jnp.array(rng.normal(size=(nu, fu)), jnp.float32),
        "item_features": jnp.array(rng.normal(size=(ni, fi)), jnp.float32),
        "item_author": jnp.array(rng.integers(0, 3, ni), jnp.int32),
    }


def test_default_dims_are_nnencoding():
    spec = tt.TwoTowerSpec(n_user_features=4, n_item_features=6)
    params = tt.init(jax.random.key(0), spec)
    assert [lay["w"].shape for lay in params["user"]] == [(4, 128), (128, 64), (64, 32)]
    assert [lay["w"].shape for lay in params["item"]] == [(6, 128), (128, 64), (64, 32)]
    assert set(params) == {"user", "item"}


def test_outputs_unit_norm_and_deterministic():
    spec = tt.TwoTowerSpec(4, 6, dims=(8, 3), n_users=5, n_items=7, n_authors=3, id_dim=2)
    p1, p2 = tt.init(jax.random.key(1), spec), tt.init(jax.random.key(1), spec)
    assert params_equal(p1, p2)
    assert p1["item"][0]["w"].shape == (6 + 4, 8)  # item features + item id + author id
    u, v = tt.embed(p1, _tables(), jnp.array([0, 4, 4]), jnp.array([6, 0, 1]))
    assert u.shape == (3, 3) and v.shape == (3, 3)
    np.testing.assert_allclose(jnp.linalg.norm(u, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(jnp.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(u[1], u[2])  # same user -> same vector


def test_mlp_matches_numpy():
    params = tt.init(jax.random.key(2), tt.TwoTowerSpec(4, 6, dims=(5, 3)))
    x = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    l0, l1 = params["user"]
    h = np.maximum(x @ np.asarray(l0["w"]) + np.asarray(l0["b"]), 0)
    want = h @ np.asarray(l1["w"]) + np.asarray(l1["b"])
    np.testing.assert_allclose(tt.mlp(params["user"], jnp.array(x)), want, rtol=1e-5, atol=1e-6)


def params_equal(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


def test_gradients_match_finite_differences():
    spec = tt.TwoTowerSpec(4, 6, dims=(6, 4), n_users=5, n_items=7, n_authors=3, id_dim=2)
    tables = _tables()
    ui, ii = jnp.array([0, 1, 2, 3]), jnp.array([0, 1, 2, 2])
    target, mask = jnp.array([1.0, 3.0, 0.5, 2.0]), jnp.array([1.0, 1.0, 1.0, 0.0])

    def loss(params):
        u, v = tt.embed(params, tables, ui, ii)
        cos = jnp.sum(u * v, axis=1)
        return (
            mse_loss(cos, target, mask, 5.0)
            + bce_loss(cos / 0.5, (target > 1).astype(jnp.float32), mask)
            + sampled_softmax_loss(u, v, ii, mask * target, jnp.full(4, -1.0), mask, 0.5, 4)
        )

    params = jax.tree.map(lambda x: x.astype(jnp.float32), tt.init(jax.random.key(3), spec))
    check_grads(loss, (params,), order=1, modes=["rev"], atol=5e-2, rtol=5e-2, eps=1e-2)
