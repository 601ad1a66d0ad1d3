"""Benchmark `kuaicore synth`: wall time, peak RSS and rows/s per file, against a pure-Python CSV baseline.

    python benchmarks/bench_synth.py --scale full    # real sizes (12.5M + 4.7M rows); target < 180 s, < 2 GB
    python benchmarks/bench_synth.py --scale small   # quick

Stages run in file order in one process; "peak RSS MB" is the high-water mark reached by the end of each
stage. The baseline formats the first ``--baseline-rows`` big_matrix rows (same NumPy generation) with Python
f-strings, repr() and datetime instead of DuckDB; "vs baseline" is the DuckDB path's speed-up in rows/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import Timer, machine_line, peak_rss_mb, print_table  # noqa: E402

from kuaicore.data.synth import interactions, resolve_sizes, truth, write_files  # noqa: E402

LIMIT_S, LIMIT_MB = 180.0, 2000.0


class _StageLog(dict):
    """The ``timings`` dict of write_files, stamping the peak RSS when each stage finishes."""

    def __setitem__(self, key, value):
        value = {**value, "peak_rss_mb": peak_rss_mb()}
        super().__setitem__(key, value)


def python_baseline(scale: str, seed: int, n_rows: int, out: Path) -> tuple[int, float]:
    """Rows and seconds to generate and format ``n_rows`` big_matrix rows in pure Python."""
    sizes = resolve_sizes(scale)
    with Timer() as t:
        world = truth.make_world(sizes.n_users, sizes.n_items, seed)
        plan = interactions.make_plan(world, sizes, seed)
        rows = 0
        tz = dt.timezone(dt.timedelta(hours=8))
        with open(out, "w", encoding="utf-8") as fh:
            for chunk in interactions.big_chunks(world, sizes, plan, seed):
                cols = [chunk[k].tolist() for k in ("user_id", "video_id", "play_duration", "video_duration")]
                for u, v, p, d, ts, day in zip(
                    *cols, chunk["ts_ms"].tolist(), chunk["date"].tolist(), strict=True
                ):
                    local = dt.datetime.fromtimestamp(ts / 1000, tz)
                    frac = f".{ts % 1000:03d}".rstrip("0").rstrip(".")
                    fh.write(
                        f"{u},{v},{p},{d},{local:%Y-%m-%d %H:%M:%S}{frac},{day},{ts / 1000!r},{p / d!r}\n"
                    )
                rows += len(cols[0])
                if rows >= n_rows:
                    break
    return rows, t.seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="full", choices=["tiny", "small", "full"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="folder to write into (default: a temporary one)")
    ap.add_argument("--baseline-rows", type=int, default=300_000)
    args = ap.parse_args()

    sizes = resolve_sizes(args.scale)
    tmp = Path(tempfile.mkdtemp(prefix="bench-synth-", dir=args.out))
    try:
        timings = _StageLog()
        with Timer() as total:
            write_files(tmp, sizes, args.seed, timings)
        sizes_mb = {p.name: p.stat().st_size / 1e6 for p in tmp.iterdir()}
        for p in tmp.iterdir():  # free the disk before the baseline writes its own file
            p.unlink()
        base_rows, base_s = python_baseline(args.scale, args.seed, args.baseline_rows, tmp / "baseline.csv")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    base_rate = base_rows / base_s
    table = []
    for stage, info in timings.items():
        fname = stage if stage.endswith(".npz") else f"{stage}.csv"
        rate = info["rows"] / info["seconds"] if info["seconds"] > 0 else float("nan")
        table.append(
            {
                "stage": stage,
                "rows": info["rows"],
                "MB": sizes_mb.get(fname),
                "wall s": info["seconds"],
                "peak RSS MB": info["peak_rss_mb"],
                "rows/s": rate,
                "vs baseline": f"{rate / base_rate:.1f}x" if stage == "big_matrix" else None,
            }
        )
    total_rows = sum(i["rows"] for s, i in timings.items() if s != "truth.npz")
    table.append(
        {
            "stage": "total (7 CSVs + truth)",
            "rows": total_rows,
            "MB": sum(sizes_mb.values()),
            "wall s": total.seconds,
            "peak RSS MB": peak_rss_mb(),
            "rows/s": total_rows / total.seconds,
        }
    )
    table.append(
        {
            "stage": f"baseline: pure-Python big_matrix ({base_rows:,} rows)",
            "rows": base_rows,
            "wall s": base_s,
            "peak RSS MB": None,
            "rows/s": base_rate,
            "vs baseline": "1.0x",
        }
    )
    print(f"kuaicore synth --scale {args.scale} --seed {args.seed}")
    print(machine_line())
    print_table(table)
    if args.scale == "full":
        ok = total.seconds < LIMIT_S and peak_rss_mb() < LIMIT_MB
        print(f"target < {LIMIT_S:.0f} s and < {LIMIT_MB:.0f} MB peak RSS: {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
