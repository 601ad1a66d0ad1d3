"""Load what training needs from an ART folder (docs/ARTIFACTS.md), checking it against its manifest.

Every inconsistency is an ArtifactError naming the file: a missing manifest or file, a feature matrix whose
shape disagrees with the manifest's counts and feature names, or an item table of the wrong length.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kuaicore.art import check_finite, layout, read_manifest
from kuaicore.art.stream import open_parquet
from kuaicore.errors import ArtifactError

TRAIN_COLUMNS = layout.TRAIN_COLUMNS


@dataclass(frozen=True)
class TrainingData:
    """Feature matrices and item tables in host memory, plus the paths of the streamed tables."""

    art: Path
    manifest: dict[str, Any]
    user_features: np.ndarray  # float32 [n_users, F_u]
    item_features: np.ndarray  # float32 [n_items, F_i]
    item_author: np.ndarray  # int32 [n_items]
    item_train_counts: np.ndarray  # int64 [n_items]
    train_path: Path
    valid_path: Path

    @property
    def n_users(self) -> int:
        return int(self.user_features.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.item_features.shape[0])

    @property
    def n_authors(self) -> int:
        return int(self.item_author.max(initial=0)) + 1

    @property
    def cap(self) -> float:
        return float(self.manifest.get("watch_ratio_cap", 5.0))


def _load(path: Path, dtype: type, ndim: int) -> np.ndarray:
    try:
        arr = np.load(layout.need(path), allow_pickle=False)
    except ValueError as err:
        raise ArtifactError(f"{path}: not a plain .npy array ({err})") from err
    if arr.ndim != ndim:
        raise ArtifactError(f"{path}: expected {ndim} dimension(s), found shape {arr.shape}")
    return check_finite(path, np.ascontiguousarray(arr, dtype=dtype))


def _check_rows(path: Path, arr: np.ndarray, n: int, what: str) -> None:
    if arr.shape[0] != n:
        raise ArtifactError(f"{path}: {arr.shape[0]} rows but manifest.json says {what} = {n}")


def load_training_data(art: Path) -> TrainingData:
    """Read manifest.json, the feature matrices and the item tables of ``art``; check their shapes."""
    art = Path(art)
    manifest = read_manifest(art, required=("n_users", "n_items", "user_feature_names", "item_feature_names"))
    n_users, n_items = int(manifest["n_users"]), int(manifest["n_items"])
    uf = _load(art / layout.USER_FEATURES, np.float32, 2)
    itf = _load(art / layout.ITEM_FEATURES, np.float32, 2)
    _check_rows(art / layout.USER_FEATURES, uf, n_users, "n_users")
    _check_rows(art / layout.ITEM_FEATURES, itf, n_items, "n_items")
    for path, arr, key in (
        (art / layout.USER_FEATURES, uf, "user_feature_names"),
        (art / layout.ITEM_FEATURES, itf, "item_feature_names"),
    ):
        if arr.shape[1] != len(manifest[key]):
            raise ArtifactError(
                f"{path}: {arr.shape[1]} feature columns but manifest.json lists {len(manifest[key])} {key}"
            )
    author = _load(art / layout.ITEM_AUTHOR, np.int32, 1)
    counts = _load(art / layout.ITEM_TRAIN_COUNTS, np.int64, 1)
    _check_rows(art / layout.ITEM_AUTHOR, author, n_items, "n_items")
    _check_rows(art / layout.ITEM_TRAIN_COUNTS, counts, n_items, "n_items")
    if author.min(initial=0) < 0:
        raise ArtifactError(f"{art / layout.ITEM_AUTHOR}: negative author index")
    tables = [layout.need(art / layout.TRAIN), layout.need(art / layout.VALID)]
    for path in tables:
        open_parquet(path, TRAIN_COLUMNS)
    return TrainingData(art, manifest, uf, itf, author, counts, *tables)
