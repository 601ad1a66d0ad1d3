"""The whole pipeline end to end at real size: wall time and peak RSS of every stage, each its own process.

    python benchmarks/bench_pipeline.py --scale full      # 12.5M big rows (default)
    python benchmarks/bench_pipeline.py --scale small     # quick

Stages (each a `kuaicore` child process, so its peak RSS is its own, from os.wait4): synth (data generation,
not counted in the pipeline total), validate, build-features, train (the default model; `--epochs N`: the
two-tower instead), evaluate, recommend --all, compare (the classic baselines) and report. The baseline
measured in the same run is a DuckDB count-only scan of every CSV: the floor of anything that must read the
files once; "x scan" is each stage's time over it. Target (issue 7): the pipeline (validate .. report)
<= 5 minutes on the 2-core CPU.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import format_table, machine_line  # noqa: E402


def run_stage(args: list[str]) -> tuple[float, float]:
    """Run `kuaicore ARGS` in a child; (wall seconds, its peak RSS MB). Raises if it fails."""
    cmd = [sys.executable, "-m", "kuaicore.cli", *args]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"stage failed: kuaicore {' '.join(args)}")
    return seconds, usage.ru_maxrss / 1024.0


def count_scan(data: Path) -> tuple[float, int]:
    """A child running DuckDB count(*) over every CSV with the canonical read; (seconds, big_matrix rows)."""
    code = (
        "import sys, duckdb\n"
        "from pathlib import Path\n"
        "from kuaicore.data.paths import resolve_data_dir\n"
        "from kuaicore.data.readers import READ_CSV_SQL, read_csv_params\n"
        "from kuaicore.schema import FILES\n"
        "d = resolve_data_dir(Path(sys.argv[1])); n = {}\n"
        "con = duckdb.connect(); con.execute('SET enable_progress_bar_print = false')\n"
        "for f in FILES:\n"
        "    p = d / f.filename\n"
        "    if p.is_file():\n"
        "        q = f'SELECT count(*) FROM {READ_CSV_SQL}'\n"
        "        n[f.name] = con.execute(q, read_csv_params(f, p)).fetchone()[0]\n"
        "print(n['big_matrix'])\n"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(data)], check=True, capture_output=True, text=True)
    return time.perf_counter() - start, int(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=["tiny", "small", "full"], default="full")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="Keep everything here (default: a temp dir)."
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="Train the two-tower for N epochs, not the default model."
    )
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    data, art = work / "kuairec", work / "art"
    stages: list[tuple[str, list[str], bool]] = [
        ("synth (not in total)", ["synth", str(data), "--scale", args.scale], False),
        ("validate", ["validate", str(data)], True),
        (
            "build-features",
            ["build-features", str(data), "--out", str(art), "--memory-limit", "1GB", "--force"],
            True,
        ),
        (
            "train (default model)" if args.epochs is None else f"train (two-tower, {args.epochs} epoch(s))",
            ["train", str(art), "--run", "bench"]
            + ([] if args.epochs is None else ["--model", "two-tower", "--epochs", str(args.epochs)]),
            True,
        ),
        ("evaluate", ["evaluate", str(art), "--run", "bench"], True),
        (
            "recommend --all",
            ["recommend", str(art), "--run", "bench", "--all", "--out", str(work / "recs.parquet")],
            True,
        ),
        (
            "compare (4 baselines)",
            ["compare", str(art), "--models", "popularity,tag-cosine,linear,als"],
            True,
        ),
        ("report", ["report", str(art), "--out", str(work / "report.html")], True),
    ]
    rows = []
    total = 0.0
    peak = 0.0
    scan = None
    for name, cmd, counted in stages:
        if data.exists() and cmd[0] == "synth":
            rows.append({"stage": name, "wall s": None, "peak RSS MB": None, "x scan": None})
            continue
        seconds, rss = run_stage(cmd)
        if cmd[0] == "synth":
            scan, big_rows = count_scan(data)
            rows.append({"stage": name, "wall s": seconds, "peak RSS MB": rss, "x scan": None})
            continue
        if scan is None:
            scan, big_rows = count_scan(data)
        total += seconds if counted else 0.0
        peak = max(peak, rss)
        rows.append({"stage": name, "wall s": seconds, "peak RSS MB": rss, "x scan": seconds / scan})
        print(f"  {name}: {seconds:.1f}s, {rss:.0f} MB", file=sys.stderr)
    rows.append(
        {"stage": "baseline: DuckDB count-only scan", "wall s": scan, "peak RSS MB": None, "x scan": 1.0}
    )
    rows.append(
        {
            "stage": "pipeline total (validate .. report)",
            "wall s": total,
            "peak RSS MB": peak,
            "x scan": total / scan,
        }
    )
    print(f"# bench_pipeline --scale {args.scale}: {big_rows:,} big_matrix rows; {machine_line()}")
    print(f"# load average at the end: {os.getloadavg()[0]:.1f}")
    print(format_table(rows))
    print(f"# target: pipeline total <= 300 s: {'PASS' if total <= 300 else 'MISS'} ({total:.0f}s)")


if __name__ == "__main__":
    main()
