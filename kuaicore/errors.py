"""Exceptions of our own. The CLI turns each into a one-line message and its exit code.

Exit codes (DESIGN.md section 2): 0 ok, 1 a failure of ours (a bug), 2 bad usage or bad input.
"""

from __future__ import annotations


class KuaiError(Exception):
    """Base of every error kuaicore raises on purpose; ``exit_code`` is what the CLI exits with."""

    exit_code = 2


class DataError(KuaiError):
    """The input data is missing or malformed; the message names the file and, where known, the row."""


class UsageError(KuaiError):
    """A command-line option or argument is invalid; the message names the option."""


class ArtifactError(KuaiError):
    """An artifact folder (ART or a run inside it) is missing, incomplete or inconsistent."""


class TrainingError(KuaiError):
    """Training cannot go on for a reason the user can fix (e.g. the loss diverged); the message says how."""


class InternalError(KuaiError):
    """An invariant of ours broke: a bug, reported with exit code 1."""

    exit_code = 1


class BusyError(KuaiError):
    """Another kuaicore process is writing the same ART or run (a lock is held); exit 2 at once."""


class DiskFullError(KuaiError):
    """A write failed for lack of space; the message names the path, the space free and the space needed."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised in the main thread like Ctrl-C's KeyboardInterrupt, so cleanup runs."""
