"""Write the artifact folder atomically: a sibling `ART.tmp-PID-*` folder, checksums, manifest, one rename.

`target_lock` admits one build per ART and removes what killed builds left; `staging_dir` makes the
temporary folder and removes it if anything fails (including Ctrl-C, SIGTERM or a full disk), so an
interrupted run leaves no ART; `publish` renames it into place (replacing an old ART only with ``force``,
and only a folder `check_target` recognised as an ART).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from kuaicore.atomic import exclusive_lock, sweep_leftovers
from kuaicore.errors import InternalError, UsageError

_HASH_CHUNK = 1 << 22
_SHORT_WRITE = re.compile(r"\d+ requested and \d+ written")


def is_art(folder: Path) -> bool:
    """True if ``folder`` holds the manifest.json of a kuaicore ART (a JSON object with ``format_version``
    and ``files``): the only kind of folder ``--force`` may replace."""
    path = Path(folder) / "manifest.json"
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


@contextmanager
def staging_dir(out: Path) -> Iterator[Path]:
    """A fresh ``OUT.tmp-PID-*`` folder beside ``out``; removed on any exception, Ctrl-C and SIGTERM
    included (the CLI raises those as KeyboardInterrupt); the caller publishes it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it 0700; an ART is an ordinary folder
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def publish(tmp: Path, out: Path, force: bool) -> None:
    """Rename ``tmp`` to ``out``; with ``force`` an existing ``out`` is moved aside first and then deleted."""
    old = None
    if out.exists():
        if not force:
            raise UsageError(f"--out {out}: already exists; pass --force to replace it")
        old = Path(tempfile.mkdtemp(prefix=f"{out.name}.old-{os.getpid()}-", dir=out.parent))
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
