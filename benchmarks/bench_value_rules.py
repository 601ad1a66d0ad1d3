"""Benchmark the value rules inside the staging reads: each sql/1*_stg_*.sql as shipped (checked read with
force_not_null, filtered by its kuaicore.data.value_rules macro) against the same query without the checks
(the plain canonical read, no WHERE), and the count-only read of the same file, in one process.

    python benchmarks/bench_value_rules.py                          # full-size synthetic twin (written first)
    python benchmarks/bench_value_rules.py --data /tmp/syn_full     # an existing folder
    python benchmarks/bench_value_rules.py --scale small --repeat 3 # quick

The three variants of a file run interleaved, ``--repeat`` times, each on a fresh database (the build's
settings: memory limit, threads); the table shows medians and the checked / unchecked ratio.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import machine_line, print_table  # noqa: E402

_CHECK = re.compile(r",\s*force_not_null = \$not_null\) AS r\s*WHERE check_values_\w+\(r\)")


def unchecked(sql: str) -> str:
    """The staging statement without the value checks: the plain canonical read, no filter."""
    out, n = _CHECK.subn(")", sql)
    if n != 1:
        raise SystemExit("the staging SQL no longer has the expected checked read; update this benchmark")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="full", choices=["tiny", "small", "full"])
    ap.add_argument("--data", type=Path, default=None, help="existing KuaiRec folder (default: synthesize)")
    ap.add_argument("--memory-limit", default="1GB")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from kuaicore.data import value_rules
    from kuaicore.data.paths import resolve_data_dir
    from kuaicore.data.readers import READ_CSV_SQL, checked_read_params, read_csv_params
    from kuaicore.features.runner import open_database
    from kuaicore.features.sqlfiles import load_sql_files
    from kuaicore.schema import FILES_BY_NAME

    tmp = Path(tempfile.mkdtemp(prefix="bench-value-rules-"))
    try:
        if args.data is None:
            from kuaicore.config import SynthConfig
            from kuaicore.data.synth import write_synthetic

            args.data = tmp / "syn"
            write_synthetic(SynthConfig(out=args.data, scale=args.scale, seed=0))
        folder = resolve_data_dir(args.data)
        staging = [f for f in load_sql_files() if f.source is not None]
        sources = {f.source: folder / FILES_BY_NAME[f.source].filename for f in staging}
        times: dict[tuple[str, str], list[float]] = {}
        rows: dict[str, int] = {}
        for _ in range(max(1, args.repeat)):
            for f in staging:
                kfile = FILES_BY_NAME[f.source]
                if not sources[f.source].is_file():
                    continue
                variants = {
                    "checked (shipped)": (f.sql, checked_read_params(kfile, sources[f.source], tmp)),
                    "unchecked": (unchecked(f.sql), read_csv_params(kfile, sources[f.source], tmp)),
                    "count-only": (
                        f"SELECT count(*) FROM {READ_CSV_SQL}",
                        read_csv_params(kfile, sources[f.source], tmp),
                    ),
                }
                for name, (sql, params) in variants.items():
                    work = tmp / "db"
                    con = open_database(work, args.memory_limit, args.threads)
                    value_rules.install(con, (kfile,))
                    start = time.perf_counter()
                    result = con.execute(sql, params).fetchall()
                    times.setdefault((f.name, name), []).append(time.perf_counter() - start)
                    con.close()
                    shutil.rmtree(work)
                    rows[f.name] = int(result[0][0])
        table = []
        for f in staging:
            if (f.name, "checked (shipped)") not in times:
                continue
            med = {
                v: statistics.median(times[(f.name, v)])
                for v in ("checked (shipped)", "unchecked", "count-only")
            }
            table.append(
                {
                    "staging query": f.name,
                    "rows": rows[f.name],
                    "checked s": med["checked (shipped)"],
                    "unchecked s": med["unchecked"],
                    "count-only s": med["count-only"],
                    "checked / unchecked": med["checked (shipped)"] / med["unchecked"],
                }
            )
        total = {k: sum(r[k] for r in table) for k in ("checked s", "unchecked s", "count-only s")}
        table.append(
            {
                "staging query": "all staging",
                "rows": sum(r["rows"] for r in table),
                **total,
                "checked / unchecked": total["checked s"] / total["unchecked s"],
            }
        )
        print(machine_line())
        print(
            f"data: {args.data}, memory limit {args.memory_limit}, threads {args.threads or 'all'}, "
            f"medians of {args.repeat} interleaved runs"
        )
        print_table(table)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
