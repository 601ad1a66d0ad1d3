"""build-features on the hand-written CSVs of tests/fixtures/features, every number worked out by hand.

The fixture (see the CSVs): users 10, 20 in big_matrix; 30 only in small_matrix; 40 only in user_features.
Videos 100..103 in big, 104 only in small/item_categories. big_matrix has 9 rows, one an exact duplicate
(user 10, video 100 at t0). With valid_fraction 0.2, user 10 (5 distinct rows) puts its last row (video 103)
in valid; user 20 (3 rows) keeps all for training (floor(0.6) = 0). Training targets (cap 5):
user 10: 100->2.0, 101->0.5, 100->5.0 (wr 6.0 capped), 102->0.5; user 20: 101->1.5, 102->2.0, 100->0.5.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from kuaicore.config import FeatureConfig
from kuaicore.features import build_features

FIXTURE = Path(__file__).parent / "fixtures" / "features"


def fixture_config(data: Path, out: Path, **kw) -> FeatureConfig:
    base = FeatureConfig(
        data=data,
        out=out,
        valid_fraction=0.2,
        taste_prior=1.0,
        duration_buckets=2,
        debiased_percentile=0.5,
        max_onehot_values=2,
        min_category_videos=2,
        threads=2,
        memory_limit="256MB",
    )
    return replace(base, **kw)


@pytest.fixture(scope="module")
def art(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("features") / "art"
    return build_features(fixture_config(FIXTURE, out))


def manifest(art: Path) -> dict:
    return json.loads((art / "manifest.json").read_text())


def raw(art: Path, which: str) -> dict[str, np.ndarray]:
    """Feature columns by name, un-standardized with the manifest's statistics (log1p columns stay log1p)."""
    m = manifest(art)
    x = np.load(art / f"{which}_features.npy")
    stats = m[f"{which}_feature_stats"]
    assert [s["name"] for s in stats] == m[f"{which}_feature_names"]
    return {s["name"]: x[:, j].astype(np.float64) * s["std"] + s["mean"] for j, s in enumerate(stats)}


def table(art: Path, name: str) -> dict[str, list]:
    return pq.read_table(art / name).to_pydict()


def test_ids_are_dense_in_ascending_id_order(art):
    assert np.load(art / "user_ids.npy").tolist() == [10, 20, 30, 40]
    assert np.load(art / "item_ids.npy").tolist() == [100, 101, 102, 103, 104]
    m = manifest(art)
    assert (m["n_users"], m["n_items"]) == (4, 5)


def test_row_counts_duplicates_capped_and_missing_times(art):
    c = manifest(art)["row_counts"]
    assert (
        c["big_rows_in"] == 9 and c["big_duplicates_dropped"] == 1 and c["big_rows_dropped_eval_pairs"] == 0
    )
    assert (c["train_rows"], c["valid_rows"], c["eval_rows"]) == (7, 1, 2)
    assert c["train_rows_capped"] == 1 and c["eval_rows_missing_time"] == 1


def test_temporal_split_takes_each_users_last_rows(art):
    valid = table(art, "valid.parquet")
    assert valid["user_id"] == [10] and valid["video_id"] == [103] and valid["timestamp"] == [1593907204.0]
    train = table(art, "train.parquet")
    pairs = sorted(zip(train["user_id"], train["video_id"], train["watch_ratio"], strict=True))
    assert pairs == [
        (10, 100, 2.0),
        (10, 100, 6.0),
        (10, 101, 0.5),
        (10, 102, 0.5),
        (20, 100, 0.5),
        (20, 101, 1.5),
        (20, 102, 2.0),
    ]  # re-watch of 100 kept, duplicate dropped


def test_parquet_columns_and_types_follow_the_contract(art):
    for name in ("train.parquet", "valid.parquet", "eval.parquet"):
        schema = pq.read_schema(art / name)
        assert [(f.name, str(f.type)) for f in schema] == [
            ("user_idx", "int32"),
            ("item_idx", "int32"),
            ("user_id", "int64"),
            ("video_id", "int64"),
            ("watch_ratio", "float"),
            ("target", "float"),
            ("label", "float"),
            ("label_debiased", "float"),
            ("timestamp", "double"),
        ]


