"""The jitted functions of one training configuration, compiled once per process and reused by later runs
(a resume, `compare`, a sweep): init, the train step (streamed path), the span loop (device-resident path),
the eval step and the two embedding functions (or the pair scorer of a model that scores pairs)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import jax
import numpy as np

from kuaicore.config import TrainConfig
from kuaicore.training import resident as rs
from kuaicore.training import step as st
from kuaicore.training.artifacts import TRAIN_COLUMNS
from kuaicore.training.objective import make_objective
from kuaicore.training.optim import make_optimizer


@dataclass(frozen=True)
class Compiled:
    """The jitted functions of one configuration; ``step_for`` compiles the train step ahead of time."""

    init: Any
    opt_init: Any
    train_step: Any
    eval_step: Any
    users: Any  # jitted embed_users, None for a pair scorer
    items: Any  # jitted embed_items, None for a pair scorer
    pairs: Any  # jitted score_pairs, None for an embedding model
    predicts_watch_ratio: bool
    spec: dict
    loss: Any
    optimizer: Any
    mesh: Any
    aot: dict = field(default_factory=dict)

    def step_for(self, batch_size: int, params: Any, opt_state: Any, tables: dict, put: Any) -> Any:
        """The train step compiled for ``batch_size`` (so that epoch timings exclude compilation)."""
        if batch_size not in self.aot:
            example = {
                c: np.zeros(batch_size, np.int32 if c.endswith("_idx") else np.float32)
                for c in (*TRAIN_COLUMNS, "mask")
            }
            acc = jax.device_put(st.new_accumulator(0.0, 0.0, 0), st.replicated(put.mesh))
            lowered = self.train_step.lower(params, opt_state, tables, put(example)[0], acc)
            self.aot[batch_size] = lowered.compile()
        return self.aot[batch_size]

    def span_for(
        self, batch_size: int, n_train: int, params: Any, opt_state: Any, tables: dict, rows: jax.Array
    ) -> Any:
        """The device-resident span loop (kuaicore.training.resident) compiled for ``batch_size``."""
        key = ("span", batch_size, n_train)
        if key not in self.aot:
            fn = rs.make_span_runner(self.loss, self.optimizer, self.mesh, batch_size, n_train)
            acc = jax.device_put(st.new_accumulator(0.0, 0.0, 0), st.replicated(self.mesh))
            keys = rs.epoch_keys(0, 0)
            self.aot[key] = fn.lower(
                params, opt_state, tables, rows, keys, np.int32(0), np.int32(1), acc
            ).compile()
        return self.aot[key]


_COMPILED: dict[tuple, Compiled] = {}


def compiled_functions(
    cfg: TrainConfig, data: Any, mesh: Any, total_steps: int, fixed: dict[str, Any]
) -> Compiled:
    """The jitted functions of a configuration, reused by later runs in the same process (e.g. a resume or
    `compare`) so that they are traced and compiled once; ``fixed`` = the options they depend on."""
    shapes = (data.user_features.shape, data.item_features.shape, data.n_authors, data.cap)
    key = (json.dumps(fixed, sort_keys=True), shapes, total_steps, tuple(d.id for d in mesh.devices.flat))
    if key not in _COMPILED:
        if len(_COMPILED) >= 8:
            _COMPILED.clear()
        objective = make_objective(cfg, data, st.entity_spreader(mesh))
        optimizer = make_optimizer(cfg, total_steps)
        jit = lambda fn: None if fn is None else jax.jit(fn)  # noqa: E731
        _COMPILED[key] = Compiled(
            init=jax.jit(objective.init),
            opt_init=jax.jit(optimizer.init),
            train_step=st.make_train_step(objective.loss, optimizer, mesh),
            eval_step=st.make_eval_step(objective.loss, mesh),
            users=jit(objective.embed_users),
            items=jit(objective.embed_items),
            pairs=jit(objective.score_pairs),
            predicts_watch_ratio=objective.predicts_watch_ratio,
            spec=objective.spec,
            loss=objective.loss,
            optimizer=optimizer,
            mesh=mesh,
        )
    return _COMPILED[key]
