"""`mf`: the ALS half-step against a brute-force NumPy ridge solve, recovery of planted ratings, the CLI."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
import scipy.sparse as sp
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from kuaicore.cli import cli
from kuaicore.errors import UsageError
from kuaicore.kernels.mf import mf_half_step, mf_squared_error
from kuaicore.models import mf
from kuaicore.models.interactions import Interactions
from kuaicore.protocol import Validation, candidates_from_rows


def reference_half_step(r: sp.csr_matrix, other, other_bias, mu, reg, bias_reg):
    """Each row's ridge regression of its residuals on [other_i, 1], solved by np.linalg.solve."""
    d = other.shape[1]
    x, b = np.zeros((r.shape[0], d)), np.zeros(r.shape[0])
    for u in range(r.shape[0]):
        lo, hi = r.indptr[u], r.indptr[u + 1]
        if hi == lo:
            continue
        cols = r.indices[lo:hi]
        z = np.column_stack([other[cols], np.ones(hi - lo)])
        resid = r.data[lo:hi] - mu - other_bias[cols]
        pen = np.diag([reg] * d + [bias_reg]) * (hi - lo)
        sol = np.linalg.solve(z.T @ z + pen, z.T @ resid)
        x[u], b[u] = sol[:d], sol[d]
    return x, b


@settings(max_examples=25, deadline=None)
@given(
    n_rows=st.integers(1, 8),
    n_cols=st.integers(1, 9),
    d=st.integers(1, 4),
    density=st.floats(0.1, 1.0),
    reg=st.floats(0.01, 2.0),
    seed=st.integers(0, 2**16),
)
def test_half_step_matches_the_numpy_ridge_solve(n_rows, n_cols, d, density, reg, seed):
    rng = np.random.default_rng(seed)
    r = sp.random(n_rows, n_cols, density=density, format="csr", random_state=seed, dtype=np.float64)
    r.sort_indices()
    other = rng.standard_normal((n_cols, d))
    other_bias = rng.standard_normal(n_cols)
    x, b = np.full((n_rows, d), 9.0), np.full(n_rows, 9.0)
    mf_half_step(r.indptr, r.indices, r.data, other, other_bias, 0.3, reg, reg / 2, x, b)
    want_x, want_b = reference_half_step(r, other, other_bias, 0.3, reg, reg / 2)
    np.testing.assert_allclose(x, want_x, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(b, want_b, rtol=1e-7, atol=1e-9)


def test_squared_error_by_hand():
    r = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 3.0]]))
    x, y = np.array([[1.0], [2.0]]), np.array([[0.5], [1.0]])
    bu, bi = np.array([0.1, 0.0]), np.array([0.0, 0.2])
    # (1 - 0.5 - 0.1 - 0 - 0.5)^2 + (3 - 0.5 - 0 - 0.2 - 2)^2 = 0.01 + 0.09
    assert mf_squared_error(r.indptr, r.indices, r.data, x, bu, y, bi, 0.5) == pytest.approx(0.1)


def _planted(n_users=60, n_items=80, d=3, density=0.5, seed=1):
    rng = np.random.default_rng(seed)
    p, q = rng.standard_normal((n_users, d)) * 0.4, rng.standard_normal((n_items, d)) * 0.4
    bu, bi = rng.standard_normal(n_users) * 0.2, rng.standard_normal(n_items) * 0.2
    rating = 0.6 + bu[:, None] + bi[None, :] + p @ q.T  # the log1p of the watch ratio
    mask = rng.random((n_users, n_items)) < density
    wr = np.expm1(np.maximum(rating, 0.0)) * mask
    m = sp.csr_matrix(wr)
    m.sort_indices()
    counts = np.ones(m.nnz, np.int32)
    return Interactions(m, counts, m.nnz), np.maximum(rating, 0.0), mask


def test_fit_recovers_held_out_planted_ratings():
    data, rating, mask = _planted()
    user_emb, item_emb, info = mf.fit(data, mf.MFOptions(factors=3, iterations=15, reg=0.01))
    assert info["train_rmse"][-1] < info["train_rmse"][0]
    pred = user_emb @ item_emb.T
    held_out = ~mask
    err = np.sqrt(np.mean((pred[held_out] - rating[held_out]) ** 2))
    base = np.sqrt(np.mean((rating[mask].mean() - rating[held_out]) ** 2))
    assert err < 0.35 * base  # far better than the global mean on pairs it never saw
    again = mf.fit(data, mf.MFOptions(factors=3, iterations=15, reg=0.01))
    np.testing.assert_array_equal(again[0], user_emb)  # same seed, same bytes


