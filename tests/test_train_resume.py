"""Exact resume: a run stopped by --max-steps and resumed ends bit-equal to an uninterrupted run with the same
seed (which is also the determinism check: two independent runs from one seed give the same bytes), on both
data paths: device-resident rows (what the tiny ART gets) and streamed batches (forced by a zero budget)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from fake_art import write_fake_art

from kuaicore.cli import cli

ARGS = [
    "--model",
    "two-tower",
    "--loss",
    "softmax",
    "--epochs",
    "2",
    "--batch-size",
    "64",
    "--lr",
    "0.01",
    "--dims",
    "16,8",
    "--checkpoint-every",
    "5",
]


def _train(art, *args):
    result = CliRunner().invoke(cli, ["train", str(art), *ARGS, *args])
    assert result.exit_code == 0, result.output + str(result.exception)
    return result


@pytest.fixture(scope="module")
def art(tmp_path_factory):
    return write_fake_art(tmp_path_factory.mktemp("resume") / "ART")


@pytest.fixture(params=["device", "stream"])
def data_path(request, monkeypatch):
    if request.param == "stream":
        from kuaicore.training import resident

        monkeypatch.setattr(resident, "CPU_BUDGET_BYTES", 0)
    return request.param


def test_stop_resume_equals_straight_run(art, data_path):
    _train(art, "--run", f"straight-{data_path}")
    stopped = _train(art, "--run", f"killed-{data_path}", "--max-steps", "13")
    assert "stopped after step 13" in stopped.stderr
    ckpt = art / f"runs/killed-{data_path}/ckpt.npz"
    with np.load(ckpt) as npz:
        state = json.loads(str(npz["state"]))
    assert (state["epoch"], state["batch"], state["step"]) == (0, 13, 13)
    resumed = _train(art, "--run", f"killed-{data_path}", "--resume")
    assert f"resuming killed-{data_path} at epoch 1, batch 13, step 13" in resumed.stderr
    a, b = art / f"runs/straight-{data_path}", art / f"runs/killed-{data_path}"
    assert json.loads((a / "config.json").read_text())["info"]["data"] == data_path
    for name in ("params.npz", "user_emb.npy", "item_emb.npy"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    log_a = [json.loads(x) for x in (a / "train_log.jsonl").read_text().splitlines()]
    log_b = [json.loads(x) for x in (b / "train_log.jsonl").read_text().splitlines()]
    for ra, rb in zip(log_a, log_b, strict=True):
        assert (ra["step"], ra["valid_loss"], ra["recall"]) == (rb["step"], rb["valid_loss"], rb["recall"])
        np.testing.assert_allclose(ra["loss"], rb["loss"], rtol=1e-5)
    # the final checkpoints agree too (params, optimiser state, position)
    with np.load(a / "ckpt.npz") as na, np.load(b / "ckpt.npz") as nb:
        assert sorted(na.files) == sorted(nb.files)
        for key in na.files:
            if key != "state":
                np.testing.assert_array_equal(na[key], nb[key], err_msg=key)


def test_resume_rejects_changed_options(art):
    _train(art, "--run", "r", "--max-steps", "1")
    result = CliRunner().invoke(cli, ["train", str(art), *ARGS, "--run", "r", "--resume", "--lr", "0.5"])
    assert result.exit_code == 2 and "--resume: options differ from the checkpoint's: lr" in result.stderr


def test_id_mlp_stop_resume_equals_straight_run(art):
    """id-mlp, a pair scorer of the same loop, resumes exactly too (its own parameters, eval_scores.npy)."""
    args = ["train", str(art), "--model", "id-mlp", "--epochs", "2", "--batch-size", "64", "--lr", "0.01"]
    for extra in (["--run", "mlp-straight"], ["--run", "mlp-killed", "--max-steps", "7"]):
        result = CliRunner().invoke(cli, [*args, *extra])
        assert result.exit_code == 0, result.output
    resumed = CliRunner().invoke(cli, [*args, "--run", "mlp-killed", "--resume"])
    assert resumed.exit_code == 0 and "resuming mlp-killed at epoch 1, batch 7, step 7" in resumed.stderr
    a, b = art / "runs/mlp-straight", art / "runs/mlp-killed"
    assert not (a / "user_emb.npy").exists()
    for name in ("params.npz", "eval_scores.npy", "eval_pred.npy"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
