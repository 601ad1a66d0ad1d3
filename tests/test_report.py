"""Tests of `kuaicore report`: the page of a tiny ART with two fake runs (sections, embedded PNGs that decode,
tables with the right rows), streamed EDA statistics against brute-force NumPy, the markdown table parser,
compare.json support, atomic and deterministic writes, and the CLI's exit codes.

The fake runs hold embeddings, a train log and a metrics.json in the shape `kuaicore evaluate` writes, so no
training or evaluation runs here. test_report_browser.py imports the helpers below.
"""

from __future__ import annotations

import base64
import csv
import json
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from kuaicore.cli import cli
from kuaicore.errors import ArtifactError
from kuaicore.report import write_report
from kuaicore.report.eda import WR_BINS, WR_MAX, compute_eda, item_durations_s, weighted_quantiles
from kuaicore.report.markdown import parse_markdown_tables

RUNS = ("two-tower-softmax-s0", "two-tower-mse-s0")
KS = (10, 50)
METRICS = ("ndcg", "recall", "precision", "hit_rate", "mrr", "map")
SECTIONS = (
    "Dataset summary",
    "Exploratory data analysis",
    "Training curves",
    "Metrics@K",
    "Model comparison",
    "Benchmarks",
)
BENCH_MD = """# Benchmarks

Measured on a laptop.

## features

| stage | wall s | peak RSS MB |
|---|---:|---:|
| build-features | 12.5 | 900 |
| pandas baseline | 80.1 | 7000 |

## top-K

| kernel | users/s |
|--|--|
| numba | 1e6 |

```
stage  wall s
| not | a table |
|---|---|
numba  1.0
```
"""


# ---------------------------------------------------------------- helpers (also used by the browser test)


def fake_row(name: str, level: float) -> dict:
    """One result row: metric@K = level * factors, a CI of +-0.02, catalog stats."""
    metrics = {}
    for j, m in enumerate(METRICS):
        for k in KS:
            mean = round(level * (1 + j / 10) * (1 + k / 100), 6)
            metrics[f"{m}@{k}"] = {"mean": mean, "lo": mean - 0.02, "hi": mean + 0.02}
    return {
        "name": name,
        "metrics": metrics,
        "catalog": {f"coverage@{k}": 0.5 for k in KS} | {f"mean_popularity@{k}": 10.0 for k in KS},
    }


def fake_result(models: dict[str, float]) -> dict:
    """A result dict as `kuaicore evaluate` writes it: model rows, then random/popularity/oracle."""
    rows = [fake_row(n, lv) for n, lv in models.items()]
    rows += [fake_row("random", 0.1), fake_row("popularity", 0.15), fake_row("oracle", 0.5)]
    by = {r["name"]: r for r in rows}
    for row in rows:
        row["lift"] = {m: v["mean"] / by["random"]["metrics"][m]["mean"] for m, v in row["metrics"].items()}
        row["fraction_of_oracle"] = {
            m: v["mean"] / by["oracle"]["metrics"][m]["mean"] for m, v in row["metrics"].items()
        }
    return {
        "art": "x",
        "protocol": "small",
        "label": "wr",
        "threshold": 2.0,
        "ks": list(KS),
        "seed": 0,
        "bootstrap": 100,
        "users_evaluated": 50,
        "users_skipped_no_relevant": 10,
        "rows": rows,
    }


