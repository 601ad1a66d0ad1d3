"""What build-features needs to write ART safely: the target's checks and lock, arrays, checksums, manifest.

`target_lock` admits one build per ART and removes what killed builds left; `check_target` refuses an
``--out`` that would lose something (an old ART is replaced only with ``force``). The folder itself is
written by kuaicore.atomic.atomic_folder: a sibling ``ART.tmp-PID`` removed if anything fails (Ctrl-C,
SIGTERM or a full disk included), so an interrupted run leaves no ART, and swapped in by renames at the end.
File names come from kuaicore.art.layout.
"""

from __future__ import annotations

import errno
import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from kuaicore.art import layout
from kuaicore.atomic import exclusive_lock, sweep_leftovers
from kuaicore.errors import InternalError, UsageError

_HASH_CHUNK = 1 << 22
_SHORT_WRITE = re.compile(r"\d+ requested and \d+ written")


def is_art(folder: Path) -> bool:
    """True if ``folder`` holds the manifest.json of a kuaicore ART (a JSON object with ``format_version``
    and ``files``): the only kind of folder ``--force`` may replace."""
    path = Path(folder) / layout.MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "format_version" in manifest and "files" in manifest


def check_target(out: Path, force: bool, data_dir: Path | None = None) -> None:
    """Refuse an ``--out`` that would lose something: an existing ART without ``force``; with ``force``,
    any existing folder that is not a kuaicore ART (unless empty), and always a folder that holds the input
    data (DATA itself or one of its parents); a path that is a file."""
    out = Path(out)
    if data_dir is not None:
        target, data = out.resolve(), Path(data_dir).resolve()
        if target == data or target in data.parents:
            raise UsageError(f"--out {out}: holds the input data {data_dir}; choose another folder for ART")
    if not out.exists():
        return
    if not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    if not force:
        raise UsageError(f"--out {out}: already exists; pass --force to replace it")
    if not is_art(out) and any(out.iterdir()):
        raise UsageError(
            f"--out {out}: exists and is not a kuaicore ART (no manifest.json of ours); --force replaces only"
            " an ART: remove the folder yourself or choose another"
        )


@contextmanager
def target_lock(out: Path) -> Iterator[None]:
    """One build-features per ``--out`` at a time (``.ART.lock`` beside it); leftovers of killed builds
    (``ART.tmp-PID-*``, ``ART.old-PID-*``) are removed once the lock is held."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(out.parent / f".{out.name}.lock", out, "build-features"):
        sweep_leftovers(out.parent, (f"{out.name}.tmp-", f"{out.name}.old-"))
        yield


def save_npy(folder: Path, name: str, array: np.ndarray) -> Path:
    """Save one array as ``folder/name`` (plain .npy, no pickle).

    ``InternalError`` if a float array holds NaN or inf: every input value is finite (the value rules of
    :mod:`kuaicore.data.value_rules` stop the build otherwise), so a non-finite feature is a bug of ours.
    """
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        raise InternalError(f"{name}: {bad:,} non-finite values (NaN or inf) to be saved; a bug of ours")
    path = folder / name
    try:
        np.save(path, np.ascontiguousarray(array), allow_pickle=False)
    except OSError as err:
        # NumPy reports a short write (the disk filled up) as "N requested and M written", without an errno
        if err.errno is None and _SHORT_WRITE.fullmatch(str(err)):
            raise OSError(errno.ENOSPC, "No space left on device", str(path)) from err
        raise
    return path


def sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def file_entries(folder: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    """``{name: {bytes, sha256}}`` for the output files (the manifest's `files`), plus ``rows`` and
    ``row_groups`` for Parquet files (their footers, read by DuckDB, which the build has loaded already:
    importing pyarrow for them took 0.2-0.4 s of the build's single-core tail) and ``shape``/``dtype`` for
    .npy files."""
    from kuaicore.data.duck import connect

    out: dict[str, dict[str, Any]] = {}
    con = connect() if any(n.endswith(".parquet") for n in names) else None
    try:
        for n in names:
            path = folder / n
            entry: dict[str, Any] = {"bytes": path.stat().st_size, "sha256": sha256(path)}
            if n.endswith(".parquet"):
                sql = "SELECT num_rows, num_row_groups FROM parquet_file_metadata($p)"
                rows, groups = con.execute(sql, {"p": str(path)}).fetchone()
                entry.update(rows=int(rows), row_groups=int(groups))
            elif n.endswith(".npy"):
                arr = np.load(path, mmap_mode="r", allow_pickle=False)
                entry.update(shape=list(arr.shape), dtype=str(arr.dtype))
            out[n] = entry
    finally:
        if con is not None:
            con.close()
    return out


def write_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    """Write ``manifest.json`` (sorted keys, indented) into ``folder``."""
    path = folder / layout.MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
