"""JAX's persistent compilation cache as kuaicore sets it up (kuaicore.training.compile_cache): where it goes,
how it is turned off and trimmed, and that a run that loads its programs from it trains the same model."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kuaicore.training import compile_cache
from kuaicore.training.compile_cache import (
    ENV,
    JAX_ENV,
    cache_dir,
    configure_compilation_cache,
    machine_key,
    trim,
)


@pytest.mark.parametrize("value", ["off", "OFF", "0", "", "none"])
def test_the_variable_turns_it_off(monkeypatch, value):
    monkeypatch.setenv(ENV, value)
    monkeypatch.delenv(JAX_ENV, raising=False)
    assert cache_dir() is None
    assert configure_compilation_cache() is None
    assert JAX_ENV not in os.environ


def test_default_folder_is_per_machine_under_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    key = machine_key()
    assert cache_dir() == tmp_path / "kuaicore" / "jax" / key
    assert key == machine_key() and len(key.rsplit("-", 1)[1]) == 12  # stable, short


def test_a_folder_of_the_users_choice(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, str(tmp_path / "c"))
    monkeypatch.delenv(JAX_ENV, raising=False)
    monkeypatch.setattr(compile_cache, "sys", type("S", (), {"modules": {}})())  # as before JAX's import
    assert configure_compilation_cache() == tmp_path / "c"
    assert os.environ[JAX_ENV] == str(tmp_path / "c") and (tmp_path / "c").is_dir()


def test_jaxs_own_variable_is_left_alone(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, str(tmp_path / "ours"))
    monkeypatch.setenv(JAX_ENV, str(tmp_path / "theirs"))
    assert configure_compilation_cache() is None
    assert os.environ[JAX_ENV] == str(tmp_path / "theirs") and not (tmp_path / "ours").exists()


def test_a_folder_that_cannot_be_made_means_no_cache(monkeypatch, tmp_path):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv(ENV, str(tmp_path / "file" / "cache"))
    monkeypatch.delenv(JAX_ENV, raising=False)
    assert configure_compilation_cache() is None
    assert JAX_ENV not in os.environ


def test_trim_deletes_the_oldest_files_first(tmp_path):
    for i, size in enumerate([300, 200, 100, 400]):  # written in this order, 1,000 bytes in all
        f = tmp_path / f"e{i}-cache"
        f.write_bytes(b"x" * size)
        os.utime(f, ns=(10**18 + i * 10**9, 10**18 + i * 10**9))
    assert trim(tmp_path, max_bytes=1_000) == 0
    assert trim(tmp_path, max_bytes=600) == 2  # e0 (300) then e1 (200): 500 bytes left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e2-cache", "e3-cache"]
    assert trim(tmp_path, max_bytes=0) == 2 and not list(tmp_path.iterdir())


def _train(art: Path, run: str, cache: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != JAX_ENV}
    env.update({ENV: str(cache), "JAX_LOG_COMPILES": "1"})  # logs each persistent-cache hit on stderr
    # JAX keeps only programs that took >= 1 s to compile: on a busy machine a small one crossed that in one
    # run and not the other (CI, 2026-12-03), so every program is kept in both runs here
    env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    argv = ["train", str(art), "--model", "two-tower", "--epochs", "1", "--run", run]
    return subprocess.run(
        [sys.executable, "-m", "kuaicore.cli", *argv], env=env, capture_output=True, text=True, check=True
    )


def test_a_run_from_the_cache_trains_the_same_model(tiny_art, tmp_path):
    art = tmp_path / "art"
    shutil.copytree(tiny_art, art)
    cache = tmp_path / "jax-cache"
    cold = _train(art, "cold", cache)
    assert "Persistent compilation cache hit" not in cold.stderr
    entries = sorted(p.name for p in cache.iterdir())
    assert entries, "the first run keeps its compiled programs"
    warm = _train(art, "warm", cache)
    assert "Persistent compilation cache hit" in warm.stderr, warm.stderr[-2000:]
    assert sorted(p.name for p in cache.iterdir()) == entries  # nothing compiled anew
    for name in ("user_emb.npy", "item_emb.npy"):
        a, b = (np.load(art / "runs" / run / name) for run in ("cold", "warm"))
        np.testing.assert_array_equal(a, b)
    cold_params = np.load(art / "runs" / "cold" / "params.npz")
    warm_params = np.load(art / "runs" / "warm" / "params.npz")
    assert sorted(cold_params.files) == sorted(warm_params.files)
    for key in cold_params.files:
        np.testing.assert_array_equal(cold_params[key], warm_params[key])