def make_art_with_runs(tiny_art: Path, dest: Path) -> Path:
    """Copy ``tiny_art`` to ``dest`` and add RUNS (3 and 2 logged epochs) with metrics.json each."""
    shutil.copytree(tiny_art, dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    rng = np.random.default_rng(0)
    for i, run in enumerate(RUNS):
        folder = dest / "runs" / run
        folder.mkdir(parents=True)
        np.save(folder / "user_emb.npy", rng.normal(size=(manifest["n_users"], 4)).astype(np.float32))
        np.save(folder / "item_emb.npy", rng.normal(size=(manifest["n_items"], 4)).astype(np.float32))
        log = [
            {
                "epoch": e,
                "step": 5 * e,
                "loss": 1.0 / e + i,
                "valid_loss": 1.2 / e + i,
                "recall": 0.1 * e,
                "samples_per_s": 1000.0,
                "seconds": 0.5,
            }
            for e in range(1, 4 - i)
        ]
        (folder / "train_log.jsonl").write_text("".join(json.dumps(x) + "\n" for x in log))
        result = fake_result({run: 0.2 + 0.1 * i}) | {"run": run}
        (folder / "metrics.json").write_text(json.dumps(result))
    (dest / "runs" / "latest").write_text(RUNS[-1])
    return dest


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; AssertionError if ``data`` is not a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    assert data[12:16] == b"IHDR", "first chunk is not IHDR"
    return struct.unpack(">II", data[16:24])


def embedded_pngs(page: str) -> list[bytes]:
    payloads = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    return [base64.b64decode(m, validate=True) for m in payloads]


def table_rows(page: str, table_id: str) -> list[list[str]]:
    """The body rows (cell texts) of the table with ``id``."""
    body = re.search(rf'<table id="{re.escape(table_id)}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body, f"no table {table_id}"
    return [re.findall(r"<td[^>]*>(.*?)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", body.group(1))]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def art(tiny_art, tmp_path_factory) -> Path:
    return make_art_with_runs(tiny_art, tmp_path_factory.mktemp("report") / "art")


@pytest.fixture(scope="module")
def report(art, tmp_path_factory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("out")
    (folder / "BENCHMARKS.md").write_text(BENCH_MD)
    out = write_report(art, folder / "report.html", folder / "BENCHMARKS.md")
    return out, out.read_text(encoding="utf-8")


# ---------------------------------------------------------------- the page


def test_every_section_heading_is_present_in_order(report):
    _, page = report
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert headings == list(SECTIONS)


def test_images_are_embedded_pngs_that_decode(report):
    _, page = report
    assert page.count("<img ") == 7  # 4 EDA + training curves + one metrics@K figure per model
    pngs = embedded_pngs(page)
    assert len(pngs) == 7
    for data in pngs:
        width, height = png_size(data)
        assert 300 <= width <= 3000 and 200 <= height <= 3000
        assert data.endswith(b"IEND\xaeB`\x82")


def test_page_is_self_contained(report):
    _, page = report
    assert "<script" not in page and "<link" not in page
    assert not re.search(r'(src|href)="(?!data:|#)', page), "the page refers to something outside itself"


def test_summary_tables_match_the_manifest_and_the_parquets(report, art):
    _, page = report
    manifest = json.loads((art / "manifest.json").read_text())
    facts = dict(table_rows(page, "summary-facts"))
    assert facts["users (dense indices)"] == f"{manifest['n_users']:,}"
    assert facts["videos (dense indices)"] == f"{manifest['n_items']:,}"
    assert facts["duplicate rows dropped"] == f"{manifest['row_counts']['big_duplicates_dropped']:,}"
    assert facts["label rule"] == "wr: watch_ratio &gt; 2.0"
    splits = {row[0]: row for row in table_rows(page, "summary-splits")}
    assert list(splits) == ["train", "valid", "eval"]
    for split, row in splits.items():
        label = pq.read_table(art / f"{split}.parquet", columns=["label"]).column("label").to_numpy()
        assert row[1] == f"{label.size:,}" and row[2] == f"{int((label > 0.5).sum()):,}"


def test_training_and_comparison_tables_have_one_row_per_run(report):
    _, page = report
    last = table_rows(page, "training-last")
    assert [r[0] for r in last] == sorted(RUNS)
    assert dict((r[0], r[1]) for r in last) == {RUNS[0]: "3", RUNS[1]: "2"}
    rows = table_rows(page, "comparison")
    assert [r[0] for r in rows] == [*sorted(RUNS), "random", "popularity", "oracle"]
    mse = rows[0]  # two-tower-mse-s0: level 0.3, ndcg@10 = 0.3 * 1.1
    assert mse[1] == "0.3300 [0.3100, 0.3500]"
    assert rows[2][1].startswith("0.1100") and rows[0][-3] == "3.00x" and rows[-1][-2] == "100.0%"


def test_benchmark_tables_are_rendered(report):
    _, page = report
    assert table_rows(page, "benchmark-0") == [
        ["build-features", "12.5", "900"],
        ["pandas baseline", "80.1", "7000"],
    ]
    assert table_rows(page, "benchmark-1") == [["numba", "1e6"]]
    assert "<h3>features</h3>" in page and "<h3>top-K</h3>" in page
    output = re.search(r'<pre class="benchmark-output">(.*?)</pre>', page, re.S)
    assert output and output.group(1) == "stage  wall s\n| not | a table |\n|---|---|\nnumba  1.0"


def test_compare_json_replaces_the_per_run_metrics(art, tmp_path):
    result = fake_result({"als-s0": 0.4, "linear-s0": 0.25})
    for row in result["rows"][:2]:
        row |= {"train_seconds": 12.34, "peak_rss_mb": 456.0}
    (art / "compare.json").write_text(json.dumps(result))
    baseline = art / "runs" / "popularity-s0"  # a one-pass model: its log has no loss curve
    baseline.mkdir()
    (baseline / "train_log.jsonl").write_text('{"epoch": 1, "rows": 2521, "seconds": 2.5, "step": 1}\n')
    try:
        page = write_report(art, tmp_path / "r.html").read_text()
    finally:
        (art / "compare.json").unlink()
        shutil.rmtree(baseline)
    assert "no loss curves logged (one-pass or closed-form fits): popularity-s0" in page
    last = {r[0]: r for r in table_rows(page, "training-last")}
    assert list(last) == ["popularity-s0", *sorted(RUNS)] and last["popularity-s0"][-1] == "2.5"
    rows = table_rows(page, "comparison")
    assert [r[0] for r in rows] == ["als-s0", "linear-s0", "random", "popularity", "oracle"]
    assert rows[0][-2:] == ["12.3", "456.0"] and rows[2][-2:] == ["-", "-"]
    assert "peak RSS MB" in page and "from compare.json" in page
    assert page.count("<img ") == 7  # two models again -> two metrics@K figures
    assert "no benchmarks file given" in page


def test_an_art_without_runs_still_reports(tiny_art, tmp_path):
    page = write_report(tiny_art, tmp_path / "r.html").read_text()
    assert re.findall(r"<h2>(.*?)</h2>", page) == list(SECTIONS)
    assert page.count("<img ") == 4 and "no evaluation yet" in page and "no run with a train_log" in page


# ---------------------------------------------------------------- streamed statistics vs brute force


def test_eda_matches_numpy_over_the_whole_table(art):
    manifest = json.loads((art / "manifest.json").read_text())
    eda = compute_eda(art, manifest)
    t = pq.read_table(art / "train.parquet")
    users = t.column("user_idx").to_numpy()
    wr = t.column("watch_ratio").to_numpy().astype(np.float64)
    assert eda.rows == len(t)
    np.testing.assert_array_equal(eda.user_counts, np.bincount(users, minlength=manifest["n_users"]))
    np.testing.assert_array_equal(eda.item_counts, np.load(art / "item_train_counts.npy"))
    hist, _ = np.histogram(wr[wr < WR_MAX], bins=WR_BINS, range=(0, WR_MAX))
    np.testing.assert_array_equal(eda.wr_hist, hist)
    assert eda.wr_overflow == int((wr >= WR_MAX).sum())
    assert eda.wr_at_least == {t_: int((wr >= t_).sum()) for t_ in (0.8, 1.0, 2.0)}
    assert eda.label_positive == int((t.column("label").to_numpy() > 0.5).sum())
    assert eda.wr_by_duration.sum() == len(t)  # every tiny video has a duration
    feats = np.load(art / "item_features.npy")
    names = manifest["item_feature_names"]
    tag_cols = [j for j, n in enumerate(names) if n.startswith("tag_")]
    present = feats[:, tag_cols] > 0  # a standardised 0/1 column is > 0 exactly where it was 1
    assert eda.tag_names == [names[j] for j in tag_cols]
    expected = [eda.item_counts[present[:, j]].sum() for j in range(len(tag_cols))]
    np.testing.assert_array_equal(eda.tag_views, expected)


def test_durations_invert_the_standardised_feature(art, tiny_data):
    manifest = json.loads((art / "manifest.json").read_text())
    durations = item_durations_s(art, manifest)
    ids = np.load(art / "item_ids.npy")
    daily: dict[int, list[float]] = {}
    with open(tiny_data / "data" / "item_daily_features.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["video_duration"]:
                daily.setdefault(int(row["video_id"]), []).append(float(row["video_duration"]))
    checked = 0
    for idx, vid in enumerate(ids):
        if int(vid) in daily:
            assert durations[idx] == pytest.approx(np.median(daily[int(vid)]) / 1000.0, rel=1e-4)
            checked += 1
    assert checked > len(ids) // 2


def test_histogram_quantiles_hand_checked():
    edges = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    q = weighted_quantiles(edges, np.array([[0, 2, 0, 2], [4, 0, 0, 0], [0, 0, 0, 0]]), (0.25, 0.5, 1.0))
    np.testing.assert_allclose(q[0], [1.5, 2.0, 4.0])
    np.testing.assert_allclose(q[1], [0.25, 0.5, 1.0])
    assert np.isnan(q[2]).all()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 5), min_size=1, max_size=12).filter(lambda c: sum(c) > 0), st.floats(0.01, 0.99)
)
def test_histogram_quantile_lies_in_the_bin_where_the_cdf_crosses(counts, q):
    counts = np.array(counts)
    edges = np.arange(counts.size + 1, dtype=float)
    value = weighted_quantiles(edges, counts, (q,))[0]
    cum = np.cumsum(counts)
    b = int(np.searchsorted(cum, q * cum[-1]))  # first bin whose cumulative count reaches q
    assert edges[b] - 1e-9 <= value <= edges[b + 1] + 1e-9


# ---------------------------------------------------------------- markdown tables


def test_markdown_tables_hand_checked():
    tables = parse_markdown_tables(BENCH_MD + "\n| a \\| b | c |\n|:-|-:|\n| 1 | 2 |\n")
    assert [t.title for t in tables] == ["features", "top-K", "top-K"]  # not the fenced one
    assert tables[0].header == ["stage", "wall s", "peak RSS MB"]
    assert tables[2].header == ["a | b", "c"] and tables[2].rows == [["1", "2"]]
    assert parse_markdown_tables("no | table here\njust text\n") == []


cell = st.text(
    st.characters(codec="utf-8", exclude_characters="|\\\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"), max_size=8
).map(str.strip)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda n: st.tuples(
            st.lists(cell.filter(bool), min_size=n, max_size=n),
            st.lists(st.lists(cell, min_size=n, max_size=n), max_size=4),
        )
    )
)
def test_markdown_round_trip(table):
    header, rows = table
    text = "\n".join("| " + " | ".join(r) + " |" for r in [header, ["---"] * len(header), *rows]) + "\n"
    (parsed,) = parse_markdown_tables(text)
    assert parsed.header == header and parsed.rows == rows


