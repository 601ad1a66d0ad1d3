"""The hybrid's refit on train + valid: the chosen fit continued from its own parameters on the same rows
stays where it is, the refit reads both splits and keeps the chosen fit for tests on valid, and every test
on valid (evaluate --protocol valid, tune's scores) ranks with the fit that never saw those rows."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from planted_ratings import planted as _planted

from kuaicore.cli import cli
from kuaicore.config import TrainConfig
from kuaicore.models import hybrid
from kuaicore.models.contract import Fitted, ModelData
from kuaicore.models.interactions import build_csr, load_interactions
from kuaicore.runs import RunOutputs


class _LaterIsBetter:
    """A validation under which every candidate scores better than the one before: the path takes every
    stage it is offered (a smaller rank, the taste groups, the mixture, the neighbourhood term)."""

    def __init__(self) -> None:
        self.calls = 0

    def ndcg(self, user_emb, item_emb):
        self.calls += 1
        return float(self.calls)


GROUP_STAGES = [{"clusters": "2", "mixture_groups": "2"}, {"covariance_groups": "2"}]


def _finalists(groups: dict, iterations: int, path_iterations: int):
    """Planted ratings fitted with one side penalty and one factor penalty, every later stage taken (a
    validation under which each candidate beats the last): the first stage, the rank 3 from it, the taste
    groups of ``groups`` from that, the neighbourhood term on every finalist. Returns the data, the item
    side columns, the options and every finalist as (user_emb, item_emb, its path entry)."""
    data, tags, _, _ = _planted(11, 0.5, 0.5)
    stages_off = {"clusters": "", "covariance_groups": "", "mixture_groups": ""}
    opts = hybrid.HybridOptions(
        factors=6, iterations=iterations, path_iterations=path_iterations, reg="0.05", side_reg="1",
        ranks="3", tol=0.0, mixture_power="0.5", neighbours="1", neighbour_rank=4, **{**stages_off, **groups},
    )  # fmt: skip
    u, v, info, alternatives = hybrid.fit_with_alternatives(
        data, np.zeros((120, 0)), tags, opts, _LaterIsBetter()
    )
    finalists = [(u, v, info["choice"])] + [(a["user_emb"], a["item_emb"], a["choice"]) for a in alternatives]
    assert info["factors"] == 3 and info["neighbours"] == 1.0  # every stage taken
    assert any(c.get("clusters") for *_, c in finalists)  # a taste-group stage among the finalists
    return data, tags, opts, finalists


@pytest.mark.parametrize("groups", GROUP_STAGES)
def test_the_refit_from_a_finalists_own_parameters_on_the_same_rows_stays_where_it_is(groups):
    """The refit continues the chosen fit from its parameters (read back from its embeddings) at its
    penalties and rank, then redoes its taste groups and neighbourhood term. On the rows it was fitted on,
    from a converged fit, that is a fixed point: every finalist comes back to itself (to float32 rounding
    and the last iterations' movement)."""
    data, tags, opts, finalists = _finalists(groups, iterations=60, path_iterations=10)
    for user_emb, item_emb, choice in finalists:
        columns = choice["factors"] + tags.shape[1] + 2
        start = (user_emb[:, :columns], item_emb[:, :columns])
        ru, rv, rating_columns = hybrid.fit_choice(data, np.zeros((120, 0)), tags, opts, choice, start=start)
        assert rating_columns == columns and ru.shape == user_emb.shape and rv.shape == item_emb.shape
        np.testing.assert_allclose(ru, user_emb, atol=1e-3)
        np.testing.assert_allclose(rv, item_emb, atol=1e-3)


def test_a_mean_of_fits_is_not_replayed():
    data, tags, _, _ = _planted(3, 0.5, 0.5)
    with pytest.raises(hybrid.UsageError, match="refit=false"):
        start = (np.zeros((120, 18)), np.zeros((90, 18)))
        choice = {"ensemble": 2, "factors": 4}
        hybrid.fit_choice(data, np.zeros((120, 0)), tags, hybrid.HybridOptions(), choice, start)


def test_train_and_valid_read_together_are_the_rows_of_both(tiny_art):
    both = load_interactions(tiny_art, ("train", "valid"))
    rows = [
        pq.read_table(tiny_art / f"{s}.parquet", columns=["user_idx", "item_idx", "target"])
        for s in ("train", "valid")
    ]
    cat = {
        c: np.concatenate([t.column(c).to_numpy() for t in rows]) for c in ("user_idx", "item_idx", "target")
    }
    matrix, counts = build_csr(cat["user_idx"], cat["item_idx"], cat["target"], both.shape)
    assert both.n_rows == sum(t.num_rows for t in rows) > load_interactions(tiny_art).n_rows
    assert (both.matrix != matrix).nnz == 0 and np.array_equal(both.counts, counts)


def test_the_refit_trains_on_train_and_valid_and_keeps_the_chosen_fit_apart(tiny_art):
    data = ModelData(TrainConfig(art=str(tiny_art), model="hybrid", seed=0))
    data.log = lambda *a, **k: None
    opts = hybrid.HybridOptions(iterations=6, path_iterations=3)
    chosen = hybrid.fit_art(data, replace(opts, refit=False))
    refitted = hybrid.fit_art(data, opts)
    assert chosen.heldout_user_emb is None and "refit" not in chosen.info
    np.testing.assert_array_equal(refitted.heldout_user_emb, chosen.user_emb)  # the fit valid chose
    np.testing.assert_array_equal(refitted.heldout_item_emb, chosen.item_emb)
    both = load_interactions(tiny_art, ("train", "valid"))
    assert (
        refitted.info["refit"]["rows"] == both.n_rows and refitted.info["refit"]["pairs"] == both.matrix.nnz
    )
    assert refitted.info["valid_ndcg"] == chosen.info["valid_ndcg"]  # the selection's score, not the refit's
    feats = data.features
    item_side = feats.item_features[:, hybrid.side_columns(feats.item_feature_names, opts.item_side)]
    columns = chosen.info["choice"]["factors"] + item_side.shape[1] + 2
    start = (chosen.user_emb[:, :columns], chosen.item_emb[:, :columns])
    no_user_side = np.zeros((both.shape[0], 0))
    u, v, _ = hybrid.fit_choice(both, no_user_side, item_side, opts, chosen.info["choice"], start=start)
    np.testing.assert_array_equal(refitted.user_emb, u)  # the chosen fit continued on both splits' rows
    np.testing.assert_array_equal(refitted.item_emb, v)
    assert not np.array_equal(refitted.user_emb, chosen.user_emb)


def test_a_test_on_valid_ranks_with_the_fit_that_never_saw_it():
    own, held = (np.ones((2, 3)), np.ones((4, 3))), (np.zeros((2, 3)), np.zeros((4, 3)))
    run = RunOutputs("r", None, {}, *own, None, None)
    assert run.heldout() == own  # not refitted: its own embeddings
    run = RunOutputs("r", None, {}, *own, None, None, *held)
    assert run.heldout() == held
    assert Fitted(*own).heldout() == own  # what a fit hands the blend, before it is written
    assert Fitted(*own, heldout_user_emb=held[0], heldout_item_emb=held[1]).heldout() == held


def test_cli_valid_protocol_of_a_refitted_run_equals_the_run_without_the_refit(tiny_art, tmp_path):
    art = tmp_path / "art"
    shutil.copytree(tiny_art, art)
    base = ["train", str(art), "--model", "hybrid", "--option", "iterations=6"]
    logs = {}
    for name, extra in (("refitted", []), ("chosen", ["--option", "refit=false"])):
        result = CliRunner().invoke(cli, [*base, "--run", name, *extra])
        assert result.exit_code == 0, result.output
        logs[name] = result.stderr
    assert "refitting the chosen fit on the training and validation rows" in logs["refitted"]
    assert "refitting" not in logs["chosen"]
    files = json.loads((art / "runs" / "refitted" / "config.json").read_text())["outputs"]
    assert {"heldout_user_emb.npy", "heldout_item_emb.npy"} <= set(files)
    assert not (art / "runs" / "chosen" / "heldout_user_emb.npy").exists()
    scores = {}
    for protocol in ("valid", "small"):
        for name in ("refitted", "chosen"):
            args = [
                "evaluate",
                str(art),
                "--run",
                name,
                "--protocol",
                protocol,
                "--bootstrap",
                "0",
                "--json",
                "-",
            ]
            result = CliRunner().invoke(cli, args)
            assert result.exit_code == 0, result.output
            row = next(r for r in json.loads(result.stdout)["rows"] if r["name"] == name)
            scores[protocol, name] = row["metrics"]["ndcg@10"]["mean"]
    assert scores["valid", "refitted"] == scores["valid", "chosen"]
