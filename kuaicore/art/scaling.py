"""Undo build-features' feature scaling, in one place: stored column = (transform(x) - mean) / std.

The manifest records per column ``{name, mean, std, transform}`` (``item_feature_stats``,
``user_feature_stats``); ``transform`` is ``none`` or ``log1p``. The report's plots and the baselines' tag
columns both read raw values through :func:`raw_columns`.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def raw_columns(
    matrix: np.ndarray, cols: np.ndarray | list[int], stats: list[dict[str, Any]] | None
) -> np.ndarray:
    """Columns ``cols`` of a standardised feature matrix back in their raw units (float64 [n, len(cols)]):
    ``x * std + mean``, then ``expm1`` where the column was ``log1p``-transformed. ``stats`` None means the
    matrix is not scaled: the columns are returned as they are."""
    cols = np.asarray(cols, dtype=np.int64)
    x = np.asarray(matrix[:, cols], dtype=np.float64)
    if stats is None:
        return x
    mean = np.array([float(stats[j]["mean"]) for j in cols])
    std = np.array([float(stats[j]["std"]) for j in cols])
    x = x * std + mean
    logged = np.array([stats[j].get("transform") == "log1p" for j in cols], dtype=bool)
    if logged.any():
        x[:, logged] = np.expm1(x[:, logged])
    return x


def column_index(stats: list[dict[str, Any]], name: str) -> int | None:
    """The position of feature ``name`` in ``stats`` (None if absent)."""
    return next((j for j, s in enumerate(stats) if s.get("name") == name), None)
