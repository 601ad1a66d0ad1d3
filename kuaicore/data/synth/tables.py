"""Rows of the four small side tables: item_categories, user_features, social_network,
kuairec_caption_category.

Each function is a pure generator of row tuples (values already in their real text form, None = empty
cell) drawn from the planted :class:`~kuaicore.data.synth.truth.World`, so that side features carry the
planted signal: tags/categories are the ones the tastes act on, ``onehot_feat1`` is the user's taste
segment, ``onehot_feat6`` the tercile of the user's bias, ``user_active_degree`` follows the number of
rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import numpy as np

from kuaicore.data.synth import text
from kuaicore.data.synth.truth import UNKNOWN_CATEGORY, World, _rng
from kuaicore.schema import CATEGORY_MISSING_ID, TEXT_MISSING

ONEHOT_MAX = (1, 7, 29, 1075, 11, 9, 2, 46, 339, 6, 4, 2, 1, 1, 1, 1, 1, 1)

FOLLOW_BINS = (
    (0, "0"),
    (10, "(0,10]"),
    (50, "(10,50]"),
    (100, "(50,100]"),
    (150, "(100,150]"),
    (250, "(150,250]"),
    (500, "(250,500]"),
    (10**9, "500+"),
)
FANS_BINS = (
    (0, "0"),
    (9, "[1,10)"),
    (99, "[10,100)"),
    (999, "[100,1k)"),
    (4999, "[1k,5k)"),
    (9999, "[5k,1w)"),
    (10**9, "[1w,10w)"),
)
FRIEND_BINS = (
    (0, "0"),
    (4, "[1,5)"),
    (29, "[5,30)"),
    (59, "[30,60)"),
    (119, "[60,120)"),
    (249, "[120,250)"),
    (10**9, "250+"),
)
REGISTER_BINS = (
    (30, "15-30"),
    (60, "31-60"),
    (90, "61-90"),
    (180, "91-180"),
    (365, "181-365"),
    (730, "366-730"),
    (10**9, "730+"),
)


def _label(value: int, bins: tuple[tuple[int, str], ...]) -> str:
    for upper, name in bins:
        if value <= upper:
            return name
    return bins[-1][1]


def _stale_label(
    jitter: np.ndarray, stale: np.ndarray, col: int, value: int, bins: tuple[tuple[int, str], ...]
) -> str:
    """The range label of ``value``, or of a jittered value where the label is a stale snapshot."""
    return _label(int(round(value * jitter[col])) if stale[col] else value, bins)


def item_category_rows(world: World) -> Iterator[tuple[object, ...]]:
    """``video_id, feat``: ``[8]`` or ``[27, 9]`` (the writer quotes the latter)."""
    for vid, tags in enumerate(world.tags):
        yield vid, "[" + ", ".join(str(t) for t in tags) + "]"


def user_feature_rows(world: World, big_counts: np.ndarray, seed: int) -> Iterator[tuple[object, ...]]:
    """The 31 user_features columns; range labels disagree with their counts for ~10% of users."""
    rng = _rng(seed, 4)
    n = len(world.segment)
    score = np.log(big_counts + 1.0) + world.user_bias
    rank = np.argsort(np.argsort(-score, kind="stable"), kind="stable") / max(n - 1, 1)
    degree = np.where(rank < 0.85, "full_active", np.where(rank < 0.98, "high_active", "UNKNOWN"))
    degree = np.where((rank >= 0.98) & (rank < 0.984), "middle_active", degree)
    bias_tercile = np.searchsorted(np.quantile(world.user_bias, [1 / 3, 2 / 3]), world.user_bias)
    follow = np.minimum(np.round(np.exp(rng.normal(3.4, 1.7, n))), 2100).astype(np.int64)
    follow[rng.random(n) < 0.05] = 0
    fans = np.round(np.exp(rng.normal(0.6, 1.6, n)) * (rng.random(n) < 0.7)).astype(np.int64)
    friend = np.round(np.exp(rng.normal(1.0, 1.3, n)) * (rng.random(n) < 0.45)).astype(np.int64)
    register = np.minimum(np.round(np.exp(rng.normal(5.3, 0.9, n))), 2245).astype(np.int64)
    onehot = np.stack(
        [
            rng.integers(0, m + 1, n) if m > 2 else (rng.random(n) < 0.1 * m).astype(np.int64)
            for m in ONEHOT_MAX
        ],
        axis=1,
    )
    onehot[:, 1] = world.segment
    onehot[:, 6] = bias_tercile
    empty12 = rng.random(n) < 0.0103
    empty12[int(rng.integers(n))] = True  # at least one user, so small scales show the quirk too
    empty4 = empty12 | (rng.random(n) < 0.018)
    stale = rng.random((n, 4)) < np.array([0.07, 0.007, 0.005, 0.157])
    jitter = np.exp(rng.normal(0.0, 0.8, (n, 4)))
    for u in range(n):
        lab = partial(_stale_label, jitter[u], stale[u])

        oh: list[object] = [int(x) for x in onehot[u]]
        if empty4[u]:
            oh[4] = None
        if empty12[u]:
            oh[12:18] = [None] * 6
        yield (
            u,
            str(degree[u]),
            int(rng.random() < 0.0005),
            int(rng.random() < 0.007),
            int(rng.random() < 0.17),
            int(follow[u]),
            lab(0, int(follow[u]), FOLLOW_BINS),
            int(fans[u]),
            lab(1, int(fans[u]), FANS_BINS),
            int(friend[u]),
            lab(2, int(friend[u]), FRIEND_BINS),
            int(register[u]),
            lab(3, int(register[u]), REGISTER_BINS),
            *oh,
        )


def social_rows(n_users: int, n_social: int, seed: int) -> Iterator[tuple[object, ...]]:
    """A symmetric friend graph over ``n_social`` users, 1-5 friends each, rows in no particular order."""
    rng = _rng(seed, 5)
    if n_social < 2:
        return
    members = rng.choice(n_users, n_social, replace=False)
    degree = rng.choice(5, n_social, p=[0.74, 0.163, 0.057, 0.019, 0.021]) + 1
    stubs = rng.permutation(np.repeat(np.arange(n_social), degree))
    friends: dict[int, list[int]] = {}
    for a, b in zip(stubs[0::2], stubs[1::2], strict=False):
        ua, ub = int(members[a]), int(members[b])
        if (
            ua == ub
            or ub in friends.get(ua, [])
            or len(friends.get(ua, [])) >= 5
            or len(friends.get(ub, [])) >= 5
        ):
            continue
        friends.setdefault(ua, []).append(ub)
        friends.setdefault(ub, []).append(ua)
    if not friends:  # the validator (and the real file) want at least one friendship
        a0, b0 = int(members[0]), int(members[1])
        friends = {a0: [b0], b0: [a0]}
    for u in rng.permutation(sorted(friends)).tolist():
        yield u, "[" + ", ".join(str(f) for f in friends[u]) + "]"


def caption_rows(world: World, n_bare_cr: int, seed: int) -> Iterator[tuple[object, ...]]:
    """The ten caption/category columns with UNKNOWN/-124 sentinels, empty captions and a few bare CRs."""
    rng = _rng(seed, 6)
    n = len(world.category)
    has_caption = rng.random(n) >= 0.126
    cr_items = set(
        rng.choice(
            np.flatnonzero(has_caption), min(n_bare_cr, int(has_caption.sum())), replace=False
        ).tolist()
    )
    for vid in range(n):
        tags = text.topic_tags(rng)
        cover = text.cover_text(rng) if rng.random() < 0.376 else TEXT_MISSING
        cap = text.caption(rng, tags, rng.random() < 0.03, vid in cr_items) if has_caption[vid] else None
        cat = int(world.category[vid])
        if cat == UNKNOWN_CATEGORY:
            first: tuple[object, object] = (CATEGORY_MISSING_ID, TEXT_MISSING)
        else:
            first = (cat, text.CATEGORY_NAMES[cat])
        k2 = int(rng.integers(4))
        second: tuple[object, object] = (CATEGORY_MISSING_ID, TEXT_MISSING)
        third: tuple[object, object] = (CATEGORY_MISSING_ID, TEXT_MISSING)
        if cat != UNKNOWN_CATEGORY and rng.random() >= 0.334:
            second = (600 + 4 * cat + k2, text.SUB_NAMES[(3 * cat + k2) % len(text.SUB_NAMES)])
            if rng.random() >= 0.55:
                k3 = int(rng.integers(6))
                third = (
                    2000 + 24 * cat + 6 * k2 + k3,
                    text.SUB_NAMES[(5 * cat + k2 + k3) % len(text.SUB_NAMES)],
                )
        yield (vid, cover, cap, "[" + ",".join(tags) + "]", *first, *second, *third)
