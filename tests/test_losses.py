"""Losses against hand-computed values and a brute-force NumPy reference (logQ correction, masking)."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kuaicore.models.losses import (
    bce_loss,
    mse_loss,
    sampled_softmax_loss,
    scale_target,
    unscale_prediction,
)


def test_mse_hand_computed_and_masked():
    cos = jnp.array([0.5, -1.0, 0.0])
    target = jnp.array([5.0, 0.0, 2.5])
    # scaled targets 1, -1, 0 -> squared errors 0.25, 0, 0; the third row is masked out
    assert float(mse_loss(cos, target, jnp.array([1.0, 1.0, 0.0]), cap=5.0)) == pytest.approx(0.125)
    assert float(mse_loss(cos, target, jnp.array([1.0, 0.0, 0.0]), cap=5.0)) == pytest.approx(0.25)


def test_scale_round_trip():
    t = jnp.array([0.0, 1.0, 2.5, 5.0])
    np.testing.assert_allclose(unscale_prediction(scale_target(t, 5.0), 5.0), t, atol=1e-6)
    np.testing.assert_allclose(scale_target(t, 5.0), [-1.0, -0.6, 0.0, 1.0], atol=1e-6)


def test_bce_hand_computed():
    got = bce_loss(jnp.array([0.0, 2.0, 9.0]), jnp.array([1.0, 0.0, 1.0]), jnp.array([1.0, 1.0, 0.0]))
    want = (math.log(2.0) + math.log1p(math.exp(2.0))) / 2
    assert float(got) == pytest.approx(want, rel=1e-6)


def _softmax_args(log_q, items=(0, 1), weight=(1.0, 0.0)):
    u = jnp.eye(2)
    return dict(
        u=u,
        v=u,
        item_idx=jnp.array(items),
        weight=jnp.array(weight),
        log_q=jnp.log(jnp.array(log_q)),
        candidate_mask=jnp.ones(2),
        temperature=1.0,
        n_candidates=2,
    )


def test_softmax_hand_computed_logq():
    # query 0: positive logit 1, its own row is an accidental hit (masked), candidate 1 has logit 0
    assert float(sampled_softmax_loss(**_softmax_args([1.0, 1.0]))) == pytest.approx(math.log1p(math.exp(-1)))
    # a uniform correction cancels out
    assert float(sampled_softmax_loss(**_softmax_args([0.5, 0.5]))) == pytest.approx(math.log1p(math.exp(-1)))
    # q = (0.8, 0.2): pos = 1 - ln .8, neg = 0 - ln .2 -> loss = log(1 + 4/e)
    got = sampled_softmax_loss(**_softmax_args([0.8, 0.2]))
    assert float(got) == pytest.approx(math.log1p(4 / math.e), rel=1e-6)


def test_softmax_accidental_hit_and_padding_masked():
    # both rows hold item 0: the other row is an accidental hit, so only the positive remains: loss 0
    loss = sampled_softmax_loss(**_softmax_args([0.5, 0.5], items=(0, 0)))
    assert float(loss) == pytest.approx(0.0, abs=1e-6)
    args = _softmax_args([1.0, 1.0])
    args["candidate_mask"] = jnp.array([1.0, 0.0])  # row 1 is padding: not a candidate either
    assert float(sampled_softmax_loss(**args)) == pytest.approx(0.0, abs=1e-6)


def _reference(u, v, items, w, log_q, cmask, t, c):
    total, wsum = 0.0, 0.0
    for i in range(len(u)):
        if w[i] == 0:
            continue
        pos = u[i] @ v[i] / t - log_q[i]
        logits = [pos]
        for j in range(min(c, len(u))):
            if items[j] != items[i] and cmask[j] > 0:
                logits.append(u[i] @ v[j] / t - log_q[j])
        m = max(logits)
        total += w[i] * (m + math.log(sum(math.exp(x - m) for x in logits)) - pos)
        wsum += w[i]
    return total / wsum if wsum else 0.0


@settings(max_examples=20, deadline=None)
@given(st.sampled_from([1, 5, 8]), st.sampled_from([3, 12]), st.integers(0, 2**31 - 1))  # few shapes
def test_softmax_matches_bruteforce(b, c, seed):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(b, 3)).astype(np.float32)
    v = rng.normal(size=(b, 3)).astype(np.float32)
    items = rng.integers(0, 4, b).astype(np.int32)
    w = (rng.random(b) < 0.6) * rng.uniform(0.5, 5.0, b)
    log_q = np.log(rng.uniform(0.01, 1.0, b))
    cmask = (rng.random(b) < 0.8).astype(np.float32)
    got = sampled_softmax_loss(
        jnp.array(u),
        jnp.array(v),
        jnp.array(items),
        jnp.array(w, jnp.float32),
        jnp.array(log_q, jnp.float32),
        jnp.array(cmask),
        0.5,
        c,
    )
    want = _reference(u.astype(float), v.astype(float), items, w, log_q, cmask, 0.5, c)
    assert float(got) == pytest.approx(want, rel=1e-4, abs=1e-4)
