"""The names of ART's files (docs/ARTIFACTS.md), written once: every reader builds its paths from here.

build-features (kuaicore.features) writes these files; every later stage reads them through this module or
:func:`kuaicore.art.open_art`.
"""

from __future__ import annotations

from pathlib import Path

from kuaicore.errors import ArtifactError

MANIFEST = "manifest.json"
TRAIN = "train.parquet"
VALID = "valid.parquet"
EVAL = "eval.parquet"
ITEMS = "items.parquet"
USER_FEATURES = "user_features.npy"
ITEM_FEATURES = "item_features.npy"
USER_IDS = "user_ids.npy"
ITEM_IDS = "item_ids.npy"
ITEM_AUTHOR = "item_author_idx.npy"
ITEM_MUSIC = "item_music_idx.npy"
USER_CATEGORICAL = "user_categorical.npy"
ITEM_TRAIN_COUNTS = "item_train_counts.npy"
SPLITS = {"train": TRAIN, "valid": VALID, "eval": EVAL}
RUNS = "runs"
COMPARE = "compare.json"

# Columns of the interaction tables that training reads (docs/ARTIFACTS.md lists them all).
PAIR_TARGET = ("user_idx", "item_idx", "target")  # a pair and its capped watch ratio (the regression models)
TRAIN_COLUMNS = (*PAIR_TARGET, "label")  # + the like label: what the JAX loop streams


def split_path(art: Path, split: str) -> Path:
    """``ART/{split}.parquet`` of a split (train, valid or eval); ArtifactError for another name."""
    if split not in SPLITS:
        raise ArtifactError(f"{art}: no split {split!r} (splits: {', '.join(SPLITS)})")
    return Path(art) / SPLITS[split]


def need(path: Path) -> Path:
    """``path`` if it is a file; ArtifactError saying how to make it else."""
    if not Path(path).is_file():
        raise ArtifactError(f"{path}: missing (run `kuaicore build-features` to write ART)")
    return Path(path)