def test_the_penalty_path_keeps_the_fit_valid_scores_best():
    """Each penalty of ``reg`` in order, warm-started; the one the protocol scores best on held-out pairs
    is returned. A penalty far past the signal shrinks the factors to nothing, and zero factors stay zero
    (a fixed point of the alternation): what follows such a penalty scores no better."""
    data, rating, mask = _planted()
    hu, hi = np.nonzero(~mask)
    watch = np.expm1(rating[hu, hi]).astype(np.float32)
    threshold = float(np.quantile(watch, 0.8))
    validation = Validation(candidates_from_rows(hu, hi, watch), threshold)
    opts = mf.MFOptions(factors=3, iterations=10, path_iterations=5, reg="0.1,0.01,3,0.001")
    user_emb, item_emb, info = mf.fit(data, opts, validation=validation)
    path = info["reg_path"]
    # 3 shrinks the factors to nothing and scores worse than 0.01: the path stops there (0.001 is not fitted)
    assert [s["reg"] for s in path] == [0.1, 0.01, 3.0]
    assert [s["iterations"] for s in path] == [10, 15, 20] and len(info["train_rmse"]) == 20
    assert (
        path[1]["valid_ndcg"] > path[0]["valid_ndcg"] and path[1]["valid_ndcg"] > path[2]["valid_ndcg"] + 0.1
    )
    assert info["reg"] == 0.01 and info["valid_ndcg"] == path[1]["valid_ndcg"]
    assert validation.ndcg(user_emb, item_emb) == pytest.approx(info["valid_ndcg"])
    again = mf.fit(data, opts, validation=validation)
    np.testing.assert_array_equal(again[0], user_emb)  # same seed, same bytes
    # without validation every penalty is fitted and the last one's fit is kept
    no_valid = mf.fit(data, opts)[2]
    assert no_valid["reg"] == 0.001 and len(no_valid["reg_path"]) == 4
    collapsed = mf.fit(data, mf.MFOptions(factors=3, iterations=10, path_iterations=5, reg="3,0.01"))
    assert np.abs(collapsed[0][:, :3]).max() < 1e-6  # from zero factors a weaker penalty cannot recover


