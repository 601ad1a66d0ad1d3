"""A model as the training loop sees it: ``init``, a batch ``loss``, and how it scores: the two ``embed``
functions (a dot-product model) or ``score_pairs`` (the contract's pair-scorer capability, kuaicore.models.
contract: a model whose score of a (user, video) pair is not a dot product of two vectors).

The loop (kuaicore.training.loop) is generic over an ``Objective``; ``two_tower_objective`` builds the one of
the two-tower model for the chosen loss, ``id_mlp_objective`` the one of id-mlp (a pair scorer).
``loss(params, tables, batch) -> (loss, weight)`` returns the batch loss and the weight it averages over
(rows, or positive weight for softmax), so that losses over many batches aggregate exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from kuaicore.config import TrainConfig
from kuaicore.errors import UsageError
from kuaicore.models import id_mlp
from kuaicore.models import two_tower as tt
from kuaicore.models.losses import LOSSES
from kuaicore.models.registry import MODELS
from kuaicore.training.artifacts import TrainingData

Spread = Callable[[jax.Array], jax.Array]
Embed = Callable[[Any, dict, jax.Array], jax.Array]  # (params, tables, idx) -> float32 [n, d]
PairScore = Callable[[Any, dict, jax.Array, jax.Array], jax.Array]  # (params, tables, users, items) -> [n]


@dataclass(frozen=True)
class Objective:
    """What the loop needs of a model; ``spec`` is recorded in config.json. Either both ``embed_*`` (the run
    exports user_emb.npy and item_emb.npy) or ``score_pairs`` (the run exports eval_scores.npy; with
    ``predicts_watch_ratio`` the scores are the predicted capped watch ratio, also eval_pred.npy)."""

    init: Callable[[jax.Array], Any]
    loss: Callable[[Any, dict, dict], tuple[jax.Array, jax.Array]]
    spec: dict[str, Any]
    embed_users: Embed | None = None
    embed_items: Embed | None = None
    score_pairs: PairScore | None = None
    predicts_watch_ratio: bool = False

    def __post_init__(self) -> None:
        embeds = self.embed_users is not None and self.embed_items is not None
        if embeds == (self.score_pairs is not None):
            raise TypeError("an Objective has both embed functions or score_pairs, not both or neither")


@dataclass(frozen=True)
class LossSettings:
    """What a loss reads beside the batch (kuaicore.models.losses.Loss)."""

    cap: float
    temperature: float
    n_candidates: int


def uses_id_embeddings(cfg: TrainConfig) -> bool:
    """The effective --id-embeddings: on by default for softmax only."""
    default = cfg.loss in LOSSES and LOSSES[cfg.loss].id_embeddings
    return default if cfg.id_embeddings is None else cfg.id_embeddings


def two_tower_objective(cfg: TrainConfig, data: TrainingData, spread: Spread | None = None) -> Objective:
    """The two-tower model with ``cfg.loss``; mse regresses the cosine, bce and softmax use cosine / T.

    Each tower runs once per entity or once per row as ``cfg.towers`` says (``auto``: whichever evaluates
    fewer rows, see ``two_tower.entity_level``); ``spread`` splits the per-entity work over the devices.
    """
    known = MODELS[cfg.model].losses  # the registry lists each model's losses
    if cfg.loss not in known:
        raise UsageError(f"--loss: unknown loss {cfg.loss!r} (choose from {', '.join(known)})")
    ids = uses_id_embeddings(cfg)
    spec = tt.TwoTowerSpec(
        n_user_features=data.user_features.shape[1],
        n_item_features=data.item_features.shape[1],
        dims=tuple(cfg.dims),
        n_users=data.n_users,
        n_items=data.n_items,
        n_authors=data.n_authors,
        id_dim=cfg.id_dim if ids else 0,
    )
    cap, temp, loss_kind, n_cand, towers = data.cap, cfg.temperature, cfg.loss, cfg.n_candidates, cfg.towers
    if towers not in tt.TOWER_MODES:
        raise UsageError(f"towers: unknown mode {towers!r} (choose from {', '.join(tt.TOWER_MODES)})")

    settings = LossSettings(cap, temp, n_cand)
    loss_fn = LOSSES[loss_kind].fn

    def loss(params: Any, tables: dict, batch: dict) -> tuple[jax.Array, jax.Array]:
        u, v = tt.embed(params, tables, batch["user_idx"], batch["item_idx"], towers, spread)
        return loss_fn(u, v, batch, tables, settings)

    return Objective(
        init=lambda key: tt.init(key, spec),
        loss=loss,
        embed_users=lambda p, tables, idx: tt.user_tower(p, tables["user_features"], idx),
        embed_items=lambda p, t, idx: tt.item_tower(p, t["item_features"], t["item_author"], idx),
        spec={
            "loss": cfg.loss,
            "dims": list(spec.dims),
            "id_dim": spec.id_dim,
            "n_user_features": spec.n_user_features,
            "n_item_features": spec.n_item_features,
            "temperature": temp,
            "watch_ratio_cap": cap,
            "score": "dot(user_emb, item_emb) / temperature (embeddings are L2-normalised)",
            "mse_prediction": "watch_ratio = (cosine + 1) / 2 * watch_ratio_cap",
        },
    )


def id_mlp_objective(cfg: TrainConfig, data: TrainingData, spread: Spread | None = None) -> Objective:
    """id-mlp (kuaicore.models.id_mlp): id embeddings + item features -> MLP, trained by MSE on the capped
    watch ratio; a pair scorer whose score is its watch-ratio prediction. It trains with mse only."""
    if cfg.loss != "mse":
        raise UsageError(f"--loss: {cfg.model} trains with mse only (got {cfg.loss!r})")
    spec = id_mlp.IdMlpSpec(data.n_users, data.n_items, data.item_features.shape[1])

    def loss(params: Any, tables: dict, batch: dict) -> tuple[jax.Array, jax.Array]:
        return id_mlp.mse(params, tables["item_features"], batch), jnp.sum(batch["mask"])

    return Objective(
        init=lambda key: id_mlp.init(key, spec),
        loss=loss,
        spec={
            "loss": "mse",
            "n_users": spec.n_users,
            "n_items": spec.n_items,
            "n_item_features": spec.n_item_features,
            "emb_dim": spec.emb_dim,
            "dims": list(spec.dims),
            "score": "score_pairs(user, item) of every eval.parquet row (eval_scores.npy)",
            "mse_prediction": "watch_ratio = the score (eval_pred.npy = eval_scores.npy)",
        },
        score_pairs=lambda p, tables, users, items: id_mlp.predict(p, tables["item_features"], users, items),
        predicts_watch_ratio=True,
    )


def make_objective(cfg: TrainConfig, data: TrainingData, spread: Spread | None = None) -> Objective:
    """The Objective of ``cfg.model`` (its registry entry names the function); UsageError for a model that
    the JAX loop does not train."""
    from kuaicore.models.resolve import resolve

    model = resolve(cfg.model)
    if not model.trains_in_loop:
        raise UsageError(f"--model: {cfg.model} is not trained by the JAX loop")
    return model.objective(cfg, data, spread)
