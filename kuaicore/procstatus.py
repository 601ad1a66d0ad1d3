"""Read one memory field (``VmHWM``, ``VmRSS``, ...) of a process from Linux's ``/proc/PID/status``."""

from __future__ import annotations

from pathlib import Path


def status_kib(field: str, pid: int | str = "self") -> int | None:
    """The value of ``field`` in KiB for process ``pid`` (default: this one); None where /proc is missing,
    the process is gone, or the field is absent.

    ``VmHWM`` is the peak resident set size since the process last exec'd, unlike ``ru_maxrss``, which a
    child inherits from the parent that forked it."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None
