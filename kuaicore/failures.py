"""What goes wrong outside our code, as one line and an exit code: signals, a full disk, OS errors.

The CLI (:mod:`kuaicore.cli`) routes every exception through :func:`classify`; an exception it does not
recognise is a bug of ours and keeps its traceback (exit 1). Conventions (README "Errors and exit codes"):
Ctrl-C exits 130 and SIGTERM 143 (128 + the signal, as shells do); a full disk, a missing permission or a
read-only file system exits 2 naming the path.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import threading
from pathlib import Path

from kuaicore.errors import DiskFullError, KuaiError, Terminated

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

_NO_SPACE = ("No space left on device", "Disk quota exceeded")
_QUOTED_PATH = re.compile(r"[\"'](/[^\"'\\]+)")
_OS_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR, errno.EISDIR,
              errno.ENAMETOOLONG, errno.ENOSPC, errno.EDQUOT, errno.EEXIST, errno.ENOTEMPTY}  # fmt: skip


def human_bytes(n: float) -> str:
    """``1.5 GB``-style size (decimal units, as --memory-limit reads them)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def free_bytes(path: Path) -> int | None:
    """Free space on the file system holding ``path`` (or its nearest existing parent)."""
    path = Path(path).absolute()
    for candidate in (path, *path.parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None


def is_disk_full(err: BaseException) -> bool:
    """True for ENOSPC/EDQUOT OSErrors and for DuckDB/Arrow errors whose text says the disk is full."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return any(text in str(err) for text in _NO_SPACE)


def disk_full_error(
    err: BaseException, need: int | None = None, where: Path | None = None, free: int | None = None
) -> DiskFullError:
    """A one-line DiskFullError for ``err``: the path written (from the error, else ``where``), the space
    free there and, when known, the space the step needs."""
    path = getattr(err, "filename", None)
    if path is None:
        m = _QUOTED_PATH.search(str(err))
        path = m.group(1) if m else where
    path = Path(path) if path is not None else Path.cwd()
    free = free if free is not None else free_bytes(path)
    needs = f"; this step needs about {human_bytes(need)}" if need else ""
    has = f"{human_bytes(free)} free" if free is not None else "free space unknown"
    return DiskFullError(f"{path}: no space left on device ({has}{needs}); free some space and run again")


def is_interrupt(err: BaseException) -> bool:
    """Ctrl-C or SIGTERM, including DuckDB's ``RuntimeError('Query interrupted')`` for a query cut short."""
    if isinstance(err, KeyboardInterrupt):
        return True
    return type(err).__name__ in ("RuntimeError", "InterruptException") and "interrupted" in str(err).lower()


def classify(err: BaseException, terminated: bool = False) -> tuple[str, int] | None:
    """(one-line message, exit code) for an exception the CLI reports without a traceback, else None."""
    if isinstance(err, KuaiError):
        return str(err), err.exit_code
    if isinstance(err, Terminated) or (terminated and is_interrupt(err)):
        return "terminated (SIGTERM); nothing half-written was kept", EXIT_TERMINATED
    if is_interrupt(err):
        return "interrupted (Ctrl-C); nothing half-written was kept", EXIT_INTERRUPTED
    if is_disk_full(err):
        return str(disk_full_error(err)), 2
    if type(err).__name__ == "OutOfMemoryException":  # DuckDB under a --memory-limit too small for the data
        first = str(err).strip().splitlines()[0].removeprefix("Out of Memory Error: ")
        return f"--memory-limit: DuckDB ran out of memory ({first}); give a larger --memory-limit", 2
    if isinstance(err, OSError) and err.errno in _OS_ERRNOS:
        where = err.filename if err.filename is not None else ""
        if err.errno in (errno.EEXIST, errno.ENOTDIR) and where and Path(where).is_file():
            return f"{where}: is a file; give a folder", 2
        return f"{where}: {os.strerror(err.errno)}" if where else os.strerror(err.errno), 2
    return None


class SignalGuard:
    """While active (main thread only), SIGTERM raises :class:`Terminated` in the main thread, so that the
    same cleanup as for Ctrl-C runs. A Python handler runs between bytecodes: a DuckDB query or a jitted
    step under way finishes first (seconds at most). ``terminated`` tells whether SIGTERM arrived."""

    def __init__(self) -> None:
        self.terminated = False
        self._previous = None

    def _on_term(self, signum: int, frame: object) -> None:
        if not self.terminated:
            self.terminated = True
            raise Terminated(f"signal {signum}")

    def __enter__(self) -> SignalGuard:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._on_term)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None
