"""A worker of tests/test_train_multihost.py: three train steps of a tiny two-tower on fixed global batches.

    python multihost_worker.py single OUT.npz            # one process, two fake CPU devices
    python multihost_worker.py multi OUT.npz PID PORT    # one of two processes under jax.distributed

Process 0 (or the single process) writes the final parameters to OUT.npz.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

MODE, OUT = sys.argv[1], Path(sys.argv[2])
os.environ["JAX_PLATFORMS"] = "cpu"
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2" if MODE == "single" else ""

import jax  # noqa: E402
import numpy as np  # noqa: E402

from kuaicore.config import TrainConfig  # noqa: E402
from kuaicore.training import distributed  # noqa: E402
from kuaicore.training import step as st  # noqa: E402
from kuaicore.training.artifacts import TrainingData  # noqa: E402
from kuaicore.training.objective import two_tower_objective  # noqa: E402
from kuaicore.training.optim import make_optimizer  # noqa: E402

GLOBAL_ROWS, N_USERS, N_ITEMS = 32, 12, 20


def _host(tree):
    return jax.tree.map(lambda x: np.asarray(x.addressable_data(0)) if isinstance(x, jax.Array) else x, tree)


def main() -> None:
    if MODE == "multi":
        distributed.initialize(f"localhost:{sys.argv[4]}", 2, int(sys.argv[3]))
    rng = np.random.default_rng(0)
    data = TrainingData(
        art=Path("."), manifest={"watch_ratio_cap": 5.0},
        user_features=rng.normal(size=(N_USERS, 5)).astype(np.float32),
        item_features=rng.normal(size=(N_ITEMS, 4)).astype(np.float32),
        item_author=rng.integers(0, 3, N_ITEMS).astype(np.int32),
        item_train_counts=rng.integers(1, 50, N_ITEMS), train_path=Path("t"), valid_path=Path("v"),
    )  # fmt: skip
    mesh = st.make_mesh()
    assert mesh.size == 2, mesh
    cfg = TrainConfig(art=Path("."), dims=(8, 4), loss="mse", lr=0.01)
    objective = two_tower_objective(cfg, data, st.entity_spreader(mesh))
    optimizer = make_optimizer(cfg, 10)
    train_step = st.make_train_step(objective.loss, optimizer, mesh)
    rep = st.replicated(mesh)
    params = _host(objective.init(jax.random.key(0)))
    opt_state = jax.device_put(_host(optimizer.init(params)), rep)
    params = jax.device_put(params, rep)
    tables = st.device_tables(data, mesh)
    acc = jax.device_put(st.new_accumulator(0.0, 0.0, 0), rep)
    for k in range(3):
        batch_rng = np.random.default_rng([1, k])
        target = np.minimum(batch_rng.gamma(1.2, 1.0, GLOBAL_ROWS), 5.0).astype(np.float32)
        batch = {"user_idx": batch_rng.integers(0, N_USERS, GLOBAL_ROWS).astype(np.int32),
                 "item_idx": batch_rng.integers(0, N_ITEMS, GLOBAL_ROWS).astype(np.int32),
                 "target": target, "label": (target >= 1.0).astype(np.float32),
                 "mask": np.ones(GLOBAL_ROWS, np.float32)}  # fmt: skip
        if MODE == "multi":
            rows = distributed.process_rows(GLOBAL_ROWS)
            on_mesh = distributed.global_batch(mesh, {name: arr[rows] for name, arr in batch.items()})
        else:
            on_mesh = jax.device_put(batch, st.row_sharded(mesh))
        params, opt_state, _, acc = train_step(params, opt_state, tables, on_mesh, acc)
        jax.block_until_ready(acc)
    if jax.process_index() == 0:
        leaves = jax.tree.leaves(_host(params))
        np.savez(OUT, *leaves, acc=_host(acc))


if __name__ == "__main__":
    main()