# ---------------------------------------------------------------- writing and the CLI


def test_write_is_atomic(art, report, monkeypatch):
    out, page = report
    before = out.read_bytes()
    import kuaicore.report.sections as sections

    def boom(data):
        raise RuntimeError("disk full")

    monkeypatch.setattr(sections, "render", boom)
    with pytest.raises(RuntimeError):
        write_report(art, out)
    assert out.read_bytes() == before  # the old report is untouched, no temporary file is left
    assert sorted(p.name for p in out.parent.iterdir()) == ["BENCHMARKS.md", "report.html"]


def test_bad_artifacts_name_the_file(art, tmp_path):
    bad = tmp_path / "art"
    shutil.copytree(art, bad)
    (bad / "runs" / RUNS[0] / "train_log.jsonl").write_text('{"epoch": 1}\nnot json\n')
    with pytest.raises(ArtifactError, match=r"train_log.jsonl: line 2"):
        write_report(bad, tmp_path / "r.html")
    (bad / "runs" / RUNS[0] / "train_log.jsonl").unlink()
    (bad / "runs" / RUNS[1] / "metrics.json").write_text('{"rows": [{"x": 1}]}')
    with pytest.raises(ArtifactError, match=r"metrics.json: expected an evaluation result"):
        write_report(bad, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_cli_writes_the_same_bytes_and_exits_2_on_bad_input(art, report, tmp_path):
    first, _ = report
    runner = CliRunner()
    out = tmp_path / "r.html"
    ok = runner.invoke(
        cli, ["report", str(art), "--out", str(out), "--benchmarks", str(first.parent / "BENCHMARKS.md")]
    )
    assert ok.exit_code == 0, ok.output
    assert str(out) in ok.output
    assert out.read_bytes() == first.read_bytes()  # same ART -> same bytes
    cases = [
        (["report", str(tmp_path / "missing"), "--out", str(out)], "no such artifact folder"),
        (["report", str(art), "--out", str(tmp_path / "no" / "r.html")], "does not exist"),
        (["report", str(art), "--out", str(out), "--benchmarks", str(tmp_path / "B.md")], "--benchmarks"),
        (["report", str(tmp_path), "--out", str(out)], "manifest.json: missing"),
    ]
    for args, message in cases:
        res = runner.invoke(cli, args)
        assert res.exit_code == 2, (args, res.output)
        assert message in res.output and "Traceback" not in res.output


def test_help_does_not_import_matplotlib():
    code = (
        "import sys; from kuaicore.cli import main; sys.argv = ['kuaicore', '--help']\ntry: main()\n"
        "except SystemExit: pass\nprint('matplotlib' in sys.modules, 'kuaicore.report' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False False")