def test_target_label_and_debiased_label(art):
    # Duration buckets over training rows: durations 1000 x5, 3000 x2 -> bound [1000]; bucket 0 = (-inf, 1000]
    # has wr [0.5, 0.5, 1.5, 2.0, 6.0] -> median 1.5; bucket 1 = (1000, inf) has wr [0.5, 2.0] -> median 1.25.
    m = manifest(art)
    assert m["label_rule"]["debiased"]["bounds_ms"] == [1000.0]
    assert m["label_rule"]["debiased"]["thresholds"] == {"0": 1.5, "1": 1.25}
    train = table(art, "train.parquet")
    got = {
        (u, v, w): (t, lab, d)
        for u, v, w, t, lab, d in zip(
            train["user_id"],
            train["video_id"],
            train["watch_ratio"],
            train["target"],
            train["label"],
            train["label_debiased"],
            strict=True,
        )
    }
    assert got[(10, 100, 6.0)] == (5.0, 1.0, 1.0)
    assert got[(20, 101, 1.5)] == (1.5, 0.0, 0.0)  # not above bucket 0's 1.5
    assert got[(20, 102, 2.0)] == (2.0, 0.0, 1.0)  # like is strict: 2.0 is not > 2.0
    assert got[(10, 102, 0.5)] == (0.5, 0.0, 0.0)
    valid = table(art, "valid.parquet")
    assert (valid["label"], valid["label_debiased"]) == ([0.0], [1.0])  # 1.5 > 1.25 in bucket 1
    ev = table(art, "eval.parquet")
    assert ev["user_id"] == [10, 30] and ev["timestamp"] == [1593910800.0, None]
    assert ev["label_debiased"] == [0.0, 1.0] and ev["label"] == [0.0, 1.0]


def test_label_rule_debiased_fills_label(tmp_path):
    art = build_features(fixture_config(FIXTURE, tmp_path / "art", label_rule="debiased"))
    valid = table(art, "valid.parquet")
    assert valid["label"] == [1.0] == valid["label_debiased"]
    assert manifest(art)["label_rule"]["label"] == "debiased"


def test_train_is_shuffled_by_seed_and_deterministic(tmp_path, art):
    again = build_features(fixture_config(FIXTURE, tmp_path / "again", threads=1))
    assert manifest(again)["files"] == manifest(art)["files"]  # same bytes, other thread count
    other = build_features(fixture_config(FIXTURE, tmp_path / "other", seed=7))
    a, b = table(art, "train.parquet"), table(other, "train.parquet")
    assert sorted(zip(*a.values(), strict=True)) == sorted(zip(*b.values(), strict=True))
    assert list(zip(*a.values(), strict=True)) != list(zip(*b.values(), strict=True))


def test_per_tag_and_per_category_taste_from_training_rows_only(art):
    # prior 1. user 10: mean target 2.0; tag 1 (videos 100, 101): n 3, sum 7.5 -> (7.5 + 2) / 4 = 2.375;
    # tag 2 (101, 102): n 2, sum 1 -> (1 + 2) / 3 = 1.0; tag 3 only in user 10's VALID row -> user mean 2.0.
    # user 20: mean 4/3; tag 1 (101, 100): (2 + 4/3) / 3; tag 2 (101, 102): (3.5 + 4/3) / 3.
    u = raw(art, "user")
    np.testing.assert_allclose(u["taste_tag_01"][:2], [2.375, 10 / 9], rtol=1e-6)
    np.testing.assert_allclose(u["taste_tag_02"][:2], [1.0, 14.5 / 9], rtol=1e-6)
    np.testing.assert_allclose(u["taste_tag_03"][:2], [2.0, 4 / 3], rtol=1e-6)
    # caption category 5 = videos 100, 101; category 6 = video 102. user 10 cat 6: (0.5 + 2) / 2.
    np.testing.assert_allclose(u["taste_cat1=5"][:2], [2.375, 10 / 9], rtol=1e-6)
    np.testing.assert_allclose(u["taste_cat1=6"][:2], [1.25, (2.0 + 4 / 3) / 2], rtol=1e-6)
    # users 30, 40 have no training rows: global training mean 12 / 7 everywhere.
    np.testing.assert_allclose(u["taste_tag_01"][2:], [12 / 7] * 2, rtol=1e-6)
    np.testing.assert_allclose(np.expm1(u["train_rows"]), [4, 3, 0, 0], atol=1e-5)
    np.testing.assert_allclose(np.expm1(u["social_degree"]), [1, 1, 0, 0], atol=1e-6)


def test_item_training_statistics(art):
    assert np.load(art / "item_train_counts.npy").tolist() == [3, 2, 2, 0, 0]
    it = raw(art, "item")
    np.testing.assert_allclose(it["train_mean_target"], [2.5, 1.0, 1.25, 12 / 7, 12 / 7], rtol=1e-6)
    # liked (watch_ratio > 2, strict) training rows: only video 100's 6.0 of its 2.0, 6.0, 0.5; 1 of 7 overall
    np.testing.assert_allclose(it["train_like_rate"], [1 / 3, 0, 0, 1 / 7, 1 / 7], atol=1e-6)


