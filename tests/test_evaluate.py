"""evaluate/recommend: a hand-checked tiny ART, the CLI on synthetic data, and bad input."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from kuaicore.cli import cli
from kuaicore.config import EvalConfig
from kuaicore.evaluation.evaluate import evaluate


def _hand_art(tmp_path: Path) -> Path:
    """2 users x 3 items. User 10 watched items 100/101/102 at watch ratios 3.0/0.5/2.5 (relevant: 100, 102);
    user 11 watched 100/101 at 0.1/0.2 (no relevant video: skipped). The run scores items 0.1/0.3/0.2."""
    art = tmp_path / "art"
    (art / "runs" / "hand").mkdir(parents=True)
    (art / "manifest.json").write_text(json.dumps({"n_users": 2, "n_items": 3, "sources": {}}))
    pq.write_table(
        pa.table(
            {
                "user_idx": pa.array([0, 0, 0, 1, 1], pa.int32()),
                "item_idx": pa.array([0, 1, 2, 0, 1], pa.int32()),
                "watch_ratio": pa.array([3.0, 0.5, 2.5, 0.1, 0.2], pa.float32()),
                "label_debiased": pa.array([1, 0, 1, 0, 0], pa.float32()),
            }
        ),
        art / "eval.parquet",
    )
    np.save(art / "item_train_counts.npy", np.array([5, 1, 9], dtype=np.int64))
    np.save(art / "user_ids.npy", np.array([10, 11], dtype=np.int64))
    np.save(art / "item_ids.npy", np.array([100, 101, 102], dtype=np.int64))
    np.save(art / "runs" / "hand" / "user_emb.npy", np.ones((2, 1), dtype=np.float32))
    np.save(art / "runs" / "hand" / "item_emb.npy", np.array([[0.1], [0.3], [0.2]], dtype=np.float32))
    (art / "runs" / "latest").write_text("hand\n")
    return art


def test_hand_checked_metrics(tmp_path):
    art = _hand_art(tmp_path)
    result, run_dir = evaluate(EvalConfig(art=art, ks=(1, 2, 3), bootstrap=50))
    assert (run_dir / "metrics.json").is_file()
    assert result["users_evaluated"] == 1 and result["users_skipped_no_relevant"] == 1
    m = {k: v["mean"] for k, v in result["rows"][0]["metrics"].items()}
    # ranking of user 10: 101 (miss), 102 (hit), 100 (hit)
    assert m["precision@1"] == 0.0 and m["precision@2"] == 0.5 and m["precision@3"] == pytest.approx(2 / 3)
    assert m["recall@2"] == 0.5 and m["recall@3"] == 1.0
    assert m["mrr@1"] == 0.0 and m["mrr@3"] == 0.5 and m["hit_rate@2"] == 1.0
    idcg2 = 1 + 1 / math.log2(3)
    assert m["ndcg@2"] == pytest.approx((1 / math.log2(3)) / idcg2)
    assert m["map@3"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    # graded gains min(wr, 5): 0.5, 2.5, 3.0 in ranked order; ideal 3.0, 2.5, 0.5
    dcg = 0.5 + 2.5 / math.log2(3) + 3.0 / 2
    idcg = 3.0 + 2.5 / math.log2(3) + 0.5 / 2
    assert m["ndcg_graded@3"] == pytest.approx(dcg / idcg, rel=1e-6)
    # the seed projects' overlap: top-1 watched is 100, ranked first is 101
    assert m["seed_overlap@1"] == 0.0 and m["seed_overlap@3"] == 1.0
    pop = {k: v["mean"] for k, v in result["rows"][2]["metrics"].items()}
    assert result["rows"][2]["name"] == "most-viewed" and pop["precision@1"] == 1.0  # 102 has most views
    # no train.parquet: no mean-watch-ratio popularity row; no truth: no oracle
    assert [r["name"] for r in result["rows"]] == ["hand", "random", "most-viewed"]


def test_debiased_label_changes_relevance(tmp_path):
    art = _hand_art(tmp_path)
    wr, _ = evaluate(EvalConfig(art=art, ks=(2,), bootstrap=0, threshold=2.6))
    assert wr["rows"][0]["metrics"]["recall@2"]["mean"] == 0.0  # only item 100 (3.0) is relevant, ranked 3rd
    deb, _ = evaluate(EvalConfig(art=art, ks=(2,), bootstrap=0, label="debiased"))
    assert deb["rows"][0]["metrics"]["recall@2"]["mean"] == 0.5


def _art_with_run(tiny_art: Path, tmp_path: Path) -> Path:
    art = tmp_path / "art"
    shutil.copytree(tiny_art, art)
    counts = np.load(art / "item_train_counts.npy")
    run = art / "runs" / "pop"
    run.mkdir(parents=True)
    np.save(run / "user_emb.npy", np.ones((len(np.load(art / "user_ids.npy")), 1), dtype=np.float32))
    np.save(run / "item_emb.npy", counts.astype(np.float32).reshape(-1, 1))
    (art / "runs" / "latest").write_text("pop\n")
    return art


def test_cli_evaluate_json_on_synthetic(tiny_art, tmp_path):
    art = _art_with_run(tiny_art, tmp_path)
    res = CliRunner().invoke(cli, ["evaluate", str(art), "--k", "5,10", "--json", "-", "--bootstrap", "100"])
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)
    rows = {r["name"]: r for r in result["rows"]}
    assert set(rows) == {"pop", "random", "popularity", "most-viewed", "oracle"}
    # the run *is* most-viewed: identical metrics; the oracle beats random
    assert rows["pop"]["metrics"] == rows["most-viewed"]["metrics"]
    # the popularity reference is the popularity model's default (mean watch ratio with a prior)
    fitted = CliRunner().invoke(cli, ["train", str(art), "--model", "popularity", "--run", "popmodel"])
    assert fitted.exit_code == 0, fitted.output
    res = CliRunner().invoke(cli, ["evaluate", str(art), "--run", "popmodel", "--k", "10", "--json", "-"])
    again = {r["name"]: r for r in json.loads(res.stdout)["rows"]}
    assert again["popmodel"]["metrics"]["ndcg@10"] == again["popularity"]["metrics"]["ndcg@10"]
    assert rows["oracle"]["metrics"]["ndcg@10"]["mean"] > rows["random"]["metrics"]["ndcg@10"]["mean"]
    assert rows["oracle"]["fraction_of_oracle"]["ndcg@10"] == 1.0
    for row in rows.values():
        for v in row["metrics"].values():
            assert v["lo"] <= v["mean"] + 1e-12 and v["mean"] <= v["hi"] + 1e-12
    full = CliRunner().invoke(
        cli, ["evaluate", str(art), "--protocol", "full", "--k", "10", "--bootstrap", "0"]
    )
    assert full.exit_code == 0, full.output
    assert "oracle" in full.stdout and "ndcg@10" in full.stdout


def test_cli_recommend(tiny_art, tmp_path):
    art = _art_with_run(tiny_art, tmp_path)
    user_ids = np.load(art / "user_ids.npy")
    res = CliRunner().invoke(cli, ["recommend", str(art), "--user", str(int(user_ids[3])), "-k", "5"])
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stdout.splitlines() if ln.strip()[:1].isdigit()]
    assert len(lines) == 5
    items = pq.read_table(art / "items.parquet").to_pydict()
    first = int(lines[0].split()[1])  # rank, video_id, score, tags, category, caption
    row = items["video_id"].index(first)
    assert items["category"][row] and items["category"][row] in lines[0]
    assert items["tags"][row] in lines[0]
    bad = CliRunner().invoke(cli, ["recommend", str(art), "--user", "987654", "-k", "5"])
    assert bad.exit_code == 2 and "987654" in bad.stderr
    out = tmp_path / "recs.parquet"
    res = CliRunner().invoke(cli, ["recommend", str(art), "--all", "--out", str(out), "-k", "7"])
    assert res.exit_code == 0, res.output
    recs = pq.read_table(out).to_pydict()
    assert len(recs["user_id"]) == 7 * len(user_ids)
    # no recommended video was seen in training by that user
    train = pq.read_table(art / "train.parquet", columns=["user_id", "video_id"]).to_pydict()
    seen = set(zip(train["user_id"], train["video_id"], strict=True))
    assert not seen & set(zip(recs["user_id"], recs["video_id"], strict=True))


def test_cli_bad_inputs(tmp_path, tiny_art):
    res = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "nope: no such artifact folder" in res.stderr
    (tmp_path / "empty").mkdir()
    res = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "empty")])
    assert res.exit_code == 2 and "manifest.json: missing" in res.stderr
    art = tmp_path / "art"
    shutil.copytree(tiny_art, art)
    res = CliRunner().invoke(cli, ["evaluate", str(art)])
    assert res.exit_code == 2 and "no trained run" in res.stderr
    res = CliRunner().invoke(cli, ["evaluate", str(art), "--k", "0,5"])
    assert res.exit_code == 2 and "--k" in res.stderr
    res = CliRunner().invoke(cli, ["recommend", str(art)])
    assert res.exit_code == 2 and "--user" in res.stderr


def test_valid_protocol_ranks_each_users_held_out_pairs(tmp_path):
    """valid.parquet: user 10 watched 101 twice (wr 3.0 and 1.4: mean 2.2, relevant) and 100 once (0.4);
    user 11 watched 102 (2.5). The run scores items 0.1/0.3/0.2: user 10's list is 101, 100."""
    from kuaicore.evaluation.data import load_valid_data

    art = _hand_art(tmp_path)
    pq.write_table(
        pa.table(
            {
                "user_idx": pa.array([0, 1, 0, 0], pa.int32()),
                "item_idx": pa.array([1, 2, 0, 1], pa.int32()),
                "watch_ratio": pa.array([3.0, 2.5, 0.4, 1.4], pa.float32()),
                "label_debiased": pa.array([1, 1, 0, 0], pa.float32()),
            }
        ),
        art / "valid.parquet",
    )
    data = load_valid_data(art)
    assert data.users.tolist() == [0, 1] and data.indptr.tolist() == [0, 2, 3]
    assert data.items.tolist() == [0, 1, 2]
    np.testing.assert_allclose(data.watch_ratio, [0.4, 2.2, 2.5], rtol=1e-6)
    assert data.label_debiased.tolist() == [0.0, 1.0, 1.0]
    result, _ = evaluate(EvalConfig(art=art, ks=(1, 2), bootstrap=0, protocol="valid"))
    assert result["protocol"] == "valid" and result["users_evaluated"] == 2
    m = {k: v["mean"] for k, v in result["rows"][0]["metrics"].items()}
    assert m["precision@1"] == 1.0 and m["recall@2"] == 1.0  # both users' first item is their relevant one
    assert "oracle" not in [r["name"] for r in result["rows"]]


