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
# train/valid/eval.parquet's columns, in the ART's order (sql/40-42)
ART_COLUMNS = [
    "user_idx",
    "item_idx",
    "user_id",
    "video_id",
    "watch_ratio",
    "target",
    "label",
    "label_debiased",
    "timestamp",
]


def _art_extra():
    import polars as pl

    return ["user_id", "video_id", pl.col("watch_ratio").cast(pl.Float32), "timestamp"]


def _ids(frames: list, col: str):
    import polars as pl

    ids = pl.concat([f.select(pl.col(col).cast(pl.Int64)) for f in frames]).unique().drop_nulls().sort(col)
    return ids.with_row_index("idx").with_columns(pl.col("idx").cast(pl.Int32))


def polars_splits(folder: Path, art_columns: bool = False) -> dict[str, Any]:
    """Train / valid / eval frames (user_idx, item_idx, target, label, label_debiased) and item counts.

    With ``art_columns`` the frames also carry what :func:`write_art_files` needs to write the ART's
    columns and orders: user_id, video_id, watch_ratio (FLOAT), timestamp, and pos (train, valid) or
    video_duration (eval)."""
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

    def labeled(frame, extra: tuple[str, ...]):
        return (
            frame.lazy()
            .with_columns(bucket("video_duration"))
            .join(thresholds, on="bucket", how="left")
            .select(
                "user_idx",
                "item_idx",
                *([*_art_extra(), *extra] if art_columns else []),
                target=pl.min_horizontal(pl.col("watch_ratio"), CAP).cast(pl.Float32),
                label=(pl.col("watch_ratio") > LIKE).cast(pl.Float32),
                label_debiased=(pl.col("watch_ratio") > pl.col("threshold"))
                .fill_null(False)
                .cast(pl.Float32),
            )
            .collect()
        )

    train = labeled(train_rows, ("pos",))
    valid = labeled(inter.filter(pl.col("is_valid")), ("pos",))
    ev = labeled(small.join(users, on="user_id").join(items, on="video_id"), ("video_duration",))
    counts = train.group_by("item_idx").len()
    n_train = np.zeros(items.height, np.int64)
    n_train[counts["item_idx"].to_numpy()] = counts["len"].to_numpy()
    return {"train": train, "valid": valid, "eval": ev, "item_train_counts": n_train}


def write_art_files(out: dict[str, Any], dest: Path, seed: int = 0) -> None:
    """Write what build-features writes of these rows, as a user of polars would: train.parquet shuffled by a
    seeded hash of (user_idx, pos) in row groups of 1M rows, valid.parquet by (user_idx, pos) and eval.parquet
    by (user_idx, item_idx, timestamp nulls last, watch_ratio, video_duration), with the ART's columns,
    Snappy-compressed as DuckDB's writer does. Needs ``polars_splits(..., art_columns=True)``. The shuffle
    uses polars' hash, so train.parquet's order (not its rows) differs from the ART's."""
    import polars as pl

    train = out["train"].sort(pl.struct("user_idx", "pos").hash(seed), "user_idx", "pos")
    valid = out["valid"].sort("user_idx", "pos")
    ev = out["eval"].sort(
        ["user_idx", "item_idx", "timestamp", "watch_ratio", "video_duration"], nulls_last=True
    )
    for name, frame, group in (("train", train, 1_000_000), ("valid", valid, 122_880), ("eval", ev, 122_880)):
        frame.select(ART_COLUMNS).write_parquet(
            dest / f"{name}.parquet", compression="snappy", row_group_size=group
        )


def check_files_equal(dest: Path, art: Path) -> None:
    """Assert the files of :func:`write_art_files` hold the ART's columns and, as sorted row sets, its rows
    (valid and eval also in its order)."""
    import polars as pl

    for name in ("train", "valid", "eval"):
        ours = pl.read_parquet(art / f"{name}.parquet")
        theirs = pl.read_parquet(dest / f"{name}.parquet")
        assert theirs.columns == ours.columns, f"{name}: columns {theirs.columns} != {ours.columns}"
        if name == "train":
            ours, theirs = ours.sort(ART_COLUMNS), theirs.sort(ART_COLUMNS)
        for c in ART_COLUMNS:
            a, b = ours[c].to_numpy(), theirs[c].to_numpy()
            assert np.array_equal(a.astype(np.float64), b.astype(np.float64), equal_nan=True), f"{name}.{c}"


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
