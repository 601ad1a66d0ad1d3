"""Benchmark `kuaicore synth`: wall time, peak RSS and rows/s per file, against a pure-Python CSV baseline.

    python benchmarks/bench_synth.py --scale full    # real sizes (12.5M + 4.7M rows); <= 120 s, <= 2 GB
    python benchmarks/bench_synth.py --scale small   # quick

Stages run in file order in one process; "peak RSS MB" is the high-water mark reached by the end of each
stage. The baseline formats the first ``--baseline-rows`` big_matrix rows with Python f-strings, repr() and
datetime; both formatters get the same pre-generated rows, best of 3, alternating (the machine is shared),
and "vs baseline" is DuckDB's speed-up in rows/s. The two outputs are also compared byte for byte.
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

from kuaicore.data.synth import interactions, resolve_sizes, truth, write_files, writers  # noqa: E402

LIMIT_S, LIMIT_MB = 120.0, 2000.0  # issue 14: <= 2 minutes, <= 2 GB


class _StageLog(dict):
    """The ``timings`` dict of write_files, stamping the peak RSS when each stage finishes."""

    def __setitem__(self, key, value):
        value = {**value, "peak_rss_mb": peak_rss_mb()}
        super().__setitem__(key, value)


def _python_format(chunks: list[dict], out: Path) -> None:
    """The baseline: format big_matrix chunks with f-strings, repr() and datetime."""
    tz = dt.timezone(dt.timedelta(hours=8))
    with open(out, "w", encoding="utf-8") as fh:
        for chunk in chunks:
            cols = [chunk[k].tolist() for k in ("user_id", "video_id", "play_duration", "video_duration")]
            for u, v, p, d, ts, day in zip(
                *cols, chunk["ts_ms"].tolist(), chunk["date"].tolist(), strict=True
            ):
                local = dt.datetime.fromtimestamp(ts / 1000, tz)
                frac = f".{ts % 1000:03d}".rstrip("0").rstrip(".")
                fh.write(f"{u},{v},{p},{d},{local:%Y-%m-%d %H:%M:%S}{frac},{day},{ts / 1000!r},{p / d!r}\n")


def format_speedup(scale: str, seed: int, n_rows: int, folder: Path, repeats: int = 3) -> dict[str, float]:
    """Best-of-``repeats`` seconds to format the same first ``n_rows`` big_matrix rows (generated once, not
    timed) with DuckDB (kuaicore's writer) and with pure Python, alternating to share any machine load."""
    sizes = resolve_sizes(scale)
    world = truth.make_world(sizes.n_users, sizes.n_items, seed)
    plan = interactions.make_plan(world, sizes, seed)
    chunks, rows = [], 0
    for chunk in interactions.big_chunks(world, sizes, plan, seed):
        chunks.append(chunk)
        rows += len(chunk["user_id"])
        if rows >= n_rows:
            break
    best = {"duckdb": float("inf"), "python": float("inf")}
    select = writers.interaction_select(date_as_double=False)
    for _ in range(repeats):
        with Timer() as t:
            writers.copy_chunks(folder / "duck.csv", "header", iter(chunks), select)
        best["duckdb"] = min(best["duckdb"], t.seconds)
        with Timer() as t:
            _python_format(chunks, folder / "py.csv")
        best["python"] = min(best["python"], t.seconds)
    same = (folder / "duck.csv").read_bytes().split(b"\n", 1)[1] == (folder / "py.csv").read_bytes()
    return {"rows": rows, **best, "identical": same}


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
        for path in tmp.iterdir():  # free the disk before the baseline writes its own files
            path.unlink()
        base = format_speedup(args.scale, args.seed, args.baseline_rows, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    duck_rate, py_rate = base["rows"] / base["duckdb"], base["rows"] / base["python"]
    speedup = f"{duck_rate / py_rate:.1f}x"
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
    n = f"{base['rows']:,} rows"
    table.append(
        {
            "stage": f"format only, DuckDB ({n})",
            "rows": base["rows"],
            "wall s": base["duckdb"],
            "rows/s": duck_rate,
            "vs baseline": speedup,
        }
    )
    table.append(
        {
            "stage": f"format only, pure Python baseline ({n})",
            "rows": base["rows"],
            "wall s": base["python"],
            "rows/s": py_rate,
            "vs baseline": "1.0x",
        }
    )
    print(f"kuaicore synth --scale {args.scale} --seed {args.seed}")
    print(machine_line())
    print_table(table, ["stage", "rows", "MB", "wall s", "peak RSS MB", "rows/s", "vs baseline"])
    print(f"DuckDB and Python baseline bytes identical: {base['identical']}")
    if args.scale == "full":
        ok = total.seconds < LIMIT_S and peak_rss_mb() < LIMIT_MB
        print(f"target < {LIMIT_S:.0f} s and < {LIMIT_MB:.0f} MB peak RSS: {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
