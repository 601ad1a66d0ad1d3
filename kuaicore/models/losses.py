"""Training losses of embedding models, as pure functions over arrays (every one masked: padded rows weigh 0).

- ``mse``: regression of the capped watch ratio min-max scaled to [-1, 1] (``scale_target``) by the cosine
  of the two towers; the predicted watch ratio is ``unscale_prediction(cosine) = (cosine + 1) / 2 * cap``.
- ``bce``: pointwise binary cross-entropy of the label (watch_ratio > like_threshold) on logits cosine / T.
- ``softmax``: in-batch sampled softmax (Yi et al. 2019, "Sampling-bias-corrected neural modeling").
  Queries are the batch's positive rows (label == 1), each weighted by its capped watch ratio; candidates are
  the items of the first ``n_candidates`` rows of the (shuffled) batch, i.e. a sample from the training item
  distribution, so every logit is corrected by subtracting ``log q_j`` with q_j = item_train_counts[j] /
  total. A candidate whose item equals the query's positive item (an accidental hit, including the query's
  own row) is masked out; the positive logit itself is computed row-wise and always present.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jax

_MASKED = -1e9
# JAX is imported inside each function: the registry reads LOSSES' names (the --loss choices) without it


def scale_target(target: jax.Array, cap: float) -> jax.Array:
    """Capped watch ratio in [0, cap] -> [-1, 1]."""
    return 2.0 * target / cap - 1.0


def unscale_prediction(cosine: jax.Array, cap: float) -> jax.Array:
    """Cosine in [-1, 1] -> predicted watch ratio in [0, cap] (inverse of ``scale_target``)."""
    return (cosine + 1.0) * 0.5 * cap


def _masked_mean(values: jax.Array, weight: jax.Array) -> jax.Array:
    import jax.numpy as jnp

    return jnp.sum(values * weight) / jnp.maximum(jnp.sum(weight), 1e-12)


def mse_loss(cosine: jax.Array, target: jax.Array, mask: jax.Array, cap: float) -> jax.Array:
    """Mean over unmasked rows of (cosine - scale_target(target))^2."""
    return _masked_mean((cosine - scale_target(target, cap)) ** 2, mask)


def bce_loss(logits: jax.Array, label: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean over unmasked rows of -[y log s(z) + (1 - y) log(1 - s(z))], computed stably."""
    import jax

    per_row = -(label * jax.nn.log_sigmoid(logits) + (1.0 - label) * jax.nn.log_sigmoid(-logits))
    return _masked_mean(per_row, mask)


def sampled_softmax_loss(
    u: jax.Array,
    v: jax.Array,
    item_idx: jax.Array,
    weight: jax.Array,
    log_q: jax.Array,
    candidate_mask: jax.Array,
    temperature: float,
    n_candidates: int,
) -> jax.Array:
    """Weighted in-batch softmax with logQ correction and accidental-hit masking.

    u, v: [B, d] query and positive-item vectors; item_idx: [B] items of the rows; weight: [B] query weights
    (0 for non-positive or padded rows); log_q: [B] log sampling probability of each row's item;
    candidate_mask: [B] 1 where the row may serve as a candidate (not padding). Candidates are rows
    ``0 .. n_candidates-1``. For query i: pos_i = u_i.v_i / T - log_q_i, neg_ij = u_i.v_j / T - log_q_j masked
    where item_j == item_i or row j is padding; loss_i = logsumexp([pos_i, neg_i.]) - pos_i; the result is
    sum_i weight_i * loss_i / sum_i weight_i.
    """
    import jax
    import jax.numpy as jnp

    c = min(n_candidates, u.shape[0])
    pos = jnp.sum(u * v, axis=-1) / temperature - log_q
    neg = (u @ v[:c].T) / temperature - log_q[None, :c]
    blocked = (item_idx[:, None] == item_idx[None, :c]) | (candidate_mask[None, :c] <= 0)
    neg = jnp.where(blocked, _MASKED, neg)
    logits = jnp.concatenate([pos[:, None], neg], axis=1)
    per_row = jax.nn.logsumexp(logits, axis=1) - pos
    return _masked_mean(per_row, weight)


@dataclass(frozen=True)
class Loss:
    """A loss of the two-tower as the training loop calls it: ``fn(u, v, batch, tables, settings)`` ->
    ``(value, weight)`` (the batch's loss and the weight it averages over, so that batches combine);
    ``settings`` has ``cap``, ``temperature`` and ``n_candidates``. ``id_embeddings``: the default of
    --id-embeddings with it; ``predicts_watch_ratio``: its cosine maps back to a watch ratio (MAE/RMSE)."""

    fn: Callable[..., Any]
    id_embeddings: bool = False
    predicts_watch_ratio: bool = False


def _mse(u: jax.Array, v: jax.Array, batch: dict, tables: dict, s: Any) -> tuple[jax.Array, jax.Array]:
    import jax.numpy as jnp

    cos = jnp.sum(u * v, axis=-1)
    return mse_loss(cos, batch["target"], batch["mask"], s.cap), jnp.sum(batch["mask"])


def _bce(u: jax.Array, v: jax.Array, batch: dict, tables: dict, s: Any) -> tuple[jax.Array, jax.Array]:
    import jax.numpy as jnp

    cos = jnp.sum(u * v, axis=-1)
    return bce_loss(cos / s.temperature, batch["label"], batch["mask"]), jnp.sum(batch["mask"])


def _softmax(u: jax.Array, v: jax.Array, batch: dict, tables: dict, s: Any) -> tuple[jax.Array, jax.Array]:
    import jax.numpy as jnp

    mask = batch["mask"]
    weight = mask * batch["label"] * batch["target"]
    log_q = tables["log_q"][batch["item_idx"]]
    value = sampled_softmax_loss(u, v, batch["item_idx"], weight, log_q, mask, s.temperature, s.n_candidates)
    return value, jnp.sum(weight)


# every loss of the two-tower, by its --loss name (the first is the default); adding one is adding it here
LOSSES: dict[str, Loss] = {
    "mse": Loss(_mse, predicts_watch_ratio=True),
    "bce": Loss(_bce),
    "softmax": Loss(_softmax, id_embeddings=True),
}
