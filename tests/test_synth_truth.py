"""truth.npz's expected watch ratio is the exact expectation of the observation model that writes the files
(the oracle ranks by it): a Monte Carlo mean of sample_play_ms per cell, the replay compression's closed form
against quadrature, and the loops' dependence on length and on the world's length weight."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kuaicore.data.synth import truth


def _cells(world: truth.World) -> tuple[np.ndarray, np.ndarray]:
    """Four users x six videos from the shortest (looped) to the longest of a small catalogue."""
    order = np.argsort(world.duration_ms, kind="stable")
    picks = order[np.linspace(0, len(order) - 1, 6).round().astype(int)]
    picks[1] = order[np.searchsorted(world.duration_ms[order], 4000)]  # a 4 s clip: loops most of the time
    return np.arange(4), picks


@pytest.mark.parametrize("name", ["mixed", "content"])
def test_expected_watch_ratio_is_the_mean_of_the_sampled_views(monkeypatch, name):
    # the Lomax tail (alpha 1.6: infinite variance) is a plain factor of the expectation, checked below; the
    # Monte Carlo runs without it so that 120k views per cell pin the rest to ~0.3%
    monkeypatch.setattr(truth, "P_TAIL", 0.0)
    world = truth.make_world(40, 300, seed=3, world=name)
    users, items = _cells(world)
    expected = truth.expected_watch_ratio(world, users, items)
    m, s = truth.body_mean_and_skip(world, users, items)
    n = 120_000
    rng = np.random.default_rng(7)
    cell_items = np.broadcast_to(items, m.shape).ravel()
    rep = np.repeat(np.arange(m.size), n)
    play = truth.sample_play_ms(rng, world, m.ravel()[rep], s.ravel()[rep], cell_items[rep])
    ratio = play / world.duration_ms[cell_items[rep]]
    observed = ratio.reshape(m.size, n).mean(axis=1).reshape(m.shape)
    assert truth.loop_prob(world, items).max() > 0.05  # a looped clip is among the cells
    np.testing.assert_allclose(observed, expected, rtol=0.012)


def test_tail_enters_the_expectation_as_its_mean_factor(monkeypatch):
    world = truth.make_world(20, 80, seed=1)
    users, items = np.arange(3), np.arange(10)
    with_tail = truth.expected_watch_ratio(world, users, items)
    p_tail = truth.P_TAIL
    monkeypatch.setattr(truth, "P_TAIL", 0.0)
    without = truth.expected_watch_ratio(world, users, items)
    m, s = truth.body_mean_and_skip(world, users, items)
    p_part = np.minimum(truth.PART_MAX, truth.PART_K * s)
    loop = truth.loop_prob(world, items)[None, :]
    kept = loop + (1 - loop) * (1 - p_part + p_part * (truth.PART_LO + truth.PART_HI) / 2)
    body = truth._compressed_mean(m, truth.SIGMA, truth.replay_power(world)) * kept
    extra = p_tail * truth.TAIL_SCALE / (truth.TAIL_ALPHA - 1)
    np.testing.assert_allclose(with_tail - without, (1 - s) * body * extra, rtol=1e-10)


@settings(max_examples=40, deadline=None)
@given(
    m=st.floats(-2.0, 2.0),
    sd=st.floats(0.05, 0.8),
    kappa=st.floats(0.3, 1.0),
)
def test_compressed_mean_matches_quadrature(m, sd, kappa):
    x = np.linspace(m - 12 * sd, m + 12 * sd, 200_001)
    density = np.exp(-((x - m) ** 2) / (2 * sd**2)) / (sd * np.sqrt(2 * np.pi))
    r = np.exp(x)
    c = np.where(r > 1.0, r**kappa, r)
    brute = np.trapezoid(c * density, x)
    assert truth._compressed_mean(np.array([m]), sd, kappa)[0] == pytest.approx(brute, rel=1e-6)


def test_short_clips_loop_long_videos_do_not_and_taste_worlds_loop_less():
    mixed = truth.make_world(10, 2000, seed=0, world="mixed")
    content = truth.make_world(10, 2000, seed=0, world="content")
    d = mixed.duration_ms
    items = np.arange(len(d))
    p = truth.loop_prob(mixed, items)
    assert p[d < 5000].min() > 0.9 * truth.LOOP_P and p[d > 7500].max() < 1e-3
    lam = content.spec.length
    np.testing.assert_allclose(truth.loop_prob(content, items), lam**truth.LOOP_WORLD_POW * p)
    assert truth.replay_power(mixed) == truth.KAPPA and truth.KAPPA < truth.replay_power(content) < 1.0
