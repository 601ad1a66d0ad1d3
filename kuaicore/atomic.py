"""Nothing half-written, nothing left behind, one writer at a time.

- Temporary names carry the writer's pid: ``NAME.tmp-PID[-RANDOM]`` (and ``NAME.old-PID-RANDOM`` for a
  folder being replaced), so a later run can tell a leftover of a killed process from the work of a live one.
- :func:`atomic_file` writes a file under its temporary name and renames it into place; on any failure
  (a full disk, Ctrl-C) the temporary file is removed.
- :func:`sweep_leftovers` removes the temporary files and folders of dead processes (a ``kill -9`` runs no
  cleanup) and reports those that a live process still owns.
- :func:`scratch_prefix` names a scratch folder in the system's temp folder the same way
  (``kuaicore-KIND.tmp-PID-RANDOM``), after sweeping what killed processes left there: DuckDB's spill files of
  a validation killed by the OOM killer would otherwise stay in /tmp for good.
- :func:`exclusive_lock` makes a second concurrent writer of the same ART or run fail at once (exit 2)
  instead of racing the first; the lock is an ``flock`` on a small file, released by the kernel when its
  holder dies, so a killed run never leaves a stale lock.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kuaicore.errors import BusyError
from kuaicore.progress import log

_LEFTOVER = re.compile(r"\.(?:tmp|old)-(\d+)(?:-[0-9A-Za-z_]+)?$")


def tmp_name(name: str, hidden: bool = False) -> str:
    """The temporary name of ``name`` for this process: ``NAME.tmp-PID`` (``.NAME.tmp-PID`` if hidden)."""
    return f"{'.' if hidden else ''}{name}.tmp-{os.getpid()}"


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block ends without error,
    remove it otherwise."""
    path = Path(path)
    tmp = path.with_name(tmp_name(path.name, hidden=True))
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_folder(path: Path) -> Iterator[Path]:
    """Yield an empty temporary folder ``NAME.tmp-PID`` beside ``path``; when the block ends without error,
    swap it in by renames (an existing ``path`` goes aside to ``NAME.old-PID`` and is removed after), so a
    reader sees the old folder or the complete new one; remove it otherwise."""
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(tmp_name(path.name))
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = path.with_name(f"{path.name}.old-{os.getpid()}")
    if path.exists():
        os.rename(path, old)
    os.rename(tmp, path)
    if old.exists():
        shutil.rmtree(old)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON (sorted keys) through :func:`atomic_file`."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def pid_alive(pid: int) -> bool:
    """True if a process ``pid`` exists (ours or another user's)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def leftover_owner(name: str) -> int | None:
    """The pid in a temporary name of ours (``X.tmp-PID``, ``X.old-PID-RAND``), or None for other names."""
    m = _LEFTOVER.search(name)
    return int(m.group(1)) if m else None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def sweep_leftovers(folder: Path, prefixes: tuple[str, ...] | None = None) -> list[Path]:
    """Remove from ``folder`` the temporary files/folders of dead processes whose names start with one of
    ``prefixes`` (None: any name); returns what was removed. Those of live processes are reported, kept."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for entry in sorted(folder.iterdir()):
        pid = leftover_owner(entry.name)
        if pid is None or (prefixes is not None and not entry.name.startswith(prefixes)):
            continue
        if pid == os.getpid():
            continue
        if pid_alive(pid):
            log(f"note: {entry} belongs to running process {pid}; left alone")
            continue
        _remove(entry)
        removed.append(entry)
        log(f"removed {entry}: left by an interrupted kuaicore run (pid {pid})")
    return removed


def scratch_prefix(kind: str) -> str:
    """The prefix for this process's scratch folder of ``kind`` in the system's temp folder, to give to
    ``tempfile.mkdtemp`` or ``TemporaryDirectory`` (``kuaicore-KIND.tmp-PID-``, which they end with a random
    part); first removes the folders of that kind that dead processes left there."""
    prefix = f"kuaicore-{kind}.tmp-"
    sweep_leftovers(Path(tempfile.gettempdir()), (prefix,))
    return f"{prefix}{os.getpid()}-"


def _holder(lock: Path) -> str:
    try:
        text = lock.read_text(encoding="utf-8").strip()
    except OSError:
        return ""
    return f" (pid {text})" if text.isdigit() else ""


@contextmanager
def exclusive_lock(lock: Path, target: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on the file ``lock`` for the block; BusyError naming ``target`` at once if
    another process holds it. The lock file is removed when the block ends."""
    lock = Path(lock)
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise BusyError(
                f"{target}: another kuaicore {what}{_holder(lock)} is writing it; wait for it to finish"
            ) from None
        # the holder before us may have removed the file after we opened it: lock the file now there
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)
