"""Rows of big_matrix and small_matrix as NumPy column chunks (pure; formatting and writing live in
writers.py).

big_matrix: each user gets a broad (gamma, shape 3) number of rows, scaled so the file has exactly
``sizes.big_rows``; videos are drawn by popularity (small-matrix users never draw small-matrix videos, so
no small pair is in big); times fall in the three collection windows (a user is active on ~80% of those
days and ~3% of the others, rows per user-day median ~45); 7.7% of rows are exact duplicates and a few
duplicates carry the next day's ``date`` (the real file's double partitions). small_matrix: small videos
are drawn with weight popularity^0.6 (popular on average), small users among the heavier 70%; every small
user x small video cell except 0.38% (blocked authors); 3.9% of rows are stage-2 rows with empty
time/date/timestamp, written last within each user. Rows are sorted by user, then time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from kuaicore.data.synth.scales import Sizes
from kuaicore.data.synth.truth import World, _rng, body_mean_and_skip, pair_mean_and_skip, sample_play_ms

DAY0_UTC_MS = 1_593_878_400_000  # 2020-07-05 00:00 in UTC+8
DAY_MS = 86_400_000
N_DAYS = 63  # 2020-07-05 .. 2020-09-05
DATE_INTS = np.array(
    [int((date(2020, 7, 5) + timedelta(days=d)).strftime("%Y%m%d")) for d in range(N_DAYS + 1)]
)
DUP_SHARE = 0.0771  # exact duplicate rows / all rows of big
SHIFTED_DUP_SHARE = 0.0023  # of the duplicates, the share filed under the next day's date
SMALL_MISSING = 0.0038
SMALL_POP_TILT = 0.6  # small-matrix videos are drawn with weight popularity**0.6
ACTIVE_BUSY, ACTIVE_STRAY = 0.8, 0.03  # chance that a user is active on a collection-window / other day
SMALL_NO_TIME = 0.0389

# Local hour-of-day weights (evenings busy, nights quiet).
HOUR_W = np.array(
    [6, 4, 2, 1, 1, 1, 2, 3, 4, 5, 5, 6, 7, 6, 5, 5, 6, 7, 8, 9, 10, 10, 9, 8], dtype=np.float64
)


def _busy_days() -> np.ndarray:
    w = np.full(N_DAYS, 0.02)
    for lo, hi in ((0, 7), (27, 36), (53, 62)):  # Jul 5-12, Aug 1-10, Aug 27-Sep 5
        w[lo : hi + 1] = 1.0
    return w


@dataclass(frozen=True)
class Plan:
    """Who is in the small block and how many big rows each user has."""

    small_users: np.ndarray  # int64 sorted ids
    small_items: np.ndarray  # int64 sorted ids
    big_counts: np.ndarray  # int64 [n_users], sums to sizes.big_rows


def make_plan(world: World, sizes: Sizes, seed: int) -> Plan:
    """Pick the small block (heavy users, popular videos) and the big-matrix rows per user."""
    rng = _rng(seed, 3)
    w = rng.gamma(3.1, 1.0, sizes.n_users)
    w[rng.random(sizes.n_users) < 0.002] *= 5.0
    w = np.maximum(w, 0.18)
    exact = w / w.sum() * sizes.big_rows
    counts = np.floor(exact).astype(np.int64)
    rest = sizes.big_rows - int(counts.sum())
    counts[np.argsort(-(exact - counts), kind="stable")[:rest]] += 1
    heavy = np.flatnonzero(counts >= np.quantile(counts, 0.3))
    small_users = np.sort(rng.choice(heavy, sizes.n_small_users, replace=False))
    # popular on average, yet spanning the popularity range (so popularity still ranks inside the block)
    w_items = np.exp(SMALL_POP_TILT * (world.log_popularity - world.log_popularity.max()))
    small_items = np.sort(
        rng.choice(sizes.n_items, sizes.n_small_items, replace=False, p=w_items / w_items.sum())
    )
    return Plan(small_users.astype(np.int64), small_items.astype(np.int64), counts)


def _times(
    rng: np.random.Generator, local_user: np.ndarray, day_w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(timestamp ms, day index) per row; ``day_w`` holds one row of day weights per user of the chunk."""
    cdf = np.cumsum(day_w, axis=1)
    cdf = cdf / cdf[:, -1:] + np.arange(len(day_w))[:, None]
    cdf[:, -1] = np.arange(1, len(day_w) + 1)
    flat = cdf.ravel()
    day = np.searchsorted(flat, local_user + rng.random(len(local_user)) * 0.999999, side="right") % N_DAYS
    hour = rng.choice(24, size=len(local_user), p=HOUR_W / HOUR_W.sum())
    ms = DAY0_UTC_MS + day * DAY_MS + hour * 3_600_000 + rng.integers(0, 3_600_000, len(local_user))
    return ms.astype(np.int64), day.astype(np.int64)


