"""Which videos the logging feed showed each user, and on which days (pure NumPy, no I/O).

The real big_matrix was logged by a personalised feed over a changing catalogue, so a user's rows are mostly
distinct videos (re-watches are 10.9% of de-duplicated rows, concentrated on a few pairs: one pair has 2,224
rows), picked by popularity and by the user's own affinity, and only while the video is in the feed (never
before its upload day; most older videos leave the feed before 08-30 and ~14% of the catalogue arrives
after). Per chunk of users:

- day weights: active on ~90% of the collection-window days and ~3% of the others, gamma-distributed
  intensity, a day-of-week profile (Sat > Sun > Fri > Mon) and a lighter last week (so ~16% of rows fall on
  or after 08-30);
- distinct videos by the Gumbel top-k trick over ``log p_i + exposure * a_ui + log M_ui`` where ``M_ui`` is
  the share of the user's activity inside the video's life in the feed (sampling without replacement with
  those weights);
- re-watches of the user's own pairs, weighted by ``p_i ** REWATCH_POP`` (popularity capped at its top
  REWATCH_TOP quantile) times a heavy-tailed (Pareto) pair propensity; the pair with the largest weight is
  the user's favourite and takes REWATCH_LOOP of the user's re-watches (looped videos);
- each row's day drawn from the user's day weights restricted to the video's life.
"""

from __future__ import annotations

import numpy as np

N_DAYS, CUT_DAY = 63, 56
REWATCH_SHARE = 0.109  # re-watch rows / de-duplicated rows
REWATCH_POP, REWATCH_ALPHA = 3.0, 1.1
REWATCH_TOP = 0.003  # the most popular share of the catalogue pulls re-watches alike (ties at the top)
REWATCH_PUSH = 2.0  # log-weight of re-showing a video the feed pushes (the small block)
REWATCH_LOOP = 0.35  # share of a user's re-watches on their favourite pair (looped: one pair has 2,224 rows)
MAX_UNIQUE_SHARE = 0.85  # at most this share of the videos a user could see are seen (heavy users re-watch)
ACTIVE_BUSY, ACTIVE_STRAY = 0.9, 0.03
LATE_WEIGHT = 0.55  # intensity of the days from 08-30 on, relative to the other window days
# day of week of day 0 (2020-07-05) is Sunday; weights Mon..Sun
DOW_W = np.array([1.0, 0.92, 0.92, 0.92, 1.06, 1.25, 1.12])


def busy_days() -> np.ndarray:
    """1.0 on collection-window days (Jul 5-12, Aug 1-10, Aug 27-Sep 5), 0.0 elsewhere."""
    w = np.zeros(N_DAYS)
    for lo, hi in ((0, 7), (27, 36), (53, 62)):
        w[lo : hi + 1] = 1.0
    return w


def day_weights(rng: np.random.Generator, n_users: int) -> np.ndarray:
    """[n_users, N_DAYS] activity intensity per user-day (zero on days the user is not active)."""
    busy = busy_days()
    active = rng.random((n_users, N_DAYS)) < np.where(busy > 0, ACTIVE_BUSY, ACTIVE_STRAY)
    dow = DOW_W[(np.arange(N_DAYS) + 6) % 7]
    level = np.where(np.arange(N_DAYS) >= CUT_DAY, LATE_WEIGHT, 1.0) * dow
    w = active * level * rng.gamma(1.5, 1.0, (n_users, N_DAYS))
    none = w.sum(axis=1) == 0
    w[none, 0] = 1.0  # every user is active at least once
    return w


def day_cdf(w: np.ndarray) -> np.ndarray:
    """[n, N_DAYS + 1] cumulative day weights per row, 0 at the left, 1 at the right."""
    c = np.concatenate([np.zeros((len(w), 1)), np.cumsum(w, axis=1)], axis=1)
    return c / c[:, -1:]


def days_within(
    rng: np.random.Generator, cdf: np.ndarray, local: np.ndarray, first: np.ndarray, last: np.ndarray
) -> np.ndarray:
    """A day per row drawn from the row's user's day weights restricted to ``first..last`` (inclusive)."""
    lo = cdf[local, first]
    hi = cdf[local, last + 1]
    v = lo + rng.random(len(local)) * (hi - lo)
    flat = (cdf[:, 1:] + np.arange(len(cdf))[:, None]).ravel()
    idx = np.searchsorted(flat, local + np.minimum(v, 1.0 - 1e-12), side="right")
    return np.clip(idx - local * N_DAYS, first, last).astype(np.int64)


def distinct_views(
    rng: np.random.Generator,
    log_weight: np.ndarray,
    n_unique: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(local user, item) of ``n_unique[u]`` distinct videos per user, drawn without replacement with
    weights ``exp(log_weight[u])`` (-inf = never)."""
    keys = log_weight + rng.gumbel(size=log_weight.shape)
    order = np.argsort(-keys, axis=1, kind="stable")
    take = np.arange(log_weight.shape[1])[None, :] < n_unique[:, None]
    local = np.nonzero(take)[0]
    return local, order[take]


def rewatches(
    rng: np.random.Generator,
    local: np.ndarray,
    items: np.ndarray,
    log_pop: np.ndarray,
    n_rewatch: np.ndarray,
    pushed: np.ndarray,
) -> np.ndarray:
    """Indices into (local, items) of the re-watch rows: ``n_rewatch[u]`` per user, with replacement;
    ``pushed`` (bool per video) marks the videos the feed pushes (weight exp(REWATCH_PUSH) times larger)."""
    top = np.quantile(log_pop, 1.0 - REWATCH_TOP)
    w = np.exp(REWATCH_POP * (np.minimum(log_pop[items], top) - top) + REWATCH_PUSH * pushed[items])
    w *= 1.0 + rng.pareto(REWATCH_ALPHA, len(items))
    bounds = np.searchsorted(local, np.arange(len(n_rewatch) + 1))
    picks = []
    for u, n in enumerate(n_rewatch.tolist()):
        lo, hi = bounds[u], bounds[u + 1]
        if n <= 0 or hi <= lo:
            continue
        p = w[lo:hi].copy()
        fav = int(np.argmax(p))  # the user's favourite pair (the largest propensity) is looped
        loop = int(REWATCH_LOOP * n) if hi - lo > 1 else n
        picks.append(np.full(loop, lo + fav, dtype=np.int64))
        if n > loop:
            p[fav] = 0.0
            picks.append(lo + rng.choice(hi - lo, size=n - loop, p=p / p.sum()))
    return np.concatenate(picks) if picks else np.zeros(0, dtype=np.int64)
