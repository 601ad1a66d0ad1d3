"""Profile `kuaicore build-features` query by query: wall time, user and system CPU, minor page faults and
the spill folder's peak for each SQL file, run in order on one DuckDB database exactly as the build runs
them (the same connection settings, readers, value rules and bound values).

    python benchmarks/profile_build.py DATA [--memory-limit 1GB] [--threads N] [--keep DIR]

The manifest records each query's wall time only; this places the CPU time. Process CPU (all threads) is
what keeps the cores busy; its system part is mostly page faults on fresh memory and file reads, where the
build and its polars peer differ most (BENCHMARKS.md, issue 17). Only the queries run here: no start-up,
matrix assembly or checksums (``bench_features.py`` times the whole command). With ``--keep DIR`` the
scratch database stays at ``DIR/_work/features.duckdb`` beside the Parquet files, for EXPLAIN ANALYZE of one
query on a copy of it.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from _measure import machine_line, peak_rss_mb, print_table


@dataclass(frozen=True)
class QueryProfile:
    """What one SQL file cost: rows out, wall and CPU seconds, minor page faults, and the spill folder's peak
    size in bytes while it ran (spill files DuckDB had not removed yet included)."""

    name: str
    rows: int
    wall: float
    user: float
    system: float
    faults: int
    spill_peak: int


class SpillWatch:
    """Polls a folder's total file size every ``every`` seconds in a thread; :meth:`take` returns the peak
    since the last call."""

    def __init__(self, folder: Path, every: float = 0.02) -> None:
        self.folder, self.every = folder, every
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _size(self) -> int:
        total = 0
        for p in self.folder.glob("*") if self.folder.is_dir() else ():
            with contextlib.suppress(OSError):  # a spill file removed between listing and stat
                total += p.stat().st_size
        return total

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, self._size())

    def take(self) -> int:
        peak, self.peak = max(self.peak, self._size()), 0
        return peak

    def __enter__(self) -> SpillWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def profile_queries(
    data: Path, out: Path, memory_limit: str = "1GB", threads: int | None = None
) -> list[QueryProfile]:
    """Run every SQL file of build-features on ``out/_work/features.duckdb`` (Parquet files into ``out``) and
    return one :class:`QueryProfile` per file, in run order."""
    from kuaicore.config import FeatureConfig
    from kuaicore.data.paths import resolve_data_dir
    from kuaicore.features.build import source_files, sql_values
    from kuaicore.features.runner import open_database, run_sql_files
    from kuaicore.features.sqlfiles import load_sql_files

    data_dir = resolve_data_dir(data)
    sources = source_files(data_dir)
    work = out / "_work"
    work.mkdir(parents=True, exist_ok=True)
    values = sql_values(FeatureConfig(data=data, out=out, memory_limit=memory_limit, threads=threads))
    con = open_database(work, memory_limit, threads)
    profiles = []
    try:
        with SpillWatch(work / "spill") as spill:
            for sql in load_sql_files():
                before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
                (stat,) = run_sql_files(con, [sql], dict(values, out=str(out / sql.relation)), sources, work)
                wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
                profiles.append(
                    QueryProfile(
                        sql.name,
                        stat.rows,
                        wall,
                        after.ru_utime - before.ru_utime,
                        after.ru_stime - before.ru_stime,
                        after.ru_minflt - before.ru_minflt,
                        spill.take(),
                    )
                )
    finally:
        con.close()
    return profiles


def table_rows(profiles: list[QueryProfile], at_least: float = 0.05) -> list[dict]:
    """Rows for :func:`print_table`: the queries with at least ``at_least`` CPU seconds, most first, the
    others summed in one row, and the total."""

    def row(name: str, ps: list[QueryProfile]) -> dict:
        return {
            "query": name,
            "rows": ps[0].rows if len(ps) == 1 else None,
            "wall s": sum(p.wall for p in ps),
            "cpu s": sum(p.user + p.system for p in ps),
            "of which system s": sum(p.system for p in ps),
            "minor faults": sum(p.faults for p in ps),
            "spill peak MB": max((p.spill_peak for p in ps), default=0) / 1e6,
        }

    big = sorted((p for p in profiles if p.user + p.system >= at_least), key=lambda p: -(p.user + p.system))
    small = [p for p in profiles if p.user + p.system < at_least]
    rows = [row(p.name, [p]) for p in big]
    if small:
        rows.append(row(f"{len(small)} others", small))
    rows.append(row("all queries", profiles))
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="a KuaiRec folder (as build-features takes it)")
    ap.add_argument("--memory-limit", default="1GB")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="keep the database and Parquet files here")
    args = ap.parse_args(argv)
    out = args.keep if args.keep is not None else Path(tempfile.mkdtemp(prefix="profile-build-"))
    try:
        profiles = profile_queries(args.data, out, args.memory_limit, args.threads)
        print(machine_line())
        print(f"data: {args.data}, memory limit {args.memory_limit}, threads {args.threads or 'all'}")
        print_table(table_rows(profiles))
        print(f"peak RSS of this process: {peak_rss_mb(include_children=False):,.0f} MB")
    finally:
        if args.keep is None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
