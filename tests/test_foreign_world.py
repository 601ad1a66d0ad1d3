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


def test_the_rule_and_the_paired_differences_read_as_hand_computed():
    """bench_foreign's verdict compares intervals; the paired line differences the same seeds' data.
    Hand-checked: default 0.58/0.68/0.78 against mf 0.53/0.66/0.74 is level by intervals (0.68 [0.43,
    0.93] against 0.643 [0.38, 0.91]) but +0.037 paired (differences 0.05/0.02/0.04: sd 0.0153, half-width
    4.303 x 0.0153 / sqrt 3 = 0.038)."""
    from bench_foreign import paired_line, verdict
    from bench_worlds import summarise

    by_model = {
        "blend": [{"mean": v} for v in (0.58, 0.68, 0.78)],
        "mf": [{"mean": v} for v in (0.53, 0.66, 0.74)],
        "popularity": [{"mean": v} for v in (0.20, 0.22, 0.21)],
        "oracle (ref)": [{"mean": v} for v in (0.8, 0.8, 0.8)],
        "popularity (ref)": [{"mean": v} for v in (0.20, 0.22, 0.21)],
    }
    stats = {m: summarise(vs) for m, vs in by_model.items()}
    assert verdict("mix", stats, "blend", 3) == (
        "mix: blend 0.85 of the oracle (>= 0.75: met); above popularity; level with mf"
    )
    assert paired_line("mix", by_model, "blend") == (
        "mix: mf +0.037 [-0.001, +0.075]; popularity +0.470 [+0.233, +0.707]"
    )
