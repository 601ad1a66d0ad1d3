"""Keep XLA's compiled training programs on disk between runs (JAX's persistent compilation cache).

Every `kuaicore train` of the two-tower compiles the same few programs (the epoch loop, the validation pass)
for the same shapes: 3-4 s of a tiny run and of every `compare` or `tune` trial. JAX can keep them on disk,
as Numba's ``cache=True`` keeps the kernels; a later run with the same shapes, JAX and machine loads them
instead (the executable is the same, so are the results). The cache lives in
``$XDG_CACHE_HOME/kuaicore/jax/<machine>/`` (``~/.cache/...`` by default; one folder per CPU type, because
XLA compiles for the host's instruction set), and is trimmed, oldest first, past ``MAX_CACHE_BYTES``.

``KUAICORE_JAX_CACHE=DIR`` puts it elsewhere, ``KUAICORE_JAX_CACHE=off`` turns it off, and a
``JAX_COMPILATION_CACHE_DIR`` of the user's own is left as it is. Like the device split
(:mod:`kuaicore.training.devices`), it is set through the environment before JAX is imported (or through
``jax.config`` when it already is, e.g. from the Python API), and never fails a run: a folder that cannot be
made just means no cache. No JAX import here unless JAX is already loaded.

Two processes may share the folder (kuaicore runs its own trainings one at a time, but a user may start two).
JAX writes an entry in place and locks only when it evicts (which needs the ``filelock`` package; the trim
here is ours instead), so a process may read an entry another is still writing: JAX then warns and compiles
the program itself, as without a cache. The test suite, whose workers run side by side and turn warnings
into errors, gives every process a folder of its own (tests/conftest.py).
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from pathlib import Path

ENV = "KUAICORE_JAX_CACHE"
JAX_ENV = "JAX_COMPILATION_CACHE_DIR"
OFF = ("", "0", "off", "no", "none", "false")
MAX_CACHE_BYTES = 512 * 2**20  # a tiny run's programs take ~0.3 MB, a full-scale run's a few MB


def machine_key() -> str:
    """A short name for this machine's CPU type: the architecture and a hash of the CPU's feature flags."""
    flags = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            flags = next((line for line in fh if line.startswith(("flags", "Features"))), flags)
    except OSError:
        pass
    return f"{platform.machine() or 'cpu'}-{hashlib.sha256(flags.encode()).hexdigest()[:12]}"


def cache_dir() -> Path | None:
    """Where the cache goes (``KUAICORE_JAX_CACHE`` or the user's cache folder), or None when it is off."""
    value = os.environ.get(ENV)
    if value is not None:
        return None if value.strip().lower() in OFF else Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kuaicore" / "jax" / machine_key()


def trim(path: Path, max_bytes: int = MAX_CACHE_BYTES) -> int:
    """Delete the least recently written files of ``path`` until it holds at most ``max_bytes``; returns how
    many were deleted. A file another process deletes first is skipped."""
    entries = []
    for entry in os.scandir(path):
        try:
            if entry.is_file():
                st = entry.stat()
                entries.append((st.st_mtime_ns, st.st_size, entry.path))
        except OSError:
            continue
    total = sum(size for _, size, _ in entries)
    deleted = 0
    for _, size, file in sorted(entries):
        if total <= max_bytes:
            break
        try:
            os.unlink(file)
            deleted += 1
        except OSError:
            pass
        total -= size
    return deleted


def configure_compilation_cache() -> Path | None:
    """Point JAX's persistent compilation cache at :func:`cache_dir`; returns the folder, or None when the
    cache is off, the user set JAX's own variable, or the folder cannot be made."""
    if os.environ.get(JAX_ENV):
        return None
    path = cache_dir()
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
        trim(path)
    except OSError:
        return None
    if not os.access(path, os.W_OK):
        return None
    if "jax" in sys.modules:  # the Python API, a notebook: JAX reads the setting at its first compilation
        import jax

        if jax.config.jax_compilation_cache_dir is None:
            jax.config.update("jax_compilation_cache_dir", str(path))
    else:
        os.environ[JAX_ENV] = str(path)
    return path
