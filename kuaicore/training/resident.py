"""Training rows resident on the device: an epoch as one jitted loop, with no Python and no copy per step.

When train.parquet's training columns fit (``fits``: 16 bytes a row, replicated on every device), they are
read once and put on the devices (``load_rows``). Each epoch visits the rows in the order of a seeded
bijection of [0, n) evaluated on the device (``permute``: a 4-round Feistel network over the next power of
4, with cycle-walking back into [0, n)), so no permutation is stored or sorted: batch b of epoch e is the rows
``permute(b * B + arange(B), keys(seed, e))``, the last batch padded and masked like the streamed path's.
``make_span_runner`` compiles a ``lax.fori_loop`` over the steps [start, stop) of an epoch, with dynamic
bounds, so that one program serves whole epochs and the spans between checkpoints or ``--max-steps``:
a resumed run continues with the same program on the same rows and ends with the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pyarrow as pa
import pyarrow.parquet as pq
from jax.sharding import Mesh

from kuaicore.training import step as st
from kuaicore.training.artifacts import TRAIN_COLUMNS

BYTES_PER_ROW = 16  # user_idx, item_idx (int32), target, label (float32)
CPU_BUDGET_BYTES = 1 << 30  # host memory the replicated rows may take on CPU devices
DATA_MODES = ("auto", "device", "stream")
_ROUNDS = 4


def device_budget(mesh: Mesh) -> int:
    """Bytes of training rows that all devices together may hold: a quarter of each accelerator's memory,
    or on CPU devices (host memory) the smaller of 1 GiB and an eighth of the physical memory."""
    device = next(iter(mesh.devices.flat))
    stats = device.memory_stats() if device.platform != "cpu" else None
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"]) // 4 * mesh.size
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        physical = 8 * CPU_BUDGET_BYTES
    return min(CPU_BUDGET_BYTES, physical // 8)


def fits(n_rows: int, mesh: Mesh, mode: str = "auto") -> bool:
    """Whether training runs on device-resident rows (``mode``: auto, or forced device / stream)."""
    if mode not in DATA_MODES:
        raise ValueError(f"data mode must be one of {DATA_MODES}, got {mode!r}")
    if mode != "auto":
        return mode == "device"
    return n_rows * BYTES_PER_ROW * mesh.size <= device_budget(mesh)


def load_rows(path: Path, mesh: Mesh) -> tuple[jax.Array, int]:
    """The training columns of ``path`` as one int32 [n, 4] array (floats bit-cast; one cache line per row
    for the per-step gather, ~2x faster than four column gathers) replicated on every device, and n."""
    pf = pq.ParquetFile(path)
    n = pf.metadata.num_rows
    host = np.empty((n, len(TRAIN_COLUMNS)), np.int32)
    start = 0
    for group in range(pf.num_row_groups):  # a row group at a time: no whole Arrow table beside `host`
        table = pf.read_row_group(group, columns=list(TRAIN_COLUMNS))
        stop = start + table.num_rows
        for j, name in enumerate(TRAIN_COLUMNS):
            dtype = np.int32 if name.endswith("_idx") else np.float32
            host[start:stop, j] = table.column(name).to_numpy().astype(dtype, copy=False).view(np.int32)
        start = stop
    del table
    pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed pages otherwise (~75 MB here)
    return jax.device_put(host, st.replicated(mesh)), n


def unpack_rows(packed: jax.Array) -> dict[str, jax.Array]:
    """[m, 4] int32 rows of ``load_rows`` -> the batch columns (int32 indices, float32 values)."""
    out = {}
    for j, name in enumerate(TRAIN_COLUMNS):
        col = packed[:, j]
        out[name] = col if name.endswith("_idx") else jax.lax.bitcast_convert_type(col, jnp.float32)
    return out


def epoch_keys(seed: int, epoch: int) -> jax.Array:
    """uint32 [4] round keys of the Feistel permutation of one epoch."""
    return jax.random.bits(jax.random.fold_in(jax.random.key(seed), epoch), (_ROUNDS,), jnp.uint32)


def _mix(x: jax.Array) -> jax.Array:
    """A 32-bit integer hash (the lowbias32 finaliser)."""
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def _half_bits(n: int) -> int:
    return max(1, (max(n - 1, 1).bit_length() + 1) // 2)


def permute(positions: jax.Array, n: int | jax.Array, keys: jax.Array, half: int | None = None) -> jax.Array:
    """int32 images of ``positions`` (in [0, n)) under the seeded bijection of [0, n) that ``keys`` choose.

    A balanced Feistel network permutes [0, 4^h) (4^h >= n, so at most 4n); positions that land at or past
    n walk the cycle again until they are back in [0, n), which keeps the map a bijection of [0, n).
    ``half`` = h defaults to the smallest that covers ``n`` (then ``n`` must be a Python int).
    """
    half = _half_bits(int(n)) if half is None else half
    mask = jnp.uint32((1 << half) - 1)

    def feistel(x: jax.Array) -> jax.Array:
        left, right = x >> half, x & mask
        for r in range(_ROUNDS):
            left, right = right, left ^ (_mix(right ^ keys[r]) & mask)
        return (left << half) | right

    limit = jnp.asarray(n).astype(jnp.uint32)
    x = feistel(positions.astype(jnp.uint32))
    x = jax.lax.while_loop(lambda y: jnp.any(y >= limit), lambda y: jnp.where(y >= limit, feistel(y), y), x)
    return x.astype(jnp.int32)


def make_span_runner(
    loss_fn: Callable, optimizer: optax.GradientTransformation, mesh: Mesh, batch_size: int, n_rows: int
) -> Callable:
    """jit(run): (params, opt_state, tables, rows, keys, start, stop, acc) -> (params, opt_state, acc).

    Runs the train steps ``start .. stop-1`` of the epoch whose permutation ``keys`` give, each exactly the
    step of ``kuaicore.training.step.make_train_step`` on that batch; ``acc`` as in ``step.accumulate``.
    """
    rep, rows_sharding = st.replicated(mesh), st.row_sharded(mesh)

    def one_step(b: jax.Array, carry: tuple, tables: dict, rows: jax.Array, keys: jax.Array) -> tuple:
        params, opt_state, acc = carry
        pos = b * batch_size + jnp.arange(batch_size, dtype=jnp.int32)
        pos = jax.lax.with_sharding_constraint(pos, rows_sharding)
        real = pos < n_rows
        idx = permute(jnp.minimum(pos, n_rows - 1), n_rows, keys)
        batch = unpack_rows(jnp.where(real[:, None], rows[idx], 0))  # padding: zeros, as streamed
        batch["mask"] = real.astype(jnp.float32)
        (loss, weight), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, tables, batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, st.accumulate(acc, loss, weight)

    def run(
        params: Any,
        opt_state: Any,
        tables: dict,
        rows: jax.Array,
        keys: jax.Array,
        start: jax.Array,
        stop: jax.Array,
        acc: jax.Array,
    ) -> tuple:
        body = lambda b, carry: one_step(b, carry, tables, rows, keys)  # noqa: E731
        return jax.lax.fori_loop(start, stop, body, (params, opt_state, acc))

    return jax.jit(run, in_shardings=(rep,) * 8, out_shardings=(rep, rep, rep))
