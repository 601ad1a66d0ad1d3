"""`kuaicore build-features` from the command line: refusal to overwrite, --force, errors, atomicity, optional
files, and a run on the synthetic generator's tiny data."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from kuaicore.cli import cli
from kuaicore.features import build as build_module

FIXTURE = Path(__file__).parent / "fixtures" / "features"
OPTS = ["--threads", "1", "--memory-limit", "256MB", "--valid-fraction", "0.2"]


def invoke(*args: str):
    return CliRunner().invoke(cli, ["build-features", *args])


def test_refuses_an_existing_art_and_replaces_it_with_force(tmp_path):
    out = tmp_path / "art"
    first = invoke(str(FIXTURE), "--out", str(out), *OPTS)
    assert first.exit_code == 0, first.output
    before = json.loads((out / "manifest.json").read_text())["files"]
    again = invoke(str(FIXTURE), "--out", str(out), *OPTS)
    assert again.exit_code == 2 and "already exists; pass --force" in again.output
    forced = invoke(str(FIXTURE), "--out", str(out), *OPTS, "--force", "--seed", "3")
    assert forced.exit_code == 0, forced.output
    after = json.loads((out / "manifest.json").read_text())["files"]
    assert after["item_features.npy"] == before["item_features.npy"]
    assert after["train.parquet"] != before["train.parquet"]  # another shuffle
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art"]  # no tmp or old folders left


def test_invalid_data_exits_2_with_the_validate_message(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    text = (data / "big_matrix.csv").read_text().replace("10,101,500,1000", "10,1x1,500,1000")
    (data / "big_matrix.csv").write_text(text)
    result = invoke(str(data), "--out", str(tmp_path / "art"), *OPTS)
    assert result.exit_code == 2
    assert "big_matrix.csv" in result.output and "row 2" in result.output
    assert not (tmp_path / "art").exists()
    missing = invoke(str(tmp_path / "nowhere"), "--out", str(tmp_path / "art"))
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_bad_options_exit_2_naming_the_option(tmp_path):
    result = invoke(str(FIXTURE), "--out", str(tmp_path / "art"), "--valid-fraction", "1.5")
    assert result.exit_code == 2 and "--valid-fraction" in result.output
    result = invoke(str(FIXTURE), "--out", str(tmp_path / "art"), "--memory-limit", "lots")
    assert result.exit_code == 2 and "--memory-limit" in result.output
    assert not (tmp_path / "art").exists()


@pytest.mark.parametrize("how", ["KeyboardInterrupt", "ENOSPC", "SIGTERM"])
def test_an_interrupted_or_failing_run_leaves_no_art(tmp_path, monkeypatch, how):
    from kuaicore.config import FeatureConfig
    from kuaicore.errors import DiskFullError
    from kuaicore.failures import SignalGuard

    def boom(*args, **kwargs):
        if how == "SIGTERM":
            os.kill(os.getpid(), signal.SIGTERM)  # the guard raises Terminated (a KeyboardInterrupt)
        if how == "ENOSPC":
            raise OSError(28, "No space left on device")
        raise KeyboardInterrupt

    monkeypatch.setattr(build_module, "_assemble", boom)
    expected = DiskFullError if how == "ENOSPC" else KeyboardInterrupt
    with pytest.raises(expected), SignalGuard():
        build_module.build_features(FeatureConfig(data=FIXTURE, out=tmp_path / "art", threads=1))
    assert list(tmp_path.iterdir()) == []


def test_absent_optional_files_are_omitted_and_recorded(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    for name in ("user_features", "social_network", "kuairec_caption_category", "item_daily_features"):
        (data / f"{name}.csv").unlink()
    out = tmp_path / "art"
    result = invoke(str(data), "--out", str(out), *OPTS)
    assert result.exit_code == 0, result.output
    m = json.loads((out / "manifest.json").read_text())
    assert sorted(m["optional_files_missing"]) == sorted(
        ["user_features", "social_network", "kuairec_caption_category", "item_daily_features"]
    )
    assert set(m["omitted_features"]) == {"user_features", "kuairec_caption_category", "item_daily_features"}
    assert not any(n.startswith(("cat1", "show_cnt", "user_active")) for n in m["item_feature_names"])
    assert np.load(out / "item_author_idx.npy").tolist() == [0] * 5
    assert np.load(out / "user_categorical.npy").shape == (3, 0)
    assert np.load(out / "user_features.npy").shape == (3, len(m["user_feature_names"]))


def test_build_on_synthetic_tiny_data_is_consistent_and_deterministic(tmp_path):
    synth = CliRunner().invoke(cli, ["synth", str(tmp_path / "syn"), "--scale", "tiny"])
    assert synth.exit_code == 0, synth.output
    outs = []
    for k, threads in enumerate(("1", "2")):
        out = tmp_path / f"art{k}"
        result = invoke(str(tmp_path / "syn"), "--out", str(out), "--threads", threads)
        assert result.exit_code == 0, result.output
        outs.append(json.loads((out / "manifest.json").read_text()))
    assert outs[0]["files"] == outs[1]["files"]
    m, art = outs[0], tmp_path / "art0"
    counts = m["row_counts"]
    assert pq.read_metadata(art / "train.parquet").num_rows == counts["train_rows"] > 0
    assert pq.read_metadata(art / "eval.parquet").num_rows == counts["small_rows_in"] == counts["eval_rows"]
    assert (
        counts["train_rows"] + counts["valid_rows"] + counts["big_duplicates_dropped"]
        == counts["big_rows_in"]
    )
    ids = np.load(art / "user_ids.npy")
    assert (np.diff(ids) > 0).all() and len(ids) == m["n_users"]
    x = np.load(art / "item_features.npy")
    assert x.shape == (m["n_items"], len(m["item_feature_names"])) and np.isfinite(x).all()
    counts_per_item = np.bincount(
        pq.read_table(art / "train.parquet")["item_idx"].to_numpy(), minlength=m["n_items"]
    )
    assert np.array_equal(np.load(art / "item_train_counts.npy"), counts_per_item)


def test_a_malformed_csv_without_the_validate_scan_still_names_file_and_row(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    text = (data / "small_matrix.csv").read_text().replace("30,103,9000", "30,103,9x00")
    (data / "small_matrix.csv").write_text(text)
    result = invoke(str(data), "--out", str(tmp_path / "art"), *OPTS, "--no-validate")
    assert result.exit_code == 2, result.output
    assert "small_matrix.csv" in result.output and "row 2" in result.output
    assert not (tmp_path / "art").exists()


@pytest.mark.parametrize(
    ("name", "mangle", "expect"),
    [
        ("big_matrix.csv", lambda t: t.rstrip("\n"), "truncated"),
        ("item_categories.csv", lambda t: t.replace("video_id,feat", "feat,video_id", 1), "wrong order"),
        ("small_matrix.csv", lambda t: "", "empty"),
    ],
)
def test_default_build_checks_structure_without_a_scan(tmp_path, name, mangle, expect):
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    (data / name).write_text(mangle((data / name).read_text()))
    result = invoke(str(data), "--out", str(tmp_path / "art"), *OPTS)
    assert result.exit_code == 2, result.output
    assert name in result.output and expect in result.output
    assert not (tmp_path / "art").exists()


def test_memory_limit_is_the_process_budget():
    from kuaicore.data.duck import duckdb_memory_limit

    assert duckdb_memory_limit("1GB") == "700MB"
    assert duckdb_memory_limit("2GiB") == f"{int(2 * 2**30 * 0.7 / 10**6)}MB"
    assert duckdb_memory_limit("lots") == "lots"  # DuckDB's own error names it
    from kuaicore.data import readers
    from kuaicore.data.duck import connect

    assert readers.connect is connect  # validate and build-features open DuckDB through the same function
    con = connect("1GB")
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "667.5 MiB"  # 700MB


def test_duckdb_draws_no_progress_bar_on_stdout(capfd):
    """DuckDB's own progress bar (on by default, drawn on stdout even into a pipe for queries over 2 s)
    would corrupt `recommend`'s output and the benchmarks' parsing; our connections switch it off."""
    from kuaicore.data.duck import connect

    con = connect("1GB")
    assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0] is False
    capfd.readouterr()
    con.execute("SET progress_bar_time = 0")  # no delay (this also switches the bar back on): draw at once
    con.execute("SELECT count(*) FROM range(20000000) t(x) WHERE x % 7 = 1").fetchone()
    assert capfd.readouterr().out == ""


def test_bad_memory_limit_is_a_usage_error(tmp_path):
    result = invoke(str(FIXTURE), "--out", str(tmp_path / "art"), "--memory-limit", "lots")
    assert result.exit_code == 2 and "--memory-limit" in result.output
    assert not (tmp_path / "art").exists()
