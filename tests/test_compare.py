"""train --model for the baselines and `kuaicore compare`, run as a user runs them."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from kuaicore.art import eval_pairs, valid_candidates
from kuaicore.cli import cli
from kuaicore.protocol import protocol_ndcg


@pytest.fixture()
def art(tiny_art, tmp_path):
    dst = tmp_path / "art"
    shutil.copytree(tiny_art, dst)
    return dst


def test_baseline_runs_and_options(art):
    runner = CliRunner()
    res = runner.invoke(
        cli, ["train", str(art), "--model", "als", "--option", "factors=4", "--option", "iterations=2"]
    )
    assert res.exit_code == 0, res.output
    run = art / "runs" / "als-s0"
    assert np.load(run / "user_emb.npy").shape[1] == 4 and np.load(run / "item_emb.npy").shape[1] == 4
    assert (art / "runs" / "latest").read_text().strip() == "als-s0"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"] == "als" and cfg["train"]["options"] == {"factors": "4", "iterations": "2"}
    assert (
        cfg["schema"] == 1
        and cfg["options"]["factors"] == 4
        and cfg["outputs"] == ["item_emb.npy", "user_emb.npy"]
    )
    res = runner.invoke(cli, ["train", str(art), "--model", "linear", "--run", "lin"])
    assert res.exit_code == 0, res.output
    assert np.load(art / "runs" / "lin" / "eval_pred.npy").ndim == 1
    bad = runner.invoke(cli, ["train", str(art), "--model", "als", "--option", "nope=1"])
    assert bad.exit_code == 2 and "nope" in bad.stderr
    bad = runner.invoke(cli, ["train", str(art), "--model", "als", "--option", "factors"])
    assert bad.exit_code == 2 and "KEY=VALUE" in bad.stderr
    bad = runner.invoke(cli, ["train", str(art), "--model", "two-tower", "--option", "factors=3"])
    assert bad.exit_code == 2 and "--option" in bad.stderr


def test_compare_rows_match_evaluate(art):
    runner = CliRunner()
    res = runner.invoke(
        cli,
        [
            "compare",
            str(art),
            "--models",
            "popularity,linear",
            "--k",
            "5,10",
            "--json",
            "-",
            "--bootstrap",
            "100",
        ],
    )
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)
    names = [r["name"] for r in result["rows"]]
    assert names[:2] == sorted(
        names[:2],
        key=lambda n: -next(r for r in result["rows"] if r["name"] == n)["metrics"]["ndcg@5"]["mean"],
    )
    assert set(names) == {"popularity-s0", "linear-s0", "random", "popularity", "most-viewed", "oracle"}
    for row in result["rows"][:2]:
        assert row["train_seconds"] > 0 and row["peak_rss_mb"] > 10
    assert json.loads((art / "compare.json").read_text()) == result
    # the same run evaluated alone gives the same row
    ev = runner.invoke(
        cli, ["evaluate", str(art), "--run", "linear-s0", "--k", "5,10", "--json", "-", "--bootstrap", "100"]
    )
    assert ev.exit_code == 0, ev.output
    alone = {r["name"]: r for r in json.loads(ev.stdout)["rows"]}
    together = {r["name"]: r for r in result["rows"]}
    assert alone["linear-s0"]["metrics"] == together["linear-s0"]["metrics"]
    assert alone["random"]["metrics"] == together["random"]["metrics"]
    # a second compare reuses both runs (and remembers their cost)
    again = runner.invoke(
        cli, ["compare", str(art), "--models", "popularity,linear", "--k", "5", "--bootstrap", "0"]
    )
    assert again.exit_code == 0, again.output
    assert "reusing linear-s0" in again.stderr
    bad = runner.invoke(cli, ["compare", str(art), "--models", "popularity,bogus"])
    assert bad.exit_code == 2 and "bogus" in bad.stderr


def test_id_mlp_scores_the_small_matrix_and_beats_random(art):
    runner = CliRunner()
    res = runner.invoke(cli, ["train", str(art), "--model", "id-mlp", "--epochs", "3", "--batch-size", "256",
                              "--lr", "0.01"])  # fmt: skip
    assert res.exit_code == 0, res.output
    run = art / "runs" / "id-mlp-s0"
    scores = np.load(run / "eval_scores.npy")
    assert not (run / "user_emb.npy").exists()  # not a dot-product model
    assert np.array_equal(scores, np.load(run / "eval_pred.npy")) and np.isfinite(scores).all()
    # trained by the one JAX loop: validated each epoch by ndcg@10 on valid.parquet, the best epoch exported
    params = dict(np.load(run / "params.npz"))
    np.testing.assert_allclose(scores, _id_mlp_numpy(params, art, *eval_pairs(art)), rtol=1e-4, atol=1e-4)
    epochs = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    config = json.loads((run / "config.json").read_text())
    best = int(np.argmax([e["valid_ndcg"] for e in epochs])) + 1
    assert len(epochs) == 3 and config["info"]["best_epoch"] == best and config["model"] == "id-mlp"
    cands = valid_candidates(art)
    valid_scores = _id_mlp_numpy(params, art, np.repeat(cands.users, np.diff(cands.indptr)), cands.items)
    ndcg = protocol_ndcg(cands, 2.0, 10, scores=valid_scores)
    assert ndcg == pytest.approx(epochs[best - 1]["valid_ndcg"], abs=1e-6)
    ev = runner.invoke(cli, ["evaluate", str(art), "--k", "10", "--json", "-", "--bootstrap", "0"])
    assert ev.exit_code == 0, ev.output
    rows = {r["name"]: r for r in json.loads(ev.stdout)["rows"]}
    assert rows["id-mlp-s0"]["metrics"]["ndcg@10"]["mean"] > rows["random"]["metrics"]["ndcg@10"]["mean"]
    assert rows["id-mlp-s0"]["regression"]["rmse"] > 0
    full = runner.invoke(cli, ["evaluate", str(art), "--protocol", "full"])
    assert full.exit_code == 2 and "only scores small-matrix cells" in full.stderr
    rec = runner.invoke(cli, ["recommend", str(art), "--user", "3"])
    assert rec.exit_code == 2 and "no embeddings" in rec.stderr


def test_child_peak_rss_is_the_childs_own():
    import subprocess
    import sys

    from kuaicore.comparison import wait_with_peak_rss

    ballast = bytearray(400 * 10**6)  # a big parent must not be charged to its child (Linux ru_maxrss is)
    code = "x = bytearray(150 * 10**6); import time; time.sleep(0.5); raise SystemExit(3)"
    proc = subprocess.Popen([sys.executable, "-c", code])
    peak = wait_with_peak_rss(proc)
    assert proc.returncode == 3 and 140 < peak < 350, peak
    del ballast


def test_compare_train_seed_is_not_the_evaluation_seed(art):
    """--train-seed names and seeds the runs compare trains; --seed stays the evaluation's (CIs, random)."""
    res = CliRunner().invoke(
        cli,
        ["compare", str(art), "--models", "popularity,als", "--train-seed", "3", "--seed", "1", "--json", "-",
         "--bootstrap", "10"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.stdout)["rows"]}
    assert {"popularity-s3", "als-s3"} <= set(rows) and not (art / "runs" / "als-s1").exists()
    config = json.loads((art / "runs" / "als-s3" / "config.json").read_text())
    assert config["train"]["seed"] == 3 and config["options"]["seed"] == 3
    assert json.loads((art / "compare.json").read_text())["seed"] == 1


