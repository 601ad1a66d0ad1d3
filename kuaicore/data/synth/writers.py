"""Real-format CSV writers: DuckDB formats the large tables from Arrow chunks, Python writes the small text
ones.

DuckDB's DOUBLE -> VARCHAR cast is Python's repr(float), so ``watch_ratio`` (play/duration), ``timestamp``
(ms / 1000) and small_matrix's ``date`` (``20200705.0``) come out exactly as pandas wrote the real files.
The local ``time`` string is ``strftime`` of the UTC+8 time plus the millisecond fraction with trailing
zeros dropped (no fraction on whole seconds). Each chunk is COPYed to a part file, appended to the target
and deleted, so memory stays flat; DuckDB preserves insertion order, so the bytes depend on the seed only.
The small text tables are written by :func:`write_lines` with pandas' quoting rule: quote a field only if
it holds ``,``, ``"`` or ``\\n`` (a bare ``\\r`` stays unquoted, as in the real caption file).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from kuaicore.schema import KuaiFile

LOCAL_OFFSET_MS = 8 * 3_600_000

# DuckDB prints a TIMESTAMP with its fraction's trailing zeros dropped (and no fraction on whole seconds).
_TIME_SQL = f"CAST(epoch_ms(ts_ms + {LOCAL_OFFSET_MS}) AS VARCHAR)"


def interaction_select(date_as_double: bool) -> str:
    """SELECT turning an interaction chunk (ints + ts_ms) into the eight real columns (NULL = empty)."""
    date_sql = "CAST(date AS DOUBLE)" if date_as_double else "date"
    return (
        "SELECT user_id, video_id, play_duration, video_duration, "
        f"{_TIME_SQL} AS time, {date_sql} AS date, ts_ms / 1000 AS timestamp, "
        "CAST(play_duration AS DOUBLE) / CAST(video_duration AS DOUBLE) AS watch_ratio FROM chunk"
    )


def _arrow_table(columns: dict[str, np.ndarray], nullable: Iterable[str] = ()):
    import pyarrow as pa

    arrays = {}
    for name, values in columns.items():
        if name in nullable:
            mask = values < 0 if values.dtype.kind in "if" else None
            arrays[name] = pa.array(values, mask=mask)
        else:
            arrays[name] = pa.array(values)
    return pa.table(arrays)


class _Failed:
    """Carries an exception raised by the producer thread of :func:`prefetch` to the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(items: Iterator, depth: int = 2) -> Iterator:
    """Yield ``items`` in order while a background thread computes up to ``depth`` ahead.

    The NumPy generation of the next chunk then overlaps DuckDB's formatting of the current one (both release
    the GIL); the order, hence the bytes written, is unchanged. Producer errors are re-raised here.
    """
    buf: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(item: object) -> bool:
        """Queue ``item`` unless the consumer has stopped; False once it has."""
        while not stop.is_set():
            try:
                buf.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(end)
        except BaseException as err:  # handed to the consumer, raised there
            put(_Failed(err))

    thread = threading.Thread(target=produce, name="synth-prefetch", daemon=True)
    thread.start()
    try:
        while (item := buf.get()) is not end:
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


def copy_chunks(
    path: Path,
    header: str,
    chunks: Iterator[dict[str, np.ndarray]],
    select: str,
    nullable: Iterable[str] = (),
    threads: int = 2,
) -> int:
    """Write ``header``, then every chunk formatted by ``select`` over the view ``chunk``; return rows."""
    import duckdb

    part = path.with_name(path.name + ".part")
    rows = 0
    con = duckdb.connect()
    try:
        con.execute("SET threads = $t", {"t": int(threads)})
        con.execute("SET preserve_insertion_order = true")
        con.execute("SET enable_progress_bar = false")
        with open(path, "wb") as out:
            out.write((header + "\n").encode())
            for columns in prefetch(chunks):
                table = _arrow_table(columns, nullable)
                con.register("chunk", table)
                con.execute(
                    f"COPY ({select}) TO $part (FORMAT csv, HEADER false, DELIMITER ',')", {"part": str(part)}
                )
                con.unregister("chunk")
                rows += table.num_rows
                with open(part, "rb") as src:
                    while block := src.read(1 << 22):
                        out.write(block)
    finally:
        con.close()
        if part.exists():
            os.remove(part)
    return rows


def csv_field(value: object) -> str:
    """One field as pandas writes it: None -> empty; quoted only if it holds a comma, quote or newline."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if "," in text or '"' in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def write_lines(path: Path, kfile: KuaiFile, rows: Iterable[Iterable[object]]) -> int:
    """Write a small table row by row with :func:`csv_field`; return the number of data rows."""
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(kfile.header + "\n")
        for row in rows:
            out.write(",".join(csv_field(v) for v in row) + "\n")
            n += 1
    return n
