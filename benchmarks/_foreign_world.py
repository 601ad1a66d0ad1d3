"""A foreign world: KuaiRec-format interaction files from a generative model that is *not* the twin's.

Benchmark-only (``bench_foreign.py``). The project chooses every default on its own twin
(:mod:`kuaicore.data.synth`); this module is the held-out check that those defaults did not learn the twin
instead of the task. Nothing in it is shared with the twin's model, and nothing is ever tuned on it. It
follows the description of the independent datasets of issue 16 (700 users x 1,000 videos, ~145k big_matrix
rows, a 160 x 260 evaluation block; the users' taste in latent factors no feature shows, in the videos' tags,
or in both), with its own, simpler choices everywhere else:

- log watch ratio ``m_ui = MU + q_i + a_ui - DUR * z(log duration_i)``; a view's watch ratio is
  ``exp(m_ui + N(0, SIG))`` (no loops, skips or feed context, unlike the twin);
- ``a_ui`` by world: ``latent`` = a rank-10 Gaussian factor product; ``tags`` = the mean of the user's own
  Gaussian weights over the video's tags (item_categories.csv ``feat``); ``mix`` = both, with more quality;
- the logged feed: each user's videos by the Gumbel top-k trick over ``pop_i + EXPO * a_ui`` (popularity
  partly follows quality), a log-normal number of videos per user, each once, at uniform times over the
  collection window; the block's users never see the block's videos in big_matrix (as in the real files);
- the block: 160 random users x the 260 videos the feed pushes most (noisy; in proportion at other sizes),
  0.4% of the cells missing.

The other five files (user_features, item_categories, item_daily_features, the captions, the social network)
are copied from a twin folder of the same size, so the ids and the video tags match.
"""

from __future__ import annotations

import ast
import csv
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

FOREIGN_WORLDS = ("latent", "tags", "mix")
HEADER = "user_id,video_id,play_duration,video_duration,time,date,timestamp,watch_ratio\n"
TZ = timezone(timedelta(hours=8))  # the real files' time column is Beijing time
START_MS = int(datetime(2020, 7, 5, tzinfo=TZ).timestamp() * 1000)
SPAN_MS = 62 * 86_400 * 1000


def _tag_matrix(path: Path, n_items: int) -> np.ndarray:
    """[n_items, n_tags]: 1 / (number of tags) for each of a video's tags (item_categories.csv ``feat``)."""
    tags: list[list[int]] = [[] for _ in range(n_items)]
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            tags[int(row["video_id"])] = [int(t) for t in ast.literal_eval(row["feat"])]
    out = np.zeros((n_items, 1 + max((max(t) for t in tags if t), default=0)))
    for i, t in enumerate(tags):
        if t:
            out[i, t] = 1.0 / len(t)
    return out


def _scaled(a: np.ndarray, sd: float) -> np.ndarray:
    a = a - a.mean()
    return a / a.std() * sd


def _write(path: Path, users, items, ms, m, duration, sigma, rng, date_as_double: bool) -> None:
    """One interaction CSV in the real format (play_duration in ms, time text, date, timestamp, ratio)."""
    ratio = np.exp(m[users, items] + rng.normal(0.0, sigma, len(users)))
    d = duration[items]
    play = np.round(ratio * d).astype(np.int64)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        columns = (users.tolist(), items.tolist(), play.tolist(), d.tolist(), ms.tolist())
        for u, i, p, dd, t in zip(*columns, strict=True):
            when = datetime.fromtimestamp(t / 1000, TZ)
            frac = f"{t % 1000:03d}".rstrip("0")
            text = when.strftime("%Y-%m-%d %H:%M:%S") + (f".{frac}" if frac else "")
            date = when.strftime("%Y%m%d") + (".0" if date_as_double else "")
            fh.write(f"{u},{i},{p},{dd},{text},{date},{t / 1000!r},{p / dd!r}\n")


