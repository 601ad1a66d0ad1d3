"""The taste worlds rank each user's videos far from popularity; the calibrated ones do not (issues 14, 16).

Computed from what `synth` writes (truth.npz and small_matrix.csv), no training: on the small block,
relevant = the observed watch_ratio > 2.0 (the evaluation's label); the oracle ranks each user's cells by
the planted expected watch ratio, popularity by its mean over the block's users (the best ranking that
ignores the user). In the taste worlds the oracle's ndcg@10 must stay >= 1.5x popularity's (the issue-16
targets apply there); in `mixed` and `popular` the length effect and quality decide "watch_ratio > 2", so
popularity stays near the oracle.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kuaicore.config import WORLDS
from kuaicore.data.synth import write_files
from kuaicore.data.synth.scales import TINY
from kuaicore.data.synth.worlds import WORLDS as SPECS

# a small block big enough for ndcg@10 (60 users x 200 videos), few big rows: ~0.4 s per world
SIZES = replace(TINY, n_users=200, n_items=500, n_small_users=60, n_small_items=200, big_rows=20_000)
TASTE_WORLDS = ("collaborative", "content", "mixed-taste")


def ndcg_at(scores: np.ndarray, relevant: np.ndarray, k: int = 10) -> float:
    """Mean binary ndcg@k over the rows (users) with at least one relevant cell; NaN scores rank last."""
    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), axis=1, kind="stable")[:, :k]
    gains = np.take_along_axis(relevant, order, axis=1).astype(np.float64)
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.sort(relevant.astype(np.float64), axis=1)[:, ::-1][:, :k]
    has = ideal.sum(axis=1) > 0
    return float(((gains @ disc)[has] / (ideal @ disc)[has]).mean())


def test_ndcg_at_hand_checked():
    rel = np.array([[False, True, True], [False, False, False], [True, False, False]])
    scores = np.array([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0], [np.nan, 1.0, 2.0]])
    # user 0: hits at ranks 2, 3 -> (1/log2 3 + 1/2) / (1 + 1/log2 3); user 1 has no positive; user 2: rank 3
    u0 = (1 / np.log2(3) + 0.5) / (1 + 1 / np.log2(3))
    assert ndcg_at(scores, rel, k=3) == pytest.approx((u0 + 0.5) / 2)
    assert ndcg_at(scores, rel, k=1) == pytest.approx(0.0)


def oracle_and_popularity(folder: Path) -> tuple[float, float]:
    """(oracle ndcg@10, popularity-by-mean-truth ndcg@10) on the small block of a synth folder."""
    truth = np.load(folder / "truth.npz")
    users, items = truth["user_id"], truth["video_id"]
    expected = truth["expected_watch_ratio"].astype(np.float64)
    rows = np.loadtxt(folder / "small_matrix.csv", delimiter=",", skiprows=1, usecols=(0, 1, 2, 3))
    u = np.searchsorted(users, rows[:, 0].astype(np.int64))
    i = np.searchsorted(items, rows[:, 1].astype(np.int64))
    relevant = np.zeros(expected.shape, dtype=bool)
    relevant[u, i] = rows[:, 2] / rows[:, 3] > 2.0
    observed = np.zeros(expected.shape, dtype=bool)
    observed[u, i] = True
    popular = np.broadcast_to(expected.mean(axis=0), expected.shape)
    oracle = np.where(observed, expected, np.nan)
    return ndcg_at(oracle, relevant), ndcg_at(np.where(observed, popular, np.nan), relevant)


@pytest.fixture(scope="module")
def ratios(tmp_path_factory) -> dict[str, float]:
    """oracle / popularity ndcg@10 per world (seed 0)."""
    out = {}
    for name in WORLDS:
        folder = tmp_path_factory.mktemp(name)
        write_files(folder, SIZES, seed=0, world=name)
        oracle, popular = oracle_and_popularity(folder)
        assert 0.5 < oracle <= 1.0, (name, oracle)
        out[name] = oracle / popular
    return out


@pytest.mark.parametrize("world", TASTE_WORLDS)
def test_taste_worlds_rank_far_from_popularity(ratios, world):
    assert ratios[world] >= 1.5, ratios


@pytest.mark.parametrize("world", ("mixed", "popular"))
def test_calibrated_worlds_stay_duration_dominated(ratios, world):
    assert ratios[world] < 1.35, ratios


def test_only_taste_worlds_trade_calibration_away():
    """Only the taste worlds weaken the length effect and the push of the small block's videos; the others
    keep the calibrated values (and so the same bytes as before the taste worlds)."""
    assert set(TASTE_WORLDS) | {"mixed", "popular"} == set(WORLDS)
    calibrated = SPECS["mixed"]
    assert calibrated.length == 1.0
    for name, spec in SPECS.items():
        taste = name in TASTE_WORLDS
        assert (spec.length < 1.0) == taste, name
        assert (spec.push < calibrated.push) == taste, name
