"""benchmarks/profile_build.py runs exactly the build's queries (same relations, rows and Parquet bytes) and
sums its table as it says."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from profile_build import QueryProfile, profile_queries, table_rows  # noqa: E402


def test_the_profiled_queries_are_the_builds_rows_and_bytes(tiny_data, tiny_art, tmp_path):
    profiles = profile_queries(tiny_data, tmp_path / "p", threads=1)  # tiny_art was built with 1 thread
    manifest = json.loads((tiny_art / "manifest.json").read_text())
    assert [(p.name, p.rows) for p in profiles] == [(q["name"], q["rows"]) for q in manifest["queries"]]
    for name in ("train.parquet", "valid.parquet", "eval.parquet", "items.parquet"):
        digest = hashlib.sha256((tmp_path / "p" / name).read_bytes()).hexdigest()
        assert digest == manifest["files"][name]["sha256"], name
    assert all(p.wall >= 0 and p.user >= 0 and p.system >= 0 and p.faults >= 0 for p in profiles)
    assert (tmp_path / "p" / "_work" / "features.duckdb").is_file()


def test_table_rows_orders_by_cpu_sums_the_small_ones_and_totals_everything():
    def prof(name, user, system, spill=0):
        return QueryProfile(name, rows=7, wall=user, user=user, system=system, faults=10, spill_peak=spill)

    profiles = [
        prof("a", 0.5, 0.1),
        prof("b", 0.01, 0.0, spill=3_000_000),
        prof("c", 1.0, 0.5),
        prof("d", 0.02, 0.01),
    ]
    rows = table_rows(profiles, at_least=0.05)
    assert [r["query"] for r in rows] == ["c", "a", "2 others", "all queries"]
    assert rows[0]["rows"] == 7 and rows[2]["rows"] is None
    assert abs(rows[2]["cpu s"] - 0.04) < 1e-12 and rows[2]["minor faults"] == 20
    assert rows[2]["spill peak MB"] == 3.0
    total = rows[-1]
    assert abs(total["cpu s"] - 2.14) < 1e-12 and abs(total["of which system s"] - 0.61) < 1e-12
    assert total["minor faults"] == 40 and total["spill peak MB"] == 3.0