def test_item_daily_aggregates_rates_duration_imputation_and_ids(art):
    it = raw(art, "item")
    np.testing.assert_allclose(np.expm1(it["show_cnt"]), [30, 5, 0, 0, 0], atol=1e-4)
    np.testing.assert_allclose(it["completion_rate"], [0.5, 1.0, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(it["like_rate"], [0.25, 0, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(it["engagement_rate"], [20 / 30, 1.0, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(it["mean_play_progress"], [0.6, 0.9, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(it["daily_missing"], [0, 0, 1, 1, 1], atol=1e-6)
    # duration: 100 from item_daily (1000); 101 daily empty -> its interaction rows (1000); 102/103 -> 3000.
    np.testing.assert_allclose(np.expm1(it["duration_ms"]), [1000, 1000, 3000, 3000, 1000], rtol=1e-5)
    np.testing.assert_allclose(it["duration_missing"], [0, 1, 1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(it["tag_01"], [1, 1, 0, 0, 1], atol=1e-6)
    np.testing.assert_allclose(it["cat1_missing"], [0, 0, 0, 1, 1], atol=1e-6)
    assert np.load(art / "item_author_idx.npy").tolist() == [1, 2, 0, 0, 0]
    assert np.load(art / "item_music_idx.npy").tolist() == [1, 0, 0, 0, 0]


def test_user_profile_one_hots_and_categorical_ids(art):
    u = raw(art, "user")
    np.testing.assert_allclose(u["user_active_degree=full_active"], [1, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(u["user_active_degree_missing"], [0, 1, 1, 0], atol=1e-6)  # UNKNOWN, absent
    np.testing.assert_allclose(u["onehot_feat4_missing"], [0, 1, 1, 0], atol=1e-6)
    m = manifest(art)
    assert [c["name"] for c in m["user_categorical"]] == ["onehot_feat3", "onehot_feat8"]
    # onehot_feat3: 300, 20, -, 7 -> ranks among {7, 20, 300} + 1; onehot_feat8: 10, 11, -, 12.
    assert np.load(art / "user_categorical.npy").tolist() == [[3, 1], [2, 2], [0, 0], [1, 3]]
    x = np.load(art / "user_features.npy")
    assert x.dtype == np.float32 and x.shape == (4, len(m["user_feature_names"]))
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-6)


def test_manifest_records_sources_versions_queries_and_checksums(art):
    m = manifest(art)
    assert m["sources"]["big_matrix"]["bytes"] == (FIXTURE / "big_matrix.csv").stat().st_size
    assert set(m["versions"]) >= {"kuaicore", "duckdb", "jax", "numba"}
    assert [q["name"] for q in m["queries"]][:5] == [
        "01_macro_duration_bucket",
        "02_macro_debiased_label",
        "03_macro_like_label",
        "10_stg_big_matrix",
        "11_stg_small_matrix",
    ]
    assert all(q["seconds"] >= 0 for q in m["queries"])
    assert set(m["files"]) >= {"train.parquet", "item_features.npy", "user_categorical.npy"}
    assert m["watch_ratio_cap"] == 5.0 and m["like_threshold"] == 2.0 and m["optional_files_missing"] == []
    assert sorted(p.name for p in art.iterdir()) == sorted([*m["files"], "manifest.json"])
    assert m["files"]["train.parquet"]["rows"] == m["row_counts"]["train_rows"] == 7
    assert m["files"]["user_features.npy"]["shape"] == [4, len(m["user_feature_names"])]


def copy_fixture(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    return data


def test_time_ties_break_by_video_id_and_duplicates_of_tied_rows_are_dropped(tmp_path):
    """User 20 gets two rows at one late second (videos 103 and 101, in that file order) and a copy of the
    first: 5 distinct rows -> floor(0.2 * 5) = 1 validation row, the last by (timestamp, video_id) = video
    103; the copy is one more duplicate (2 in all)."""
    data = copy_fixture(tmp_path)
    with open(data / "big_matrix.csv", "a") as fh:
        fh.write("20,103,900,3000,2020-07-05 08:01:50,20200705,1593907310.0,0.3\n")
        fh.write("20,101,800,1000,2020-07-05 08:01:50,20200705,1593907310.0,0.8\n")
        fh.write("20,103,900,3000,2020-07-05 08:01:50,20200705,1593907310.0,0.3\n")
    art = build_features(fixture_config(data, tmp_path / "art"))
    c = manifest(art)["row_counts"]
    assert (c["big_rows_in"], c["big_duplicates_dropped"], c["train_rows"], c["valid_rows"]) == (12, 2, 8, 2)
    valid = table(art, "valid.parquet")
    assert list(zip(valid["user_id"], valid["video_id"], strict=True)) == [(10, 103), (20, 103)]
    train = table(art, "train.parquet")
    user20 = sorted(v for u, v in zip(train["user_id"], train["video_id"], strict=True) if u == 20)
    assert user20 == [100, 101, 101, 102]


def test_an_eval_pair_row_is_dropped_after_the_split(tmp_path):
    """User 10 gains a row for video 104 (an eval pair) at its latest time: the split counts it (6 distinct
    rows -> 1 validation row, the last = the eval pair), then drops it, so user 10 has no validation row and
    video 103 stays in training."""
    data = copy_fixture(tmp_path)
    with open(data / "big_matrix.csv", "a") as fh:
        fh.write("10,104,500,1000,2020-07-05 08:00:05,20200705,1593907205.0,0.5\n")
    art = build_features(fixture_config(data, tmp_path / "art"))
    c = manifest(art)["row_counts"]
    assert (c["big_rows_dropped_eval_pairs"], c["train_rows"], c["valid_rows"]) == (1, 8, 0)
    train = table(art, "train.parquet")
    assert (10, 103) in set(zip(train["user_id"], train["video_id"], strict=True))


def test_no_small_matrix_pair_in_train_or_valid(tmp_path):
    data = copy_fixture(tmp_path)
    with open(data / "big_matrix.csv", "a") as fh:  # user 10 x video 104 is an eval pair: must not train
        fh.write("10,104,500,1000,2020-07-05 08:00:05,20200705,1593907205.0,0.5\n")
    # a counted, dropped row (kuaicore.data.value_rules): with or without the validate scan (which warns)
    checked = build_features(fixture_config(data, tmp_path / "checked", validate=True))
    assert manifest(checked)["row_counts"]["big_rows_dropped_eval_pairs"] == 1
    art = build_features(fixture_config(data, tmp_path / "art"))
    assert manifest(art)["row_counts"]["big_rows_dropped_eval_pairs"] == 1
    ev = set(zip(*table(art, "eval.parquet").values(), strict=True))
    eval_pairs = {(r[2], r[3]) for r in ev}
    for name in ("train.parquet", "valid.parquet"):
        t = table(art, name)
        assert not eval_pairs & set(zip(t["user_id"], t["video_id"], strict=True))


def test_training_statistics_do_not_depend_on_small_matrix(tmp_path, art):
    data = copy_fixture(tmp_path)
    header = (FIXTURE / "small_matrix.csv").read_text().splitlines()[0]
    # one other eval row (a header-only small_matrix is an error): user 20 x video 103, not in big_matrix
    (data / "small_matrix.csv").write_text(f"{header}\n20,103,300,3000,,,,0.1\n")
    other = build_features(fixture_config(data, tmp_path / "art"))

    def by_id(a: Path, kind: str, names: list[str]) -> dict:
        ids = np.load(a / f"{kind}_ids.npy").tolist()
        cols = raw(a, kind)
        return {i: [round(float(cols[n][k]), 5) for n in names] for k, i in enumerate(ids)}

    user_cols = [n for n in manifest(art)["user_feature_names"] if n.startswith(("taste_", "train_"))]
    mine, theirs = by_id(art, "user", user_cols), by_id(other, "user", user_cols)
    assert {k: mine[k] for k in theirs} == theirs
    item_cols = ["train_mean_target", "train_like_rate"]
    mine, theirs = by_id(art, "item", item_cols), by_id(other, "item", item_cols)
    assert {k: mine[k] for k in theirs} == theirs
    assert table(other, "train.parquet")["video_id"] and table(other, "eval.parquet")["video_id"] == [103]


@pytest.mark.real_data
def test_real_kuairec_side_files_build(shared_kuairec, tmp_path):
    """The real item_categories, user_features, caption (bare CRs) and social files, with the documented head
    rows of the three large files: every real quirk parses and the features come out finite."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("item_categories", "user_features", "kuairec_caption_category", "social_network"):
        shutil.copy(shared_kuairec / f"{name}.csv", data / f"{name}.csv")
    shutil.copy(shared_kuairec / "big_matrix_head10_from_docs.csv", data / "big_matrix.csv")
    shutil.copy(shared_kuairec / "small_matrix_head2_from_docs.csv", data / "small_matrix.csv")
    shutil.copy(shared_kuairec / "item_daily_features_head2_from_docs.csv", data / "item_daily_features.csv")
    art = build_features(FeatureConfig(data=data, out=tmp_path / "art", threads=1, memory_limit="512MB"))
    m = manifest(art)
    assert (m["n_users"], m["n_items"]) == (7176, 10728)
    assert np.load(art / "item_ids.npy").tolist() == list(range(10728))
    names = m["item_feature_names"]
    cat1 = [n for n in names if n.startswith("cat1=")]
    assert len(cat1) == 38  # 39 first-level ids minus the -124 sentinel
    x = np.load(art / "item_features.npy")
    assert np.isfinite(x).all() and np.isfinite(np.load(art / "user_features.npy")).all()
    it = raw(art, "item")
    assert it["tag_08"][0] == pytest.approx(1.0) and it["tag_27"][1] == pytest.approx(1.0)  # [8]; "[27, 9]"
    assert {c["name"] for c in m["user_categorical"]} >= {"onehot_feat3", "onehot_feat8"}
    assert m["row_counts"]["big_rows_in"] == 10 and m["row_counts"]["eval_rows"] == 2


def test_side_files_that_lack_some_ids_lose_no_interaction(tiny_data, tmp_path):
    """Data from another source may describe only some videos and users in its side files: every
    interaction is still kept, each id gets a finite feature row, and a model trains and evaluates."""
    from click.testing import CliRunner

    from kuaicore.cli import cli

    data = tmp_path / "data"
    shutil.copytree(tiny_data / "data", data)
    for name, key, every in (  # the id is each file's first column
        ("item_categories.csv", "video_id", 5),
        ("item_daily_features.csv", "video_id", 5),
        ("kuairec_caption_category.csv", "video_id", 7),
        ("user_features.csv", "user_id", 4),
    ):
        with open(
            data / name, encoding="utf-8", newline=""
        ) as fh:  # bare \r inside captions stay as they are
            header, *rows = fh.read().split("\n")
        assert header.split(",")[0] == key and rows[-1] == ""
        kept = [row for row in rows[:-1] if int(row.split(",")[0]) % every != 0]
        assert 0 < len(kept) < len(rows) - 1
        with open(data / name, "w", encoding="utf-8", newline="") as fh:
            fh.write("\n".join([header, *kept, ""]))
    art = tmp_path / "art"
    for args in (
        ["validate", str(data)],
        ["build-features", str(data), "--out", str(art), "--threads", "1"],
        ["train", str(art), "--model", "hybrid"],
        ["evaluate", str(art), "--bootstrap", "0"],
    ):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, f"{args}\n{result.output}"
    full = tmp_path / "full"
    build_features(FeatureConfig(data=tiny_data, out=full, threads=1))
    for split in ("train", "valid", "eval"):  # the same interactions as with complete side files
        assert (
            pq.read_table(art / f"{split}.parquet").num_rows
            == pq.read_table(full / f"{split}.parquet").num_rows
        )
    np.testing.assert_array_equal(np.load(art / "item_ids.npy"), np.load(full / "item_ids.npy"))
    np.testing.assert_array_equal(np.load(art / "user_ids.npy"), np.load(full / "user_ids.npy"))
    for name in ("item_features.npy", "user_features.npy"):
        assert np.isfinite(np.load(art / name)).all()


def test_a_bare_cr_in_big_matrix_is_read_from_the_repaired_copy(tiny_data, tiny_art, tmp_path):
    """big_matrix is read in place, unscanned; a bare CR in a row's time text makes that read fail, and the
    build reads the repaired copy instead (the time text is not kept): every artifact equals the clean
    build's, and nothing of the repair is left in ART."""
    data = tmp_path / "kuairec"
    shutil.copytree(tiny_data, data)
    path = data / "data" / "big_matrix.csv"
    lines = path.read_bytes().split(b"\n")
    fields = lines[5].split(b",")
    fields[4] = fields[4][:10] + b"\r" + fields[4][10:]  # 2020-07-05\r08:01:40.228
    lines[5] = b",".join(fields)
    path.write_bytes(b"\n".join(lines))
    art = build_features(FeatureConfig(data=data, out=tmp_path / "art", threads=1))
    m, clean = manifest(art), manifest(tiny_art)
    assert m["files"] == clean["files"] and m["row_counts"] == clean["row_counts"]
    assert sorted(p.name for p in art.iterdir()) == sorted(p.name for p in tiny_art.iterdir())