def _id_mlp_numpy(params: dict, art, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """id-mlp's prediction written out in NumPy from its params.npz (the reference for the JAX model)."""
    feats = np.load(art / "item_features.npy")
    feat = np.maximum(feats[items] @ params["feat/w"] + params["feat/b"], 0.0)
    x = np.concatenate([params["user_emb"][users], params["item_emb"][items], feat], axis=1)
    n_layers = len([k for k in params if k.startswith("mlp/") and k.endswith("/w")])
    for i in range(n_layers):
        x = x @ params[f"mlp/{i}/w"] + params[f"mlp/{i}/b"]
        x = np.maximum(x, 0.0) if i < n_layers - 1 else x
    return x[:, 0]


def test_id_mlp_refuses_flags_it_does_not_read(art):
    runner = CliRunner()
    for args, flag in ((["--dims", "8"], "--dims"), (["--loss", "bce"], "--loss")):
        res = runner.invoke(cli, ["train", str(art), "--model", "id-mlp", *args])
        assert res.exit_code == 2, res.output
        assert f"{flag}: not a setting of --model id-mlp (it reads --epochs" in res.stderr


def test_a_run_is_reused_under_another_name_only_when_complete_and_trained_alike(art):
    from dataclasses import replace

    from kuaicore.comparison import copy_run, same_config_run, train_config
    from kuaicore.config import to_jsonable

    runs = art / "runs"
    cfg = train_config(art, "popularity", 0)

    def fake_run(name: str, complete: bool = True, **changes) -> None:
        (runs / name).mkdir(parents=True)
        train = to_jsonable(replace(cfg, run=name, **changes))
        (runs / name / "config.json").write_text(
            json.dumps({"run": name, "model": cfg.model, "train": train})
        )
        if complete:
            np.save(runs / name / "user_emb.npy", np.ones((2, 2), np.float32))

    assert same_config_run(art, cfg) is None  # no runs/ yet
    fake_run("a-incomplete", complete=False)
    fake_run("b-other-seed", seed=1)
    fake_run("c.tmp-123")  # a folder being written
    fake_run("d-other-art-path", art=art / ".." / art.name, resume=True)  # not settings
    assert same_config_run(art, cfg) == runs / "d-other-art-path"
    copy_run(runs / "d-other-art-path", runs / "popularity-s0")
    copied = json.loads((runs / "popularity-s0" / "config.json").read_text())
    assert copied["run"] == copied["train"]["run"] == "popularity-s0"
    assert (runs / "popularity-s0" / "user_emb.npy").read_bytes() == (
        runs / "d-other-art-path" / "user_emb.npy"
    ).read_bytes()
    assert same_config_run(art, replace(cfg, lr=0.1)) is None
