"""benchmarks/_foreign_world.py (the held-out generator of bench_foreign.py): its files pass the project's
readers as real KuaiRec files do, the block's users never see the block's videos in big_matrix, and its
truth ranks the block as the planted model says."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from kuaicore import api

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _foreign_world import FOREIGN_WORLDS, write_foreign  # noqa: E402


@pytest.fixture(scope="module")
def foreign(tmp_path_factory, tiny_data) -> Path:
    out = tmp_path_factory.mktemp("foreign") / "data"
    rows = write_foreign(tiny_data / "data", out, "mix", seed=3, rows=2_000)
    assert rows["big_matrix"] > 1_000 and rows["small_matrix"] > 0
    return out


def test_foreign_files_pass_validate_and_build(foreign, tmp_path):
    report = api.validate(foreign)
    assert report["ok"], report
    art = api.build_features(foreign, tmp_path / "art")
    truth = np.load(foreign / "truth.npz")
    users, videos = truth["user_id"], truth["video_id"]
    assert truth["expected_watch_ratio"].shape == (len(users), len(videos))
    # the block's users never see the block's videos in the training log (as in the real files)
    train = pq.read_table(art / "train.parquet", columns=["user_id", "video_id"]).to_pydict()
    pairs = set(zip(train["user_id"], train["video_id"], strict=True))
    assert not any((u, v) in pairs for u in users.tolist() for v in videos.tolist())


def test_foreign_is_deterministic_and_rejects_unknown_worlds(tiny_data, foreign, tmp_path):
    again = tmp_path / "again"
    write_foreign(tiny_data / "data", again, "mix", seed=3, rows=2_000)
    for name in ("big_matrix.csv", "small_matrix.csv"):
        assert (again / name).read_bytes() == (foreign / name).read_bytes()
    with pytest.raises(ValueError, match="world must be one of"):
        write_foreign(tiny_data / "data", tmp_path / "x", "nope", seed=0)
    assert FOREIGN_WORLDS == ("latent", "tags", "mix")
