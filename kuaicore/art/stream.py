"""Fixed-size, shuffled minibatches streamed from a Parquet file, row group by row group, in bounded memory.

Per epoch the row-group order is permuted, row groups are read (pyarrow, selected columns only) into a shuffle
buffer of at least ``shuffle_buffer`` rows, the buffer is permuted, and full batches are cut from it; the rest
is carried into the next buffer. The last batch is padded with zeros and flagged by ``mask`` (1 = real row).
Everything is vectorised NumPy: there is no Python work per row. Memory holds at most one shuffle buffer plus
one row group, whatever the file's size.

The order depends only on (seed, epoch), so an epoch can be replayed exactly and a resumed run skips the
batches it has already trained on (``skip``). ``Prefetcher`` runs any such iterator on a background thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from kuaicore.errors import ArtifactError

Batch = dict[str, np.ndarray]
_INT_COLUMNS = {"user_idx", "item_idx"}


def open_parquet(path: Path, columns: tuple[str, ...]) -> pq.ParquetFile:
    """Open ``path`` and check that it has ``columns``; ArtifactError (naming the file) otherwise."""
    try:
        pf = pq.ParquetFile(path)
    except (OSError, ValueError) as err:
        raise ArtifactError(f"{path}: cannot read as Parquet ({err})") from err
    names = set(pf.schema_arrow.names)
    missing = [c for c in columns if c not in names]
    if missing:
        raise ArtifactError(f"{path}: missing column(s) {', '.join(missing)}")
    return pf


def n_rows(path: Path) -> int:
    """Rows of the Parquet file ``path`` (from its metadata)."""
    return pq.ParquetFile(path).metadata.num_rows


def n_batches(path: Path, batch_size: int) -> int:
    """Batches in one epoch of ``path`` (the last one padded)."""
    rows = pq.ParquetFile(path).metadata.num_rows
    return -(-rows // batch_size)


def _read_group(pf: pq.ParquetFile, group: int, columns: tuple[str, ...]) -> Batch:
    table = pf.read_row_group(group, columns=list(columns))
    out = {}
    for name in columns:
        arr = table.column(name).to_numpy()
        out[name] = arr.astype(np.int32 if name in _INT_COLUMNS else np.float32, copy=False)
    return out


def _pad(chunk: Batch, batch_size: int) -> Batch:
    n = len(next(iter(chunk.values())))
    out = {}
    for name, arr in chunk.items():
        full = np.zeros(batch_size, arr.dtype)
        full[:n] = arr
        out[name] = full
    mask = np.zeros(batch_size, np.float32)
    mask[:n] = 1.0
    out["mask"] = mask
    return out


def epoch_batches(
    path: Path,
    columns: tuple[str, ...],
    batch_size: int,
    *,
    seed: int = 0,
    epoch: int = 0,
    shuffle: bool = True,
    shuffle_buffer: int = 262_144,
    skip: int = 0,
) -> Iterator[Batch]:
    """Yield the batches of one epoch: dicts of the ``columns`` (int32 indices, float32 values) plus ``mask``.

    Every batch has exactly ``batch_size`` rows. With ``shuffle`` the order is a function of (seed, epoch);
    without it the file order is kept. The first ``skip`` batches are computed but not yielded.
    """
    if batch_size <= 0:
        raise ValueError("batch_size must be positive")
    pf = open_parquet(path, columns)
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(pf.num_row_groups) if shuffle else np.arange(pf.num_row_groups)
    pending: list[Batch] = []
    pending_rows = 0
    emitted = 0

    def cut(buffer: Batch, final: bool) -> Iterator[Batch]:
        nonlocal emitted
        n = len(buffer[columns[0]])
        n_full = n // batch_size
        for b in range(n_full):
            if emitted >= skip:
                sl = slice(b * batch_size, (b + 1) * batch_size)
                batch = {k: v[sl] for k, v in buffer.items()}
                batch["mask"] = np.ones(batch_size, np.float32)
                yield batch
            emitted += 1
        rest = {k: v[n_full * batch_size :] for k, v in buffer.items()}
        if final and n > n_full * batch_size:
            if emitted >= skip:
                yield _pad(rest, batch_size)
            emitted += 1
        else:
            carry.append(rest)

    for pos, group in enumerate(order):
        chunk = _read_group(pf, int(group), columns)
        pending.append(chunk)
        pending_rows += len(chunk[columns[0]])
        last = pos == len(order) - 1
        if pending_rows < shuffle_buffer and not last:
            continue
        buffer = {c: np.concatenate([p[c] for p in pending]) for c in columns}
        if shuffle:
            perm = rng.permutation(len(buffer[columns[0]]))
            buffer = {c: v[perm] for c, v in buffer.items()}
        carry: list[Batch] = []
        yield from cut(buffer, final=last)
        pending = carry
        pending_rows = sum(len(p[columns[0]]) for p in pending)


class Prefetcher:
    """Iterate ``source`` on a daemon thread, ``depth`` items ahead, applying ``transform`` there.

    Exceptions in the thread are re-raised in the consumer. ``close()`` (or leaving the ``with`` block) stops
    the thread early, e.g. when training stops after ``--max-steps``.
    """

    _END = object()

    def __init__(self, source: Iterator[Any], depth: int = 4, transform: Callable[[Any], Any] | None = None):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(source, transform), daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, source: Iterator[Any], transform: Callable[[Any], Any] | None) -> None:
        try:
            for item in source:
                if not self._put(transform(item) if transform else item):
                    return
        except BaseException as err:  # forwarded to the consumer
            self._put(err)
            return
        self._put(self._END)

    def __iter__(self) -> Prefetcher:
        return self

    def __next__(self) -> Any:
        item = self._queue.get()
        if item is self._END:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
