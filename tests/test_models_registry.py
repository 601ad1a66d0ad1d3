"""The model registry and a user's own model: the README's "Add a model" example, written to a file outside
the package and run through the CLI as a user runs it (train, evaluate, compare)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from kuaicore.cli import cli
from kuaicore.errors import UsageError
from kuaicore.models import registry
from kuaicore.models.resolve import resolve

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("### Add a model") :]
SECTION = SECTION[: SECTION.index("\n### ", 5)]


@pytest.fixture()
def user_model(tiny_art, tmp_path, monkeypatch):
    """A copy of the tiny ART and the README's item_mean.py in a folder of their own (the cwd)."""
    shutil.copytree(tiny_art, tmp_path / "art")
    code = re.findall(r"```python\n(.*?)```", SECTION, flags=re.S)[0]
    (tmp_path / "item_mean.py").write_text(code, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _invoke(args: list[str]):
    return CliRunner().invoke(cli, args)


def test_readme_example_trains_evaluates_and_compares(user_model):
    lines = [ln for ln in re.findall(r"```sh\n(.*?)```", SECTION, flags=re.S)[0].splitlines() if ln.strip()]
    assert [ln.split()[1] for ln in lines] == ["train", "evaluate", "compare"]
    for line in lines:
        args = shlex.split(line.replace("/tmp/", f"{user_model}/"))[1:] + (
            ["--bootstrap", "0"] if "train" not in line else []
        )
        res = _invoke(args)
        assert res.exit_code == 0, f"{line}\n{res.output}"
    art = user_model / "art"
    run = art / "runs" / "item-mean-s0"
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "item_mean.py:ItemMean" and config["options"] == {"prior": 5.0}
    assert config["schema"] == 1 and "user_emb.npy" in config["outputs"]
    # the item means by hand, from train.parquet: (sum + prior * global mean) / (count + prior)
    rows = pq.read_table(art / "train.parquet", columns=["item_idx", "target"]).to_pandas()
    n_items = json.loads((art / "manifest.json").read_text())["n_items"]
    sums, counts = np.zeros(n_items), np.zeros(n_items)
    for item, target in zip(rows["item_idx"], rows["target"], strict=True):
        sums[item] += target
        counts[item] += 1
    expected = (sums + 5.0 * sums.sum() / counts.sum()) / (counts + 5.0)
    np.testing.assert_allclose(np.load(run / "item_emb.npy")[:, 0], expected, rtol=1e-5)
    metrics = json.loads((run / "metrics.json").read_text())
    compared = json.loads((art / "compare.json").read_text())
    row = next(r for r in compared["rows"] if r.get("model") == "item_mean.py:ItemMean")
    mine = next(r for r in metrics["rows"] if r["name"] == "item-mean-s0")
    assert row["name"] == "item-mean-s0" and row["metrics"]["ndcg@10"] == mine["metrics"]["ndcg@10"]
    assert "regression" in mine  # predict_watch_ratio -> eval_pred.npy -> MAE/RMSE
    res = _invoke(["report", str(art), "--out", str(user_model / "report.html")])
    assert res.exit_code == 0, res.output
    assert "item-mean-s0" in (user_model / "report.html").read_text(encoding="utf-8")  # reported too


def test_user_model_errors_are_one_line(user_model):
    art = str(user_model / "art")
    for args, words in [
        (["--model", "missing.py:ItemMean"], "no such file"),
        (["--model", "item_mean.py:Nope"], "has no Nope"),
        (["--model", "no_such_module_xyz:Model"], "cannot import"),
        (["--model", "item_mean.py:ItemMean", "--option", "bad=1"], "not an option of"),
        (["--model", "item_mean.py:ItemMean", "--option", "prior=abc"], "expected a value of type float"),
        (["--model", "nope"], "is not one of"),
    ]:
        res = _invoke(["train", art, *args])
        assert res.exit_code == 2 and words in res.output, (args, res.output)
    res = _invoke(["compare", art, "--models", "popularity,nope-mse"])
    assert res.exit_code == 2 and "unknown nope-mse" in res.output


def test_registry_lists_and_names():
    assert {"two-tower", "id-mlp", "mf", registry.DEFAULT_MODEL} <= set(registry.names())
    assert {"two-tower-mse", "two-tower-bce", "two-tower-softmax", "id-mlp"} <= set(registry.compare_names())
    demo = ("popularity", "tag-cosine", "linear", "als", "mf", "hybrid", "blend", "two-tower-mse")
    assert registry.demo_names() == demo
    assert registry.tune_defaults() == ("hybrid", "mf", "linear", "popularity", "als", "two-tower")
    assert registry.split_compare_name("two-tower-bce") == ("two-tower", "bce")
    assert registry.split_compare_name("mf") == ("mf", None)
    assert resolve("two-tower").run_name("mse", 3) == "two-tower-mse-s3"
    assert resolve("mf").run_name("mse", 3) == "mf-s3"
    assert resolve("mf").make_options({"factors": "4"}, seed=7).seed == 7
    with pytest.raises(UsageError, match="takes no --option"):
        resolve("two-tower").make_options({"x": "1"})


def test_the_losses_are_listed_once():
    """A loss is one entry of kuaicore.models.losses.LOSSES: the two-tower's --loss choices are its keys, read
    without importing JAX (the module imports it inside its functions)."""
    import subprocess
    import sys

    from kuaicore.models.losses import LOSSES

    assert registry.MODELS["two-tower"].losses == tuple(LOSSES) == registry.losses()
    probe = "import sys, kuaicore.models.registry as r; r.losses(); print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_each_builtin_model_name_is_written_once():
    """The measure of done of issue 13: a built-in model's name appears in one module of kuaicore/ (other
    meanings of the same word are listed: ALS's "linear" confidence, the "popularity" reference row, and the
    notebook example in api.py's docstring)."""
    other_meanings = {
        "mf": {"api.py"},
        "linear": {"models/als.py"},
        "popularity": {"evaluation/evaluate.py", "report/plots.py", "report/data.py", "demo.py"},
    }
    package = REPO / "kuaicore"
    for name in registry.names():
        holders = {
            str(p.relative_to(package))
            for p in package.rglob("*.py")
            if f'"{name}"' in p.read_text(encoding="utf-8") and "synth" not in p.parts
        }
        assert holders - other_meanings.get(name, set()) == {"models/registry.py"}, (name, holders)


def test_importable_module_model_and_pair_scorer(user_model, monkeypatch):
    """``--model MODULE:NAME`` imports the module from sys.path; a model returning only ``score_pairs`` (the
    capability of a model that is not a dot product) is written as eval_scores.npy and evaluated."""
    (user_model / "my_models.py").write_text(
        "import numpy as np\n"
        "from kuaicore.models.contract import Fitted\n\n\n"
        "class ItemIndex:\n"
        "    def fit(self, data, options):\n"
        "        return Fitted(score_pairs=lambda users, items: items.astype(np.float32) - users)\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(user_model))
    art = user_model / "art"
    res = _invoke(["train", str(art), "--model", "my_models:ItemIndex", "--seed", "2"])
    assert res.exit_code == 0, res.output
    run = art / "runs" / "ItemIndex-s2"
    users, items = (
        pq.read_table(art / "eval.parquet").column(c).to_numpy() for c in ("user_idx", "item_idx")
    )
    np.testing.assert_array_equal(np.load(run / "eval_scores.npy"), (items - users).astype(np.float32))
    assert not (run / "user_emb.npy").exists()
    assert json.loads((run / "config.json").read_text())["options"] is None
    res = _invoke(["evaluate", str(art), "--run", "ItemIndex-s2", "--k", "10", "--bootstrap", "0"])
    assert res.exit_code == 0, res.output
