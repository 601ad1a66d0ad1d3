"""`kuaicore train` end to end on a tiny fake ART: learning, exports, determinism, and bad ART -> exit 2."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from fake_art import write_fake_art

from kuaicore.cli import cli

TINY = ["--model", "two-tower", "--epochs", "3", "--batch-size", "64", "--lr", "0.01", "--dims", "16,8"]


@pytest.fixture(scope="module")
def art(tmp_path_factory):
    return write_fake_art(tmp_path_factory.mktemp("art") / "ART")


def _train(art, *args):
    result = CliRunner().invoke(cli, ["train", str(art), *TINY, *args])
    assert result.exit_code == 0, result.output + str(result.exception)
    return result


def test_train_learns_and_exports(art):
    result = _train(art, "--loss", "mse", "--run", "mse")
    run = art / "runs" / "mse"
    assert result.stdout.strip().endswith(str(run))
    assert (art / "runs" / "latest").read_text().strip() == "mse"
    assert "devices: 2 x cpu" in result.stderr and "trained mse:" in result.stderr
    log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in log] == [1, 2, 3]
    assert {"epoch", "step", "loss", "samples_per_s", "valid_loss", "valid_ndcg", "recall"} <= set(log[0])
    assert log[-1]["valid_loss"] < log[0]["valid_loss"]
    n_items = 64
    random_recall = 50 / n_items if n_items > 50 else 1.0  # expected recall@50 of a random ranking
    assert max(row["recall"] for row in log) > min(1.0, random_recall + 0.05)
    user_emb, item_emb = np.load(run / "user_emb.npy"), np.load(run / "item_emb.npy")
    assert user_emb.shape == (48, 8) and item_emb.shape == (64, 8) and user_emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(item_emb, axis=1), 1.0, rtol=1e-5)
    config = json.loads((run / "config.json").read_text())
    assert (
        config["train"]["loss"] == "mse"
        and config["model"] == "two-tower"
        and config["info"]["spec"]["dims"] == [16, 8]
    )
    # validate as you evaluate: the best epoch is the one with the best valid ndcg@10 (the protocol on valid)
    assert config["info"]["best_epoch"] == int(np.argmax([r["valid_ndcg"] for r in log])) + 1
    assert all(0.0 <= r["valid_ndcg"] <= 1.0 for r in log)
    with np.load(run / "params.npz") as params:
        assert "user/0/w" in params.files and params["user/0/w"].shape == (6, 16)
    assert not list((art / "runs").glob("*.tmp-*"))
    # mse runs also predict the watch ratio of every eval row: (cosine + 1) / 2 * cap
    import pyarrow.parquet as pq

    ev = pq.read_table(art / "eval.parquet")
    cos = np.sum(user_emb[ev["user_idx"].to_numpy()] * item_emb[ev["item_idx"].to_numpy()], axis=1)
    np.testing.assert_allclose(np.load(run / "eval_pred.npy"), (cos + 1) / 2 * 5.0, rtol=1e-5, atol=1e-5)


def test_recall_beats_random_at_small_k(art):
    from kuaicore.training.validation import recall_at_k, sample_positives

    run = art / "runs" / "mse"
    if not run.exists():
        _train(art, "--loss", "mse", "--run", "mse")
    sample = sample_positives(art / "valid.parquet", 1000, 0)
    got = recall_at_k(np.load(run / "user_emb.npy"), np.load(run / "item_emb.npy"), sample, 10)
    rng = np.random.default_rng(0)
    rand = np.mean(
        [recall_at_k(rng.normal(size=(48, 8)), rng.normal(size=(64, 8)), sample, 10) for _ in range(5)]
    )
    assert got > 1.5 * rand, (got, rand)


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("manifest", "manifest.json: missing"),
        ("width", "item_features.npy: 7 feature columns but manifest.json lists 8 item_feature_names"),
        ("rows", "user_features.npy: 47 rows but manifest.json says n_users = 48"),
        ("parquet", "train.parquet: missing column(s) label"),
    ],
)
def test_bad_art_exits_2(tmp_path, art, breakage, message):
    bad = tmp_path / "bad"
    shutil.copytree(art, bad, ignore=shutil.ignore_patterns("runs"))
    if breakage == "manifest":
        (bad / "manifest.json").unlink()
    elif breakage == "width":
        np.save(bad / "item_features.npy", np.load(bad / "item_features.npy")[:, :7])
    elif breakage == "rows":
        np.save(bad / "user_features.npy", np.load(bad / "user_features.npy")[:47])
    else:
        import pyarrow.parquet as pq

        pq.write_table(pq.read_table(bad / "train.parquet").drop_columns(["label"]), bad / "train.parquet")
    result = CliRunner().invoke(cli, ["train", str(bad), "--model", "two-tower", "--epochs", "1"])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # the devices line at most, then one error line


def test_bad_options_exit_2(art):
    for args, message in (
        (["--dims", "12,x"], "--dims"),
        (["--epochs", "-1"], "--epochs"),
        (["--resume", "--run", "nothing-here"], "--resume: no checkpoint"),
    ):
        result = CliRunner().invoke(cli, ["train", str(art), "--model", "two-tower", *args])
        assert result.exit_code == 2 and message in result.stderr, result.output


def _valid_ndcg_falls_after_epoch_2(monkeypatch) -> None:
    """The loop's validation reports valid ndcg@10 0.5, 0.6, then less each epoch."""
    from kuaicore.training import loop

    scores = iter([0.5, 0.6, 0.55, 0.52, 0.51, 0.50, 0.49, 0.48])
    real = loop._validate

    def fake(*args, **kwargs):
        entry = real(*args, **kwargs)
        entry["valid_ndcg"] = next(scores)
        return entry

    monkeypatch.setattr(loop, "_validate", fake)


