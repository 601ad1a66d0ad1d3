"""Streamed exploratory statistics of an ART for the report: counts per user and video, watch-ratio histograms
(overall and by video duration), per-tag training views and label balance.

Reads ``train.parquet`` one record batch at a time with pyarrow and accumulates fixed-bin histograms with
NumPy, so memory is O(users + videos + bins) whatever the number of rows. Video durations are recovered by
inverting the standardised ``duration_ms`` column of ``item_features.npy`` with the manifest's scaling stats;
tags are the ``tag_*`` multi-hot columns, inverted the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kuaicore.art import layout
from kuaicore.art.scaling import column_index, raw_columns
from kuaicore.errors import ArtifactError

WR_MAX = 6.0  # watch-ratio histogram range [0, WR_MAX); larger values are counted as overflow
WR_BINS = 120
DURATION_BINS = 24
BATCH_ROWS = 262_144


@dataclass(frozen=True)
class EdaStats:
    """Histograms and counts computed in one pass over the training rows."""

    user_counts: np.ndarray  # int64 [n_users], training rows per user
    item_counts: np.ndarray  # int64 [n_items], training rows per video
    wr_edges: np.ndarray  # float64 [WR_BINS + 1]
    wr_hist: np.ndarray  # int64 [WR_BINS]
    wr_overflow: int  # rows with watch_ratio >= WR_MAX
    wr_at_least: dict[float, int]  # rows with watch_ratio >= t, for the marked thresholds
    duration_edges: np.ndarray | None  # seconds, log-spaced [DURATION_BINS + 1]; None without durations
    wr_by_duration: np.ndarray | None  # int64 [DURATION_BINS, WR_BINS + 1] (last column: overflow)
    tag_names: list[str]
    tag_views: np.ndarray  # int64 [n_tags], training rows of videos carrying each tag
    label_positive: int
    rows: int


THRESHOLDS = (0.8, 1.0, 2.0)


def _column(features: np.ndarray, stats: list[dict[str, Any]], name: str) -> np.ndarray | None:
    """Column ``name`` of a standardised feature matrix in its raw units (kuaicore.art.scaling; None if
    absent)."""
    j = column_index(stats, name)
    return None if j is None else raw_columns(features, [j], stats)[:, 0]


def item_durations_s(art: Path, manifest: dict[str, Any]) -> np.ndarray | None:
    """Video duration in seconds per item index (NaN where not positive), or None if the ART has no duration.

    build-features imputes a duration absent from item_daily_features from the video's interaction rows (else
    the median video), so imputed durations are kept.
    """
    features = np.load(Path(art) / layout.ITEM_FEATURES, mmap_mode="r", allow_pickle=False)
    dur = _column(features, manifest.get("item_feature_stats") or [], "duration_ms")
    if dur is None:
        return None
    dur = dur / 1000.0
    return np.where(dur > 0.0, dur, np.nan)


def item_tags(art: Path, manifest: dict[str, Any]) -> tuple[list[str], np.ndarray]:
    """Tag names and a boolean [n_items, n_tags] matrix of which video carries which tag."""
    features = np.load(Path(art) / layout.ITEM_FEATURES, mmap_mode="r", allow_pickle=False)
    stats = manifest.get("item_feature_stats") or []
    names = [s["name"] for s in stats if str(s.get("name", "")).startswith("tag_")]
    cols = [_column(features, stats, n) for n in names]
    present = np.stack(cols, axis=1) > 0.5 if cols else np.zeros((features.shape[0], 0), dtype=bool)
    return names, present


def duration_edges(durations: np.ndarray | None) -> np.ndarray | None:
    """Log-spaced duration bin edges covering the known durations (None when there are none)."""
    if durations is None or not np.isfinite(durations).any():
        return None
    lo, hi = np.nanmin(durations), np.nanmax(durations)
    lo, hi = max(lo, 0.1), max(hi, lo * 1.01)
    return np.geomspace(lo, hi * 1.0001, DURATION_BINS + 1)


def compute_eda(art: Path, manifest: dict[str, Any]) -> EdaStats:
    """One streamed pass over ``ART/train.parquet``: the statistics the report plots."""
    import pyarrow.parquet as pq

    n_users, n_items = int(manifest["n_users"]), int(manifest["n_items"])
    path = Path(art) / layout.TRAIN
    try:
        pf = pq.ParquetFile(path)
    except (OSError, ValueError) as err:
        raise ArtifactError(f"{path}: unreadable ({err})") from err
    durations = item_durations_s(art, manifest)
    d_edges = duration_edges(durations)
    item_dbin = None
    if d_edges is not None:
        item_dbin = np.searchsorted(d_edges, np.nan_to_num(durations, nan=-1.0), side="right") - 1
        item_dbin[(item_dbin < 0) | (item_dbin >= DURATION_BINS) | ~np.isfinite(durations)] = -1
    wr_edges = np.linspace(0.0, WR_MAX, WR_BINS + 1)
    user_counts = np.zeros(n_users, np.int64)
    item_counts = np.zeros(n_items, np.int64)
    wr_hist = np.zeros(WR_BINS + 1, np.int64)  # last bin: overflow
    joint = np.zeros((DURATION_BINS, WR_BINS + 1), np.int64) if d_edges is not None else None
    at_least = dict.fromkeys(THRESHOLDS, 0)
    positive = rows = 0
    columns = ["user_idx", "item_idx", "watch_ratio", "label"]
    for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=columns):
        users = batch.column("user_idx").to_numpy()
        items = batch.column("item_idx").to_numpy()
        wr = batch.column("watch_ratio").to_numpy().astype(np.float64)
        out_of_range = users.size and (
            min(users.min(), items.min()) < 0 or users.max() >= n_users or items.max() >= n_items
        )
        if out_of_range:
            raise ArtifactError(f"{path}: user_idx/item_idx out of range for manifest n_users/n_items")
        user_counts += np.bincount(users, minlength=n_users)
        item_counts += np.bincount(items, minlength=n_items)
        wbin = np.minimum((np.maximum(wr, 0.0) * (WR_BINS / WR_MAX)).astype(np.int64), WR_BINS)
        wr_hist += np.bincount(wbin, minlength=WR_BINS + 1)
        for t in THRESHOLDS:
            at_least[t] += int(np.count_nonzero(wr >= t))
        if joint is not None:
            dbin = item_dbin[items]
            ok = dbin >= 0
            flat = dbin[ok] * (WR_BINS + 1) + wbin[ok]
            joint += np.bincount(flat, minlength=joint.size).reshape(joint.shape)
        positive += int(np.count_nonzero(batch.column("label").to_numpy() > 0.5))
        rows += users.size
    tag_names, present = item_tags(art, manifest)
    tag_views = item_counts @ present.astype(np.int64) if present.size else np.zeros(0, np.int64)
    return EdaStats(
        user_counts,
        item_counts,
        wr_edges,
        wr_hist[:-1],
        int(wr_hist[-1]),
        at_least,
        d_edges,
        joint,
        tag_names,
        tag_views,
        positive,
        rows,
    )


def label_balance(path: Path) -> tuple[int, int]:
    """(rows, rows with label 1) of one interaction parquet, streamed."""
    import pyarrow.parquet as pq

    rows = positive = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=["label"]):
        lab = batch.column("label").to_numpy(zero_copy_only=False)
        rows += lab.size
        positive += int(np.count_nonzero(lab > 0.5))
    return rows, positive


def weighted_quantiles(edges: np.ndarray, counts: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Quantiles of a histogram (linear inside a bin); NaN for an empty histogram. ``counts`` [..., bins]."""
    counts = np.asarray(counts, np.float64)
    total = counts.sum(axis=-1, keepdims=True)
    cum = np.cumsum(counts, axis=-1)
    out = np.full((*counts.shape[:-1], len(qs)), np.nan)
    for j, q in enumerate(qs):
        target = q * total
        idx = np.minimum((cum < target).sum(axis=-1), counts.shape[-1] - 1)
        prev = np.where(idx > 0, np.take_along_axis(cum, np.maximum(idx - 1, 0)[..., None], -1)[..., 0], 0.0)
        here = np.take_along_axis(counts, idx[..., None], -1)[..., 0]
        frac = np.where(here > 0, (target[..., 0] - prev) / np.where(here > 0, here, 1.0), 0.0)
        val = edges[idx] + np.clip(frac, 0.0, 1.0) * (edges[idx + 1] - edges[idx])
        out[..., j] = np.where(total[..., 0] > 0, val, np.nan)
    return out