def _order(
    local: np.ndarray, ts: np.ndarray, items: np.ndarray, shift: np.ndarray, n_items: int
) -> np.ndarray:
    """The permutation sorting rows by (user, time, video, date shift); one int64 key when it fits."""
    span = (N_DAYS + 1) * DAY_MS
    if (int(local.max(initial=0)) + 1) * span * n_items * 2 < 2**62:
        key = ((local * span + (ts - DAY0_UTC_MS)) * n_items + items) * 2 + shift
        return np.argsort(key, kind="stable")
    return np.lexsort((shift, items, ts, local))


def big_chunks(world: World, sizes: Sizes, plan: Plan, seed: int) -> Iterator[dict[str, np.ndarray]]:
    """big_matrix rows, one dict of columns per chunk of ``sizes.users_per_chunk`` users, in file order."""
    n_items = sizes.n_items
    p = np.exp(world.log_popularity - world.log_popularity.max())
    p_all = p / p.sum()
    p_ex = p.copy()
    p_ex[plan.small_items] = 0.0
    p_ex /= p_ex.sum()
    is_small_user = np.zeros(sizes.n_users, dtype=bool)
    is_small_user[plan.small_users] = True
    busy = _busy_days()
    for c, u0 in enumerate(range(0, sizes.n_users, sizes.users_per_chunk)):
        rng = _rng(seed, 10, c)
        users = np.arange(u0, min(u0 + sizes.users_per_chunk, sizes.n_users))
        counts = plan.big_counts[users]
        n_dup = np.round(counts * DUP_SHARE).astype(np.int64)
        base = counts - n_dup
        local = np.repeat(np.arange(len(users)), base)
        items = rng.choice(n_items, size=len(local), p=p_all)
        swap = is_small_user[users][local] & np.isin(items, plan.small_items)
        items[swap] = rng.choice(n_items, size=int(swap.sum()), p=p_ex)
        active = rng.random((len(users), N_DAYS)) < np.where(busy >= 1.0, ACTIVE_BUSY, ACTIVE_STRAY)
        day_w = (active + 1e-9 * busy) * rng.gamma(1.5, 1.0, (len(users), N_DAYS))
        ts, day = _times(rng, local, day_w)
        m, s = pair_mean_and_skip(world, users, local, items)
        dur = world.duration_ms[items]
        play = sample_play_ms(rng, m, s, dur)
        # duplicates: pick rows of each user to repeat (a row may repeat several times)
        starts = np.concatenate([[0], np.cumsum(base)[:-1]])
        dup_local = np.repeat(np.arange(len(users)), n_dup)
        pick = starts[dup_local] + (rng.random(len(dup_local)) * base[dup_local]).astype(np.int64)
        shift = np.zeros(len(local) + len(pick), dtype=np.int64)
        shift[len(local) :][rng.random(len(pick)) < SHIFTED_DUP_SHARE] = 1
        idx = np.concatenate([np.arange(len(local)), pick])
        local, items, ts, day, play, dur = (a[idx] for a in (local, items, ts, day, play, dur))
        order = _order(local, ts, items, shift, n_items)
        yield {
            "user_id": users[local][order],
            "video_id": items[order],
            "play_duration": play[order],
            "video_duration": dur[order],
            "ts_ms": ts[order],
            "date": DATE_INTS[day + shift][order],
        }


def small_chunks(world: World, sizes: Sizes, plan: Plan, seed: int) -> Iterator[dict[str, np.ndarray]]:
    """small_matrix rows per chunk of small users; ``ts_ms``/``date`` hold -1 where the row has no time."""
    items_all = plan.small_items
    for c, u0 in enumerate(range(0, len(plan.small_users), sizes.users_per_chunk)):
        rng = _rng(seed, 20, c)
        users = plan.small_users[u0 : u0 + sizes.users_per_chunk]
        m, s = body_mean_and_skip(world, users, items_all)
        local = np.repeat(np.arange(len(users)), len(items_all))
        col = np.tile(np.arange(len(items_all)), len(users))
        keep = rng.random(len(local)) >= SMALL_MISSING
        local, col = local[keep], col[keep]
        items = items_all[col]
        dur = world.duration_ms[items]
        play = sample_play_ms(rng, m[local, col], s[local, col], dur)
        day_w = np.ones((len(users), N_DAYS)) * rng.gamma(2.0, 1.0, (len(users), N_DAYS))
        ts, day = _times(rng, local, day_w)
        no_time = rng.random(len(local)) < SMALL_NO_TIME
        ts[no_time] = -1
        order = np.lexsort((items, ts, no_time, local))
        dates = np.where(no_time, -1, DATE_INTS[day])
        yield {
            "user_id": users[local][order],
            "video_id": items[order],
            "play_duration": play[order],
            "video_duration": dur[order],
            "ts_ms": ts[order],
            "date": dates[order],
        }