def write_foreign(
    twin: Path,
    out: Path,
    world: str,
    seed: int,
    rows: int = 145_000,
    exposure: float = 0.6,
    sigma: float = 0.45,
    duration_effect: float = 0.12,
) -> dict[str, int]:
    """Write ``out`` (a KuaiRec ``data`` folder: seven CSVs + truth.npz) for ``world``; ``twin`` is a twin
    data folder whose side files and ids are reused. Returns the rows written per interaction file."""
    if world not in FOREIGN_WORLDS:
        raise ValueError(f"world must be one of {FOREIGN_WORLDS}, got {world!r}")
    rng = np.random.default_rng(10_000 + seed)
    truth = np.load(twin / "truth.npz")
    duration = truth["video_duration_ms"].astype(np.int64)
    n_users, n_items = len(truth["user_segment"]), len(duration)
    # the block: 160 x 260 at 700 x 1,000 (the independent datasets), in proportion at other sizes
    n_small_users, n_small_items = round(n_users * 160 / 700), round(n_items * 260 / 1000)
    out.mkdir(parents=True)
    for f in twin.glob("*.csv"):
        if f.name not in ("big_matrix.csv", "small_matrix.csv"):
            shutil.copy(f, out / f.name)

    def factors(sd: float) -> np.ndarray:
        return _scaled(rng.normal(size=(n_users, 10)) @ rng.normal(size=(n_items, 10)).T, sd)

    def tag_taste(sd: float) -> np.ndarray:
        tags = _tag_matrix(twin / "item_categories.csv", n_items)
        return _scaled(rng.normal(size=(n_users, tags.shape[1])) @ tags.T, sd)

    quality_sd, a = {
        "latent": lambda: (0.15, factors(0.55)),
        "tags": lambda: (0.15, tag_taste(0.55)),
        "mix": lambda: (0.3, factors(0.38) + tag_taste(0.38)),
    }[world]()
    quality = rng.normal(0.0, quality_sd, n_items)
    log_d = np.log(duration)
    m = -0.15 + quality[None, :] + a - duration_effect * ((log_d - log_d.mean()) / log_d.std())[None, :]

    pop = 0.6 * rng.normal(size=n_items) + 0.4 * quality / quality_sd
    small_users = np.sort(rng.choice(n_users, n_small_users, replace=False))
    small_items = np.sort(np.argsort(-(pop + rng.normal(0.0, 0.5, n_items)))[:n_small_items])
    in_block = np.zeros(n_items, bool)
    in_block[small_items] = True
    block_user = np.zeros(n_users, bool)
    block_user[small_users] = True
    per_user = np.clip(rng.lognormal(np.log(rows / n_users) - 0.18, 0.6, n_users), 20, 0.6 * n_items)
    big_u, big_i, big_t = [], [], []
    for u, n in enumerate(per_user.astype(int)):
        logits = pop + exposure * a[u] + rng.gumbel(size=n_items)
        if block_user[u]:
            logits[in_block] = -np.inf
        items = np.argsort(-logits)[:n]
        rng.shuffle(items)
        big_u.append(np.full(n, u))
        big_i.append(items)
        big_t.append(np.sort(rng.integers(START_MS, START_MS + SPAN_MS, n)))
    users, items, ms = np.concatenate(big_u), np.concatenate(big_i), np.concatenate(big_t)
    _write(out / "big_matrix.csv", users, items, ms, m, duration, sigma, rng, date_as_double=False)

    cell_u, cell_i = (g.ravel() for g in np.meshgrid(small_users, small_items, indexing="ij"))
    keep = rng.random(len(cell_u)) > 0.004
    cell_u, cell_i = cell_u[keep], cell_i[keep]
    cell_t = rng.integers(START_MS, START_MS + SPAN_MS, len(cell_u))
    _write(out / "small_matrix.csv", cell_u, cell_i, cell_t, m, duration, sigma, rng, date_as_double=True)
    np.savez(
        out / "truth.npz",
        user_id=small_users.astype(np.int64),
        video_id=small_items.astype(np.int64),
        expected_watch_ratio=np.exp(m[np.ix_(small_users, small_items)] + sigma**2 / 2).astype(np.float32),
        item_quality=quality.astype(np.float32),
        user_segment=np.zeros(n_users, np.int64),
        video_duration_ms=duration,
        upload_day=truth["upload_day"],
        seed=np.int64(seed),
        world=np.str_(f"foreign-{world}"),
    )
    return {"big_matrix": len(users), "small_matrix": len(cell_u)}
