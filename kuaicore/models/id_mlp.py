"""Seed 002's model: user and item id embeddings plus an item-feature branch, concatenated, then an MLP.

    x = [E_user[u] (32), E_item[i] (32), relu(item_features[i] W_f + b_f) (32)]
    watch_ratio_hat = MLP(x), layers 32 -> 16 -> 1 (ReLU between), trained by MSE on the capped watch ratio

Pure functions over a plain pytree (``init``/``predict``/``mse``); the JAX training loop trains it through
``kuaicore.training.objective.id_mlp_objective``. The score of a (user, video) pair is not a dot product of
two vectors, so it is a pair scorer (the contract's ``score_pairs`` capability): the loop validates it on its
scores of valid.parquet's pairs, and a run scores the small-matrix cells it is evaluated on
(``eval_scores.npy``) instead of exporting embeddings; it cannot rank the full catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from kuaicore.models.two_tower import _dense_init, _mlp_init

Params = dict[str, Any]


@dataclass(frozen=True)
class IdMlpSpec:
    """Table sizes, feature width, embedding width and the MLP's layer sizes."""

    n_users: int
    n_items: int
    n_item_features: int
    emb_dim: int = 32
    dims: tuple[int, ...] = (32, 16, 1)


def init(key: jax.Array, spec: IdMlpSpec) -> Params:
    """Fresh parameters: the two id tables (N(0, 0.05)), the feature branch and the MLP."""
    k_u, k_i, k_f, k_m = jax.random.split(key, 4)
    return {
        "user_emb": 0.05 * jax.random.normal(k_u, (spec.n_users, spec.emb_dim), jnp.float32),
        "item_emb": 0.05 * jax.random.normal(k_i, (spec.n_items, spec.emb_dim), jnp.float32),
        "feat": _dense_init(k_f, spec.n_item_features, spec.emb_dim),
        "mlp": _mlp_init(k_m, 3 * spec.emb_dim, spec.dims),
    }


def predict(params: Params, item_features: jax.Array, users: jax.Array, items: jax.Array) -> jax.Array:
    """Predicted capped watch ratio of each (users[r], items[r]) pair, shape [n]."""
    feat = jax.nn.relu(item_features[items] @ params["feat"]["w"] + params["feat"]["b"])
    x = jnp.concatenate([params["user_emb"][users], params["item_emb"][items], feat], axis=-1)
    layers = params["mlp"]
    for layer in layers[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    return (x @ layers[-1]["w"] + layers[-1]["b"])[:, 0]


def mse(params: Params, item_features: jax.Array, batch: dict[str, jax.Array]) -> jax.Array:
    """Mean squared error over the unmasked rows of a batch (``mask`` 1 for real rows, 0 for padding)."""
    err = predict(params, item_features, batch["user_idx"], batch["item_idx"]) - batch["target"]
    return jnp.sum(batch["mask"] * err**2) / jnp.maximum(jnp.sum(batch["mask"]), 1.0)
