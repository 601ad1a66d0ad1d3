"""`kuaicore synth`: write a synthetic KuaiRec 2.0 twin with a planted truth to ``OUT/data/``.

All seven CSVs in the real format plus ``truth.npz``. The generative model is documented in
:mod:`kuaicore.data.synth.truth`, sizes in :mod:`.scales`. Files are written into
``OUT/data.tmp-<pid>-<random>/`` and renamed to ``OUT/data`` at the end, one synth per OUT at a time
(``OUT/.data.lock``); what a killed synth left is removed by the next (:mod:`kuaicore.atomic`). The same
seed gives the same bytes.

truth.npz: ``user_id`` int64[n_small_users] and ``video_id`` int64[n_small_videos] (the small block, sorted),
``expected_watch_ratio`` float32[n_small_users, n_small_videos] (E[watch_ratio] of every cell, observed or
not, under the full observation model), ``item_quality`` float32[n_videos] (q_i, row = video_id),
``user_segment`` int64[n_users] (the planted taste segment; no feature column shows it),
``video_duration_ms`` int64[n_videos], ``upload_day`` int64[n_videos] (0 = 2020-07-05), ``seed`` and
``world`` (the name given to ``--world``, see :mod:`.worlds`).
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path

import numpy as np

from kuaicore.atomic import exclusive_lock, sweep_leftovers
from kuaicore.config import SynthConfig
from kuaicore.data.synth.scales import Sizes, resolve_sizes
from kuaicore.data.synth.worlds import DEFAULT_WORLD, WORLDS
from kuaicore.errors import UsageError
from kuaicore.progress import log
from kuaicore.schema import (
    BIG_MATRIX,
    CAPTION_CATEGORY,
    ITEM_CATEGORIES,
    ITEM_DAILY_FEATURES,
    SMALL_MATRIX,
    SOCIAL_NETWORK,
    USER_FEATURES,
)

__all__ = ["write_synthetic", "write_files", "resolve_sizes"]


def write_files(
    folder: Path,
    sizes: Sizes,
    seed: int,
    timings: dict[str, dict] | None = None,
    world: str = DEFAULT_WORLD,
) -> dict[str, int]:
    """Write the seven CSVs and truth.npz of ``world`` into an existing ``folder``; return rows per file.

    ``timings``, when given, receives ``{stage: {"seconds": s, "rows": n}}`` for benchmarks.
    """
    from kuaicore.data.synth import daily, interactions, tables, truth, writers

    rows: dict[str, int] = {}
    timings = {} if timings is None else timings

    def stage(name: str, fn) -> None:
        start = time.perf_counter()
        rows[name] = fn()
        secs = time.perf_counter() - start
        timings[name] = {"seconds": secs, "rows": rows[name]}
        log(f"  {name}: {rows[name]:,} rows in {secs:.2f}s")

    if world not in WORLDS:
        raise UsageError(f"--world must be one of {', '.join(WORLDS)}, got {world!r}")
    name = world
    world = truth.make_world(sizes.n_users, sizes.n_items, seed, name)
    plan = interactions.make_plan(world, sizes, seed)
    stage(
        "big_matrix",
        lambda: writers.copy_chunks(
            folder / BIG_MATRIX.filename,
            BIG_MATRIX.header,
            interactions.big_chunks(world, sizes, plan, seed),
            writers.interaction_select(date_as_double=False),
        ),
    )
    stage(
        "small_matrix",
        lambda: writers.copy_chunks(
            folder / SMALL_MATRIX.filename,
            SMALL_MATRIX.header,
            interactions.small_chunks(world, sizes, plan, seed),
            writers.interaction_select(date_as_double=True),
            nullable=("ts_ms", "date"),
        ),
    )
    stage(
        "item_categories",
        lambda: writers.write_lines(
            folder / ITEM_CATEGORIES.filename, ITEM_CATEGORIES, tables.item_category_rows(world)
        ),
    )
    stage(
        "user_features",
        lambda: writers.write_lines(
            folder / USER_FEATURES.filename,
            USER_FEATURES,
            tables.user_feature_rows(world, plan.big_counts, seed),
        ),
    )
    stage(
        "social_network",
        lambda: writers.write_lines(
            folder / SOCIAL_NETWORK.filename,
            SOCIAL_NETWORK,
            tables.social_rows(sizes.n_users, sizes.n_social_users, seed),
        ),
    )
    stage(
        "kuairec_caption_category",
        lambda: writers.write_lines(
            folder / CAPTION_CATEGORY.filename,
            CAPTION_CATEGORY,
            tables.caption_rows(world, sizes.n_bare_cr, seed),
        ),
    )
    collect = [
        c.name for c in ITEM_DAILY_FEATURES.columns if c.name.startswith(("collect", "cancel_collect"))
    ]
    stage(
        "item_daily_features",
        lambda: writers.copy_chunks(
            folder / ITEM_DAILY_FEATURES.filename,
            ITEM_DAILY_FEATURES.header,
            daily.daily_chunks(world, sizes.daily_coverage, seed),
            "SELECT * FROM chunk",
            nullable=collect,
        ),
    )

    def write_truth() -> int:
        expected = truth.expected_watch_ratio(world, plan.small_users, plan.small_items).astype(np.float32)
        with open(folder / "truth.npz", "wb") as fh:
            np.savez(
                fh,
                user_id=plan.small_users,
                video_id=plan.small_items,
                expected_watch_ratio=expected,
                item_quality=world.quality.astype(np.float32),
                user_segment=world.segment,
                video_duration_ms=world.duration_ms,
                upload_day=world.upload_day,
                seed=np.int64(seed),
                world=np.str_(name),
            )
        return int(expected.size)

    stage("truth.npz", write_truth)
    return rows


def write_synthetic(config: SynthConfig) -> str:
    """Write ``config.out/data/`` (seven CSVs + truth.npz) atomically; return a printable summary."""
    sizes = resolve_sizes(config.scale, config.n_users, config.n_items)
    out = Path(config.out)
    final = out / "data"
    _refuse_existing(final)
    out.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(out / ".data.lock", final, "synth"):
        sweep_leftovers(out, ("data.tmp-",))
        return _write_locked(config, sizes, final)


def _refuse_existing(final: Path) -> None:
    if final.exists() and (not final.is_dir() or any(final.iterdir())):
        raise UsageError(f"{final} already exists and is not empty; choose another OUT or remove it")


def _write_locked(config: SynthConfig, sizes: Sizes, final: Path) -> str:
    """:func:`write_synthetic` once the lock on ``final`` is held."""
    _refuse_existing(final)  # again, under the lock: another synth may have finished since the first check
    tmp = final.with_name(f"data.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    tmp.mkdir()
    log(
        f"synth: scale={sizes.scale} users={sizes.n_users:,} videos={sizes.n_items:,} "
        f"small={sizes.n_small_users:,}x{sizes.n_small_items:,} world={config.world} seed={config.seed} "
        f"-> {final}"
    )
    start = time.perf_counter()
    try:
        rows = write_files(tmp, sizes, config.seed, world=config.world)
        if final.exists():
            final.rmdir()
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    secs = time.perf_counter() - start
    size_mb = sum(p.stat().st_size for p in final.iterdir()) / 1e6
    lines = [f"wrote {final} ({size_mb:,.1f} MB in {secs:.1f}s, world {config.world}, seed {config.seed}):"]
    lines += [f"  {name:<26} {n:>12,} rows" for name, n in rows.items() if name != "truth.npz"]
    lines.append(
        f"  {'truth.npz':<26} {sizes.n_small_users:,} x {sizes.n_small_items:,} expected watch ratios"
    )
    return "\n".join(lines)
