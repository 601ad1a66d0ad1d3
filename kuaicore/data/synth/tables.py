"""Rows of the four small side tables: item_categories, user_features, social_network,
kuairec_caption_category.

Each function is a pure generator of row tuples (values already in their real text form, None = empty
cell) drawn from the planted :class:`~kuaicore.data.synth.truth.World`: tags/categories are the ones the
tastes act on (how much they matter is the world's choice); user features follow the real marginals
(SCHEMA.md 2.4, written below as constants) and are drawn independently of every planted parameter, except
``user_active_degree``, which follows the number of rows as in the real file. No column reveals the truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import numpy as np

from kuaicore.data.synth import text
from kuaicore.data.synth.truth import UNKNOWN_CATEGORY, World, _rng
from kuaicore.schema import CATEGORY_MISSING_ID, TEXT_MISSING

ONEHOT_MAX = (1, 7, 29, 1075, 11, 9, 2, 46, 339, 6, 4, 2, 1, 1, 1, 1, 1, 1)
# Share of each value 0..max among the non-empty cells of the real user_features.csv (rounded); columns with
# many values instead follow a Zipf law over a seeded order of their values, exponent fitted to the share of
# the most common value (feat2 0.275, feat3 0.019, feat7 0.12, feat8 0.027).
ONEHOT_P: dict[int, tuple[float, ...]] = {
    0: (0.608, 0.392),
    1: (0.0004, 0.4295, 0.1026, 0.1322, 0.1527, 0.0673, 0.115, 0.0003),
    4: (0.2946, 0.467, 0.1713, 0.045, 0.0112, 0.0063, 0.0029, 0.0011, 0.0001, 0.0001, 0.0001, 0.0001),
    5: (0.9978, 0.0001, 0.0001, 0.0003, 0.0001, 0.0003, 0.0007, 0.0001, 0.0003, 0.0001),
    6: (0.4348, 0.563, 0.0022),
    9: (0.0025, 0.1544, 0.0811, 0.1884, 0.1586, 0.1742, 0.2408),
    10: (0.1132, 0.0001, 0.5241, 0.2344, 0.1282),
    11: (0.9288, 0.0053, 0.0659),
    12: (0.7012, 0.2988),
    13: (0.8954, 0.1046),
    14: (0.9052, 0.0948),
    15: (0.9814, 0.0186),
    16: (0.9821, 0.0179),
    17: (0.9855, 0.0145),
}
ONEHOT_ZIPF: dict[int, float] = {2: 1.07, 3: 0.54, 7: 0.67, 8: 0.49}

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


def _onehot(rng: np.random.Generator, n: int) -> np.ndarray:
    """[n, 18] onehot_feat values drawn from the real marginals (independent of the planted truth)."""
    cols = []
    for k, top in enumerate(ONEHOT_MAX):
        if k in ONEHOT_P:
            p = np.array(ONEHOT_P[k])
            values = np.arange(len(p))
        else:
            p = 1.0 / np.arange(1, top + 2) ** ONEHOT_ZIPF[k]
            values = rng.permutation(top + 1)
        cols.append(values[rng.choice(len(p), size=n, p=p / p.sum())])
    return np.stack(cols, axis=1).astype(np.int64)


def user_feature_rows(world: World, big_counts: np.ndarray, seed: int) -> Iterator[tuple[object, ...]]:
    """The 31 user_features columns; range labels disagree with their counts for ~10% of users."""
    rng = _rng(seed, 4)
    n = len(world.segment)
    score = np.log(big_counts + 1.0) + rng.normal(0.0, 0.3, n)
    rank = np.argsort(np.argsort(-score, kind="stable"), kind="stable") / max(n - 1, 1)
    degree = np.where(rank < 0.849, "full_active", np.where(rank < 0.98, "high_active", "UNKNOWN"))
    degree = np.where((rank >= 0.98) & (rank < 0.984), "middle_active", degree)
    # follow: median 33, mean 197, max 2,100, 0.2% zero; fans: median 2, 30% zero, max 11,401;
    # friend: 61% zero, max 1,425; register_days: median 225, max 2,245 (SCHEMA.md 2.4)
    follow = np.minimum(np.round(np.exp(rng.normal(3.5, 2.1, n))), 2100).astype(np.int64)
    follow[rng.random(n) < 0.002] = 0
    fans = np.minimum(np.round(np.exp(rng.normal(1.2, 1.9, n)) * (rng.random(n) < 0.75)), 11_401).astype(
        np.int64
    )
    friend = np.minimum(np.round(np.exp(rng.normal(1.2, 1.6, n)) * (rng.random(n) < 0.42)), 1425).astype(
        np.int64
    )
    register = np.minimum(np.round(np.exp(rng.normal(5.4, 0.8, n))), 2245).astype(np.int64)
    onehot = _onehot(rng, n)
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
