"""Cross-check the ranking metrics against an independent implementation, ranx (a dev-only dependency).

ranx agrees with DESIGN.md on precision, recall, ndcg (Järvelin gains: the qrel value itself), mrr and
hit_rate; its map divides by |R| rather than min(|R|, K), so map is checked only against our own reference.
Loading ranx's compiled kernels costs ~15 s per process (minutes on the very first run, while Numba caches
them); each example after that takes milliseconds.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kuaicore.kernels.metrics import ranking_metrics

ranx = pytest.importorskip("ranx")

# ranx's own Numba code warns while it compiles (unsafe uint64 casts); that is not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::numba.core.errors.NumbaTypeSafetyWarning")

SHARED = ("precision", "recall", "ndcg", "mrr", "hit_rate")


def ranx_per_user(qrels: dict, run: dict, names: list[str]) -> dict[str, np.ndarray]:
    """Per-user ranx scores in our user order (ranx keeps them in run.scores keyed by query id)."""
    r = ranx.Run.from_dict(run)
    ranx.evaluate(ranx.Qrels.from_dict(qrels), r, names, return_mean=False)
    return {name: np.array([r.scores[name][f"u{u}"] for u in range(len(run))]) for name in names}


@settings(max_examples=25, deadline=None)
@given(
    st.integers(10, 60),  # users (ranx switches Numba to one thread below 10 queries)
    st.integers(2, 60),  # items
    st.integers(1, 20),  # longest ranked list
    st.integers(0, 2**32 - 1),
)
def test_matches_ranx_on_random_runs(n_users, n_items, width, seed):
    rng = np.random.default_rng(seed)
    ranked = np.full((n_users, width), -1, dtype=np.int32)
    run, qrels_binary, qrels_graded = {}, {}, {}
    rel_lists, gain_lists = [], []
    for u in range(n_users):
        length = int(rng.integers(1, min(width, n_items) + 1))
        ranked[u, :length] = rng.permutation(n_items)[:length]
        run[f"u{u}"] = {f"d{i}": float(width - p) for p, i in enumerate(ranked[u, :length])}
        gains = rng.choice([0, 0, 0, 1, 2, 4], size=n_items)  # integer gains: ranx qrels are int64
        relevant = np.nonzero(gains >= 1)[0]
        rel_lists.append(relevant)
        gain_lists.append(gains)
        # a zero-relevance judgement keeps users without relevant items in ranx's Qrels
        qrels_binary[f"u{u}"] = {f"d{i}": 1 for i in relevant} or {"none": 0}
        qrels_graded[f"u{u}"] = {f"d{i}": int(g) for i, g in enumerate(gains) if g > 0} or {"none": 0}
    rel_indptr = np.concatenate([[0], np.cumsum([r.size for r in rel_lists])])
    gain_indptr = np.arange(0, n_users * n_items + 1, n_items)
    gain_items = np.tile(np.arange(n_items), n_users)
    ks = [1, 3, 10, 25]
    ours = ranking_metrics(
        ranked, ks, rel_indptr, np.concatenate(rel_lists), gain_indptr, gain_items, np.concatenate(gain_lists)
    )

    names = [f"{m}@{k}" for m in SHARED for k in ks]
    theirs = ranx_per_user(qrels_binary, run, names)
    graded = ranx_per_user(qrels_graded, run, [f"ndcg@{k}" for k in ks])
    for j, k in enumerate(ks):
        for m in SHARED:
            np.testing.assert_allclose(ours[m][:, j], theirs[f"{m}@{k}"], rtol=1e-12, atol=1e-12, err_msg=m)
        np.testing.assert_allclose(ours["ndcg_graded"][:, j], graded[f"ndcg@{k}"], rtol=1e-12, atol=1e-12)
