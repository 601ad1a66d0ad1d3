"""Entity-level towers: running each tower once per user/video and gathering gives the same losses and
gradients as running it once per row, for every loss, with and without id embeddings."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kuaicore.config import TrainConfig
from kuaicore.models import two_tower as tt
from kuaicore.training.artifacts import TrainingData
from kuaicore.training.objective import two_tower_objective

N_USERS, N_ITEMS, B = 6, 9, 32


def _data(seed: int = 0) -> TrainingData:
    rng = np.random.default_rng(seed)
    return TrainingData(
        art=Path("."),
        manifest={"watch_ratio_cap": 5.0},
        user_features=rng.normal(size=(N_USERS, 5)).astype(np.float32),
        item_features=rng.normal(size=(N_ITEMS, 4)).astype(np.float32),
        item_author=rng.integers(0, 3, N_ITEMS).astype(np.int32),
        item_train_counts=rng.integers(1, 50, N_ITEMS),
        train_path=Path("t"),
        valid_path=Path("v"),
    )


def _tables(data: TrainingData) -> dict:
    counts = data.item_train_counts.astype(np.float64)
    return {
        "user_features": jnp.asarray(data.user_features),
        "item_features": jnp.asarray(data.item_features),
        "item_author": jnp.asarray(data.item_author),
        "log_q": jnp.asarray(np.log(counts / counts.sum()), jnp.float32),
    }


def _batch(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    target = rng.gamma(1.2, 1.0, B).astype(np.float32)
    mask = (np.arange(B) < B - 3).astype(np.float32)  # three padded rows
    return {
        "user_idx": jnp.asarray(rng.integers(0, N_USERS, B), jnp.int32),
        "item_idx": jnp.asarray(rng.integers(0, N_ITEMS, B), jnp.int32),
        "target": jnp.asarray(np.minimum(target, 5.0)),
        "label": jnp.asarray((target >= 1.0) * 1.0, jnp.float32),
        "mask": jnp.asarray(mask),
    }


@pytest.mark.parametrize("loss", ["mse", "bce", "softmax"])
@pytest.mark.parametrize("ids", [False, True])
def test_entity_level_equals_per_row(loss, ids):
    data = _data()
    tables, batch = _tables(data), _batch(1)
    results = {}
    for mode in ("rows", "entities"):
        cfg = TrainConfig(
            art=Path("."),
            loss=loss,
            dims=(8, 4),
            id_embeddings=ids,
            id_dim=3,
            temperature=0.2,
            n_candidates=16,
            towers=mode,
        )
        obj = two_tower_objective(cfg, data)
        params = obj.init(jax.random.key(7))
        (value, weight), grads = jax.value_and_grad(obj.loss, has_aux=True)(params, tables, batch)
        results[mode] = (float(value), float(weight), grads)
    (v_rows, w_rows, g_rows), (v_ent, w_ent, g_ent) = results["rows"], results["entities"]
    assert w_rows == w_ent and v_rows == pytest.approx(v_ent, rel=1e-5)
    assert ("user_id" in g_rows) == ids
    flat_rows, flat_ent = jax.tree.leaves_with_path(g_rows), jax.tree.leaves(g_ent)
    assert any(float(jnp.abs(g).max()) > 0 for _, g in flat_rows)
    for (path, a), b in zip(flat_rows, flat_ent, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=jax.tree_util.keystr(path))


def test_auto_runs_the_cheaper_side():
    assert tt.entity_level(n_rows=8192, n_entities=7176)  # users: fewer entities than rows
    assert not tt.entity_level(n_rows=8192, n_entities=10_728)  # items: fewer rows than entities
    assert tt.entity_level(n_rows=4, n_entities=10, mode="entities")
    assert not tt.entity_level(n_rows=100, n_entities=10, mode="rows")
    with pytest.raises(ValueError, match="tower mode"):
        tt.entity_level(1, 1, mode="unique")
