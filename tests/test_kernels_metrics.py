"""Ranking-metric kernel: hand-checked values, hypothesis properties vs a per-definition NumPy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kuaicore.kernels._arrays import KernelInputError
from kuaicore.kernels.metrics import METRICS, ranking_metrics


def reference(ranked_row, k, relevant, gains):
    """DESIGN.md section 4, written out naively for one user and one K."""
    top = [int(x) for x in ranked_row[:k] if x >= 0]
    rel = [1.0 if item in relevant else 0.0 for item in top]
    n_rel = len(relevant)
    hits = sum(rel)
    disc = [1.0 / math.log2(i + 2) for i in range(k)]
    out = {
        "precision": hits / k,
        "recall": hits / n_rel if n_rel else 0.0,
        "hit_rate": float(hits > 0),
        "mrr": next((1.0 / (i + 1) for i, r in enumerate(rel) if r), 0.0),
        "map": (
            sum(r * sum(rel[: i + 1]) / (i + 1) for i, r in enumerate(rel)) / min(n_rel, k) if n_rel else 0.0
        ),
    }
    idcg = sum(disc[: min(n_rel, k)])
    out["ndcg"] = sum(r * disc[i] for i, r in enumerate(rel)) / idcg if n_rel else 0.0
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg_g = sum(g * disc[i] for i, g in enumerate(ideal))
    dcg_g = sum(gains.get(item, 0.0) * disc[i] for i, item in enumerate(top))
    out["ndcg_graded"] = dcg_g / idcg_g if idcg_g > 0 else 0.0
    return out


def test_hand_checked_values():
    # ranked 3, 1, 2 then padding; relevant {1, 2}; gains 1 -> 2.0, 2 -> 1.0, 3 -> 0.5
    res = ranking_metrics(
        np.array([[3, 1, 2, -1]]), [5, 1, 2], [0, 2], [1, 2], [0, 3], [1, 2, 3], [2.0, 1.0, 0.5]
    )
    lg3 = math.log2(3)
    assert res["precision"][0].tolist() == [0.4, 0.0, 0.5]  # column order follows ks as given
    assert res["recall"][0].tolist() == [1.0, 0.0, 0.5]
    assert res["hit_rate"][0].tolist() == [1.0, 0.0, 1.0]
    assert res["mrr"][0].tolist() == [0.5, 0.0, 0.5]
    assert np.allclose(res["map"][0], [(0.5 + 2 / 3) / 2, 0.0, 0.5 / 2])
    assert np.allclose(res["ndcg"][0], [(1 / lg3 + 0.5) / (1 + 1 / lg3), 0.0, (1 / lg3) / (1 + 1 / lg3)])
    graded5 = (0.5 + 2 / lg3 + 1 / 2) / (2 + 1 / lg3 + 0.5 / 2)
    assert np.allclose(res["ndcg_graded"][0], [graded5, 0.5 / 2, (0.5 + 2 / lg3) / (2 + 1 / lg3)])
    assert res["n_relevant"].tolist() == [2]


def test_user_without_relevant_items_gets_zeros_and_is_flagged():
    res = ranking_metrics(np.array([[4, 5], [5, 4]]), [1, 3], [0, 0, 1], [5], [0, 2, 2], [4, 5], [0.0, 0.0])
    assert res["n_relevant"].tolist() == [0, 1]
    for name in METRICS:
        assert res[name][0].tolist() == [0.0, 0.0], name
    assert res["ndcg_graded"][1].tolist() == [0.0, 0.0]  # all gains zero: IDCG = 0 -> 0
    assert res["precision"][1].tolist() == [1.0, 1 / 3]  # K beyond the list still divides by K
    assert "ndcg_graded" not in ranking_metrics(np.array([[1]]), [1], [0, 1], [1])


def test_bad_ks_raise():
    with pytest.raises(KernelInputError, match="ks"):
        ranking_metrics(np.array([[1]]), [0, 1], [0, 1], [1])


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 6),  # users
    st.integers(1, 25),  # items
    st.integers(1, 12),  # ranked width
    st.lists(st.integers(1, 30), min_size=1, max_size=4),  # ks, unsorted, repeats allowed
    st.floats(0.0, 1.0),  # relevance density
    st.booleans(),  # gain rows in item order (binary-search path) or shuffled (scatter path)
    st.integers(0, 2**32 - 1),
)
def test_matches_reference(n_users, n_items, width, ks, density, sort_gains, seed):
    rng = np.random.default_rng(seed)
    ranked = np.full((n_users, width), -1, dtype=np.int32)
    rel_sets, gain_maps = [], []
    for u in range(n_users):
        length = int(rng.integers(0, min(width, n_items) + 1))  # shorter lists are padded with -1
        ranked[u, :length] = rng.permutation(n_items)[:length]
        rel_sets.append(set(np.nonzero(rng.random(n_items) < density)[0].tolist()))
        cand = rng.permutation(n_items)[: rng.integers(0, n_items + 1)]
        if sort_gains:
            cand = np.sort(cand)
        gains = rng.choice([0.0, 0.5, 1.0, 3.0], cand.size)
        gain_maps.append({int(i): float(g) for i, g in zip(cand, gains, strict=True)})
    rel_lists = [rng.permutation(sorted(s)) for s in rel_sets]  # any order
    rel_indptr = np.concatenate([[0], np.cumsum([len(s) for s in rel_lists])])
    rel_items = np.concatenate(rel_lists + [np.zeros(0)]).astype(np.int32)
    gain_indptr = np.concatenate([[0], np.cumsum([len(g) for g in gain_maps])])
    gain_items = np.array([i for g in gain_maps for i in g], dtype=np.int32)
    gain_values = np.array([v for g in gain_maps for v in g.values()], dtype=np.float32)

    res = ranking_metrics(ranked, ks, rel_indptr, rel_items, gain_indptr, gain_items, gain_values)
    assert res["n_relevant"].tolist() == [len(s) for s in rel_sets]
    for u in range(n_users):
        for j, k in enumerate(ks):
            want = reference(ranked[u], k, rel_sets[u], gain_maps[u])
            for name in METRICS:
                assert res[name][u, j] == pytest.approx(want[name], abs=1e-12), (name, u, k)
