"""item_daily_features rows as NumPy column chunks, driven by the planted video popularity and quality.

A video has rows from max(upload day, 2020-07-05) to 2020-09-05 on a share ``coverage`` of those days
(always its first day); upload days are the planted ones (:func:`~.truth.make_world`: higher ids later, ~18%
inside the log). Counters are platform-wide (far beyond the twin's users) and follow a funnel: show is
lognormal around popularity x a power-law decay since upload (play_cnt p50 ~600, mean ~90k, max ~40M as in
the real file); play/complete/valid/long plays, likes, comments, shares, follows ... are binomial thinnings
whose rates rise with a noisy view of quality (each video's rates carry their own noise, so no counter
reveals q_i). ``play_progress`` is a float, ``video_duration`` a float (``5966.0``),
``music_id`` exceeds int32, and collect_* are empty before 2020-08-10 and floats (``0.0``) after.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import numpy as np

from kuaicore.data.synth import text
from kuaicore.data.synth.interactions import DATE_INTS, N_DAYS
from kuaicore.data.synth.truth import World, _rng
from kuaicore.schema import ITEM_DAILY_FEATURES

COLLECT_FROM = 20200810
# log E[show_cnt] per video-day: ~30% of videos are "hot" on the platform (more likely when popular in the
# log): N(HOT_MU, 1.5^2); the others N(COLD_MU, 1.8^2); the sd splits into a per-video and a per-day part.
# Fitted to the real play_cnt p50 628, p75 20,671, mean 94,188, max 41.2M (SCHEMA.md 2.5).
HOT_SHARE, HOT_MU, HOT_SD, COLD_MU, COLD_SD = 0.28, 12.0, 1.45, 5.95, 1.8
RATE_NOISE = 0.25  # per-video noise on the quality that engagement rates follow (sd of quality is 0.25)
_FIRST_DAY = np.datetime64("2020-07-05")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _thin(rng: np.random.Generator, base: np.ndarray, p: np.ndarray | float) -> np.ndarray:
    """Binomial thinning of counts ``base`` with success probability ``p``."""
    return rng.binomial(base, np.clip(p, 0.0, 1.0)).astype(np.int64)


def _users(rng: np.random.Generator, cnt: np.ndarray) -> np.ndarray:
    """Distinct users behind ``cnt`` events (a few repeat)."""
    return cnt - _thin(rng, cnt, 0.12)


def _collect(rng: np.random.Generator, play: np.ndarray, ok: np.ndarray, p: float) -> np.ndarray:
    """A collect_* counter as float, -1 (empty) on dates before the counter existed."""
    return np.where(ok, _thin(rng, play, p), -1).astype(np.float64)


def _hot(rng: np.random.Generator, log_pop: np.ndarray) -> np.ndarray:
    """Whether each video is among the platform's hot ones (the top HOT_SHARE of a noisy popularity)."""
    noisy = log_pop / max(float(np.std(log_pop)), 1e-9) + rng.normal(0.0, 1.0, len(log_pop))
    return noisy >= np.quantile(noisy, 1.0 - HOT_SHARE)


