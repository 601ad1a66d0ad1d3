"""The Python API (kuaicore.synth ... compare), as the README's notebook example uses it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import kuaicore
from kuaicore.errors import BusyError, UsageError


def test_import_kuaicore_loads_no_heavy_library():
    code = "import kuaicore, sys; print(sorted(m for m in ('jax', 'duckdb', 'numba') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_end_to_end_from_python(tmp_path):
    data = kuaicore.synth(tmp_path / "kr", scale="tiny", seed=1)
    assert (data / "big_matrix.csv").is_file()
    report = kuaicore.validate(tmp_path / "kr")
    assert report["files"][0]["rows"] > 0
    art = kuaicore.build_features(tmp_path / "kr", tmp_path / "art", threads=1)
    assert kuaicore.validate(art)["files"]["train.parquet"] == "ok"
    run = kuaicore.train(art, model="mf", options={"iterations": 2})
    assert run.name == "mf-s0"
    result = kuaicore.evaluate(art, run=run.name, ks=(10,), bootstrap=0)
    names = [r["name"] for r in result["rows"]]
    assert names[0] == "mf-s0" and "oracle" in names
    assert 0 <= result["rows"][0]["metrics"]["ndcg@10"]["mean"] <= 1
    recs = kuaicore.recommend(art, user_id=int(np.load(art / "user_ids.npy")[0]), k=5)
    assert recs.video_ids.shape == (1, 5)
    table = kuaicore.compare(art, ["popularity", "mf"], ks=(10,), bootstrap=0)
    assert {r.get("model") for r in table["rows"]} >= {"popularity", "mf"}


def test_api_errors_are_ours(tiny_art, tmp_path):
    with pytest.raises(UsageError, match="--run"):
        kuaicore.train(tiny_art, model="popularity", run="../x")
    from kuaicore.atomic import exclusive_lock

    (tmp_path / "runs").mkdir()
    import shutil

    art = tmp_path / "art"
    shutil.copytree(tiny_art, art)
    with exclusive_lock(art / "runs" / ".p.lock", art / "runs" / "p", "train"), pytest.raises(BusyError):
        kuaicore.train(art, model="popularity", run="p")


def test_no_submodule_shadows_an_api_function():
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(kuaicore.__path__):
        importlib.import_module(f"kuaicore.{info.name}")
    for name in kuaicore.__all__:
        assert callable(getattr(kuaicore, name)), name
