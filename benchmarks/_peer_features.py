"""A staged `polars` implementation of kuaicore's train/valid/eval rows and per-item training counts.

The peer a user would pick to do build-features' core by hand: lazy frames over the CSVs, collected stage by
stage (deduplicated big matrix, then ids, then the splits). It follows sql/10-43 for these outputs only:

- big matrix rows deduplicated on (user, timestamp, video, play_duration, video_duration, watch_ratio, date),
  ``pos`` = a row's rank by that order within its user (nulls last); a user's last
  ``floor(valid_fraction * n + 1e-9)`` rows are validation; pairs also in the small matrix are dropped;
- ``user_idx`` / ``item_idx`` = rank of the id among every id of every file (as int_users / int_items);
- ``target = min(watch_ratio, cap)``; ``label = watch_ratio > like_threshold`` (strict, as DESIGN.md section
  4 and sql/03_macro_like_label.sql); ``label_debiased`` = watch_ratio above the training rows'
  ``debiased_percentile`` quantile of its duration bucket (buckets: training duration deciles);
- per-item training counts over the catalog.

It writes no parquet and builds no feature matrix, so it does less than ``kuaicore build-features``;
:func:`check_equal` asserts its rows equal the ART's (as sets: train.parquet's shuffle order is not
reproduced). Benchmark-only: polars comes from the ``bench`` extra and is never imported by the package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

CAP, LIKE, VALID_FRACTION, PERCENTILE, BUCKETS = 5.0, 2.0, 0.1, 0.8, 10
KEYS = ["timestamp", "video_id", "play_duration", "video_duration", "watch_ratio", "date"]


def _ids(frames: list, col: str):
    import polars as pl

    ids = pl.concat([f.select(pl.col(col).cast(pl.Int64)) for f in frames]).unique().drop_nulls().sort(col)
    return ids.with_row_index("idx").with_columns(pl.col("idx").cast(pl.Int32))


def polars_splits(folder: Path) -> dict[str, Any]:
    """Train / valid / eval frames (user_idx, item_idx, target, label, label_debiased) and item counts."""
    import polars as pl

    def scan(name: str, **kw):
        return pl.scan_csv(folder / f"{name}.csv", **kw)

    # stage 1: the deduplicated, ranked big matrix
    big = (
        scan("big_matrix")
        .select("user_id", *KEYS)
        .unique()
        .sort(["user_id", *KEYS], nulls_last=True)
        .with_columns(pos=pl.int_range(1, pl.len() + 1).over("user_id"), n=pl.len().over("user_id"))
        .with_columns(is_valid=pl.col("pos") > pl.col("n") - (VALID_FRACTION * pl.col("n") + 1e-9).floor())
        .collect()
    )
    small = scan("small_matrix").select("user_id", "video_id", "video_duration", "timestamp", "watch_ratio")
    small = small.collect()
    # stage 2: ids
    social = scan("social_network").collect()
    friends = social.select(
        pl.col("friend_list")
        .str.strip_chars("[] ")
        .str.split(",")
        .explode()
        .str.strip_chars()
        .alias("user_id")
    ).filter(pl.col("user_id") != "")
    users = _ids(
        [big, small, scan("user_features").select("user_id").collect(), social, friends], "user_id"
    ).rename({"idx": "user_idx"})
    item_frames = [big, small] + [
        scan(n, quote_char='"').select("video_id").collect()
        for n in ("item_categories", "kuairec_caption_category", "item_daily_features")
    ]
    items = _ids(item_frames, "video_id").rename({"idx": "item_idx"})
    # stage 3: interactions, debias rule, splits
    inter = (
        big.lazy()
        .join(small.lazy().select("user_id", "video_id").unique(), on=["user_id", "video_id"], how="anti")
        .join(users.lazy(), on="user_id")
        .join(items.lazy(), on="video_id")
        .collect()
    )
    train_rows = inter.filter(~pl.col("is_valid"))
    qs = [k / BUCKETS for k in range(1, BUCKETS)]
    bounds = [train_rows["video_duration"].quantile(q, interpolation="linear") for q in qs]

    def bucket(col: str):
        return pl.sum_horizontal([(pl.col(col) > b).cast(pl.Int32) for b in bounds]).alias("bucket")

    thresholds = (
        train_rows.group_by(bucket("video_duration"))
        .agg(threshold=pl.col("watch_ratio").quantile(PERCENTILE, interpolation="linear"))
        .lazy()
    )

    def labeled(frame):
        return (
            frame.lazy()
            .with_columns(bucket("video_duration"))
            .join(thresholds, on="bucket", how="left")
            .select(
                "user_idx",
                "item_idx",
                target=pl.min_horizontal(pl.col("watch_ratio"), CAP).cast(pl.Float32),
                label=(pl.col("watch_ratio") > LIKE).cast(pl.Float32),
                label_debiased=(pl.col("watch_ratio") > pl.col("threshold"))
                .fill_null(False)
                .cast(pl.Float32),
            )
            .collect()
        )

    train = labeled(train_rows)
    valid = labeled(inter.filter(pl.col("is_valid")))
    ev = labeled(small.join(users, on="user_id").join(items, on="video_id"))
    counts = train.group_by("item_idx").len()
    n_train = np.zeros(items.height, np.int64)
    n_train[counts["item_idx"].to_numpy()] = counts["len"].to_numpy()
    return {"train": train, "valid": valid, "eval": ev, "item_train_counts": n_train}


def check_equal(out: dict[str, Any], art: Path) -> dict[str, int]:
    """Assert the polars rows equal the ART's (sorted row sets, same columns) and the per-item training
    counts equal ``item_train_counts.npy``; returns the row counts."""
    import polars as pl

    cols = ["user_idx", "item_idx", "target", "label", "label_debiased"]
    counts = {}
    for name in ("train", "valid", "eval"):
        ours = pl.read_parquet(art / f"{name}.parquet", columns=cols).sort(cols)
        theirs = out[name].select(cols).sort(cols)
        assert ours.height == theirs.height, (
            f"{name}: {ours.height} rows in the ART, {theirs.height} in polars"
        )
        for c in cols:
            a, b = ours[c].to_numpy(), theirs[c].to_numpy()
            assert np.array_equal(a.astype(np.float64), b.astype(np.float64)), f"{name}.{c} differs"
        counts[name] = ours.height
    assert np.array_equal(np.load(art / "item_train_counts.npy"), out["item_train_counts"]), (
        "item counts differ"
    )
    return counts
