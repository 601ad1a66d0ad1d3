"""The blend of hybrid and two-tower: the concatenated embeddings score the weighted sum exactly, the
weight is the one valid scores best, the weights 1 and 0 rank as the parts alone, and the CLI trains it as
a user would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as hst

from kuaicore.cli import cli
from kuaicore.errors import UsageError
from kuaicore.models.blend import BlendOptions, blend_embeddings, score_spread
from kuaicore.protocol import candidates_from_rows, protocol_ndcg


@settings(max_examples=40, deadline=None)
@given(
    weight=hst.floats(0.0, 1.0),
    seed=hst.integers(0, 2**31 - 1),
    dims=hst.tuples(hst.integers(1, 6), hst.integers(1, 6)),
    spreads=hst.tuples(hst.floats(0.01, 100.0), hst.floats(0.01, 100.0)),
)
def test_blend_embeddings_score_the_weighted_sum(weight, seed, dims, spreads):
    rng = np.random.default_rng(seed)
    uh, ih = rng.normal(size=(5, dims[0])), rng.normal(size=(7, dims[0]))
    ut, it = rng.normal(size=(5, dims[1])), rng.normal(size=(7, dims[1]))
    u, v = blend_embeddings((uh, ih), (ut, it), weight, spreads)
    assert u.dtype == v.dtype == np.float32 and u.shape == (5, sum(dims)) and v.shape == (7, sum(dims))
    want = weight * (uh @ ih.T) / spreads[0] + (1 - weight) * (ut @ it.T) / spreads[1]
    np.testing.assert_allclose(u.astype(np.float64) @ v.T.astype(np.float64), want, rtol=1e-4, atol=1e-4)


def test_score_spread_is_the_std_of_the_pair_scores_and_1_when_constant():
    u = np.array([[1.0, 0.0], [0.0, 2.0]])
    v = np.array([[3.0, 1.0], [1.0, 1.0]])
    users, items = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    for chunk in (1, 3, 1 << 16):
        assert score_spread(u, v, users, items, chunk=chunk) == pytest.approx(np.std([3.0, 1.0, 2.0, 2.0]))
    assert score_spread(u, np.ones((2, 2)) * 0.0, users, items) == 1.0


def test_the_end_weights_rank_as_each_part_alone():
    rng = np.random.default_rng(0)
    uh, ih, ut, it = (rng.normal(size=(n, 3)) for n in (20, 30, 20, 30))
    users = np.repeat(np.arange(20), 8)
    items = rng.integers(0, 30, users.size)
    cands = candidates_from_rows(users, items, rng.exponential(1.5, users.size))
    for weight, (u0, v0) in ((1.0, (uh, ih)), (0.0, (ut, it))):
        u, v = blend_embeddings((uh, ih), (ut, it), weight, (2.0, 3.0))
        assert protocol_ndcg(cands, 2.0, 10, user_emb=u, item_emb=v) == pytest.approx(
            protocol_ndcg(cands, 2.0, 10, user_emb=u0.astype(np.float32), item_emb=v0.astype(np.float32))
        )


def test_options_are_checked():
    assert BlendOptions(weights="1, 0.5").weight_grid() == (1.0, 0.5)
    for bad in ("", "1.5", "a,b", "-0.1"):
        with pytest.raises(UsageError, match="weights"):
            BlendOptions(weights=bad)
    with pytest.raises(UsageError, match="tower_epochs"):
        BlendOptions(tower_epochs=-1)
    with pytest.raises(UsageError, match="tower_patience"):
        BlendOptions(tower_patience=-1)
    for bad in (0, -1):
        with pytest.raises(UsageError, match="hybrid_fits"):
            BlendOptions(hybrid_fits=bad)


def test_cli_trains_the_blend_and_keeps_the_tower_run(tiny_art, tmp_path):
    art = tmp_path / "art"
    shutil.copytree(tiny_art, art)
    args = ["train", str(art), "--model", "blend", "--run", "bl", "--option", "tower_epochs=1"]
    result = CliRunner().invoke(cli, [*args, "--option", "weights=0,0.5,1"])
    assert result.exit_code == 0, result.output
    info = json.loads((art / "runs" / "bl" / "config.json").read_text())["info"]
    fits = list(dict.fromkeys(s["hybrid_fit"] for s in info["weights"]))  # the hybrid's finalists tried
    assert 1 <= len(fits) <= 2 and fits[0] == info["hybrid_part"]["groups"]
    scores = {(s["hybrid_fit"], s["weight"]): s["valid_ndcg"] for s in info["weights"]}
    assert list(scores) == [(fit, w) for fit in fits for w in (0.0, 0.5, 1.0)]
    assert info["valid_ndcg"] == max(scores.values()) == scores[info["hybrid_fit"], info["weight"]]
    assert info["hybrid_fit_is_the_runs"] == (info["hybrid_fit"] == fits[0])
    assert info["tower_run"] == "bl-tower" and (art / "runs" / "bl-tower" / "user_emb.npy").is_file()
    tower = np.load(art / "runs" / "bl-tower" / "item_emb.npy")
    blended = np.load(art / "runs" / "bl" / "item_emb.npy")
    assert blended.shape[1] == tower.shape[1] + info["hybrid_part"]["factors"] + (
        info["hybrid_part"]["item_side_columns"] + 2
    )
    np.testing.assert_array_equal(blended[:, -tower.shape[1] :], tower)  # the tower's part, unscaled
    # the hybrid refitted on train + valid; the blend of the fits that never saw valid kept for tests on it
    assert info["hybrid_refit"]["rows"] > info["n_rows"]
    held = np.load(art / "runs" / "bl" / "heldout_item_emb.npy")
    np.testing.assert_array_equal(held[:, -tower.shape[1] :], tower)
    assert held.shape == blended.shape and not np.array_equal(held, blended)
    result = CliRunner().invoke(cli, ["evaluate", str(art), "--run", "bl", "--bootstrap", "0", "--json", "-"])
    assert result.exit_code == 0, result.output
    assert "mae" in result.stdout  # the hybrid's watch-ratio predictions
    bad = CliRunner().invoke(cli, ["train", str(art), "--model", "blend", "--option", "weights=2"])
    assert bad.exit_code == 2 and "weights=2" in bad.stderr


def test_compare_reuses_the_blends_parts_which_equal_the_models_trained_alone(tiny_art, tmp_path):
    from dataclasses import replace

    from kuaicore.comparison import same_config_run, train_config
    from kuaicore.training.runner import train

    art = tmp_path / "art"
    shutil.copytree(tiny_art, art)
    result = CliRunner().invoke(cli, ["train", str(art)])  # the default: blend-s0 and its two parts
    assert result.exit_code == 0, result.output
    parts = {"hybrid": "blend-s0-hybrid", "two-tower-mse": "blend-s0-tower"}
    for model, part in parts.items():
        assert same_config_run(art, train_config(art, model, 0)).name == part
        assert json.loads((art / "runs" / part / "train_cost.json").read_text())["seconds"] > 0
    assert same_config_run(art, train_config(art, "hybrid", 1)) is None  # another seed is another run
    assert same_config_run(art, train_config(art, "two-tower-bce", 0)) is None  # another loss too

    args = ["compare", str(art), "--models", "hybrid,two-tower-mse", "--k", "10", "--bootstrap", "0"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    for model, part in parts.items():
        name = train_config(art, model, 0).run
        assert f"reusing {part} as {name}" in result.stderr
        assert json.loads((art / "runs" / name / "config.json").read_text())["run"] == name
    rows = {r["name"]: r for r in json.loads((art / "compare.json").read_text())["rows"]}
    assert rows["two-tower-mse-s0"]["train_seconds"] > 0  # the part's own cost, carried over

    for model, part in parts.items():  # trained alone with the same settings: the same run
        alone = train(replace(train_config(art, model, 0), run=f"alone-{model}")).run_dir
        for name in ("user_emb.npy", "item_emb.npy"):
            np.testing.assert_array_equal(np.load(Path(alone) / name), np.load(art / "runs" / part / name))
