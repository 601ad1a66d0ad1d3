"""Assemble the item and user feature matrices from the small `feat_*` result tables (already fetched).

Tables come in as ``{column: numpy array}`` dicts (one row per item/user, or long (index, key) tables); the
functions are pure and return the unstandardized :class:`Block` plus any int32 categorical arrays.
Column order (recorded in the manifest): items = tags, caption categories, daily aggregates and rates,
duration, training statistics; users = profile one-hots and counts, onehot_feat*, taste per tag, taste per
first-level category, activity, social degree.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from kuaicore.features.matrices import (
    Block,
    categorical_ids,
    dense_from_long,
    multi_hot,
    one_hot_block,
    scatter,
)
from kuaicore.schema import N_TAGS

Table = dict[str, np.ndarray]

DAILY_COUNTS = (
    "show_cnt",
    "play_cnt",
    "complete_play_cnt",
    "valid_play_cnt",
    "long_time_play_cnt",
    "short_time_play_cnt",
    "like_cnt",
    "comment_cnt",
    "follow_cnt",
    "share_cnt",
    "download_cnt",
    "report_cnt",
    "reduce_similar_cnt",
    "collect_cnt",
)
DAILY_RATES = (
    "completion_rate",
    "like_rate",
    "engagement_rate",
    "mean_play_progress",
    "share_rate",
    "comment_rate",
    "follow_rate",
)
PROFILE_LABELS = (
    "user_active_degree",
    "follow_user_num_range",
    "fans_user_num_range",
    "friend_user_num_range",
    "register_days_range",
)
PROFILE_FLAGS = ("is_lowactive_period", "is_live_streamer", "is_video_author")
PROFILE_COUNTS = ("follow_user_num", "fans_user_num", "friend_user_num", "register_days")
N_ONEHOT = 18


_EXACT_INT = 2.0**62  # |v| below it: an integral float converts to int64 exactly, as int(v) would


def _pylist(a: np.ndarray) -> list:
    """NaN/None-aware list of python values: :func:`python_values` of ``a``, in C where ``a`` is integral
    (an int or bool array, or floats whose every non-NaN value is an integer below 2^62)."""
    if a.dtype.kind in "iub":
        return a.tolist()
    if a.dtype.kind == "f":
        nan = np.isnan(a)
        rest = a[~nan]
        if np.array_equal(rest, np.trunc(rest)) and bool(np.all(np.abs(rest) < _EXACT_INT)):
            out = np.where(nan, 0, a).astype(np.int64).tolist()  # in C: a Python loop took 0.3 s a build
            for i in np.flatnonzero(nan).tolist():
                out[i] = None
            return out
    return python_values(a.tolist())


def python_values(values: list) -> list:
    """The rule, value by value: NaN -> None, an integral float -> int, anything else as it is."""
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):  # np.isnan per value: 20x slower
            out.append(None)
        elif isinstance(v, float) and v.is_integer():
            out.append(int(v))
        else:
            out.append(v)
    return out


def item_block(
    n_items: int,
    tags: Table,
    category: Table,
    daily: Table,
    duration: Table,
    train: Table,
    min_category_videos: int,
) -> tuple[Block, dict]:
    """The item features (see module doc) and a note of which optional groups had no data."""
    block, notes = Block(), {}
    hot = multi_hot(n_items, tags["item_idx"], tags["tag"], N_TAGS)
    for t in range(N_TAGS):
        block.add(f"tag_{t:02d}", hot[:, t])

    if len(category["item_idx"]):
        cat1 = [None] * n_items
        cat2 = [None] * n_items
        for i, c1, c2 in zip(
            category["item_idx"].tolist(), _pylist(category["cat1"]), _pylist(category["cat2"]), strict=True
        ):
            cat1[i], cat2[i] = c1, c2
        block.extend(
            one_hot_block("cat1", cat1, sorted({c for c in cat1 if c is not None}), missing_flag=True)
        )
        counts = Counter(c for c in cat2 if c is not None)
        frequent = sorted(c for c, k in counts.items() if k >= min_category_videos)
        block.extend(
            one_hot_block(
                "cat2",
                [c if c in counts and c in frequent else None for c in cat2],
                frequent,
                missing_flag=False,
            )
        )
    else:
        notes["kuairec_caption_category"] = "no caption file: category columns omitted"

    if len(daily["item_idx"]):
        idx = daily["item_idx"]
        for name in DAILY_COUNTS:
            block.add(name, scatter(n_items, idx, daily[name], 0.0), log1p=True)
        for name in DAILY_RATES:
            block.add(name, scatter(n_items, idx, daily[name], 0.0))
        has = np.zeros(n_items)
        has[idx.astype(np.int64)] = 1.0
        block.add("daily_missing", 1.0 - has)
    else:
        notes["item_daily_features"] = "no item_daily_features file: daily aggregates omitted"

    block.add("duration_ms", scatter(n_items, duration["item_idx"], duration["duration_ms"], 0.0), log1p=True)
    block.add("duration_missing", scatter(n_items, duration["item_idx"], duration["duration_missing"], 1.0))
    block.add("train_count", scatter(n_items, train["item_idx"], train["n_train"], 0.0), log1p=True)
    block.add("train_mean_target", scatter(n_items, train["item_idx"], train["mean_target"], 0.0))
    block.add("train_like_rate", scatter(n_items, train["item_idx"], train["like_rate"], 0.0))
    return block, notes


def user_block(
    n_users: int,
    profile: Table,
    taste_tag: Table,
    taste_cat: Table,
    cat1_vocab: list,
    activity: Table,
    max_onehot_values: int,
) -> tuple[Block, np.ndarray, list[dict], dict]:
    """The user features, the int32 categorical id matrix (big onehot_feat*), its columns, notes."""
    block, notes = Block(), {}
    categorical: list[np.ndarray] = []
    cat_info: list[dict] = []
    if int(np.sum(profile["has_profile"])) > 0:
        for name in PROFILE_LABELS:
            values = _pylist(profile[name])
            block.extend(one_hot_block(name, values, sorted({v for v in values if v is not None}), True))
        for name in PROFILE_FLAGS:
            block.add(name, scatter(n_users, np.arange(n_users), profile[name], 0.0))
        for name in PROFILE_COUNTS:
            block.add(name, scatter(n_users, np.arange(n_users), profile[name], 0.0), log1p=True)
        for k in range(N_ONEHOT):
            name = f"onehot_feat{k}"
            values = _pylist(profile[name])
            vocab = sorted({v for v in values if v is not None})
            has_missing = any(v is None for v in values)
            if len(vocab) > max_onehot_values:
                ids, _ = categorical_ids(values)
                categorical.append(ids)
                cat_info.append({"name": name, "cardinality": len(vocab) + 1, "missing_id": 0})
                if has_missing:
                    block.add(f"{name}_missing", np.array([v is None for v in values], dtype=np.float64))
            else:
                block.extend(one_hot_block(name, values, vocab, has_missing))
        block.add("has_profile", profile["has_profile"])
    else:
        notes["user_features"] = "no user_features file: profile columns omitted"

    user_mean = scatter(n_users, activity["user_idx"], activity["mean_target"], 0.0)
    tastes = dense_from_long(
        n_users,
        taste_tag["user_idx"],
        taste_tag["tag"].tolist(),
        taste_tag["taste"],
        list(range(N_TAGS)),
        user_mean,
    )
    for t in range(N_TAGS):
        block.add(f"taste_tag_{t:02d}", tastes[:, t])
    if cat1_vocab:
        tastes = dense_from_long(
            n_users,
            taste_cat["user_idx"],
            _pylist(taste_cat["cat1"]),
            taste_cat["taste"],
            cat1_vocab,
            user_mean,
        )
        for j, c in enumerate(cat1_vocab):
            block.add(f"taste_cat1={c}", tastes[:, j])
    block.add("train_rows", scatter(n_users, activity["user_idx"], activity["n_train"], 0.0), log1p=True)
    block.add("train_mean_target", user_mean)
    block.add("train_like_rate", scatter(n_users, activity["user_idx"], activity["like_rate"], 0.0))
    block.add(
        "social_degree", scatter(n_users, activity["user_idx"], activity["social_degree"], 0.0), log1p=True
    )
    block.add("in_social_network", scatter(n_users, activity["user_idx"], activity["in_social_network"], 0.0))
    cat = np.stack(categorical, axis=1) if categorical else np.zeros((n_users, 0), dtype=np.int32)
    return block, cat.astype(np.int32), cat_info, notes
