"""The one DuckDB connection opener, and the one meaning of ``--memory-limit``: the budget of the process.

DuckDB's ``memory_limit`` bounds its buffer pool only; the Python side (feature tables, NumPy) and DuckDB's
untracked allocations take the rest, so DuckDB gets :data:`DUCKDB_SHARE` of the budget in every command
(validate, build-features). Settings are bound ``SET`` statements; a value DuckDB rejects is a UsageError
naming the option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kuaicore.config import DEFAULT_MEMORY_LIMIT
from kuaicore.errors import UsageError

DUCKDB_SHARE = 0.7


def duckdb_memory_limit(memory_limit: str) -> str:
    """DuckDB's share of the process budget ``memory_limit`` (e.g. '1GB' -> '700MB'); text DuckDB cannot
    parse either is passed through unchanged, so that DuckDB's own message names the problem."""
    from kuaicore.options import parse_size

    size = parse_size(memory_limit)
    if size is None:
        return str(memory_limit)
    return f"{max(1, int(size * DUCKDB_SHARE / 10**6))}MB"


def connect(
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    threads: int | None = None,
    temp_dir: Path | None = None,
    database: Path | None = None,
    preserve_insertion_order: bool | None = None,
) -> Any:
    """A DuckDB connection (``database`` file, or in memory) whose buffer pool gets DuckDB's share of the
    process budget ``memory_limit``, with ``threads`` and a spill folder ``temp_dir``."""
    import duckdb

    if database is not None:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(database) if database is not None else ":memory:")
    try:
        # DuckDB draws its own progress bar on stdout for queries over 2 s, even into a pipe; our commands
        # report progress on stderr and keep stdout for their output (recommend, JSON)
        con.execute("SET enable_progress_bar = false")
        con.execute("SET enable_progress_bar_print = false")
        con.execute("SET memory_limit = $m", {"m": duckdb_memory_limit(memory_limit)})
        if threads is not None:
            con.execute("SET threads = $t", {"t": int(threads)})
        if temp_dir is not None:
            Path(temp_dir).mkdir(parents=True, exist_ok=True)
            con.execute("SET temp_directory = $d", {"d": str(temp_dir)})
        if preserve_insertion_order is not None:
            con.execute("SET preserve_insertion_order = $p", {"p": preserve_insertion_order})
    except duckdb.Error as err:
        con.close()
        raise UsageError(
            f"--memory-limit {memory_limit!r} / --threads {threads}: rejected by DuckDB: {err}"
        ) from None
    return con
