"""Benchmark `kuaicore build-features`: wall time and peak RSS vs a count-only scan and a pandas baseline.

    python benchmarks/bench_features.py                        # full-size synthetic twin (written first)
    python benchmarks/bench_features.py --data /tmp/syn_full   # an existing folder (real or synthetic)
    python benchmarks/bench_features.py --scale small          # quick
    python benchmarks/bench_features.py --data /tmp/syn_full --repeat 3   # medians of 3 interleaved runs

Stages, each in its own child process so that each peak RSS is its own:
  count-only  DuckDB counting the rows of every CSV (the canonical read_csv, same memory limit and threads).
              count(*) converts no values, so this is the floor for anything that must open the files.
  read every value
              the same reads with every column converted (max of each): the floor for anything that must
              read every value once, as feature building must.
  kuaicore    `kuaicore build-features DATA --out ART --memory-limit M` (with and without the validate scan).
  pandas      the seeds' approach to the same item/user features: pandas reads each CSV whole, drops exact
              duplicates, splits each user's last rows by time, and builds per-item aggregates/rates/training
              statistics and per-user per-tag / per-category taste, profile one-hots, all standardized.
              It writes no parquet, so it does less work than kuaicore.
  polars      the peer a user would pick: staged lazy frames computing the same train/valid/eval rows
              (indices, targets, labels) and per-item training counts (benchmarks/_peer_features.py); after
              timing, the child asserts they equal the ART the kuaicore stage wrote. Needs ``.[bench]``.
              With ``--peer-writes`` also the same peer writing train/valid/eval.parquet with the ART's
              columns and orders (train shuffled by polars' own seeded hash), the files checked against
              the ART's: what a user of polars would write to feed training (still no feature matrices).

Each stage also reports its process CPU time (user + system, all threads): on a machine shared with other
jobs, the CPU-time ratio is the per-core comparison and the wall-time ratio also measures how much of the
busy cores each contender obtained; its system part (page faults on fresh memory, file reads and writes) is
shown apart, as the contenders differ most there. Below the table, the median kuaicore run's seconds per SQL
query (the manifest's ``queries``) and the rest of its wall time (Python: checks, fetching and assembling the
feature matrices, checksums), so that the remaining time can be placed. ``--skip-validate`` leaves out the
slow ``--validate`` stage.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import Timer, machine_line, peak_rss_mb, print_table  # noqa: E402

FILES = ("big_matrix", "small_matrix", "item_categories", "user_features", "social_network",
         "kuairec_caption_category", "item_daily_features")  # fmt: skip


def scan_csvs(data: Path, memory_limit: str, threads: int | None, every_value: bool) -> dict:
    """Count the rows of every CSV with the canonical read_csv; with ``every_value``, also take ``max`` of
    every column, so that every value is converted (count(*) alone converts none)."""
    from kuaicore.data.paths import resolve_data_dir
    from kuaicore.data.readers import READ_CSV_SQL, connect, read_csv_params
    from kuaicore.schema import FILES_BY_NAME

    select = "count(*), max(COLUMNS(*))" if every_value else "count(*)"
    folder = resolve_data_dir(data)
    with tempfile.TemporaryDirectory() as tmp:
        con = connect(memory_limit=memory_limit, threads=threads, temp_dir=Path(tmp) / "spill")
        counts = {}
        for name in FILES:
            path = folder / f"{name}.csv"
            if path.is_file():
                params = read_csv_params(FILES_BY_NAME[name], path, workdir=Path(tmp))
                counts[name] = con.execute(f"SELECT {select} FROM {READ_CSV_SQL}", params).fetchone()[0]
    return {"rows": counts}


def kuaicore_build(data: Path, out: Path, memory_limit: str, threads: int | None, validate: bool) -> dict:
    from kuaicore.config import FeatureConfig
    from kuaicore.features import build_features

    art = build_features(FeatureConfig(data=data, out=out, memory_limit=memory_limit, threads=threads,
                                       validate=validate, force=True))  # fmt: skip
    manifest = json.loads((art / "manifest.json").read_text())
    queries = {q["name"]: q["seconds"] for q in manifest["queries"]}
    return {"rows": manifest["row_counts"], "queries": queries}


def pandas_features(data: Path, cap: float = 5.0, frac: float = 0.1, prior: float = 20.0) -> dict:
    """The seeds' pandas pipeline for the same item and user features (whole files in memory)."""
    import numpy as np
    import pandas as pd

    from kuaicore.data.paths import resolve_data_dir

    folder = resolve_data_dir(data)
    big = pd.read_csv(folder / "big_matrix.csv")
    n_in = len(big)
    big = big.drop_duplicates()
    small = pd.read_csv(folder / "small_matrix.csv")
    pairs = pd.MultiIndex.from_frame(small[["user_id", "video_id"]])
    big = big[~pd.MultiIndex.from_frame(big[["user_id", "video_id"]]).isin(pairs)]
    big = big.sort_values(["user_id", "timestamp", "video_id"])
    pos = big.groupby("user_id").cumcount()
    n = big.groupby("user_id")["user_id"].transform("size")
    big["target"] = big["watch_ratio"].clip(upper=cap)
    big["like"] = (big["watch_ratio"] >= 2.0).astype(float)
    train = big[pos < n - np.floor(frac * n + 1e-9)]

    cats = pd.read_csv(folder / "item_categories.csv")
    cats["tag"] = cats["feat"].map(json.loads)
    tags = cats[["video_id", "tag"]].explode("tag")
    item_tags = pd.crosstab(tags["video_id"], tags["tag"]).clip(upper=1)
    caption = pd.read_csv(folder / "kuairec_caption_category.csv", lineterminator="\n",
                          usecols=["video_id", "first_level_category_id"])  # fmt: skip
    cat1 = pd.get_dummies(caption.set_index("video_id")["first_level_category_id"], prefix="cat1").astype(
        float
    )
    daily = pd.read_csv(folder / "item_daily_features.csv")
    counts = ["show_cnt", "play_cnt", "complete_play_cnt", "valid_play_cnt", "long_time_play_cnt",
              "short_time_play_cnt", "like_cnt", "comment_cnt", "follow_cnt", "share_cnt", "download_cnt",
              "report_cnt", "reduce_similar_cnt", "collect_cnt"]  # fmt: skip
    g = daily.groupby("video_id")
    agg = g[counts].sum()
    agg["completion_rate"] = agg["complete_play_cnt"] / agg["play_cnt"].replace(0, np.nan)
    agg["like_rate"] = agg["like_cnt"] / agg["play_cnt"].replace(0, np.nan)
    agg["engagement_rate"] = agg["play_cnt"] / agg["show_cnt"].replace(0, np.nan)
    agg["share_rate"] = agg["share_cnt"] / agg["play_cnt"].replace(0, np.nan)
    agg["mean_play_progress"] = g["play_progress"].mean()
    agg["duration"] = g["video_duration"].median()
    agg[counts] = np.log1p(agg[counts])
    stats = train.groupby("video_id").agg(
        n=("target", "size"), mean=("target", "mean"), like=("like", "mean")
    )
    stats["n"] = np.log1p(stats["n"])
    items = item_tags.join(cat1, how="outer").join(agg, how="outer").join(stats, how="outer").fillna(0.0)
    items = (items - items.mean()) / items.std(ddof=0).replace(0, 1)

    user_mean = train.groupby("user_id")["target"].mean()
    tt = train[["user_id", "video_id", "target"]].merge(tags, on="video_id")
    per = tt.groupby(["user_id", "tag"])["target"].agg(["size", "sum"]).reset_index()
    per["taste"] = (per["sum"] + prior * per["user_id"].map(user_mean)) / (per["size"] + prior)
    taste = per.pivot(index="user_id", columns="tag", values="taste")
    taste = taste.apply(lambda col: col.fillna(user_mean.reindex(taste.index)))
    tc = train[["user_id", "video_id", "target"]].merge(caption, on="video_id")
    perc = tc.groupby(["user_id", "first_level_category_id"])["target"].agg(["size", "sum"]).reset_index()
    perc["taste"] = (perc["sum"] + prior * perc["user_id"].map(user_mean)) / (perc["size"] + prior)
    taste_c = perc.pivot(index="user_id", columns="first_level_category_id", values="taste").add_prefix("c")
    users = pd.read_csv(folder / "user_features.csv").set_index("user_id")
    ranges = [c for c in users.columns if c.endswith("_range")] + ["user_active_degree"]
    prof = pd.get_dummies(users[ranges].astype(str)).astype(float)
    for c in ("follow_user_num", "fans_user_num", "friend_user_num", "register_days"):
        prof[c] = np.log1p(users[c])
    act = train.groupby("user_id").agg(n=("target", "size"), mean=("target", "mean"), like=("like", "mean"))
    ufeat = prof.join(taste, how="outer").join(taste_c, how="outer").join(act, how="outer").fillna(0.0)
    ufeat.columns = ufeat.columns.astype(str)
    ufeat = (ufeat - ufeat.mean()) / ufeat.std(ddof=0).replace(0, 1)
    return {"rows": {"big_rows_in": n_in, "train_rows": len(train)}, "shapes": [items.shape, ufeat.shape]}


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def system_seconds() -> float:
    """System CPU seconds of this process so far: the kernel's share of :func:`cpu_seconds` (page faults on
    fresh memory, file reads and writes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


def polars_child(args: argparse.Namespace, write_files: bool) -> dict:
    """Time the staged polars splits (and, with ``write_files``, its train/valid/eval.parquet with the ART's
    columns and orders), then (untimed, after the peak RSS is taken) check them against the ART that the
    kuaicore stage wrote."""
    from _peer_features import check_equal, check_files_equal, polars_splits, write_art_files

    from kuaicore.data.paths import resolve_data_dir

    with tempfile.TemporaryDirectory(prefix="peer-files-") as dest:
        cpu, system = cpu_seconds(), system_seconds()
        with Timer() as t:
            out = polars_splits(resolve_data_dir(args.data), art_columns=write_files)
            if write_files:
                write_art_files(out, Path(dest))
        cpu, system = cpu_seconds() - cpu, system_seconds() - system
        peak = peak_rss_mb(include_children=False)
        if write_files:
            check_files_equal(Path(dest), args.out)
    rows = check_equal(out, args.out)
    return {
        "rows": rows,
        "seconds": t.seconds,
        "cpu_seconds": cpu,
        "system_seconds": system,
        "peak_rss_mb": peak,
    }


def child(args: argparse.Namespace) -> None:
    if args.child in ("polars", "polars-files"):
        print(json.dumps(polars_child(args, write_files=args.child == "polars-files")))
        return
    cpu, system = cpu_seconds(), system_seconds()
    with Timer() as t:
        if args.child == "count":
            result = scan_csvs(args.data, args.memory_limit, args.threads, every_value=False)
        elif args.child == "read-all":
            result = scan_csvs(args.data, args.memory_limit, args.threads, every_value=True)
        elif args.child == "pandas":
            result = pandas_features(args.data)
        else:
            result = kuaicore_build(
                args.data, args.out, args.memory_limit, args.threads, args.child == "kuaicore"
            )
    print(json.dumps({**result, "seconds": t.seconds, "cpu_seconds": cpu_seconds() - cpu,
                      "system_seconds": system_seconds() - system,
                      "peak_rss_mb": peak_rss_mb(include_children=False)}, default=str))  # fmt: skip


def run_child(stage: str, args: argparse.Namespace, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", stage, "--data", str(args.data), "--out", str(out),
           "--memory-limit", args.memory_limit]  # fmt: skip
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{stage} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median_run(results: list[dict]) -> dict:
    """The run with the median wall time (the lower middle one for an even count)."""
    ordered = sorted(results, key=lambda r: r["seconds"])
    return ordered[(len(ordered) - 1) // 2]


def print_queries(run: dict, at_least: float = 0.1) -> None:
    """The run's seconds per SQL query (largest first; those under ``at_least`` s summed) and the rest."""
    queries = sorted(run["queries"].items(), key=lambda kv: -kv[1])
    shown = [f"{name} {sec:.2f}" for name, sec in queries if sec >= at_least]
    small = sum(sec for _, sec in queries if sec < at_least)
    n_small = sum(1 for _, sec in queries if sec < at_least)
    rest = run["seconds"] - sum(sec for _, sec in queries)
    print(f"kuaicore build-features (the median run, {run['seconds']:.2f} s) per query, wall s:")
    print("  " + ", ".join([*shown, f"{n_small} others {small:.2f}"]) + f"; outside the queries {rest:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="full", choices=["tiny", "small", "full"])
    ap.add_argument("--data", type=Path, default=None, help="existing KuaiRec folder (default: synthesize)")
    ap.add_argument("--out", type=Path, default=None, help="ART to write (default: a temporary folder)")
    ap.add_argument("--memory-limit", default="1GB")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--skip-pandas", action="store_true")
    ap.add_argument("--skip-polars", action="store_true")
    ap.add_argument(
        "--peer-writes",
        action="store_true",
        help="also time the polars peer writing train/valid/eval.parquet with the ART's columns and orders",
    )
    ap.add_argument("--skip-validate", action="store_true", help="leave out build-features --validate")
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the stages N times, interleaved, and report each stage's median wall time",
    )
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench-features-"))
    try:
        if args.data is None:
            from kuaicore.config import SynthConfig
            from kuaicore.data.synth import write_synthetic

            args.data = tmp / "syn"
            write_synthetic(SynthConfig(out=args.data, scale=args.scale, seed=0))
        out = args.out or tmp / "art"
        stages = {"count-only": "count", "read every value": "read-all",
                  "kuaicore build-features": "kuaicore-novalidate",
                  "kuaicore build-features --validate": "kuaicore"}  # fmt: skip
        if args.skip_validate:
            del stages["kuaicore build-features --validate"]
        if not args.skip_pandas:
            stages["pandas (seeds' approach)"] = "pandas"
        if not args.skip_polars:
            stages["polars, staged lazy frames (splits + item counts only)"] = "polars"
            if args.peer_writes:
                stages["polars, the same + train/valid/eval.parquet"] = "polars-files"
        runs: dict[str, list[dict]] = {stage: [] for stage in stages}
        for _ in range(max(1, args.repeat)):  # interleaved, so that a burst of load hits every stage alike
            for stage, child_name in stages.items():
                runs[stage].append(run_child(child_name, args, out))
        results = {stage: median_run(rs) for stage, rs in runs.items()}
        n = int(results["count-only"]["rows"]["big_matrix"])
        base = results["count-only"]
        pandas = results.get("pandas (seeds' approach)")
        polars = results.get("polars, staged lazy frames (splits + item counts only)")
        rows = []
        for stage, r in results.items():
            rows.append({
                "stage": stage, "wall s": r["seconds"], "cpu s": r["cpu_seconds"],
                "of which system s": r["system_seconds"], "peak RSS MB": r["peak_rss_mb"],
                "big rows/s": n / r["seconds"], "x count-only time": r["seconds"] / base["seconds"],
                "polars time / this": polars["seconds"] / r["seconds"] if polars else None,
                "polars CPU / this": polars["cpu_seconds"] / r["cpu_seconds"] if polars else None,
                "polars RSS / this": polars["peak_rss_mb"] / r["peak_rss_mb"] if polars else None,
                "pandas time / this": pandas["seconds"] / r["seconds"] if pandas else None,
                "pandas RSS / this": pandas["peak_rss_mb"] / r["peak_rss_mb"] if pandas else None,
            })  # fmt: skip
        print(machine_line())
        print(f"data: {args.data} ({n:,} big_matrix rows), memory limit {args.memory_limit}, "
              f"threads {args.threads or 'all'}")  # fmt: skip
        print_table(rows)
        files = results.get("polars, the same + train/valid/eval.parquet")
        if files:
            ours = results["kuaicore build-features"]
            print(
                f"kuaicore build-features against the polars peer writing the same files: "
                f"{files['seconds'] / ours['seconds']:.2f}x its wall speed, "
                f"{files['cpu_seconds'] / ours['cpu_seconds']:.2f}x its CPU time (peer / kuaicore), "
                f"1/{files['peak_rss_mb'] / ours['peak_rss_mb']:.1f} of its peak RSS"
            )
        if args.repeat > 1:
            print(f"medians of {args.repeat} interleaved runs; all wall times (cpu times):")
            for stage, rs in runs.items():
                times = ", ".join(f"{r['seconds']:.2f} ({r['cpu_seconds']:.2f})" for r in rs)
                print(f"  {stage}: {times}")
        print_queries(results["kuaicore build-features"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