def _static(world: World, seed: int) -> dict[str, np.ndarray]:
    """Per-video attributes that do not change from day to day."""
    rng = _rng(seed, 7)
    n = len(world.quality)
    upload_day = world.upload_day
    width, height = np.array([[720, 1280], [1080, 1920], [540, 960], [1280, 720]])[
        rng.choice(4, n, p=[0.6, 0.25, 0.1, 0.05])
    ].T
    music_pool = rng.integers(2_200_000_000, 4_200_000_000, max(2, n // 3))
    tag_k = rng.integers(len(text.SUB_NAMES), size=n)
    return {
        "upload_day": upload_day,
        "hot": _hot(rng, world.log_popularity),
        "level": rng.standard_normal(n),
        "rate_q": world.quality / world.spec.quality_sd * 0.25 + rng.normal(0.0, RATE_NOISE, n),
        "author_id": rng.integers(0, max(2, int(n * 0.75)), n),
        "video_type": np.where(rng.random(n) < 0.97, "NORMAL", "AD"),
        "upload_dt": np.datetime_as_string(_FIRST_DAY + upload_day.astype("timedelta64[D]"), unit="D"),
        "upload_type": np.array(["ShortImport", "ShortCamera", "LongImport"])[
            rng.choice(3, n, p=[0.7, 0.2, 0.1])
        ],
        "video_width": width,
        "video_height": height,
        "music_id": music_pool[rng.integers(len(music_pool), size=n)],
        "video_tag_id": 800 + tag_k,
        "video_tag_name": np.array(text.SUB_NAMES)[tag_k],
    }


def daily_chunks(
    world: World, coverage: float, seed: int, items_per_chunk: int = 2048
) -> Iterator[dict[str, np.ndarray]]:
    """One dict of the 58 columns (in file order) per chunk of videos; collect_* hold -1 where empty."""
    st = _static(world, seed)
    n = len(world.quality)
    for c, i0 in enumerate(range(0, n, items_per_chunk)):
        rng = _rng(seed, 30, c)
        vids = np.arange(i0, min(i0 + items_per_chunk, n))
        first = np.maximum(st["upload_day"][vids], 0)
        on = rng.random((len(vids), N_DAYS)) < coverage
        on[np.arange(len(vids)), first] = True
        on &= np.arange(N_DAYS)[None, :] >= first[:, None]
        loc, day = np.nonzero(on)
        v = vids[loc]
        q = st["rate_q"][v]
        hot = st["hot"][v]
        sd = np.where(hot, HOT_SD, COLD_SD)
        log_lam = np.where(hot, HOT_MU, COLD_MU) + sd * (
            0.8 * st["level"][v] + 0.6 * rng.standard_normal(len(v))
        )
        show = rng.poisson(np.exp(np.minimum(log_lam, np.log(8e7)))).astype(np.int64)

        thin = partial(_thin, rng)
        play = thin(show, 0.7 + 0.2 * np.tanh(q))
        complete = thin(play, _sigmoid(-0.5 + 5.0 * q))
        valid = thin(play, 0.55 + 0.3 * np.tanh(2 * q))
        long_ = thin(valid, 0.95)
        short = thin(play, 0.25 - 0.1 * np.tanh(2 * q))
        like = thin(play, _sigmoid(-5.15 + 5.0 * q))
        comment = thin(play, _sigmoid(-7.4 + 3.0 * q))
        share = thin(play, _sigmoid(-7.9 + 3.0 * q))
        follow = thin(play, _sigmoid(-6.0 + 2.0 * q))
        dur = world.duration_ms[v].astype(np.float64)
        progress = np.clip(0.55 + 0.8 * q + rng.normal(0.0, 0.05, len(v)), 0.05, 3.0)
        collect_ok = DATE_INTS[day] >= COLLECT_FROM

        users = partial(_users, rng)
        collect = partial(_collect, rng, play, collect_ok)
        cols: dict[str, np.ndarray] = {
            "video_id": v,
            "date": DATE_INTS[day],
            **{k: st[k][v] for k in ("author_id", "video_type", "upload_dt", "upload_type")},
            "visible_status": np.full(len(v), "public"),
            "video_duration": dur,
            **{
                k: st[k][v]
                for k in ("video_width", "video_height", "music_id", "video_tag_id", "video_tag_name")
            },
            "show_cnt": show,
            "show_user_num": users(show),
            "play_cnt": play,
            "play_user_num": users(play),
            "play_duration": np.round(play * dur * np.exp(q) * 0.8).astype(np.int64),
            "complete_play_cnt": complete,
            "complete_play_user_num": users(complete),
            "valid_play_cnt": valid,
            "valid_play_user_num": users(valid),
            "long_time_play_cnt": long_,
            "long_time_play_user_num": users(long_),
            "short_time_play_cnt": short,
            "short_time_play_user_num": users(short),
            "play_progress": progress,
            "comment_stay_duration": np.round(comment * 12_000.0 * np.exp(rng.normal(0, 0.5, len(v)))).astype(
                np.int64
            ),
            "like_cnt": like,
            "like_user_num": users(like),
            "click_like_cnt": thin(like, 0.55),
            "double_click_cnt": thin(like, 0.45),
            "cancel_like_cnt": thin(like, 0.1),
            "cancel_like_user_num": thin(like, 0.09),
            "comment_cnt": comment,
            "comment_user_num": users(comment),
            "direct_comment_cnt": thin(comment, 0.7),
            "reply_comment_cnt": thin(comment, 0.3),
            "delete_comment_cnt": thin(comment, 0.02),
            "delete_comment_user_num": thin(comment, 0.02),
            "comment_like_cnt": thin(comment, 0.9),
            "comment_like_user_num": thin(comment, 0.5),
            "follow_cnt": follow,
            "follow_user_num": users(follow),
            "cancel_follow_cnt": thin(follow, 0.05),
            "cancel_follow_user_num": thin(follow, 0.05),
            "share_cnt": share,
            "share_user_num": users(share),
            "download_cnt": thin(play, 0.0008),
            "download_user_num": thin(play, 0.0007),
            "report_cnt": thin(play, 0.00005),
            "report_user_num": thin(play, 0.00005),
            "reduce_similar_cnt": thin(play, 0.0003),
            "reduce_similar_user_num": thin(play, 0.0003),
            "collect_cnt": collect(0.0004),
            "collect_user_num": collect(0.0004),
            "cancel_collect_cnt": collect(0.00002),
            "cancel_collect_user_num": collect(0.00002),
        }
        assert list(cols) == [c.name for c in ITEM_DAILY_FEATURES.columns]
        yield cols
