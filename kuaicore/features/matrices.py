"""Pure NumPy helpers that turn small per-item / per-user result tables into float32 feature matrices.

Each helper returns a :class:`Block` (named columns plus whether a column is a count to log1p); blocks are
concatenated in a fixed order and standardized with statistics that the manifest records. No I/O here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Block:
    """Named float64 columns of one feature group; ``log1p[j]`` marks a count column."""

    names: list[str] = field(default_factory=list)
    columns: list[np.ndarray] = field(default_factory=list)
    log1p: list[bool] = field(default_factory=list)

    def add(self, name: str, values: np.ndarray, log1p: bool = False) -> None:
        self.names.append(name)
        self.columns.append(np.asarray(values, dtype=np.float64))
        self.log1p.append(log1p)

    def extend(self, other: Block) -> None:
        self.names += other.names
        self.columns += other.columns
        self.log1p += other.log1p


def scatter(n: int, index: np.ndarray, values: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """A length-``n`` float64 array with ``values`` at ``index`` and ``fill`` elsewhere (None/NaN -> fill)."""
    out = np.full(n, fill, dtype=np.float64)
    vals = (
        np.array([fill if v is None else v for v in values], dtype=np.float64)
        if values.dtype == object
        else (values.astype(np.float64))
    )
    out[np.asarray(index, dtype=np.int64)] = vals
    return np.where(np.isnan(out), fill, out)


def multi_hot(n: int, rows: np.ndarray, cols: np.ndarray, n_cols: int) -> np.ndarray:
    """An ``n x n_cols`` 0/1 matrix with ones at (rows[k], cols[k])."""
    out = np.zeros((n, n_cols), dtype=np.float64)
    out[np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)] = 1.0
    return out


def one_hot_block(prefix: str, values: Sequence, vocab: Sequence, missing_flag: bool) -> Block:
    """One 0/1 column per vocabulary value (``prefix=value``); missing -> zeros plus ``prefix_missing``."""
    block = Block()
    arr = np.asarray(values, dtype=object)
    for v in vocab:
        block.add(f"{prefix}={v}", np.array([x == v for x in arr], dtype=np.float64))
    if missing_flag:
        block.add(f"{prefix}_missing", np.array([x is None for x in arr], dtype=np.float64))
    return block


def dense_from_long(
    n: int, rows: np.ndarray, keys: np.ndarray, values: np.ndarray, key_vocab: Sequence, default: np.ndarray
) -> np.ndarray:
    """An ``n x len(key_vocab)`` matrix from (row, key, value) triples; absent cells = ``default[row]``."""
    out = np.repeat(np.asarray(default, dtype=np.float64)[:, None], len(key_vocab), axis=1)
    pos = {k: j for j, k in enumerate(key_vocab)}
    cols = np.array([pos.get(k, -1) for k in keys], dtype=np.int64)
    ok = cols >= 0
    out[np.asarray(rows, dtype=np.int64)[ok], cols[ok]] = np.asarray(values, dtype=np.float64)[ok]
    return out


def categorical_ids(values: Sequence) -> tuple[np.ndarray, list]:
    """int32 ids: 1 + rank of each value among the distinct non-missing values (ascending), 0 when missing."""
    vocab = sorted({v for v in values if v is not None})
    pos = {v: j + 1 for j, v in enumerate(vocab)}
    return np.array([0 if v is None else pos[v] for v in values], dtype=np.int32), vocab


def standardize(block: Block) -> tuple[np.ndarray, list[dict]]:
    """Stack a block into float32, log1p the count columns, then z-score every column over all rows.

    Returns the matrix and one ``{name, transform, mean, std}`` per column (std 0 is stored as 1, so a
    constant column becomes zeros). Statistics are computed in float64.
    """
    n = len(block.columns[0]) if block.columns else 0
    out = np.zeros((n, len(block.columns)), dtype=np.float32)
    stats: list[dict] = []
    for j, (name, col, is_count) in enumerate(zip(block.names, block.columns, block.log1p, strict=True)):
        x = np.nan_to_num(col, nan=0.0)
        if is_count:
            x = np.log1p(np.maximum(x, 0.0))
        mean = float(x.mean()) if n else 0.0
        std = float(x.std()) if n else 0.0
        std = std if std > 1e-12 else 1.0
        out[:, j] = ((x - mean) / std).astype(np.float32)
        stats.append({"name": name, "transform": "log1p" if is_count else "none", "mean": mean, "std": std})
    return out, stats
