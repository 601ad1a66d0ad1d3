"""`kuaicore tune`: seeded successive halving scored on the validation split, runs/best, the CLI."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from kuaicore.cli import cli
from kuaicore.errors import UsageError
from kuaicore.search import FAMILIES, TuneConfig, parse_duration, rung_resource, sample_trials, tune


def test_successive_halving_keeps_the_best_third_and_grows_their_budget(tmp_path):
    """A fake trainer scoring mf trials by -reg: the smallest regs survive, with more iterations."""
    calls = []

    def train_run(art, model, run, seed, options, **fields):
        calls.append((run, options.get("iterations")))
        return tmp_path / run

    scores = {}

    def score_run(folder):
        run = folder.name
        trial = next(t for t in trials if t.index == int(run.split("-")[2]))
        scores[run] = -trial.options["reg"]
        return scores[run]

    cfg = TuneConfig(art=tmp_path, models=("mf",), trials=9, seed=3, incumbent=None)
    trials = sample_trials(cfg)
    result = tune(cfg, train_run, score_run)
    assert result["rungs"] == 2 and len(calls) == 9 + 3
    assert {it for _, it in calls[:9]} == {6} and {it for _, it in calls[9:]} == {18}  # 18 / 3, then 18
    best_three = sorted(trials, key=lambda t: t.options["reg"])[:3]
    assert {r for r, _ in calls[9:]} == {f"tune-mf-{t.index:03d}-r1" for t in best_three}
    assert result["best"] == f"tune-mf-{best_three[0].index:03d}-r1"
    assert [row["score"] for row in result["leaderboard"]] == sorted(
        (row["score"] for row in result["leaderboard"]), reverse=True
    )


def test_draws_are_seeded_and_cover_the_families():
    a = sample_trials(TuneConfig(art=".", seed=5))
    b = sample_trials(TuneConfig(art=".", seed=5))
    c = sample_trials(TuneConfig(art=".", seed=6))
    assert [(t.model, t.options, t.train) for t in a] == [(t.model, t.options, t.train) for t in b]
    assert [t.options for t in a] != [t.options for t in c]
    assert {t.model for t in a} == {"hybrid", "mf", "linear", "popularity", "als", "two-tower"}
    assert (
        rung_resource(FAMILIES["two-tower"], 0, 3, 3) == 1
        and rung_resource(FAMILIES["linear"], 0, 3, 3) is None
    )


def test_options_and_durations_are_checked():
    assert parse_duration("90s") == 90 and parse_duration("10m") == 600 and parse_duration("1.5h") == 5400
    assert parse_duration("30") == 30
    for bad in ("soon", "-5m", "0", "nanm"):
        with pytest.raises(UsageError, match="--budget"):
            parse_duration(bad)
    with pytest.raises(UsageError, match="--models"):
        TuneConfig(art=".", models=("id-mlp",))


def test_cli_tune_scores_on_valid_and_names_the_best_run(tiny_art, tmp_path):
    from kuaicore.art import valid_candidates
    from kuaicore.protocol import protocol_ndcg

    art = tmp_path / "art"
    shutil.copytree(tiny_art, art)
    args = ["tune", str(art), "--models", "mf,popularity,linear", "--trials", "4", "--budget", "5m", "--json"]
    args.append(
        "--no-default"
    )  # the default model as a trial: test_the_default_model_is_a_trial_trained_once
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    board = json.loads(result.stdout)
    assert board == json.loads((art / "tune.json").read_text())
    best = (art / "runs" / "best").read_text().strip()
    assert best == board["best"] == board["leaderboard"][0]["run"]
    cands = valid_candidates(art)  # the score is the protocol on valid.parquet, nothing else
    for row in board["leaderboard"]:
        run = art / "runs" / row["run"]
        got = protocol_ndcg(
            cands, 2.0, 10, user_emb=np.load(run / "user_emb.npy"), item_emb=np.load(run / "item_emb.npy")
        )
        assert got == pytest.approx(row["score"], rel=1e-12)
    again = CliRunner().invoke(cli, args)
    assert [r["score"] for r in json.loads(again.stdout)["leaderboard"]] == [
        r["score"] for r in board["leaderboard"]
    ]
    evaluated = CliRunner().invoke(
        cli, ["evaluate", str(art), "--run", "best", "--k", "10", "--bootstrap", "0"]
    )
    assert evaluated.exit_code == 0 and f"run {best}:" in evaluated.output


def test_the_default_model_is_a_trial_trained_once(tmp_path):
    """The incumbent (train's default) is trained first, once, with no options; it keeps its score through
    the rungs and wins when the draws score below it, which is what it is there for."""
    calls = []

    def train_run(art, model, run, seed, options, **fields):
        calls.append((run, model, dict(options), fields))
        return tmp_path / run

    def score_run(folder):
        return 0.9 if folder.name.startswith("tune-blend-") else 0.5 - 0.01 * int(folder.name.split("-")[2])

    cfg = TuneConfig(art=tmp_path, models=("mf", "popularity"), trials=9, seed=3)
    assert cfg.incumbent == "blend"
    result = tune(cfg, train_run, score_run)
    assert calls[0] == ("tune-blend-009-r0", "blend", {}, {})  # first, its defaults
    assert [c for c in calls if c[1] == "blend"] == calls[:1]  # trained once, kept through the rungs
    assert result["best"] == "tune-blend-009-r0"
    top = result["leaderboard"][0]
    assert top["model"] == "blend" and top["scores_by_rung"] == [0.9, 0.9]
    assert len(calls) == 1 + 9 + 1  # the 9 draws, then the best third of those with a budget (1 mf)
    plain = tune(
        TuneConfig(art=tmp_path, models=("mf",), trials=3, seed=3, incumbent=None), train_run, score_run
    )
    assert all(row["model"] == "mf" for row in plain["leaderboard"])
    with pytest.raises(UsageError, match="incumbent"):
        TuneConfig(art=tmp_path, incumbent="no-such-model")
