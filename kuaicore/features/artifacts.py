"""Write the artifact folder atomically: a sibling `ART.tmp-*` folder, checksums, manifest, one rename.

`staging_dir` makes the temporary folder and removes it if anything fails (including Ctrl-C or a full
disk), so an interrupted run leaves no ART; `publish` renames it into place (replacing an old ART only with
``force``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from kuaicore.errors import InternalError, UsageError

_HASH_CHUNK = 1 << 22


def check_target(out: Path, force: bool) -> None:
    """Refuse an existing ART unless ``force``; refuse a path that is a file."""
    if out.exists() and not force:
        raise UsageError(f"--out {out}: already exists; pass --force to replace it")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def staging_dir(out: Path) -> Iterator[Path]:
    """A fresh `OUT.tmp-*` folder beside ``out``; removed on any exception (the caller publishes it).

    While it is open, SIGTERM (in the main thread) raises KeyboardInterrupt, so a killed run cleans up too.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it 0700; an ART is an ordinary folder
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_interrupt) if main else None
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def publish(tmp: Path, out: Path, force: bool) -> None:
    """Rename ``tmp`` to ``out``; with ``force`` an existing ``out`` is moved aside first and then deleted."""
    old = None
    if out.exists():
        if not force:
            raise UsageError(f"--out {out}: already exists; pass --force to replace it")
        old = Path(tempfile.mkdtemp(prefix=f"{out.name}.old-", dir=out.parent))
        os.replace(out, old / out.name)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def save_npy(folder: Path, name: str, array: np.ndarray) -> Path:
    """Save one array as ``folder/name`` (plain .npy, no pickle).

    ``InternalError`` if a float array holds NaN or inf: every input value is finite (the value rules of
    :mod:`kuaicore.data.value_rules` stop the build otherwise), so a non-finite feature is a bug of ours.
    """
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        raise InternalError(f"{name}: {bad:,} non-finite values (NaN or inf) to be saved; a bug of ours")
    path = folder / name
    np.save(path, np.ascontiguousarray(array), allow_pickle=False)
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
    ``row_groups`` for Parquet files and ``shape``/``dtype`` for .npy files."""
    import pyarrow.parquet as pq

    out: dict[str, dict[str, Any]] = {}
    for n in names:
        path = folder / n
        entry: dict[str, Any] = {"bytes": path.stat().st_size, "sha256": sha256(path)}
        if n.endswith(".parquet"):
            meta = pq.read_metadata(path)
            entry.update(rows=meta.num_rows, row_groups=meta.num_row_groups)
        elif n.endswith(".npy"):
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
            entry.update(shape=list(arr.shape), dtype=str(arr.dtype))
        out[n] = entry
    return out


def write_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    """Write ``manifest.json`` (sorted keys, indented) into ``folder``."""
    path = folder / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
