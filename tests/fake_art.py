"""A tiny hand-made ART folder following docs/ARTIFACTS.md, with planted structure that a model can learn.

Users and items carry 4-dimensional latent vectors; their feature rows are the latents plus noise columns; the
watch ratio of a pair grows with the dot product of the latents. So a trained two-tower beats random ranking,
and the training tests do not depend on build-features.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CAP = 5.0
THRESHOLD = 2.0


def _table(users, items, wr, user_ids, item_ids, rng) -> pa.Table:
    target = np.minimum(wr, CAP).astype(np.float32)
    return pa.table(
        {
            "user_idx": pa.array(users.astype(np.int32)),
            "item_idx": pa.array(items.astype(np.int32)),
            "user_id": pa.array(user_ids[users]),
            "video_id": pa.array(item_ids[items]),
            "watch_ratio": pa.array(wr.astype(np.float32)),
            "target": pa.array(target),
            "label": pa.array((wr >= THRESHOLD).astype(np.float32)),
            "label_debiased": pa.array((wr >= np.median(wr)).astype(np.float32)),
            "timestamp": pa.array(rng.uniform(1.59e9, 1.60e9, len(users))),
        }
    )


def write_fake_art(
    art: Path,
    n_users: int = 48,
    n_items: int = 64,
    n_user_features: int = 6,
    n_item_features: int = 8,
    row_group_size: int = 256,
    seed: int = 0,
) -> Path:
    """Write ART (manifest, train/valid/eval parquet, features, ids, counts) and return its path."""
    rng = np.random.default_rng(seed)
    art.mkdir(parents=True, exist_ok=True)
    zu = rng.normal(size=(n_users, 4))
    zi = rng.normal(size=(n_items, 4))
    uf = np.hstack([zu, rng.normal(size=(n_users, n_user_features - 4))]).astype(np.float32)
    itf = np.hstack([zi, rng.normal(size=(n_items, n_item_features - 4))]).astype(np.float32)
    users, items = np.divmod(rng.permutation(n_users * n_items), n_items)
    wr = np.exp(0.6 * np.sum(zu[users] * zi[items], axis=1) + 0.2 * rng.normal(size=len(users)))
    n_train, n_valid = int(0.7 * len(users)), int(0.15 * len(users))
    user_ids = np.arange(n_users, dtype=np.int64) * 7 + 3
    item_ids = np.arange(n_items, dtype=np.int64) * 11 + 5
    parts = {
        "train": slice(0, n_train),
        "valid": slice(n_train, n_train + n_valid),
        "eval": slice(n_train + n_valid, None),
    }
    for name, sl in parts.items():
        table = _table(users[sl], items[sl], wr[sl], user_ids, item_ids, rng)
        pq.write_table(table, art / f"{name}.parquet", row_group_size=row_group_size)
    np.save(art / "user_features.npy", uf)
    np.save(art / "item_features.npy", itf)
    np.save(art / "user_ids.npy", user_ids)
    np.save(art / "item_ids.npy", item_ids)
    np.save(art / "item_author_idx.npy", rng.integers(0, 6, n_items).astype(np.int32))
    np.save(art / "item_music_idx.npy", rng.integers(0, 4, n_items).astype(np.int32))
    np.save(art / "user_categorical.npy", rng.integers(0, 3, (n_users, 2)).astype(np.int32))
    counts = np.bincount(items[parts["train"]], minlength=n_items).astype(np.int64)
    np.save(art / "item_train_counts.npy", counts)
    manifest = {
        "n_users": n_users,
        "n_items": n_items,
        "user_feature_names": [f"u{i}" for i in range(n_user_features)],
        "item_feature_names": [f"i{i}" for i in range(n_item_features)],
        "watch_ratio_cap": CAP,
        "like_threshold": THRESHOLD,
        "label_rule": f"watch_ratio >= {THRESHOLD}",
        "files": {f"{name}.parquet": {"rows": int(len(users[sl]))} for name, sl in parts.items()},
        "seed": seed,
    }
    (art / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return art
