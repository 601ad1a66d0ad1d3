"""Sizes of a synthetic KuaiRec twin: the three named scales and the ``--users``/``--items`` overrides.

``full`` is the real KuaiRec 2.0 size (SCHEMA.md section 1); ``small`` is about 5% of its rows (the demo);
``tiny`` is a few hundred KB (tests). Overrides keep the scale's rows per user and shrink or grow the small
block in proportion.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kuaicore.errors import UsageError


@dataclass(frozen=True)
class Sizes:
    """How many users, videos and rows each file gets."""

    scale: str
    n_users: int
    n_items: int
    n_small_users: int
    n_small_items: int
    big_rows: int  # rows of big_matrix including exact duplicates
    daily_coverage: float  # share of (video, day) pairs after upload that have an item_daily row
    n_social_users: int
    n_bare_cr: int  # captions holding a bare '\r'
    users_per_chunk: int  # users generated (and written) per streaming chunk


FULL = Sizes("full", 7176, 10728, 1411, 3327, 12_530_806, 0.585, 472, 4, 256)
SMALL = Sizes("small", 1500, 2500, 300, 700, 600_000, 0.45, 100, 2, 256)
TINY = Sizes("tiny", 60, 120, 16, 40, 3_000, 0.12, 10, 1, 64)
SCALES: dict[str, Sizes] = {s.scale: s for s in (TINY, SMALL, FULL)}


def resolve_sizes(scale: str, n_users: int | None = None, n_items: int | None = None) -> Sizes:
    """The sizes of ``scale`` with optional user/video count overrides (the small block scales along)."""
    if scale not in SCALES:
        raise UsageError(f"--scale must be one of {', '.join(SCALES)}, got {scale!r}")
    base = SCALES[scale]
    users = base.n_users if n_users is None else int(n_users)
    items = base.n_items if n_items is None else int(n_items)
    if users < 4:
        raise UsageError(f"--users must be at least 4, got {users}")
    if items < 8:
        raise UsageError(f"--items must be at least 8, got {items}")
    if users == base.n_users and items == base.n_items:
        return base
    small_users = max(2, min(users - 1, round(users * base.n_small_users / base.n_users)))
    small_items = max(4, min(items // 2, round(items * base.n_small_items / base.n_items)))
    rows = max(users * 10, round(base.big_rows * users / base.n_users))
    social = max(2, round(users * base.n_social_users / base.n_users))
    cr = max(1, round(items * FULL.n_bare_cr / FULL.n_items))
    return replace(
        base,
        n_users=users,
        n_items=items,
        n_small_users=small_users,
        n_small_items=small_items,
        big_rows=rows,
        n_social_users=social,
        n_bare_cr=cr,
    )
