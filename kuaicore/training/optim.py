"""The optimiser of a run: gradient clipping, then Adam with decoupled weight decay, optional cosine decay."""

from __future__ import annotations

import optax

from kuaicore.config import TrainConfig


def make_optimizer(cfg: TrainConfig, total_steps: int) -> optax.GradientTransformation:
    """clip_by_global_norm(cfg.clip_norm) -> adamw(lr, weight_decay); lr cosine-decays over total_steps."""
    lr: float | optax.Schedule = cfg.lr
    if cfg.cosine_schedule:
        lr = optax.cosine_decay_schedule(cfg.lr, decay_steps=max(total_steps, 1), alpha=0.01)
    parts = []
    if cfg.clip_norm > 0:
        parts.append(optax.clip_by_global_norm(cfg.clip_norm))
    parts.append(optax.adamw(lr, weight_decay=cfg.weight_decay))
    return optax.chain(*parts)
