"""The two-tower model as two pure functions over plain pytrees: ``init(key, spec) -> params`` and the towers.

Each tower is an MLP (ReLU between layers, none after the last) over its feature row, optionally concatenated
with learned id embeddings (user id for the user tower; item id and author id for the item tower), followed by
L2 normalisation. The score of a (user, item) pair is ``dot(u, v) / temperature``; since both vectors have
unit norm, ``dot(u, v)`` is their cosine in [-1, 1]. With the default ``dims=(128, 64, 32)`` and no id
embeddings this is the seed's "NNEncoding" network (128 -> 64 -> 32 in each tower).

A model is the pair (``init``, ``embed``) plus a loss (see kuaicore.models.losses): the training loop
(kuaicore.training) takes them as functions and knows nothing else about the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

Params = dict[str, Any]
_EPS = 1e-12


@dataclass(frozen=True)
class TwoTowerSpec:
    """Shapes of the model: input widths, layer sizes, id-embedding table sizes (0 = no id embeddings)."""

    n_user_features: int
    n_item_features: int
    dims: tuple[int, ...] = (128, 64, 32)
    n_users: int = 0
    n_items: int = 0
    n_authors: int = 0
    id_dim: int = 0  # width of each id embedding; 0 turns id embeddings off

    @property
    def out_dim(self) -> int:
        return self.dims[-1]


def _dense_init(key: jax.Array, n_in: int, n_out: int) -> dict[str, jax.Array]:
    """He-uniform weights (for ReLU) and zero bias."""
    limit = jnp.sqrt(6.0 / n_in)
    w = jax.random.uniform(key, (n_in, n_out), jnp.float32, -limit, limit)
    return {"w": w, "b": jnp.zeros((n_out,), jnp.float32)}


def _mlp_init(key: jax.Array, n_in: int, dims: tuple[int, ...]) -> list[dict[str, jax.Array]]:
    keys = jax.random.split(key, len(dims))
    sizes = (n_in, *dims)
    return [_dense_init(k, a, b) for k, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True)]


def init(key: jax.Array, spec: TwoTowerSpec) -> Params:
    """Fresh parameters: {"user": [layers], "item": [layers]} plus id tables when ``spec.id_dim > 0``."""
    k_user, k_item, k_uid, k_iid, k_aid = jax.random.split(key, 5)
    extra = spec.id_dim
    params: Params = {
        "user": _mlp_init(k_user, spec.n_user_features + extra, spec.dims),
        "item": _mlp_init(k_item, spec.n_item_features + 2 * extra, spec.dims),
    }
    if extra:
        scale = 0.1
        params["user_id"] = scale * jax.random.normal(k_uid, (spec.n_users, extra), jnp.float32)
        params["item_id"] = scale * jax.random.normal(k_iid, (spec.n_items, extra), jnp.float32)
        params["author_id"] = scale * jax.random.normal(k_aid, (max(spec.n_authors, 1), extra), jnp.float32)
    return params


def mlp(layers: list[dict[str, jax.Array]], x: jax.Array) -> jax.Array:
    """ReLU MLP: ReLU after every layer but the last."""
    for i, layer in enumerate(layers):
        x = x @ layer["w"] + layer["b"]
        if i < len(layers) - 1:
            x = jax.nn.relu(x)
    return x


def l2_normalize(x: jax.Array) -> jax.Array:
    """Rows scaled to unit L2 norm (a zero row stays zero)."""
    return x * jax.lax.rsqrt(jnp.maximum(jnp.sum(x * x, axis=-1, keepdims=True), _EPS))


def user_tower(params: Params, user_features: jax.Array, user_idx: jax.Array) -> jax.Array:
    """Unit-norm user vectors for ``user_idx``; ``user_features`` is the whole [n_users, F] matrix."""
    x = user_features[user_idx]
    if "user_id" in params:
        x = jnp.concatenate([x, params["user_id"][user_idx]], axis=-1)
    return l2_normalize(mlp(params["user"], x))


def item_tower(
    params: Params, item_features: jax.Array, item_author: jax.Array, item_idx: jax.Array
) -> jax.Array:
    """Unit-norm item vectors for ``item_idx``; ``item_author`` maps item index -> author (0 = unknown)."""
    x = item_features[item_idx]
    if "item_id" in params:
        ids = [params["item_id"][item_idx], params["author_id"][item_author[item_idx]]]
        x = jnp.concatenate([x, *ids], axis=-1)
    return l2_normalize(mlp(params["item"], x))


def embed(params: Params, tables: dict[str, jax.Array], user_idx: jax.Array, item_idx: jax.Array):
    """(user vectors, item vectors) of a batch; ``tables`` holds the device-resident feature matrices."""
    u = user_tower(params, tables["user_features"], user_idx)
    v = item_tower(params, tables["item_features"], tables["item_author"], item_idx)
    return u, v