@settings(max_examples=25, deadline=None)
@given(
    n_users=st.integers(1, 12),
    n_items=st.integers(1, 12),
    d=st.integers(1, 5),
    k=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_truncate_factors_is_the_best_rank_k_approximation_of_the_product(n_users, n_items, d, k, seed):
    """Against NumPy's SVD of the whole product (Eckart-Young), with the singular values split evenly."""
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((n_users, d)), rng.standard_normal((n_items, d))
    k = min(k, d, n_users, n_items)
    xk, yk = mf.truncate_factors(x, y, k)
    assert xk.shape == (n_users, k) and yk.shape == (n_items, k)
    u, s, vt = np.linalg.svd(x @ y.T)
    np.testing.assert_allclose(xk @ yk.T, (u[:, :k] * s[:k]) @ vt[:k], atol=1e-9)
    np.testing.assert_allclose(xk.T @ xk, yk.T @ yk, atol=1e-9)  # U_k S_k^1/2 and V_k S_k^1/2


def test_smaller_ranks_parse_and_drop_those_not_below_the_factors():
    assert mf.smaller_ranks("8", 16) == (8,) and mf.smaller_ranks("8", 8) == ()
    assert mf.smaller_ranks("4, 12,8,4", 16) == (12, 8, 4) and mf.smaller_ranks("", 16) == ()
    for bad in ("x", "0", "2.5", "-4", "inf"):
        with pytest.raises(UsageError, match="--option ranks="):
            mf.MFOptions(ranks=bad)


def test_smaller_ranks_start_from_the_truncated_best_fit_and_valid_picks_the_planted_rank():
    """Planted rank 2, fitted with 8 factors: the spare ones fit noise. After the penalty path, each rank of
    ``ranks`` starts from the best fit's product truncated to it and ends where a fit at that rank from the
    start ends; valid prefers 2, and 1, too few, scores worse."""
    data, rating, mask = _planted(n_users=80, n_items=100, d=2, density=0.25, seed=4)
    noisy = Interactions(data.matrix.copy(), data.counts, data.n_rows)
    noisy.matrix.data = np.expm1(
        np.log1p(noisy.matrix.data) + np.random.default_rng(0).normal(0, 0.15, noisy.matrix.nnz)
    ).astype(noisy.matrix.data.dtype)
    hu, hi = np.nonzero(~mask)
    watch = np.expm1(rating[hu, hi]).astype(np.float32)
    validation = Validation(candidates_from_rows(hu, hi, watch), float(np.quantile(watch, 0.8)))
    opts = mf.MFOptions(factors=8, iterations=20, path_iterations=10, reg="0.02", ranks="4,2,1,3")
    user_emb, item_emb, info = mf.fit(noisy, opts, validation=validation)
    path = info["reg_path"]
    assert [s["factors"] for s in path] == [8, 4, 3, 2, 1]  # largest first, whatever the order given
    scores = [s["valid_ndcg"] for s in path]
    assert scores[0] < scores[1] < scores[2] < scores[3] and scores[4] < scores[3] - 0.05
    assert info["factors"] == 2 and info["valid_ndcg"] == scores[3] and user_emb.shape == (80, 4)
    scratch = mf.fit(noisy, mf.MFOptions(factors=2, iterations=30, reg="0.02", ranks=""))
    assert validation.ndcg(*scratch[:2]) == pytest.approx(scores[3], abs=0.005)  # as if fitted at rank 2
    assert validation.ndcg(user_emb, item_emb) == pytest.approx(info["valid_ndcg"])
    again = mf.fit(noisy, opts, validation=validation)
    np.testing.assert_array_equal(again[0], user_emb)  # same seed, same bytes
    assert [s["factors"] for s in mf.fit(noisy, opts)[2]["reg_path"]] == [8]  # no validation: no ranks


def test_options_are_checked():
    with pytest.raises(UsageError, match="--target"):
        mf.MFOptions(target="raw")
    for bad in (0.0, "0.05,0", "0.05,abc", "", "nan"):
        with pytest.raises(UsageError, match="--option reg="):
            mf.MFOptions(reg=bad)
    assert mf.MFOptions(reg=0.07).regs() == (0.07,)  # a number (as tune samples it) is one penalty
    assert mf.MFOptions(reg=" 0.1, 0.01 ").regs() == (0.1, 0.01)
    with pytest.raises(UsageError, match="--factors"):
        mf.MFOptions(factors=0)


def test_train_and_evaluate_from_the_cli(tiny_art, tmp_path):
    art = tmp_path / "art"
    shutil.copytree(tiny_art, art)
    result = CliRunner().invoke(cli, ["train", str(art), "--model", "mf", "--option", "iterations=3"])
    assert result.exit_code == 0, result.output
    run = art / "runs" / "mf-s0"
    assert np.load(run / "eval_pred.npy").min() >= 0
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "mf" and config["info"]["target"] == "log"
    result = CliRunner().invoke(cli, ["evaluate", str(art), "--k", "10", "--bootstrap", "0", "--json", "-"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert "mae" in json.dumps(metrics)
    # the rank stage is logged beside the penalties, and ranks= turns it off; a bad rank is one line
    logged = _train_log(art, "mf-r", [])
    assert re.search(r"reg [0-9.]+, 16 factors: valid ndcg@10", logged)
    assert re.search(r"reg [0-9.]+, 8 factors: valid ndcg@10", logged)
    assert " 8 factors" not in _train_log(art, "mf-nr", ["--option", "ranks="])
    bad = CliRunner().invoke(cli, ["train", str(art), "--model", "mf", "--option", "ranks=0"])
    assert bad.exit_code == 2 and "--option ranks=0: expected whole numbers >= 1" in bad.stderr


def _train_log(art, run: str, extra: list[str]) -> str:
    args = ["train", str(art), "--model", "mf", "--run", run, "--option", "iterations=3", *extra]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result.stderr


def test_the_chosen_fit_replayed_is_the_same_fit_and_fit_art_refits_it_on_train_and_valid(tiny_art):
    """The path to the penalty and the rank validation chose, replayed without validation on the same rows,
    is the same fit bit for bit (here through two penalties and two ranks); fit_art refits that on train +
    valid and keeps the chosen fit for tests on valid."""
    from kuaicore.config import TrainConfig
    from kuaicore.models.contract import ModelData
    from kuaicore.models.interactions import load_interactions

    data, rating, mask = _planted(n_users=80, n_items=100, d=2, density=0.25, seed=4)
    hu, hi = np.nonzero(~mask)
    watch = np.expm1(rating[hu, hi]).astype(np.float32)
    validation = Validation(candidates_from_rows(hu, hi, watch), float(np.quantile(watch, 0.8)))
    opts = mf.MFOptions(factors=8, iterations=12, path_iterations=6, reg="0.1,0.01,0.02,9", ranks="4,2,1")
    user_emb, item_emb, info = mf.fit(data, opts, validation=validation)
    # 0.1, then 0.01 kept, 0.02 worse; rank 4 kept, 2 no better: the replay fits 0.1, 0.01 and rank 4
    assert [(s["reg"], s["factors"]) for s in info["reg_path"]] == [
        (0.1, 8),
        (0.01, 8),
        (0.02, 8),
        (0.01, 4),
        (0.01, 2),
    ]
    assert (info["reg"], info["factors"]) == (0.01, 4)
    chosen = {"reg": info["reg"], "factors": info["factors"]}
    again, again_items, replay = mf.fit(data, opts, choice=chosen)
    np.testing.assert_array_equal(again, user_emb)
    np.testing.assert_array_equal(again_items, item_emb)
    assert [s["factors"] for s in replay["reg_path"]][-1] == info["factors"]

    model_data = ModelData(TrainConfig(art=str(tiny_art), model="mf", seed=0))
    model_data.log = lambda *a, **k: None
    small = mf.MFOptions(iterations=6, path_iterations=3)
    alone = mf.fit_art(model_data, mf.MFOptions(iterations=6, path_iterations=3, refit=False))
    refitted = mf.fit_art(model_data, small)
    np.testing.assert_array_equal(refitted.heldout_user_emb, alone.user_emb)
    both = load_interactions(tiny_art, ("train", "valid"))
    u, v, _ = mf.fit(both, small, choice={"reg": alone.info["reg"], "factors": alone.info["factors"]})
    np.testing.assert_array_equal(refitted.user_emb, u)
    np.testing.assert_array_equal(refitted.item_emb, v)
    assert refitted.info["refit"]["rows"] == both.n_rows and alone.heldout_user_emb is None
