"""Benchmark `kuaicore validate`: wall time and peak RSS on a KuaiRec folder, against a pandas baseline.

    python benchmarks/bench_validate.py --scale full           # writes a full-size synthetic twin first
    python benchmarks/bench_validate.py --data /tmp/syn_full   # an existing folder (real or synthetic)
    python benchmarks/bench_validate.py --scale small          # quick

kuaicore runs in this process under ``--memory-limit`` (DuckDB, out of core); synthetic data are written by a
child process first, so the peak RSS shown is validate's. The baseline runs in another child process (its
peak RSS is its own): pandas reads the first ``--baseline-rows`` rows of big_matrix.csv with the schema's
dtypes and computes the same statistics (rows, users, videos, exact duplicate rows, rows with an empty time,
watch_ratio median). "vs baseline" compares rows/s (kuaicore: all seven files; pandas: big_matrix only).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import Timer, machine_line, peak_rss_mb, print_table  # noqa: E402


def pandas_baseline(path: Path, n_rows: int) -> dict:
    """Statistics of the first ``n_rows`` rows of an interaction file with pandas (in this process)."""
    import pandas as pd

    with Timer() as t:
        df = pd.read_csv(
            path,
            nrows=n_rows,
            lineterminator="\n",
            dtype={
                "user_id": "int64",
                "video_id": "int64",
                "play_duration": "int64",
                "video_duration": "int64",
                "time": "string",
                "timestamp": "float64",
                "watch_ratio": "float64",
            },  # fmt: skip
        )
        stats = {
            "rows": len(df),
            "users": int(df["user_id"].nunique()),
            "videos": int(df["video_id"].nunique()),
            "duplicate_rows": int(df.duplicated().sum()),
            "rows_with_empty_time": int(df["time"].isna().sum()),
            "median": float(df["watch_ratio"].median()),
        }
    return {**stats, "seconds": t.seconds, "peak_rss_mb": peak_rss_mb(include_children=False)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="full", choices=["tiny", "small", "full"])
    ap.add_argument("--data", type=Path, default=None, help="validate this folder instead of generating one")
    ap.add_argument("--memory-limit", default="1GB")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--baseline-rows", type=int, default=2_000_000)
    ap.add_argument("--baseline-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.baseline_only is not None:
        print(json.dumps(pandas_baseline(args.baseline_only, args.baseline_rows)))
        return

    from kuaicore.data.paths import resolve_data_dir
    from kuaicore.data.validate import validate_dataset

    tmp = None
    try:
        if args.data is None:
            tmp = Path(tempfile.mkdtemp(prefix="bench-validate-"))
            # in a child process, so that this process's peak RSS is validate's own
            synth = "from kuaicore.cli import main; main()"
            cmd = [sys.executable, "-c", synth, "synth", str(tmp), "--scale", args.scale]
            subprocess.run(cmd, check=True, stdout=sys.stderr)
            data = tmp
        else:
            data = args.data
        data_dir = resolve_data_dir(data)
        mb = sum(p.stat().st_size for p in data_dir.glob("*.csv")) / 1e6
        with Timer() as t:
            report = validate_dataset(data, memory_limit=args.memory_limit, threads=args.threads)
        kuai_peak = peak_rss_mb(include_children=False)
        files = {f.file: f for f in report.files}
        big = files["big_matrix.csv"]
        child = subprocess.run(
            [sys.executable, __file__, "--baseline-only", str(data_dir / "big_matrix.csv"),
             "--baseline-rows", str(args.baseline_rows)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        base = json.loads(child.stdout)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    all_rows = sum(f.rows or 0 for f in report.files)
    rate = all_rows / t.seconds
    base_rate = base["rows"] / base["seconds"]
    table = [
        {
            "stage": f"kuaicore validate (7 files, {mb:,.0f} MB, memory_limit={args.memory_limit})",
            "rows": all_rows,
            "wall s": t.seconds,
            "peak RSS MB": kuai_peak,
            "rows/s": rate,
            "vs baseline": f"{rate / base_rate:.2f}x",
        },
        {
            "stage": f"baseline: pandas on big_matrix ({base['rows']:,} rows)",
            "rows": base["rows"],
            "wall s": base["seconds"],
            "peak RSS MB": base["peak_rss_mb"],
            "rows/s": base_rate,
            "vs baseline": "1.00x",
        },
    ]
    print(f"kuaicore validate {data} ({'synthetic --scale ' + args.scale if args.data is None else 'given'})")
    print(machine_line())
    print_table(table)
    ratio = big.watch_ratio or {}
    print(
        f"big_matrix: {big.rows:,} rows, {big.users:,} users, {big.videos:,} videos, "
        f"{big.duplicate_rows:,} duplicate rows, median watch_ratio {ratio.get('median')}"
    )


if __name__ == "__main__":
    main()
