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

from collections.abc import Callable
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


TOWER_MODES = ("auto", "rows", "entities")


def entity_level(n_rows: int, n_entities: int, mode: str = "auto") -> bool:
    """Whether a tower runs once per entity (then rows gather) rather than once per row.

    ``auto``: per entity when the table has no more entities than the step has rows, i.e. the cheaper of the
    two in tower evaluations (min(rows, entities)). The batch's unique entities are no cheaper than its rows
    under XLA's static shapes (the unique set needs a bound of ``n_rows``), so they are not a third choice.
    """
    if mode not in TOWER_MODES:
        raise ValueError(f"tower mode must be one of {TOWER_MODES}, got {mode!r}")
    return mode == "entities" or (mode == "auto" and n_entities <= n_rows)


def _gathered(
    tower: Callable[[jax.Array], jax.Array],
    n_entities: int,
    idx: jax.Array,
    mode: str,
    spread: Callable[[jax.Array], jax.Array] | None,
) -> jax.Array:
    if not entity_level(idx.shape[0], n_entities, mode):
        return tower(idx)
    every = jnp.arange(n_entities, dtype=jnp.int32)
    vectors = tower(spread(every) if spread is not None else every)
    return vectors[idx]  # the gradient flows back through the gather as a scatter-add onto the entities


def embed(
    params: Params,
    tables: dict[str, jax.Array],
    user_idx: jax.Array,
    item_idx: jax.Array,
    mode: str = "auto",
    spread: Callable[[jax.Array], jax.Array] | None = None,
) -> tuple[jax.Array, jax.Array]:
    """(user vectors, item vectors) of a batch; ``tables`` holds the device-resident feature matrices.

    Each tower runs either once per row or once per entity followed by a gather (``entity_level``); both
    give the same vectors and gradients. ``spread`` (e.g. a sharding constraint) is applied to the entity
    indices so that the per-entity towers split over the devices like the rows do.
    """
    uf, itf, author = tables["user_features"], tables["item_features"], tables["item_author"]
    u = _gathered(lambda i: user_tower(params, uf, i), uf.shape[0], user_idx, mode, spread)
    v = _gathered(lambda i: item_tower(params, itf, author, i), itf.shape[0], item_idx, mode, spread)
    return u, v
