"""Multi-host data parallelism with ``jax.distributed``: the path past one machine, with no transport of ours.

Each process (one per host, or several on one host for a test) calls ``initialize`` first; then the
devices of ``jax.devices()`` span every process, ``step.make_mesh()`` builds the 1-D ``batch`` mesh over all
of them, and each process feeds only its own rows of every global batch (``process_rows``) through
``global_batch``. Parameters stay replicated; XLA all-reduces the gradients across processes (NCCL on GPUs,
Gloo between CPU processes). The jitted step is the same function as on one process, so one process with the
same global batch gives the same parameters (tests/test_train_multihost.py).
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh

from kuaicore.training import step as st


def initialize(coordinator: str, num_processes: int, process_id: int) -> None:
    """Join the job: ``coordinator`` = "host:port" of process 0, the same on every process."""
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU processes; GPUs use NCCL
    jax.distributed.initialize(coordinator, num_processes=num_processes, process_id=process_id)


def process_rows(global_rows: int) -> slice:
    """The rows of a global batch that this process feeds (global_rows must split evenly over processes)."""
    count, index = jax.process_count(), jax.process_index()
    if global_rows % count:
        raise ValueError(f"a global batch of {global_rows} rows does not split over {count} processes")
    per = global_rows // count
    return slice(index * per, (index + 1) * per)


def global_batch(mesh: Mesh, local: dict[str, np.ndarray]) -> dict[str, jax.Array]:
    """This process's rows of a batch -> the global batch split over the mesh's (all processes') devices."""
    sharding = st.row_sharded(mesh)
    return {name: jax.make_array_from_process_local_data(sharding, arr) for name, arr in local.items()}
