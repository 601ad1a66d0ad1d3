"""How long the JAX models train by default: a budget of optimizer steps, not a fixed number of epochs.

A fixed 3 epochs is 24 steps on a small dataset and 7,600 on the full one: the first stops far from the
model's best (BENCHMARKS.md "The blend's two-tower part, trained to its best epoch"). ``--epochs 0`` (the
default) gives as many epochs as ``STEP_BUDGET`` steps take, within ``MIN_EPOCHS``..``MAX_EPOCHS``, and
stops after ``AUTO_PATIENCE`` epochs without a better valid ndcg@10; the best epoch is exported either way.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

STEP_BUDGET = 2_000
MIN_EPOCHS, MAX_EPOCHS = 3, 30
AUTO_PATIENCE = 3


def auto_epochs(rows: int, batch_size: int) -> int:
    """Epochs of ``rows`` training rows in batches of ``batch_size`` that make STEP_BUDGET optimizer steps
    (the last epoch's partial batch counts as a step), clipped to MIN_EPOCHS..MAX_EPOCHS."""
    steps_per_epoch = max(1, -(-rows // max(batch_size, 1)))
    return int(min(MAX_EPOCHS, max(MIN_EPOCHS, -(-STEP_BUDGET // steps_per_epoch))))


def resolve_epochs(cfg: Any, rows: int, batch_size: int) -> Any:
    """``cfg`` (a TrainConfig) with automatic epochs (``epochs == 0``) made concrete for ``rows`` training
    rows in batches of ``batch_size``: the epochs of :func:`auto_epochs` and a patience of ``AUTO_PATIENCE``
    unless one was given. What the loop trains and records in the run's config.json; else ``cfg`` itself."""
    if cfg.epochs != 0:
        return cfg
    return replace(cfg, epochs=auto_epochs(rows, batch_size), patience=cfg.patience or AUTO_PATIENCE)
