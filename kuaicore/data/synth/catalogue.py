"""The twin's catalogue draws (pure NumPy): video lengths, tags and each video's life in the feed.

Used by :func:`kuaicore.data.synth.truth.make_world`; the distributions follow the real files (SCHEMA.md,
REAL_STATS.md): lengths with median ~9.6 s and a few very short clips, the real primary-tag counts, 1-4 tags
per video, and a catalogue that changes from 2020-08-30 on (new videos; old ones leaving unless popular).
"""

from __future__ import annotations

import numpy as np

N_TAGS = 31
# Videos per tag in the real item_categories.csv (SCHEMA.md 2.3), used as the primary-tag distribution.
TAG_COUNTS = np.array(
    [24, 463, 216, 104, 164, 964, 912, 503, 1112, 696, 170, 2027, 534, 245, 63, 374, 214, 350, 131, 686, 265]
    + [29, 20, 39, 12, 490, 31, 31, 1360, 5, 22],
    dtype=np.float64,
)

N_DAYS, CUT_DAY = 63, 56  # days 2020-07-05 .. 09-05; day 56 = 2020-08-30
NEW_SHARE, MID_SHARE = 0.145, 0.04  # videos uploaded from 08-30 on; uploaded inside the log before it
STAY_BASE, STAY_POP = -0.3, 1.2  # logit of an older video staying in the feed after 08-30


def durations(rng: np.random.Generator, n: int) -> np.ndarray:
    """Video lengths in ms: a lognormal body (median 9.6 s), a long-video tail and a few very short clips."""
    body = np.exp(rng.normal(np.log(9600.0), 0.33, n))
    long = np.exp(rng.normal(np.log(24000.0), 0.85, n))
    short = np.where(rng.random(n) < 0.07, rng.uniform(140.0, 2500.0, n), rng.uniform(2500.0, 6000.0, n))
    kind = rng.random(n)
    d = np.where(kind < 0.82, body, np.where(kind < 0.97, long, short))
    return np.clip(np.round(d), 140, 315_072).astype(np.int64)


def tags_and_weights(rng: np.random.Generator, n: int) -> tuple[tuple[tuple[int, ...], ...], np.ndarray]:
    """1-4 tags per video (first = primary, drawn by the real tag counts) and their weights [n, N_TAGS]
    (sum 1; the primary tag counts double)."""
    primary = rng.choice(N_TAGS, size=n, p=TAG_COUNTS / TAG_COUNTS.sum())
    n_tags = rng.choice(4, size=n, p=[0.836, 0.146, 0.017, 0.001]) + 1
    tags: list[tuple[int, ...]] = []
    weights = np.zeros((n, N_TAGS))
    for i in range(n):
        others = [t for t in rng.permutation(N_TAGS)[: n_tags[i] + 1].tolist() if t != primary[i]]
        row = (int(primary[i]), *others[: n_tags[i] - 1])
        tags.append(row)
        weights[i, row[0]] += 2.0
        for t in row[1:]:
            weights[i, t] += 1.0
    weights /= weights.sum(axis=1, keepdims=True)
    return tuple(tags), weights


def lifecycles(rng: np.random.Generator, n: int, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(upload_day, last_day) per video: ids in upload order; the last NEW_SHARE arrive from 08-30 on, a few
    more inside the log; older videos leave the feed before 08-30 unless popular (z) keeps them."""
    n_new = int(round(NEW_SHARE * n))
    n_mid = int(round(MID_SHARE * n))
    n_old = n - n_new - n_mid
    old = -np.round(np.linspace(400, 1, n_old) + rng.integers(0, 20, n_old))
    mid = np.sort(rng.integers(1, CUT_DAY, n_mid))
    new = np.sort(rng.integers(CUT_DAY, N_DAYS, n_new))
    upload = np.concatenate([old, mid, new]).astype(np.int64)
    stays = rng.random(n) < 1.0 / (1.0 + np.exp(-(STAY_BASE + STAY_POP * z)))
    first = np.maximum(upload, 0)
    retire = first + np.floor(rng.random(n) * np.maximum(CUT_DAY - first, 1)).astype(np.int64)
    last = np.where(stays | (upload >= CUT_DAY), N_DAYS - 1, np.minimum(retire, CUT_DAY - 1))
    return upload, last.astype(np.int64)