def test_compare_shows_the_biased_protocol_and_kendall_tau(tiny_art, tmp_path):
    art = tmp_path / "art"
    shutil.copytree(tiny_art, art)
    result = CliRunner().invoke(
        cli, ["compare", str(art), "--models", "popularity,linear,mf", "--k", "10", "--bootstrap", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "ndcg@10 valid" in result.output and "Kendall tau between the model orderings" in result.output
    biased = json.loads((art / "compare.json").read_text())["biased_test"]
    assert sorted(biased["runs"]) == ["linear-s0", "mf-s0", "popularity-s0"]
    assert -1.0 <= biased["kendall_tau"] <= 1.0


def test_protocol_ndcg_is_what_evaluate_reports(tiny_art, tmp_path):
    """Training's validation score (kuaicore.protocol) is evaluate's ndcg@10: same candidates, same rule."""
    from kuaicore.protocol import candidates_from_rows, protocol_ndcg

    art = tmp_path / "art"
    shutil.copytree(tiny_art, art)
    assert CliRunner().invoke(cli, ["train", str(art), "--model", "linear"]).exit_code == 0
    result, run_dir = evaluate(EvalConfig(art=art, ks=(10,), bootstrap=0, protocol="valid"))
    valid = pq.read_table(art / "valid.parquet").to_pydict()
    cands = candidates_from_rows(valid["user_idx"], valid["item_idx"], valid["watch_ratio"])
    u, v = np.load(run_dir / "user_emb.npy"), np.load(run_dir / "item_emb.npy")
    got = protocol_ndcg(cands, 2.0, 10, user_emb=u, item_emb=v)
    assert got == pytest.approx(result["rows"][0]["metrics"]["ndcg@10"]["mean"], rel=1e-12)
    scores = np.einsum("ij,ij->i", u[np.repeat(cands.users, np.diff(cands.indptr))], v[cands.items])
    assert protocol_ndcg(cands, 2.0, 10, scores=scores) == pytest.approx(got, rel=1e-6)
    # by hand: one user, candidates scored 3, 2, 1 with watch ratios 0.5, 2.5, 2.0 -> liked only the second
    hand = candidates_from_rows([0, 0, 0], [0, 1, 2], [0.5, 2.5, 2.0])
    assert protocol_ndcg(hand, 2.0, 10, scores=[3.0, 2.0, 1.0]) == pytest.approx(1 / math.log2(3))


def test_seen_items_are_each_wanted_users_distinct_train_and_valid_items(tiny_art):
    from kuaicore.evaluation.data import seen_items

    rows = [
        pq.read_table(tiny_art / name, columns=["user_idx", "item_idx"])
        for name in ("train.parquet", "valid.parquet")
    ]
    user = np.concatenate([t.column("user_idx").to_numpy() for t in rows])
    item = np.concatenate([t.column("item_idx").to_numpy() for t in rows])
    n_users = int(json.loads((tiny_art / "manifest.json").read_text())["n_users"])
    wanted = np.unique(user)[::3]  # every third user with rows; the others must get none
    indptr, items = seen_items(tiny_art, n_users, wanted)
    assert indptr.shape == (n_users + 1,) and indptr[0] == 0 and indptr[-1] == items.size
    for u in range(n_users):
        want = sorted(set(item[user == u].tolist())) if u in set(wanted.tolist()) else []
        assert items[indptr[u] : indptr[u + 1]].tolist() == want
    assert items.dtype == np.int32
