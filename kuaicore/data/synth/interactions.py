"""Rows of big_matrix and small_matrix as NumPy column chunks (pure; formatting and writing live in
writers.py).

big_matrix: users' row counts follow the real quantiles (median above the mean, min 100, a few very heavy
users), scaled so the file has exactly ``sizes.big_rows``; which videos and days are chosen by
:mod:`.exposure` (distinct videos by popularity and the user's affinity, within each video's life in the
feed, plus re-watches); small-matrix users never see small-matrix videos in big; 7.7% of rows are exact
duplicates and a few duplicates carry the next day's ``date`` (the real file's double partitions).
small_matrix: the small videos are the most exposed of the log (good, popular old videos that stay in the
feed, and the feed pushes them to everyone else; none under the real block's 3,067 ms, a fixed share of
looped clips), small users lighter than average in big (their big rows are the other videos' views); every
small user x small video cell except 0.38% (blocked authors); 3.9% of rows are stage-2 rows with empty
time/date/timestamp, written last within each user. Rows are sorted by user, then time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from kuaicore.data.synth import exposure
from kuaicore.data.synth.scales import Sizes
from kuaicore.data.synth.truth import (
    LOG_LOOP,
    World,
    _rng,
    affinity,
    body_mean_and_skip,
    mean_and_skip,
    sample_play_ms,
)

DAY0_UTC_MS = 1_593_878_400_000  # 2020-07-05 00:00 in UTC+8
DAY_MS = 86_400_000
N_DAYS = 63  # 2020-07-05 .. 2020-09-05
DATE_INTS = np.array(
    [int((date(2020, 7, 5) + timedelta(days=d)).strftime("%Y%m%d")) for d in range(N_DAYS + 1)]
)
DUP_SHARE = 0.0771  # exact duplicate rows / all rows of big
SHIFTED_DUP_SHARE = 0.0023  # of the duplicates, the share filed under the next day's date
SMALL_MISSING = 0.0038
# the small block's videos: popular and, above all, good ones (the paper's stage 1 picked "high quality"
# videos); weights exp(tilt x standardised log popularity / quality)
SMALL_POP_TILT, SMALL_Q_TILT = 1.0, 2.5
SMALL_NO_TIME = 0.0389
# small users are drawn with weights (big rows) ** -SMALL_USER_LIGHT: lighter than average in big. They never
# see the block's videos there, so their big rows land on the other videos, which the real log shows only
# ~2M times (other videos' median 74 training views; all videos' median 228): heavy small users would make
# the other videos' middle far too thick.
SMALL_USER_LIGHT = 0.9
SMALL_MIN_MS = 3067  # the real block's shortest video (REAL_STATS.md): no very short looped clips in it
SMALL_LOOPED_SHARE = 0.067  # of the block's videos, clips under ~5.7 s (a free draw's share at full size)
# Quantiles of big_matrix rows per user (SCHEMA.md 2.1: min, p25, p50, p75; the upper tail fitted to the
# mean 1,746 and the max 16,015): a body skewed to the left (median above the mean) and a few heavy users.
ROWS_Q = np.array([0.0, 0.25, 0.5, 0.75, 0.99, 0.999, 1.0])
ROWS_V = np.array([100.0, 883.0, 1846.0, 2461.0, 3300.0, 7000.0, 16015.0])

# Local hour-of-day weights (evenings busy, nights quiet).
HOUR_W = np.array(
    [6, 4, 2, 1, 1, 1, 2, 3, 4, 5, 5, 6, 7, 6, 5, 5, 6, 7, 8, 9, 10, 10, 9, 8], dtype=np.float64
)


@dataclass(frozen=True)
class Plan:
    """Who is in the small block and how many big rows each user has."""

    small_users: np.ndarray  # int64 sorted ids
    small_items: np.ndarray  # int64 sorted ids
    big_counts: np.ndarray  # int64 [n_users], sums to sizes.big_rows


def make_plan(world: World, sizes: Sizes, seed: int) -> Plan:
    """Pick the small block (lighter users, the most exposed videos) and the big-matrix rows per user."""
    rng = _rng(seed, 3)
    w = np.interp(rng.random(sizes.n_users), ROWS_Q, ROWS_V)
    w[np.argmax(w)] = ROWS_V[-1]  # the heaviest user has the real maximum (one draw of the tail varies)
    exact = w / w.sum() * sizes.big_rows
    counts = np.floor(exact).astype(np.int64)
    rest = sizes.big_rows - int(counts.sum())
    counts[np.argsort(-(exact - counts), kind="stable")[:rest]] += 1
    pick = counts.astype(np.float64) ** -SMALL_USER_LIGHT
    small_users = np.sort(rng.choice(sizes.n_users, sizes.n_small_users, replace=False, p=pick / pick.sum()))
    # old videos that stay in the feed to the end, popular ones first (yet spanning a range of popularity)
    ok = (world.upload_day <= 0) & (world.last_day == N_DAYS - 1) & (world.duration_ms >= SMALL_MIN_MS)
    if ok.sum() < sizes.n_small_items:
        ok = world.upload_day <= 0
    lp, q = world.log_popularity, world.quality
    keys = (
        SMALL_POP_TILT * (lp - lp.mean()) / max(float(lp.std()), 1e-9)
        + SMALL_Q_TILT * q / max(float(q.std()), 1e-9)
        + rng.gumbel(size=sizes.n_items)
    )
    keys_all = keys.copy()
    keys[~ok] = -np.inf
    # the same share of looped clips at every size (they carry most of "watch_ratio > 2"; a 40-video block
    # drawn freely may hold none), old ones if too few stay in the feed
    looped = (world.duration_ms >= SMALL_MIN_MS) & (world.duration_ms < np.exp(LOG_LOOP))
    n_looped = int(round(sizes.n_small_items * SMALL_LOOPED_SHARE))
    pool = looped & ok if (looped & ok).sum() >= n_looped else looped & (world.upload_day <= 0)
    n_looped = min(n_looped, int(pool.sum()))
    pick_looped = np.argsort(-np.where(pool, keys_all, -np.inf), kind="stable")[:n_looped]
    pick_other = np.argsort(-np.where(looped, -np.inf, keys), kind="stable")[: sizes.n_small_items - n_looped]
    small_items = np.sort(np.concatenate([pick_looped, pick_other]))
    return Plan(small_users.astype(np.int64), small_items.astype(np.int64), counts)


def _clock(rng: np.random.Generator, day: np.ndarray) -> np.ndarray:
    """Timestamp (UTC ms) of each row on its local ``day``: busy evenings, quiet nights."""
    hour = rng.choice(24, size=len(day), p=HOUR_W / HOUR_W.sum())
    ms = DAY0_UTC_MS + day * DAY_MS + hour * 3_600_000 + rng.integers(0, 3_600_000, len(day))
    return ms.astype(np.int64)


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
    log_pop = world.log_popularity - world.log_popularity.max()
    first = np.maximum(world.upload_day, 0)
    last = world.last_day
    is_small_user = np.zeros(sizes.n_users, dtype=bool)
    is_small_user[plan.small_users] = True
    pushed = np.zeros(n_items, dtype=bool)
    pushed[plan.small_items] = True
    for c, u0 in enumerate(range(0, sizes.n_users, sizes.users_per_chunk)):
        rng = _rng(seed, 10, c)
        users = np.arange(u0, min(u0 + sizes.users_per_chunk, sizes.n_users))
        counts = plan.big_counts[users]
        n_dup = np.round(counts * DUP_SHARE).astype(np.int64)
        dedup = counts - n_dup
        cdf = exposure.day_cdf(exposure.day_weights(rng, len(users)))
        mass = cdf[:, last + 1] - cdf[:, first]  # share of the user's activity inside each video's life
        a = affinity(world, users)
        with np.errstate(divide="ignore"):
            weight = log_pop[None, :] + world.spec.exposure * a + np.log(mass)
        weight[:, plan.small_items] += world.spec.push  # the feed pushes them to everyone else
        weight[np.ix_(is_small_user[users], plan.small_items)] = -np.inf
        visible = np.isfinite(weight).sum(axis=1)
        n_unique = np.minimum(
            np.round(dedup * (1.0 - exposure.REWATCH_SHARE)),
            np.floor(exposure.MAX_UNIQUE_SHARE * visible),
        ).astype(np.int64)
        local, items = exposure.distinct_views(rng, weight, n_unique)
        again = exposure.rewatches(rng, local, items, log_pop, dedup - n_unique, pushed)
        local, items = np.concatenate([local, local[again]]), np.concatenate([items, items[again]])
        day = exposure.days_within(rng, cdf, local, first[items], last[items])
        ts = _clock(rng, day)
        m, s = mean_and_skip(world, a[local, items], users[local], items, feed=True)
        dur = world.duration_ms[items]
        play = sample_play_ms(rng, world, m, s, items, feed=True)
        # duplicates: pick rows of each user to repeat (a row may repeat several times)
        base = np.bincount(local, minlength=len(users))
        starts = np.concatenate([[0], np.cumsum(base)[:-1]])
        dup_local = np.repeat(np.arange(len(users)), n_dup)
        pick = starts[dup_local] + (rng.random(len(dup_local)) * base[dup_local]).astype(np.int64)
        shift = np.zeros(len(local) + len(pick), dtype=np.int64)
        shift[len(local) :][rng.random(len(pick)) < SHIFTED_DUP_SHARE] = 1
        order0 = np.argsort(local, kind="stable")
        local, items, ts, day, play, dur = (x[order0] for x in (local, items, ts, day, play, dur))
        idx = np.concatenate([np.arange(len(local)), pick])
        local, items, ts, day, play, dur = (x[idx] for x in (local, items, ts, day, play, dur))
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
        play = sample_play_ms(rng, world, m[local, col], s[local, col], items)
        cdf = exposure.day_cdf(rng.gamma(2.0, 1.0, (len(users), N_DAYS)))
        day = exposure.days_within(rng, cdf, local, np.zeros_like(local), np.full_like(local, N_DAYS - 1))
        ts = _clock(rng, day)
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
