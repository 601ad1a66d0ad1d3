"""`kuaicore synth`: real-format files (headers, quirks pinned by regexes on raw lines), planted truth,
determinism, atomic writes, refusal to overwrite, the CLI. Runs at tiny scale or a 300-user cut of `small`."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kuaicore.cli import cli
from kuaicore.config import SynthConfig
from kuaicore.data.synth import resolve_sizes, write_files, write_synthetic
from kuaicore.data.synth.writers import csv_field
from kuaicore.errors import UsageError
from kuaicore.schema import FILES, FILES_BY_NAME

TIME_RE = r"2020-(?:0[789])-\d\d \d\d:\d\d:\d\d(?:\.\d{0,2}[1-9])?"
BIG_RE = re.compile(rf"^(\d+),(\d+),(\d+),(\d+),({TIME_RE}),(2020\d{{4}}),(\d+\.\d{{1,3}}),(\S+)$")
SMALL_RE = re.compile(rf"^(\d+),(\d+),(\d+),(\d+),({TIME_RE})?,(2020\d{{4}}\.0)?,(\d+\.\d{{1,3}})?,(\S+)$")
INT_LIST_RE = re.compile(r'^(\d+),(\[\d+\]|"\[\d+(?:, \d+)+\]")$')


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "kuairec"
    write_synthetic(SynthConfig(out=out, scale="tiny", seed=0))
    return out / "data"


@pytest.fixture(scope="module")
def medium(tmp_path_factory) -> Path:
    """A 300-user cut of the `small` scale (2,500 videos, ~120k big rows, the real 16% density): enough for
    share statistics."""
    folder = tmp_path_factory.mktemp("synth_medium")
    write_files(folder, resolve_sizes("small", n_users=300), seed=0)
    return folder


def _lines(path: Path) -> list[str]:
    return path.read_bytes().decode("utf-8").split("\n")[1:-1]


def _interactions(path: Path) -> np.ndarray:
    """user, video, play, duration, timestamp (NaN if empty) as float64 columns, via a plain text parse."""
    rows = [line.split(",") for line in _lines(path)]
    return np.array(
        [[float(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[6] or "nan")] for r in rows]
    )


def test_all_files_written_with_schema_headers(tiny):
    for kfile in FILES:
        first = (tiny / kfile.filename).read_bytes().split(b"\n", 1)[0].decode()
        assert first == kfile.header, kfile.name
    assert sorted(p.name for p in tiny.iterdir()) == sorted([*(f.filename for f in FILES), "truth.npz"])
    assert not list(tiny.parent.glob("data.tmp-*"))


def test_headers_equal_the_real_files(tiny, shared_kuairec):
    real = {
        "item_categories": "item_categories.csv",
        "user_features": "user_features.csv",
        "social_network": "social_network.csv",
        "kuairec_caption_category": "kuairec_caption_category.csv",
        "big_matrix": "big_matrix_head10_from_docs.csv",
        "small_matrix": "small_matrix_head2_from_docs.csv",
        "item_daily_features": "item_daily_features_head2_from_docs.csv",
    }
    for name, fname in real.items():
        want = (shared_kuairec / fname).read_bytes().split(b"\n", 1)[0]
        got = (tiny / FILES_BY_NAME[name].filename).read_bytes().split(b"\n", 1)[0]
        assert got == want, name


def test_quoting_rule_reproduces_real_lines(shared_kuairec):
    """csv_field re-emits every line of the real small tables byte for byte (quote only , " and newline)."""
    for fname in ("item_categories.csv", "user_features.csv", "social_network.csv"):
        text = (shared_kuairec / fname).read_text(encoding="utf-8")
        for line in text.split("\n")[1:-1]:
            fields = next(csv.reader(io.StringIO(line)))
            assert ",".join(csv_field(f if f != "" else None) for f in fields) == line, (fname, line)


def test_big_matrix_line_format(tiny):
    lines = _lines(tiny / "big_matrix.csv")
    assert len(lines) == 3000
    for line in lines:
        m = BIG_RE.match(line)
        assert m, line
        user, video, play, dur, time, date, ts, wr = m.groups()
        assert wr == repr(int(play) / int(dur)), line
        assert ts == repr(float(ts))
        local = np.datetime64(int(round(float(ts) * 1000)), "ms") + np.timedelta64(8, "h")
        text = str(local).replace("T", " ").rstrip("0").rstrip(".")
        assert time == text, line
        assert date == time[:10].replace("-", "") or int(date) == int(time[:10].replace("-", "")) + 1


def test_small_matrix_line_format_and_empty_times(tiny):
    lines = _lines(tiny / "small_matrix.csv")
    empties = 0
    for line in lines:
        m = SMALL_RE.match(line)
        assert m, line
        play, dur, time, date, ts, wr = m.group(3, 4, 5, 6, 7, 8)
        assert wr == repr(int(play) / int(dur)), line
        assert (time is None) == (date is None) == (ts is None), line
        empties += time is None
        if date is not None:
            assert date == time[:10].replace("-", "") + ".0"
    assert 0 < empties < 0.15 * len(lines)


def test_rows_sorted_by_user_then_time_empty_times_last(tiny):
    for name in ("big_matrix", "small_matrix"):
        a = _interactions(tiny / f"{name}.csv")
        ts = np.where(np.isnan(a[:, 4]), np.inf, a[:, 4])
        order = np.lexsort((ts, a[:, 0]))
        assert np.array_equal(order, np.arange(len(a))), name


def test_list_columns_quirks(tiny):
    feats = _lines(tiny / "item_categories.csv")
    assert [int(line.split(",")[0]) for line in feats] == list(range(120))
    assert all(INT_LIST_RE.match(line) for line in feats)
    assert any('"[' in line for line in feats) and any(",[" in line for line in feats)
    social = [INT_LIST_RE.match(line) for line in _lines(tiny / "social_network.csv")]
    assert all(social)
    graph = {int(m.group(1)): [int(x) for x in m.group(2).strip('"[]').split(", ")] for m in social}
    for u, friends in graph.items():
        assert 1 <= len(friends) <= 5 and u not in friends
        assert all(u in graph[f] for f in friends)  # symmetric and closed


def test_caption_file_quirks(tiny):
    raw = (tiny / "kuairec_caption_category.csv").read_bytes()
    assert raw.count(b"\r") == 1  # tiny scale keeps one bare CR
    text = raw.decode("utf-8")
    lines = text.split("\n")[1:-1]
    assert len(lines) == 120  # only \n ends a row
    cr_line = next(line for line in lines if "\r" in line)
    assert not re.search(r'"[^"]*\r', cr_line), "the CR field must stay unquoted"
    rows = [next(csv.reader(io.StringIO(line.replace("\r", "<CR>")))) for line in lines]
    assert all(len(r) == 10 for r in rows)
    assert any(r[1] == "UNKNOWN" for r in rows) and any(r[2] == "" for r in rows)
    assert any(r[3] == "[]" for r in rows)
    assert all(re.fullmatch(r"\[(?:[^,\[\]\" ]+(?:,[^,\[\]\" ]+)*)?\]", r[3]) for r in rows)
    assert any(r[6] == "-124" and r[7] == "UNKNOWN" for r in rows)
    assert any(re.search(r"[\u4e00-\u9fff]", r[2]) for r in rows)


def test_user_features_quirks(tiny):
    rows = [next(csv.reader(io.StringIO(line))) for line in _lines(tiny / "user_features.csv")]
    assert [int(r[0]) for r in rows] == list(range(60))
    onehot = [r[13:] for r in rows]
    assert any(r[12] == "" for r in onehot)
    assert all(r[i] != "" for r in onehot for i in set(range(18)) - {4, 12, 13, 14, 15, 16, 17})
    assert all(re.fullmatch(r"-?\d+", v) for r in onehot for v in r if v)  # ints, never "2.0"
    assert '"(' in (tiny / "user_features.csv").read_text(encoding="utf-8")  # quoted range labels


def test_item_daily_quirks(tiny):
    rows = [line.split(",") for line in _lines(tiny / "item_daily_features.csv")]
    assert all(len(r) == 58 for r in rows)
    assert all(re.fullmatch(r"\d+\.0", r[7]) for r in rows)  # video_duration "5966.0"
    assert any(int(r[10]) > 2**31 for r in rows)  # music_id beyond int32
    early = [r for r in rows if int(r[1]) < 20200810]
    late = [r for r in rows if int(r[1]) >= 20200810]
    assert early and late
    assert all(r[54:] == ["", "", "", ""] for r in early)
    assert all(re.fullmatch(r"\d+\.0", v) for r in late for v in r[54:])
    keys = [(int(r[0]), int(r[1])) for r in rows]
    assert keys == sorted(set(keys))


def test_truth_matches_small_matrix(tiny):
    truth = np.load(tiny / "truth.npz")
    small = _interactions(tiny / "small_matrix.csv")
    assert np.array_equal(truth["user_id"], np.unique(small[:, 0]).astype(np.int64))
    assert np.array_equal(truth["video_id"], np.unique(small[:, 1]).astype(np.int64))
    ewr = truth["expected_watch_ratio"]
    assert ewr.dtype == np.float32 and ewr.shape == (16, 40)
    assert np.all(np.isfinite(ewr)) and np.all(ewr > 0)
    assert int(truth["seed"]) == 0
    assert truth["item_quality"].shape == (120,) and truth["video_duration_ms"].shape == (120,)
    assert str(truth["world"]) == "mixed" and truth["upload_day"].shape == (120,)
    big = _interactions(tiny / "big_matrix.csv")
    assert np.array_equal(truth["video_duration_ms"][big[:, 1].astype(np.int64)], big[:, 3])


def test_no_small_pair_in_big_and_small_videos_popular(medium):
    big = _interactions(medium / "big_matrix.csv")
    small = _interactions(medium / "small_matrix.csv")
    n_items = 2500
    big_pairs = set((big[:, 0] * n_items + big[:, 1]).astype(np.int64).tolist())
    small_pairs = set((small[:, 0] * n_items + small[:, 1]).astype(np.int64).tolist())
    assert not big_pairs & small_pairs
    counts = np.bincount(big[:, 1].astype(np.int64), minlength=n_items)
    small_videos = np.unique(small[:, 1]).astype(np.int64)
    assert np.median(counts[small_videos]) > 5 * np.median(counts)  # real: 32x the others' median
    small_users = np.unique(small[:, 0]).astype(np.int64)
    per_user = np.bincount(big[:, 0].astype(np.int64))
    # every small user has a big history of at least the real minimum (100 rows at full size, ~400/1,746 of
    # it here), lighter than the others' (their big rows are the other videos' views, ~2M in the real log)
    assert per_user[small_users].min() >= 20
    others = np.setdiff1d(np.flatnonzero(per_user), small_users)
    assert np.median(per_user[small_users]) < np.median(per_user[others])
    density = len(small) / (len(small_users) * len(small_videos))
    assert 0.99 < density < 1.0


def test_shares_and_watch_ratio_statistics(medium):
    text = (medium / "big_matrix.csv").read_text(encoding="utf-8").split("\n")[1:-1]
    dup_share = 1 - len(set(text)) / len(text)
    assert 0.065 < dup_share < 0.09
    big = _interactions(medium / "big_matrix.csv")
    wr = big[:, 2] / big[:, 3]
    assert 0.55 < np.median(wr) < 0.85
    assert 0.27 < np.mean(wr >= 1) < 0.42
    assert 0.003 < np.mean(wr > 5) < 0.025
    assert np.mean(wr == 0) > 0
    small = _interactions(medium / "small_matrix.csv")
    assert 0.03 < np.mean(np.isnan(small[:, 4])) < 0.05
    assert 0.04 < np.mean(small[:, 2] / small[:, 3] >= 2.0) < 0.15


def test_no_user_feature_column_reveals_the_planted_segment(medium):
    """Each user_features column alone predicts the taste segment no better than the commonest segment
    (value -> majority segment learned on half of the users, scored on the other half)."""
    segment = np.load(medium / "truth.npz")["user_segment"]
    rows = [next(csv.reader(io.StringIO(line))) for line in _lines(medium / "user_features.csv")]
    half = np.arange(len(rows)) % 2 == 0
    base = np.mean(segment[~half] == np.bincount(segment[half]).argmax())
    for col in range(1, 31):
        values = np.array([r[col] for r in rows])
        learned = {}
        for v in np.unique(values[half]):
            learned[v] = np.bincount(segment[half][values[half] == v]).argmax()
        guess = np.array([learned.get(v, -1) for v in values[~half]])
        assert np.mean(guess == segment[~half]) <= base + 0.08, col


def test_no_view_before_upload_and_a_changing_catalogue(medium):
    truth = np.load(medium / "truth.npz")
    big = _interactions(medium / "big_matrix.csv")
    day = (big[:, 4] * 1000 - 1_593_878_400_000) // 86_400_000
    upload = truth["upload_day"][big[:, 1].astype(np.int64)]
    assert np.all(day >= upload)
    late = day >= 56  # from 2020-08-30 on
    new = np.setdiff1d(np.unique(big[late, 1]), np.unique(big[~late, 1]))
    share_new = np.isin(big[late, 1], new).mean()
    assert 0.06 < share_new < 0.25 and 0.1 < late.mean() < 0.22  # real: 12.5%, 15.9%


def test_rewatches_are_a_minority_of_rows(medium):
    text = (medium / "big_matrix.csv").read_text(encoding="utf-8").split("\n")[1:-1]
    dedup = sorted(set(text))
    pairs = {tuple(line.split(",")[:2]) for line in dedup}
    assert 0.08 < 1 - len(pairs) / len(dedup) < 0.14  # real: 10.9% of de-duplicated rows


def _ndcg10(scores: np.ndarray, rel: np.ndarray) -> float:
    order = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    disc = 1 / np.log2(np.arange(2, 12))
    dcg = (np.take_along_axis(rel, order, 1) * disc).sum(1)
    idcg = (np.sort(rel, 1)[:, ::-1][:, :10] * disc).sum(1)
    ok = idcg > 0
    return float((dcg[ok] / idcg[ok]).mean())


def test_planted_truth_ranks_far_better_than_random(medium):
    truth = np.load(medium / "truth.npz")
    small = _interactions(medium / "small_matrix.csv")
    users, videos = truth["user_id"], truth["video_id"]
    rel = np.zeros((len(users), len(videos)))
    rel[np.searchsorted(users, small[:, 0]), np.searchsorted(videos, small[:, 1])] = (
        small[:, 2] / small[:, 3] >= 2
    )
    oracle = _ndcg10(truth["expected_watch_ratio"], rel)
    rand = _ndcg10(np.random.default_rng(0).random(rel.shape), rel)
    assert oracle > 0.6 and oracle > 3 * rand
    # the planted mean tracks the observed ratio (capped at 5, as the features stage does)
    obs = np.minimum(small[:, 2] / small[:, 3], 5.0)
    exp = truth["expected_watch_ratio"][
        np.searchsorted(users, small[:, 0]), np.searchsorted(videos, small[:, 1])
    ]
    assert np.corrcoef(obs, np.minimum(exp, 5.0))[0, 1] > 0.5


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_other_seed_differs(tiny, tmp_path):
    write_synthetic(SynthConfig(out=tmp_path / "a", scale="tiny", seed=0))
    write_synthetic(SynthConfig(out=tmp_path / "b", scale="tiny", seed=1))
    assert _digest(tmp_path / "a" / "data") == _digest(tiny)
    other = _digest(tmp_path / "b" / "data")
    assert all(other[k] != v for k, v in _digest(tiny).items())


def test_refuses_to_overwrite_and_accepts_empty_dir(tmp_path):
    (tmp_path / "data").mkdir()
    write_synthetic(SynthConfig(out=tmp_path, scale="tiny", seed=3, n_users=12, n_items=30))
    assert (tmp_path / "data" / "big_matrix.csv").is_file()
    with pytest.raises(UsageError, match="already exists"):
        write_synthetic(SynthConfig(out=tmp_path, scale="tiny", seed=3))
    assert not list(tmp_path.glob("data.tmp-*"))


def test_overrides_scale_the_small_block():
    sizes = resolve_sizes("small", n_users=750, n_items=1250)
    assert (sizes.n_small_users, sizes.n_small_items, sizes.big_rows) == (150, 350, 300_000)
    assert resolve_sizes("full").big_rows == 12_530_806
    with pytest.raises(UsageError):
        resolve_sizes("huge")


def test_cli_synth_and_overwrite_refusal(tmp_path):
    runner = CliRunner()
    args = ["synth", str(tmp_path / "kr"), "--scale", "tiny", "--seed", "5", "--users", "20", "--items", "40"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "big_matrix" in result.output
    big = _interactions(tmp_path / "kr" / "data" / "big_matrix.csv")
    assert big[:, 0].max() == 19 and big[:, 1].max() <= 39
    again = runner.invoke(cli, args)
    assert again.exit_code == 2 and "already exists" in again.output


def test_output_passes_the_validator(tiny):
    validate = pytest.importorskip("kuaicore.data.validate")
    report = validate.validate_dataset(tiny.parent)
    assert report.overlap_pairs == 0
    rows = {f.file: f.rows for f in report.files}
    assert rows["big_matrix.csv"] == 3000
    assert rows["kuairec_caption_category.csv"] == 120


def test_smallest_override_still_valid(tmp_path):
    validate = pytest.importorskip("kuaicore.data.validate")
    write_synthetic(SynthConfig(out=tmp_path, scale="tiny", seed=2, n_users=4, n_items=8))
    report = validate.validate_dataset(tmp_path)
    rows = {f.file: f.rows for f in report.files}
    assert rows["social_network.csv"] >= 2 and rows["small_matrix.csv"] >= 4


def test_prefetch_keeps_order_reraises_and_stops():
    from kuaicore.data.synth.writers import prefetch

    assert list(prefetch(iter(range(50)), depth=2)) == list(range(50))

    def broken():
        yield 1
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        list(prefetch(broken()))
    endless = prefetch(iter(range(10**9)), depth=1)
    assert next(endless) == 0
    endless.close()  # must not hang on the blocked producer


def test_interaction_formatting_hand_checked(tmp_path):
    """Hand-checked rows: trimmed fractions, whole seconds, repr of 0.0, 1.0, 3e-06, small's NULL/.0 date."""
    from kuaicore.data.synth.writers import copy_chunks, interaction_select

    ts = np.array([1593878903438, 1593882025500, 1593882025000, 1593882025050, -1], dtype=np.int64)
    chunk = {
        "user_id": np.array([0, 0, 0, 0, 0]),
        "video_id": np.array([3649, 1, 2, 3, 4]),
        "play_duration": np.array([13838, 0, 7, 3, 5]),
        "video_duration": np.array([10867, 10, 7, 1_000_000, 3]),
        "ts_ms": ts,
        "date": np.array([20200705, 20200705, 20200706, 20200905, -1]),
    }
    path = tmp_path / "small.csv"
    select = interaction_select(date_as_double=True)
    n = copy_chunks(path, "h", iter([chunk]), select, nullable=("ts_ms", "date"))
    assert n == 5
    assert path.read_text().split("\n") == [
        "h",
        "0,3649,13838,10867,2020-07-05 00:08:23.438,20200705.0,1593878903.438,1.2733965215790926",
        "0,1,0,10,2020-07-05 01:00:25.5,20200705.0,1593882025.5,0.0",
        "0,2,7,7,2020-07-05 01:00:25,20200706.0,1593882025.0,1.0",
        "0,3,3,1000000,2020-07-05 01:00:25.05,20200905.0,1593882025.05,3e-06",
        "0,4,5,3,,,,1.6666666666666667",
        "",
    ]


def test_cli_world_is_printed_and_recorded(tmp_path):
    runner = CliRunner()
    args = ["synth", str(tmp_path / "kr"), "--users", "20", "--items", "40", "--world", "collaborative"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "world collaborative" in result.output
    assert str(np.load(tmp_path / "kr" / "data" / "truth.npz")["world"]) == "collaborative"
    bad = runner.invoke(cli, ["synth", str(tmp_path / "x"), "--world", "flat"])
    assert bad.exit_code == 2 and "--world" in bad.output


def test_worlds_move_the_taste_keep_the_files(tmp_path):
    """Same seed, other world: same file sizes and similar watch-ratio shares; taste lives elsewhere: the
    share of the planted variance that tags/categories explain is highest in `content`, lowest in
    `collaborative`/`popular` (`mixed-taste` between); item quality explains most in `popular`."""
    from kuaicore.data.synth import truth

    sizes = resolve_sizes("small", n_users=200, n_items=400)
    explained = {}
    for name in ("mixed", "collaborative", "content", "mixed-taste", "popular"):
        folder = tmp_path / name
        folder.mkdir()
        rows = write_files(folder, sizes, seed=0, world=name)
        assert rows["big_matrix"] == sizes.big_rows
        big = _interactions(folder / "big_matrix.csv")
        wr = big[:, 2] / big[:, 3]
        assert 0.25 < np.mean(wr >= 1) < 0.45, name
        w = truth.make_world(sizes.n_users, sizes.n_items, 0, name)
        users = np.arange(sizes.n_users)
        content = w.taste_tag @ w.tag_weights.T + w.taste_cat[:, w.category]
        total = truth.affinity(w, users) + w.quality[None, :]
        explained[name] = (np.var(content) / np.var(total), np.var(w.quality) / np.var(total))
    assert explained["content"][0] > explained["mixed"][0] > explained["collaborative"][0]
    assert explained["content"][0] > explained["mixed-taste"][0] > explained["collaborative"][0]
    assert explained["content"][0] > 0.8 and explained["collaborative"][0] < 0.15
    assert explained["popular"][1] > 0.6 > explained["mixed"][1]


def test_engagement_rates_are_a_noisy_view_of_quality(medium):
    """item_daily's like and complete-play rates follow quality (as a platform's do) without revealing it."""
    truth = np.load(medium / "truth.npz")
    cols = (0, 15, 18, 28)  # video_id, play_cnt, complete_play_cnt, like_cnt
    lines = _lines(medium / "item_daily_features.csv")
    vid, play_cnt, complete, like = np.array(
        [[float(r[c]) for c in cols] for r in (line.split(",") for line in lines)]
    ).T
    play = np.bincount(vid.astype(np.int64), play_cnt)
    for counts in (complete, like):
        events = np.bincount(vid.astype(np.int64), counts)
        ok = (play > 0) & (events > 0)
        corr = np.corrcoef(np.log(events[ok] / play[ok]), truth["item_quality"][ok])[0, 1]
        assert 0.3 < corr < 0.85, corr