def test_patience_stops_when_valid_ndcg_stops_improving(art, monkeypatch):
    """valid ndcg@10 forced to fall after epoch 2: --patience 2 stops after epoch 4, exporting epoch 2."""
    _valid_ndcg_falls_after_epoch_2(monkeypatch)
    result = _train(art, "--epochs", "8", "--patience", "2", "--run", "pat")
    assert "early stop: valid ndcg@10 has not improved for 2 epoch(s)" in result.stderr
    config = json.loads((art / "runs" / "pat" / "config.json").read_text())
    assert config["info"]["epochs_done"] == 4 and config["info"]["best_epoch"] == 2


def test_auto_epochs_give_a_budget_of_steps():
    """As many epochs as STEP_BUDGET steps take (a partial batch is a step), within 3..30."""
    from kuaicore.training.budget import STEP_BUDGET, auto_epochs

    assert STEP_BUDGET == 2_000
    assert auto_epochs(500_000, 4096) == 17  # 123 steps an epoch: 16 give 1,968, 17 give 2,091
    assert auto_epochs(10_413_466, 65_536) == 13  # 159 steps an epoch (the blend's part at full scale)
    assert auto_epochs(10_413_466, 4096) == 3  # 2,543 steps an epoch: the floor
    assert auto_epochs(100, 64) == 30  # 2 steps an epoch: the cap
    assert auto_epochs(0, 64) == 30


def test_default_epochs_are_the_step_budget_with_patience(art, monkeypatch):
    """No --epochs: at most auto_epochs(rows, batch) epochs, stopped 3 epochs after the best."""
    from kuaicore.training.budget import auto_epochs

    _valid_ndcg_falls_after_epoch_2(monkeypatch)
    args = ["--model", "two-tower", "--batch-size", "64", "--dims", "16,8", "--run", "auto"]
    result = CliRunner().invoke(cli, ["train", str(art), *args])
    assert result.exit_code == 0, result.output
    config = json.loads((art / "runs" / "auto" / "config.json").read_text())
    assert config["train"]["epochs"] == auto_epochs(_train_rows(art), 64) == 30
    assert config["train"]["patience"] == 3 and "epochs: at most 30 (2,000 steps of 64 rows)" in result.stderr
    assert config["info"]["epochs_done"] == 5 and config["info"]["best_epoch"] == 2  # stopped 3 after
    log = (art / "runs" / "auto" / "train_log.jsonl").read_text().splitlines()
    assert len(log) == 5


def _train_rows(art) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(art / "train.parquet").metadata.num_rows


def test_mse_eval_predictions_are_the_scaled_cosine_whatever_the_chunk():
    from kuaicore.training.export import mse_eval_predictions

    rng = np.random.default_rng(3)
    user_emb = rng.normal(size=(7, 4)).astype(np.float32)
    item_emb = rng.normal(size=(9, 4)).astype(np.float32)
    user_emb /= np.linalg.norm(user_emb, axis=1, keepdims=True)
    item_emb /= np.linalg.norm(item_emb, axis=1, keepdims=True)
    users, items = rng.integers(0, 7, 50).astype(np.int32), rng.integers(0, 9, 50).astype(np.int32)
    want = ((user_emb[users] * item_emb[items]).sum(axis=1) + 1.0) / 2.0 * 5.0
    for chunk in (1, 7, 50, 1 << 17):
        got = mse_eval_predictions((users, items), user_emb, item_emb, 5.0, chunk=chunk)
        np.testing.assert_allclose(got, want, rtol=1e-6)
    # a hand-checked pair: identical unit vectors -> cosine 1 -> the cap; opposite -> 0
    e = np.array([[1.0, 0.0]], np.float32)
    both = mse_eval_predictions((np.array([0, 0]), np.array([0, 1])), e, np.vstack([e, -e]), 5.0)
    np.testing.assert_allclose(both, [5.0, 0.0])
